#pragma once
// How often `what` occurs in `text` (overlapping occurrences counted): log
// lines and listed records the tests count.

#include <cstddef>
#include <string_view>

namespace sy::test {

inline std::size_t count_of(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

} // namespace sy::test
