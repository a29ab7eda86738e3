// Fuzzes POST /v1/eventtype (core/acoustic.hpp decode_event_type). A decoded
// type, written as GET /v1/eventtype lists it, must decode to the same type.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/acoustic_codec.hpp"
#include "core/event_type_codec.hpp"
#include "core/json_writer.hpp"
#include "core/type_pattern.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto r = core::decode_event_type(body);
  if (!r) {
    fuzz::check_refusal(r.error());
    return 0;
  }
  fuzz::check(!r->code.empty() && !r->name.empty(), "code and name are set");
  fuzz::check(r->version > 0, "the version is positive");
  fuzz::check(!core::validate_event_type(r->routed_type()), "the routed type is valid");

  core::json_writer w;
  core::write_event_type(w, *r);
  std::string listed = std::move(w).str();
  fuzz::check(fuzz::is_json_object(listed), "the listed type is a JSON object");
  auto again = core::decode_event_type(listed);
  fuzz::check(static_cast<bool>(again), "a listed type decodes");
  fuzz::check(*again == *r, "decode, write, decode gives the same type");
  return 0;
}
