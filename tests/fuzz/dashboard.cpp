// Fuzzes POST /dashboard/v1/notifications (core/subscription.hpp
// decode_dashboard_subscription).

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/subscription_codec.hpp"
#include "core/url.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto r = core::decode_dashboard_subscription(body);
  if (!r) {
    fuzz::check_refusal(r.error());
    return 0;
  }
  fuzz::check(!core::validate_url(r->url), "the url is valid");
  fuzz::check(r->country.size() == 2 || r->country.size() == 3, "the country has 2 or 3 letters");
  fuzz::check(r->event == "REGISTER" || r->event == "CHANGE" || r->event == "DELETE" ||
                r->event == "INVOKE",
              "the event is one of the four");
  return 0;
}
