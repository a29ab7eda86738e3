#include "transport/http_request_parser.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace sy::transport {

void apply_limits(request_parser& parser, const server_limits& limits) {
  parser.header_limit(
    static_cast<std::uint32_t>(std::min<std::size_t>(limits.max_header_bytes, UINT32_MAX)));
  parser.body_limit(limits.max_body_bytes);
}

http_request to_http_request(boost::beast::http::request<boost::beast::http::string_body>& msg) {
  http_request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos)
    req.query = req.target.substr(q + 1);
  req.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
  for (const auto& field : msg)
    req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  req.body = std::move(msg.body());
  req.body.reserve(req.body.size() + body_padding);
  return req;
}

} // namespace sy::transport
