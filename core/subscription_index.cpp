#include "core/subscription_index.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "core/type_pattern.hpp"

namespace sy::core {

namespace {

constexpr uint32_t no_node = UINT32_MAX;

// Packs a country code of up to four bytes into one integer key.
uint32_t country_key(std::string_view c) {
  uint32_t k = 0;
  // An empty view (no country) may have a null data(): memcpy from null is
  // undefined even for zero bytes (UBSan, tests/unit/core).
  if (!c.empty())
    std::memcpy(&k, c.data(), std::min<std::size_t>(c.size(), 4));
  return k;
}

struct segment_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// Subscriptions whose pattern ends at a node, split by country filter so that
// a match never scans subscriptions of other countries.
struct terminal {
  std::vector<uint32_t> any_country;
  std::vector<std::pair<uint32_t, uint32_t>> by_country; // (country key, ordinal), sorted

  void add(uint32_t ordinal, std::string_view country) {
    if (country.empty())
      any_country.push_back(ordinal);
    else
      by_country.emplace_back(country_key(country), ordinal);
  }

  // Appends the matching ordinals; returns how many ascending runs it added.
  int collect(uint32_t country, bool has_country, std::vector<uint32_t>& out) const {
    int runs = any_country.empty() ? 0 : 1;
    out.insert(out.end(), any_country.begin(), any_country.end());
    if (!has_country || by_country.empty())
      return runs;
    auto lo = std::lower_bound(by_country.begin(), by_country.end(),
                               std::pair<uint32_t, uint32_t>{country, 0});
    if (lo != by_country.end() && lo->first == country)
      ++runs;
    for (; lo != by_country.end() && lo->first == country; ++lo)
      out.push_back(lo->second);
    return runs;
  }
};

} // namespace

struct subscription_index::node {
  std::unordered_map<std::string, uint32_t, segment_hash, std::equal_to<>> literal;
  uint32_t star = no_node;
  terminal end;  // patterns that end exactly here
  terminal rest; // patterns whose next and last segment is '**'
};

subscription_index::subscription_index(std::vector<index_entry> entries)
    : entries_(std::move(entries)), nodes_(std::make_unique<std::vector<node>>(1)) {
  auto& nodes = *nodes_;
  for (uint32_t ord = 0; ord < entries_.size(); ++ord) {
    auto& e = entries_[ord];
    // A pattern listed twice must not make the subscription match twice.
    std::sort(e.patterns.begin(), e.patterns.end());
    e.patterns.erase(std::unique(e.patterns.begin(), e.patterns.end()), e.patterns.end());
    for (const auto& pattern : e.patterns) {
      uint32_t cur = 0;
      bool rest = false;
      for (auto seg : split_segments(pattern)) {
        if (seg == "**") {
          rest = true;
          break;
        }
        uint32_t next;
        if (seg == "*") {
          next = nodes[cur].star;
          if (next == no_node) {
            next = static_cast<uint32_t>(nodes.size());
            nodes[cur].star = next;
            nodes.emplace_back();
          }
        } else {
          auto it = nodes[cur].literal.find(seg);
          if (it == nodes[cur].literal.end()) {
            next = static_cast<uint32_t>(nodes.size());
            nodes[cur].literal.emplace(std::string(seg), next);
            nodes.emplace_back();
          } else {
            next = it->second;
          }
        }
        cur = next;
      }
      (rest ? nodes[cur].rest : nodes[cur].end).add(ord, e.country);
    }
  }
  for (auto& n : nodes) {
    std::sort(n.end.by_country.begin(), n.end.by_country.end());
    std::sort(n.rest.by_country.begin(), n.rest.by_country.end());
  }
}

subscription_index::~subscription_index() = default;

void subscription_index::match(std::string_view type, std::string_view country,
                               std::vector<uint32_t>& out) const {
  out.clear();
  const auto& nodes = *nodes_;
  const bool has_country = !country.empty();
  const uint32_t ckey = country_key(country);

  // Segments of the type, without allocating for the common depths.
  constexpr std::size_t max_inline = 32;
  std::string_view inline_segs[max_inline];
  std::vector<std::string_view> heap_segs;
  std::string_view* segs = inline_segs;
  std::size_t n = 0;
  for (std::size_t start = 0;;) {
    auto dot = type.find('.', start);
    auto seg = type.substr(start, dot == type.npos ? type.npos : dot - start);
    if (n == max_inline) {
      heap_segs.assign(inline_segs, inline_segs + max_inline);
      segs = nullptr;
    }
    if (segs == nullptr)
      heap_segs.push_back(seg);
    else
      segs[n] = seg;
    ++n;
    if (dot == type.npos)
      break;
    start = dot + 1;
  }
  if (segs == nullptr)
    segs = heap_segs.data();

  // Depth-first walk; each frame is (node, segments consumed).
  std::pair<uint32_t, uint32_t> stack_inline[64];
  std::vector<std::pair<uint32_t, uint32_t>> stack_heap;
  std::size_t top = 0;
  auto push = [&](uint32_t nd, uint32_t depth) {
    if (top < 64) {
      stack_inline[top++] = {nd, depth};
    } else {
      stack_heap.emplace_back(nd, depth);
    }
  };
  // Each terminal's lists are ascending and duplicate-free (ordinals are
  // added in order), so one contributing run needs no sort.
  int runs = 0;
  push(0, 0);
  while (top > 0 || !stack_heap.empty()) {
    std::pair<uint32_t, uint32_t> f;
    if (!stack_heap.empty()) {
      f = stack_heap.back();
      stack_heap.pop_back();
    } else {
      f = stack_inline[--top];
    }
    const node& nd = nodes[f.first];
    if (f.second == n) {
      runs += nd.end.collect(ckey, has_country, out);
      continue;
    }
    runs += nd.rest.collect(ckey, has_country, out);
    if (nd.star != no_node)
      push(nd.star, f.second + 1);
    if (!nd.literal.empty()) {
      auto it = nd.literal.find(segs[f.second]);
      if (it != nd.literal.end())
        push(it->second, f.second + 1);
    }
  }
  if (runs > 1) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
}

} // namespace sy::core
