// Fuzzes URL validation (core/url.hpp): parse_url and validate_url agree;
// a parsed URL rebuilt from its parts parses to the same parts; a query
// parameter appended to its target keeps it a valid URL.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/url.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view url(reinterpret_cast<const char*>(data), size);
  auto parts = core::parse_url(url);
  auto why = core::validate_url(url);
  fuzz::check(parts.has_value() != why.has_value(), "parse_url and validate_url agree");
  if (!parts) {
    fuzz::check(!why->empty(), "a refusal says why");
    return 0;
  }
  fuzz::check(parts->scheme == "http" || parts->scheme == "https", "the scheme is http(s)");
  fuzz::check(!parts->host.empty() && parts->port != 0, "a host and a port");
  fuzz::check(!parts->target.empty() &&
                (parts->target.front() == '/' || parts->target.front() == '?'),
              "the target starts with / or ?");

  // The target gains a '/' before a bare "?query", and the rebuilt URL
  // drops a fragment and a default port: it may be longer by one byte, so a
  // URL at the size limit is rebuilt over it and rightly refused.
  std::string rebuilt = parts->scheme + "://" + parts->host_header() + parts->target;
  if (rebuilt.size() > core::max_url_bytes)
    return 0;
  auto again = core::parse_url(rebuilt);
  fuzz::check(again.has_value(), "a URL rebuilt from its parts parses");
  fuzz::check(again->scheme == parts->scheme && again->host == parts->host &&
                again->port == parts->port && again->target == parts->target,
              "a rebuilt URL has the same parts");

  std::string with_query = parts->scheme + "://" + parts->host_header() +
                           core::append_query(parts->target, "key", std::string(url.substr(0, 64)));
  if (with_query.size() <= core::max_url_bytes)
    fuzz::check(core::parse_url(with_query).has_value(), "appending a query keeps the URL valid");
  return 0;
}
