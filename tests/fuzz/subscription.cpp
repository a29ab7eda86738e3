// Fuzzes the subscription bodies of core/subscription.hpp on the same input:
// POST /v1/subscriptions, PATCH /v1/subscriptions/{id} and an egress auth
// object. A decoded auth, written unredacted, must decode to the same auth.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/country.hpp"
#include "core/json_writer.hpp"
#include "core/subscription_codec.hpp"
#include "core/url.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

namespace {

void check_spec(const core::subscription_spec& s) {
  if (s.service)
    fuzz::check(s.service->size() <= core::max_service_bytes, "service within its limit");
  if (s.url)
    fuzz::check(!core::validate_url(*s.url), "a decoded url is valid");
  if (s.types)
    fuzz::check(s.types->size() <= core::max_type_patterns, "types within their limit");
  if (s.max_in_flight)
    fuzz::check(*s.max_in_flight >= 1 && *s.max_in_flight <= core::max_max_in_flight,
                "max_in_flight within range");
  if (s.rate_limit)
    fuzz::check(*s.rate_limit >= 0 && *s.rate_limit <= core::max_rate_limit,
                "rate_limit within range");
}

void check_auth_round_trip(const core::egress_auth& auth) {
  core::json_writer w;
  core::write_egress_auth(w, auth, false);
  std::string written = std::move(w).str();
  if (auth.type.empty()) {
    fuzz::check(written == "null", "a cleared auth is written as null");
    return;
  }
  auto again = core::decode_egress_auth_body(written);
  fuzz::check(static_cast<bool>(again), "a written auth decodes");
  fuzz::check(*again == auth, "decode, write, decode gives the same auth");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);

  std::string body = input;
  auto created = core::decode_subscription_create(body);
  if (created) {
    check_spec(*created);
    fuzz::check(created->service && created->types && created->delivery &&
                  created->verification_required && created->max_in_flight && created->rate_limit,
                "a create fills in every default");
    if (created->auth)
      check_auth_round_trip(*created->auth);
  } else {
    fuzz::check_refusal(created.error());
  }

  body = input;
  auto patched = core::decode_subscription_patch(body);
  if (patched) {
    check_spec(*patched);
    fuzz::check(!patched->delivery && !patched->verification_required,
                "a PATCH never sets delivery or verification");
    if (patched->auth)
      check_auth_round_trip(*patched->auth);
  } else {
    fuzz::check_refusal(patched.error());
  }

  body = input;
  auto auth = core::decode_egress_auth_body(body, "authentication");
  if (auth)
    check_auth_round_trip(*auth);
  else
    fuzz::check_refusal(auth.error());
  return 0;
}
