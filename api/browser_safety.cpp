#include "api/browser_safety.hpp"

#include <cctype>

#include "core/ascii.hpp"

namespace sy::api {

namespace {

using core::equal_nocase;

bool is_write(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

// Returns the host of "host[:port]" or "[v6]:port", brackets kept.
std::string_view host_part(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  auto colon = authority.rfind(':');
  return colon == std::string_view::npos ? authority : authority.substr(0, colon);
}

// Returns `authority` without the default port of `scheme`.
std::string_view strip_default_port(std::string_view authority, std::string_view scheme) {
  std::string_view port = scheme == "https" ? ":443" : ":80";
  if (authority.size() > port.size() && authority.ends_with(port) &&
      authority.substr(0, authority.size() - port.size()) == host_part(authority))
    authority.remove_suffix(port.size());
  return authority;
}

bool is_loopback_host(std::string_view host) {
  if (equal_nocase(host, "localhost") || host == "[::1]")
    return true;
  // 127.0.0.0/8, written as a dotted quad.
  if (!host.starts_with("127."))
    return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.')
      ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  }
  return dots == 3;
}

} // namespace

bool is_cross_origin_write(const transport::http_request& req) {
  if (!is_write(req.method))
    return false;
  auto site = req.header("sec-fetch-site");
  if (!site.empty())
    return !(equal_nocase(site, "same-origin") || equal_nocase(site, "none"));
  auto origin = req.header("origin");
  if (origin.empty())
    return false;
  // The request's own origin: its scheme and the Host it was sent to.
  auto sep = origin.find("://");
  if (sep == std::string_view::npos)
    return true; // "null" (sandboxed frames, file:) or garbage
  auto scheme = origin.substr(0, sep);
  auto authority = origin.substr(sep + 3);
  if (!(equal_nocase(scheme, "http") || equal_nocase(scheme, "https")) ||
      authority.find('/') != std::string_view::npos)
    return true;
  auto host = req.header("host");
  return !equal_nocase(strip_default_port(authority, scheme), strip_default_port(host, scheme));
}

bool is_allowed_host(std::string_view host_header, const std::vector<std::string>& allowed) {
  auto host = host_part(host_header);
  if (is_loopback_host(host))
    return true;
  for (const auto& a : allowed)
    if (equal_nocase(a, host_header) || equal_nocase(a, host))
      return true;
  return false;
}

} // namespace sy::api
