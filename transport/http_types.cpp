#include "transport/http_types.hpp"

#include "core/ascii.hpp"

namespace sy::transport {

namespace {

using core::equal_nocase;

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::string percent_decode(std::string_view s, bool plus_as_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string_view find_header(const header_list& headers, std::string_view name) {
  for (const auto& [key, value] : headers)
    if (equal_nocase(key, name))
      return value;
  return {};
}

std::optional<query_pair> next_query_pair(std::string_view& rest) {
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    return query_pair{pair.substr(0, eq),
                      eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1)};
  }
  return std::nullopt;
}

std::string http_request::query_param(std::string_view key) const {
  std::string_view rest = query;
  while (auto pair = next_query_pair(rest))
    if (percent_decode(pair->name, true) == key)
      return percent_decode(pair->value, true);
  return {};
}

} // namespace sy::transport
