// Fuzzes PUT /v1/subscription/notification (core/subscription.hpp decode_watcher).

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/json_writer.hpp"
#include "core/subscription_codec.hpp"
#include "core/url.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto r = core::decode_watcher(body);
  if (!r) {
    fuzz::check_refusal(r.error());
    return 0;
  }
  fuzz::check(!core::validate_url(r->notification_url), "the notification url is valid");
  fuzz::check(r->notification_key.size() <= core::max_notification_key_bytes,
              "the key within its limit");
  if (!r->auth.type.empty()) {
    core::json_writer w;
    core::write_egress_auth(w, r->auth, false);
    std::string written = std::move(w).str();
    auto again = core::decode_egress_auth_body(written, "authentication");
    fuzz::check(again && *again == r->auth, "the watcher's auth writes and decodes the same");
  }
  return 0;
}
