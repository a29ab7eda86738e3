#include "core/url.hpp"

#include <arpa/inet.h>

#include "core/ascii.hpp"

namespace sy::core {

namespace {

constexpr std::size_t max_host_bytes = 253;
constexpr std::size_t max_label_bytes = 63;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool is_alnum(char c) { return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'z'); }

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return equal_nocase(s.substr(0, prefix.size()), prefix);
}

bool is_ipv4(const std::string& s) {
  in_addr a;
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a;
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// Checks a registered name (or dotted IPv4) and returns why it is refused.
std::optional<std::string> check_host_name(const std::string& host) {
  if (host.size() > max_host_bytes)
    return "host must be at most 253 bytes";
  std::string_view rest = host;
  // One trailing dot (a fully qualified name) is legal DNS.
  if (rest.back() == '.')
    rest.remove_suffix(1);
  std::string_view last_label;
  std::size_t start = 0;
  while (true) {
    auto dot = rest.find('.', start);
    auto label = rest.substr(start, dot == rest.npos ? rest.npos : dot - start);
    if (label.empty())
      return "host must not contain an empty label";
    if (label.size() > max_label_bytes)
      return "host labels must be at most 63 bytes";
    for (char c : label)
      if (!is_alnum(c) && c != '-' && c != '_')
        return std::string("host must not contain '") + c + "'";
    last_label = label;
    if (dot == rest.npos)
      break;
    start = dot + 1;
  }
  // A name whose last label starts with a digit is read as an IPv4 address
  // by resolvers (in forms such as "127.1" or "0x7f.1"); only the plain
  // dotted quad is accepted so that what is validated is what is dialled.
  if (is_digit(last_label.front()) && !is_ipv4(host))
    return "host looks like an IPv4 address but is not a dotted quad such as 192.0.2.1";
  return std::nullopt;
}

// Parses `url` into `out`; returns why it is refused, or nullopt.
std::optional<std::string> parse(std::string_view url, url_parts& out) {
  if (url.empty())
    return "must not be empty";
  if (url.size() > max_url_bytes)
    return "must be at most 2048 bytes";
  for (char ch : url) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f)
      return "must not contain whitespace or control characters";
    // A request line is ASCII; other characters must arrive percent-encoded.
    if (c >= 0x80)
      return "must be ASCII (percent-encode other characters)";
  }
  std::string_view rest;
  if (starts_with_nocase(url, "https://")) {
    out.scheme = "https";
    out.port = 443;
    rest = url.substr(8);
  } else if (starts_with_nocase(url, "http://")) {
    out.scheme = "http";
    out.port = 80;
    rest = url.substr(7);
  } else {
    return "must be an absolute http:// or https:// URL";
  }

  auto authority_end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, authority_end);
  rest = authority_end == rest.npos ? std::string_view{} : rest.substr(authority_end);

  if (authority.find('@') != authority.npos)
    return "must not contain user credentials (user:password@); use the auth settings";

  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == authority.npos)
      return "has an IPv6 address without its closing ']'";
    out.host.assign(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return "must have ':port' or nothing after an IPv6 address";
      has_port = true;
      port_text = after.substr(1);
    }
    if (out.host.empty() || !is_ipv6(out.host))
      return "has an invalid IPv6 address";
    for (auto& c : out.host)
      c = lower(c);
  } else {
    auto colon = authority.find(':');
    out.host.assign(authority.substr(0, colon));
    if (colon != authority.npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (out.host.empty())
      return "must name a host";
    for (auto& c : out.host)
      c = lower(c);
    if (auto why = check_host_name(out.host))
      return why;
  }

  if (has_port) {
    if (port_text.empty() || port_text.size() > 5)
      return "port must be a number from 1 to 65535";
    unsigned value = 0;
    for (char c : port_text) {
      if (!is_digit(c))
        return "port must be a number from 1 to 65535";
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value < 1 || value > 65535)
      return "port must be a number from 1 to 65535";
    out.port = static_cast<uint16_t>(value);
  }

  // The fragment never leaves the client.
  auto hash = rest.find('#');
  auto target = rest.substr(0, hash);
  for (std::size_t i = 0; i < target.size(); ++i)
    if (target[i] == '%' &&
        (i + 2 >= target.size() || !is_hex(target[i + 1]) || !is_hex(target[i + 2])))
      return "has a '%' that is not followed by two hex digits";
  out.target.clear();
  if (target.empty() || target.front() == '?')
    out.target.push_back('/');
  out.target.append(target);
  return std::nullopt;
}

} // namespace

std::string url_parts::host_header() const {
  std::string out;
  bool ipv6 = host.find(':') != std::string::npos;
  if (ipv6)
    out.push_back('[');
  out.append(host);
  if (ipv6)
    out.push_back(']');
  bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  if (!default_port)
    out.append(":").append(std::to_string(port));
  return out;
}

std::optional<url_parts> parse_url(std::string_view url) {
  url_parts out;
  if (parse(url, out))
    return std::nullopt;
  return out;
}

std::optional<std::string> validate_url(std::string_view url) {
  url_parts ignored;
  return parse(url, ignored);
}

void percent_encode_into(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (is_alnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
}

std::string append_query(std::string_view target, std::string_view key, std::string_view value) {
  std::string out(target);
  if (out.empty())
    out.push_back('/');
  auto q = out.find('?');
  if (q == std::string::npos)
    out.push_back('?');
  else if (out.back() != '?' && out.back() != '&')
    out.push_back('&');
  percent_encode_into(out, key);
  out.push_back('=');
  percent_encode_into(out, value);
  return out;
}

} // namespace sy::core
