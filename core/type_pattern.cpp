#include "core/type_pattern.hpp"

#include <bit>
#include <cstdint>
#include <cstring>

namespace sy::core {

namespace {

static_assert(std::endian::native == std::endian::little, "the word checks read bytes in order");

constexpr uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

// Returns the high bit of every byte of `w` that is zero, and no other bit.
// (The exact form: adding 0x7f to the low seven bits carries into no
// neighbour, unlike the shorter haszero trick.)
constexpr uint64_t zero_bytes(uint64_t w) { return ~(((w & ~highs) + ~highs) | w | ~highs); }

// Returns the high bit of every byte of `w` below `n` (n <= 0x80), exactly.
constexpr uint64_t bytes_below(uint64_t w, uint64_t n) {
  return ~((w & ~highs) + ones * (0x80 - n)) & ~w & highs;
}

// Returns true when `type` is a valid event type, in one pass over its bytes,
// eight at a time: 1 to 255 bytes, each from 0x21 up except 0x7f and '*',
// with no '.' first, last or next to another. It accepts exactly what
// validate(type, false) accepts; that one words the refusal (and ran ~10
// memchr per type, 10 % of a native batch's parse).
bool is_valid_event_type(std::string_view type) {
  const std::size_t n = type.size();
  if (n == 0 || n > max_type_bytes || type.front() == '.' || type.back() == '.')
    return false;
  uint64_t dot_before = 0; // the high bit of the previous word's last byte is a '.'
  // Returns true when the word holds a refused byte or a '.' after a '.'.
  auto refused = [&dot_before](uint64_t w) {
    uint64_t bad = bytes_below(w, 0x21) | zero_bytes(w ^ (ones * 0x7f)) |
                   zero_bytes(w ^ (ones * '*'));
    uint64_t dots = zero_bytes(w ^ (ones * '.'));
    // Little-endian: byte k + 1 of the string is the next higher byte of w.
    bool out = (bad | (dots & (dots << 8 | dot_before))) != 0;
    dot_before = dots >> 56;
    return out;
  };
  std::size_t i = 0;
  uint64_t w;
  for (; n - i >= 8; i += 8) {
    std::memcpy(&w, type.data() + i, 8);
    if (refused(w))
      return false;
  }
  if (i == n)
    return true;
  w = ones * 'a'; // the tail, padded with plain bytes
  std::memcpy(&w, type.data() + i, n - i);
  return !refused(w);
}

// Checks the rules types and patterns share; `allow_wildcards` admits '*'
// segments and a last '**' segment.
std::optional<std::string> validate(std::string_view s, bool allow_wildcards) {
  if (s.empty())
    return "must not be empty";
  if (s.size() > max_type_bytes)
    return "must be at most 255 bytes";
  std::size_t start = 0;
  while (true) {
    auto dot = s.find('.', start);
    auto seg = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    bool last = dot == std::string_view::npos;
    if (seg.empty())
      return "must not contain an empty segment (leading, trailing or double '.')";
    for (unsigned char c : seg)
      if (c < 0x21 || c == 0x7f)
        return "must not contain spaces or control characters";
    if (seg.find('*') != seg.npos) {
      if (!allow_wildcards)
        return "must not contain '*' (wildcards belong in subscription patterns)";
      if (seg == "**") {
        if (!last)
          return "'**' may only be the last segment";
      } else if (seg != "*") {
        return "a '*' must be a whole segment ('*' or a final '**')";
      }
    }
    if (last)
      return std::nullopt;
    start = dot + 1;
  }
}

} // namespace

std::optional<std::string> validate_event_type(std::string_view type) {
  if (is_valid_event_type(type))
    return std::nullopt;
  return validate(type, false);
}

std::optional<std::string> validate_type_pattern(std::string_view pattern) {
  return validate(pattern, true);
}

std::vector<std::string_view> split_segments(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    auto dot = s.find('.', start);
    if (dot == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, dot - start));
    start = dot + 1;
  }
}

bool pattern_matches(std::string_view pattern, std::string_view type) {
  auto p = split_segments(pattern);
  auto t = split_segments(type);
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == "**")
      return t.size() > i; // one or more remaining segments
    if (i >= t.size())
      return false;
    if (p[i] != "*" && p[i] != t[i])
      return false;
  }
  return p.size() == t.size();
}

} // namespace sy::core
