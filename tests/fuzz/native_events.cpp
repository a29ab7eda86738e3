// Fuzzes POST /v1/events (core/codecs.hpp decode_native_events) as api/ calls
// it: the body as a mutable string decoded in place. A decoded batch is
// written back as a native body and must decode to the same events.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/native_codec.hpp"
#include "core/country.hpp"
#include "core/json_writer.hpp"
#include "core/type_pattern.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

namespace {

constexpr int64_t now_ms = 1'700'000'000'000;

std::string encode(const core::event_batch& batch) {
  core::json_writer w;
  w.begin_array();
  for (const auto& e : batch.events) {
    w.begin_object().key("type").value(e.type).key("timestamp").value(e.timestamp_ms);
    w.key("data").raw(e.data);
    if (!e.country.empty())
      w.key("country").value(e.country);
    if (!e.client_id.empty())
      w.key("id").value(e.client_id);
    w.end_object();
  }
  w.end_array();
  return std::move(w).str();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto r = core::decode_native_events(body, now_ms);
  if (!r) {
    fuzz::check_refusal(r.error());
    return 0;
  }
  fuzz::check(!r->events.empty(), "a decoded batch holds an event");
  for (const auto& e : r->events) {
    fuzz::check(!core::validate_event_type(e.type), "a decoded type is valid");
    fuzz::check(e.country.empty() || core::is_iso_country(e.country), "a decoded country is ISO");
    fuzz::check(e.client_id.size() <= 128, "a client id is at most 128 bytes");
    fuzz::check(e.timestamp_ms >= 0, "a timestamp is not negative");
    fuzz::check(fuzz::is_json_object(e.data), "data is a JSON object");
  }

  // Unescaped strings are views into the thread's simdjson parser, valid
  // until its next parse (api/ copies them before it decodes again): keep
  // owned copies across the second decode.
  std::vector<core::event> first;
  for (const auto& e : r->events)
    first.push_back(core::event{"", std::string(e.type), std::string(e.country),
                                std::string(e.client_id), std::string(e.data), e.timestamp_ms});
  auto again_body = encode(*r);
  auto again = core::decode_native_events(again_body, 0);
  fuzz::check(static_cast<bool>(again), "a re-encoded batch decodes");
  fuzz::check(again->events.size() == first.size(), "the same number of events");
  for (std::size_t i = 0; i < first.size(); ++i) {
    const auto& a = first[i];
    const auto& b = again->events[i];
    fuzz::check(a.type == b.type && a.country == b.country && a.client_id == b.client_id &&
                  a.data == b.data && a.timestamp_ms == b.timestamp_ms,
                "decode, encode, decode gives the same event");
  }
  return 0;
}
