#include "cluster/node_number.hpp"

#include <charconv>

namespace sy::cluster {

std::optional<uint64_t> parse_node_number(std::string_view text) {
  if (text.empty() || text.size() > 20 || text[0] == '0')
    return std::nullopt;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n > max_node_number)
    return std::nullopt;
  return n;
}

std::string format_node_number(uint64_t n) { return std::to_string(n); }

std::optional<uint64_t> next_node_number(uint64_t counter) {
  if (counter >= max_node_number)
    return std::nullopt;
  return counter + 1;
}

} // namespace sy::cluster
