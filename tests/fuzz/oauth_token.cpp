// Fuzzes an OAuth token endpoint's answer (core/subscription.hpp
// decode_oauth_token), which the subscriber reads from a remote server.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/oauth.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto r = core::decode_oauth_token(body);
  if (!r) {
    fuzz::check_refusal(r.error());
    return 0;
  }
  fuzz::check(!r->access_token.empty(), "the token is not empty");
  for (unsigned char c : r->access_token)
    fuzz::check(c >= 0x20 && c != 0x7f, "the token has no control character");
  fuzz::check(r->expires_in_s >= 1 && r->expires_in_s <= 86400, "expires_in within a day");
  return 0;
}
