#pragma once
// Absolute http(s) URLs as subscribers give them: validation for the codecs,
// and the parts the webhook client connects with.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sy::core {

/// Longest URL accepted, in bytes.
inline constexpr std::size_t max_url_bytes = 2048;

/// The parts of a valid absolute http(s) URL that a request needs.
struct url_parts {
  std::string scheme; ///< "http" or "https", lowercase
  std::string host;   ///< lowercase name, dotted IPv4, or IPv6 without brackets
  std::string target; ///< path and query ("/" when the URL has none), no fragment
  uint16_t port = 0;  ///< the explicit port, else 80 or 443

  /// Returns the Host header value: the host (bracketed when IPv6) plus
  /// ":port" when the port is not the scheme's default.
  std::string host_header() const;
};

/// Returns the parts of `url`, or nullopt when validate_url refuses it.
std::optional<url_parts> parse_url(std::string_view url);

/// Returns why `url` is not an absolute http(s) URL that switchyard can call
/// (no userinfo, no whitespace or control characters, at most max_url_bytes),
/// or nullopt when it is.
std::optional<std::string> validate_url(std::string_view url);

/// Appends `s` to `out` percent-encoded: every byte but A-Z a-z 0-9 - . _ ~
/// (RFC 3986 unreserved) becomes %XX. Also right for form bodies.
void percent_encode_into(std::string& out, std::string_view s);

/// Returns `target` with the query parameter key=value appended after '?'
/// or '&', both percent-encoded.
std::string append_query(std::string_view target, std::string_view key, std::string_view value);

} // namespace sy::core
