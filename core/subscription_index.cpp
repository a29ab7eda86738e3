#include "core/subscription_index.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "core/type_pattern.hpp"

namespace sy::core {

namespace {

constexpr uint32_t no_node = UINT32_MAX;

// Literal edges are split over this many shards: at 100 000 subscriptions
// (~150 000 edges) a shard holds ~150, so the copy a change makes of the
// shards it touches costs microseconds, and a version's shard pointers 16 KB.
constexpr std::size_t shard_count = 1024;

// Packs a country code of up to four bytes into one integer key.
uint32_t country_key(std::string_view c) {
  uint32_t k = 0;
  // An empty view (no country) may have a null data(): memcpy from null is
  // undefined even for zero bytes (UBSan, tests/unit/core).
  if (!c.empty())
    std::memcpy(&k, c.data(), std::min<std::size_t>(c.size(), 4));
  return k;
}

// A literal edge as stored, and as looked up (no copy of the segment).
struct edge_key {
  uint32_t parent;
  std::string seg;
};
struct edge_ref {
  uint32_t parent;
  std::string_view seg;
};

std::size_t hash_edge(uint32_t parent, std::string_view seg) {
  return std::hash<std::string_view>{}(seg) ^ (uint64_t{parent} * 0x9e3779b97f4a7c15ULL);
}

std::size_t shard_of(std::size_t hash) {
  // The map inside a shard buckets by the low bits; shards take the high ones.
  return (hash * 0x9e3779b97f4a7c15ULL) >> 54; // 2^10 = shard_count
}
static_assert(shard_count == 1024);

struct edge_hash {
  using is_transparent = void;
  std::size_t operator()(const edge_key& k) const noexcept { return hash_edge(k.parent, k.seg); }
  std::size_t operator()(const edge_ref& k) const noexcept { return hash_edge(k.parent, k.seg); }
};

struct edge_eq {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    return a.parent == b.parent && std::string_view(a.seg) == std::string_view(b.seg);
  }
};

// Subscriptions whose pattern ends at a node, split by country filter so that
// a match never scans subscriptions of other countries. Both lists are kept
// sorted (the builder sorts the ones an add disordered before it publishes).
struct terminal {
  std::vector<uint32_t> any_country;
  std::vector<std::pair<uint32_t, uint32_t>> by_country; // (country key, ordinal), sorted

  // Appends; returns true when that broke the order (a sort is due).
  bool add(uint32_t ordinal, std::string_view country) {
    if (country.empty()) {
      const bool disordered = !any_country.empty() && any_country.back() > ordinal;
      any_country.push_back(ordinal);
      return disordered;
    }
    const std::pair<uint32_t, uint32_t> p{country_key(country), ordinal};
    const bool disordered = !by_country.empty() && by_country.back() > p;
    by_country.push_back(p);
    return disordered;
  }

  void remove(uint32_t ordinal, std::string_view country) {
    if (country.empty()) {
      auto it = std::find(any_country.begin(), any_country.end(), ordinal);
      if (it != any_country.end())
        any_country.erase(it);
      return;
    }
    const std::pair<uint32_t, uint32_t> p{country_key(country), ordinal};
    auto it = std::find(by_country.begin(), by_country.end(), p);
    if (it != by_country.end())
      by_country.erase(it);
  }

  void sort() {
    std::sort(any_country.begin(), any_country.end());
    std::sort(by_country.begin(), by_country.end());
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
  uint32_t star = no_node;
  uint32_t literals = 0; // literal children (their edges are in the shards)
  terminal end;          // patterns that end exactly here
  terminal rest;         // patterns whose next and last segment is '**'
};

struct subscription_index::edge_shard {
  std::unordered_map<edge_key, uint32_t, edge_hash, edge_eq> edges;
};

subscription_index::subscription_index(std::vector<index_entry> entries) {
  index_builder b;
  for (auto& e : entries)
    b.add(std::move(e));
  *this = b.snapshot();
}

subscription_index::subscription_index(const subscription_index&) = default;
subscription_index& subscription_index::operator=(const subscription_index&) = default;
subscription_index::~subscription_index() = default;

void subscription_index::match(std::string_view type, std::string_view country,
                               std::vector<uint32_t>& out) const {
  out.clear();
  if (nodes_.size() == 0)
    return;
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
  // Each terminal's lists are ascending and duplicate-free, so one
  // contributing run needs no sort.
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
    const node& nd = nodes_[f.first];
    if (f.second == n) {
      runs += nd.end.collect(ckey, has_country, out);
      continue;
    }
    runs += nd.rest.collect(ckey, has_country, out);
    if (nd.star != no_node)
      push(nd.star, f.second + 1);
    if (nd.literals != 0) {
      const edge_ref key{f.first, segs[f.second]};
      const auto h = hash_edge(key.parent, key.seg);
      if (const auto& shard = shards_[shard_of(h)]) {
        auto it = shard->edges.find(key);
        if (it != shard->edges.end())
          push(it->second, f.second + 1);
      }
    }
  }
  if (runs > 1) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
}

// -- index_builder -------------------------------------------------------------

struct index_builder::state {
  using node = subscription_index::node;
  using edge_shard = subscription_index::edge_shard;

  // What only the builder needs of a node: how to unlink it once no
  // pattern passes through it.
  struct node_meta {
    uint32_t parent = no_node;
    uint32_t refs = 0; // (entry, pattern) pairs whose path includes the node
    bool star = false; // the parent's '*' child, else its literal `seg`
    std::string seg;
  };

  chunked_writer<node> nodes;
  chunked_writer<index_entry> entries;
  std::vector<std::shared_ptr<edge_shard>> shards = std::vector<std::shared_ptr<edge_shard>>(
    shard_count);
  std::vector<bool> shard_owned = std::vector<bool>(shard_count, false);
  std::vector<std::size_t> shards_touched;
  std::vector<node_meta> meta;
  std::vector<uint32_t> free_nodes;
  std::vector<uint32_t> free_ordinals;
  std::vector<uint32_t> unsorted; // nodes whose terminals need a sort before publishing
  uint32_t next_ordinal = 0;

  state() {
    nodes.at(0) = node{};
    meta.emplace_back();
  }

  uint32_t find_edge(uint32_t parent, std::string_view seg) const {
    const edge_ref key{parent, seg};
    const auto& shard = shards[shard_of(hash_edge(parent, seg))];
    if (!shard)
      return no_node;
    auto it = shard->edges.find(key);
    return it == shard->edges.end() ? no_node : it->second;
  }

  edge_shard& shard_for_write(uint32_t parent, std::string_view seg) {
    const auto s = shard_of(hash_edge(parent, seg));
    if (!shard_owned[s]) {
      shards[s] = shards[s] ? std::make_shared<edge_shard>(*shards[s])
                            : std::make_shared<edge_shard>();
      shard_owned[s] = true;
      shards_touched.push_back(s);
    }
    return *shards[s];
  }

  uint32_t new_node(uint32_t parent, bool star, std::string_view seg) {
    uint32_t id;
    if (!free_nodes.empty()) {
      id = free_nodes.back();
      free_nodes.pop_back();
    } else {
      id = static_cast<uint32_t>(meta.size());
      meta.emplace_back();
    }
    nodes.at(id) = node{};
    meta[id] = node_meta{parent, 0, star, star ? std::string() : std::string(seg)};
    if (star) {
      nodes.at(parent).star = id;
    } else {
      shard_for_write(parent, seg).edges.emplace(edge_key{parent, std::string(seg)}, id);
      ++nodes.at(parent).literals;
    }
    return id;
  }

  void free_node(uint32_t id) {
    const auto& m = meta[id];
    if (m.star) {
      nodes.at(m.parent).star = no_node;
    } else {
      auto& edges = shard_for_write(m.parent, m.seg).edges;
      edges.erase(edges.find(edge_ref{m.parent, m.seg}));
      --nodes.at(m.parent).literals;
    }
    meta[id] = node_meta{};
    free_nodes.push_back(id);
  }
};

index_builder::index_builder() : s_(std::make_unique<state>()) {}
index_builder::~index_builder() = default;

uint32_t index_builder::add(index_entry e) {
  auto& s = *s_;
  // A pattern listed twice must not make the subscription match twice.
  std::sort(e.patterns.begin(), e.patterns.end());
  e.patterns.erase(std::unique(e.patterns.begin(), e.patterns.end()), e.patterns.end());
  uint32_t ord;
  if (!s.free_ordinals.empty()) {
    ord = s.free_ordinals.back();
    s.free_ordinals.pop_back();
  } else {
    ord = s.next_ordinal++;
  }
  for (const auto& pattern : e.patterns) {
    uint32_t cur = 0;
    bool rest = false;
    for (auto seg : split_segments(pattern)) {
      if (seg == "**") {
        rest = true;
        break;
      }
      const bool star = seg == "*";
      uint32_t next = star ? s.nodes.get(cur).star : s.find_edge(cur, seg);
      if (next == no_node)
        next = s.new_node(cur, star, seg);
      ++s.meta[next].refs;
      cur = next;
    }
    auto& nd = s.nodes.at(cur);
    if ((rest ? nd.rest : nd.end).add(ord, e.country))
      s.unsorted.push_back(cur);
  }
  s.entries.at(ord) = std::move(e);
  return ord;
}

void index_builder::remove(uint32_t ordinal) {
  auto& s = *s_;
  const index_entry e = s.entries.get(ordinal);
  std::vector<uint32_t> path;
  for (const auto& pattern : e.patterns) {
    path.clear();
    uint32_t cur = 0;
    bool rest = false;
    for (auto seg : split_segments(pattern)) {
      if (seg == "**") {
        rest = true;
        break;
      }
      cur = seg == "*" ? s.nodes.get(cur).star : s.find_edge(cur, seg);
      path.push_back(cur);
    }
    auto& nd = s.nodes.at(cur);
    (rest ? nd.rest : nd.end).remove(ordinal, e.country);
    // Leaf first: a node no pattern passes through has no children left.
    for (auto it = path.rbegin(); it != path.rend(); ++it)
      if (--s.meta[*it].refs == 0)
        s.free_node(*it);
  }
  s.entries.at(ordinal) = index_entry{};
  s.free_ordinals.push_back(ordinal);
}

subscription_index index_builder::snapshot() {
  auto& s = *s_;
  for (auto n : s.unsorted) {
    auto& nd = s.nodes.at(n);
    nd.end.sort();
    nd.rest.sort();
  }
  s.unsorted.clear();
  subscription_index out(*this, 0);
  out.nodes_ = s.nodes.publish();
  out.entries_ = s.entries.publish();
  out.shards_.assign(s.shards.begin(), s.shards.end());
  for (auto sh : s.shards_touched)
    s.shard_owned[sh] = false;
  s.shards_touched.clear();
  return out;
}

} // namespace sy::core
