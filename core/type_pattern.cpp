#include "core/type_pattern.hpp"

namespace sy::core {

namespace {

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
