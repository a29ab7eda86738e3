#pragma once
// ASCII case and line-break helpers for protocol text (HTTP header names and
// values, URL schemes and hosts, JSON member names): locale-free, so that
// "I" lowercases to "i" whatever the process locale is.

#include <algorithm>
#include <string_view>

namespace sy::core {

/// Returns `c` lowercased when it is an ASCII uppercase letter, else `c`.
constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

/// Returns true when `a` and `b` are equal ignoring ASCII case.
constexpr bool equal_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

/// Returns true when `s` holds a CR or an LF, which would break a header line.
constexpr bool has_line_break(std::string_view s) {
  // Two single-character finds (memchr, vectorised): find_first_of calls
  // memchr on the two-character set once per character of `s`, 1.4 % of
  // the delivery path's CPU when the client checked its header lines.
  return s.find('\r') != std::string_view::npos || s.find('\n') != std::string_view::npos;
}

} // namespace sy::core
