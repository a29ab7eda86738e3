// Fuzzes the push contract's bodies (core/push.hpp) on the same input:
// POST /v1/association/create and POST /v1/notification/sendToList.
// Every refusal of this contract is a 400.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/push_codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

namespace {

bool is_canonical_device_type(const std::string& s) {
  return s == "Android" || s == "iOS" || s == "Web";
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);

  std::string body = input;
  auto a = core::decode_association(body);
  if (a) {
    fuzz::check(!a->token.empty(), "a token is set");
    fuzz::check(!a->cellphone.empty() || !a->email.empty(), "a cellphone or an email is set");
    fuzz::check(a->cellphone.empty() || core::is_valid_cellphone(a->cellphone),
                "the cellphone is valid");
    fuzz::check(a->email.empty() || core::is_valid_email(a->email), "the email is valid");
    fuzz::check(a->device_type.empty() || is_canonical_device_type(a->device_type),
                "the device type is canonical");
  } else {
    fuzz::check_refusal(a.error());
    fuzz::check(a.error().status == 400, "a push refusal is a 400");
  }

  body = input;
  auto s = core::decode_send_to_list(body);
  if (s) {
    fuzz::check(s->has_tokens || s->by_association, "tokens or tokensByAssociation is set");
    for (const auto& t : s->device_types)
      fuzz::check(is_canonical_device_type(t), "filter device types are canonical");
    for (const auto& c : s->cellphones)
      fuzz::check(core::is_valid_cellphone(c), "filter cellphones are valid");
    for (const auto& e : s->emails)
      fuzz::check(core::is_valid_email(e), "filter emails are valid");
  } else {
    fuzz::check_refusal(s.error());
    fuzz::check(s.error().status == 400, "a push refusal is a 400");
  }
  return 0;
}
