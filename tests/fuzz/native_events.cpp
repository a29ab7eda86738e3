// Fuzzes POST /v1/events (core/codecs.hpp decode_native_events) as api/ calls
// it: the body as a mutable string decoded in place. A decoded batch is
// written back as a native body and must decode to the same events. Every
// input is also decoded with get_raw_object walking each token of `data`
// through On Demand (core/json_input.hpp, walk_raw_values): the byte scanner
// that checks `data` must never accept what the walk refuses, and the two
// must give the same answer.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/native_codec.hpp"
#include "core/country.hpp"
#include "core/json_input.hpp"
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

// Returns the events of `batch` as owned copies: unescaped strings are views
// into the thread's simdjson parser, valid until its next parse (api/ copies
// them before it decodes again).
std::vector<core::event> owned(const core::event_batch& batch) {
  std::vector<core::event> out;
  for (const auto& e : batch.events)
    out.push_back(core::event{"", std::string(e.type), std::string(e.country),
                              std::string(e.client_id), std::string(e.data), e.timestamp_ms});
  return out;
}

bool same_events(const std::vector<core::event>& a, const std::vector<core::event>& b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].type != b[i].type || a[i].country != b[i].country ||
        a[i].client_id != b[i].client_id || a[i].data != b[i].data ||
        a[i].timestamp_ms != b[i].timestamp_ms)
      return false;
  return true;
}

// Decodes `input` with every token of `data` walked through On Demand.
core::result<std::vector<core::event>> decode_walking(std::string_view input) {
  std::string body(input);
  core::json::walk_raw_values walk;
  auto r = core::decode_native_events(body, now_ms);
  if (!r)
    return r.error();
  return owned(*r);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string body(input);
  auto r = core::decode_native_events(body, now_ms);
  {
    auto first = r ? owned(*r) : std::vector<core::event>{};
    auto error = r ? core::input_error{} : r.error();
    auto walked = decode_walking(input);
    fuzz::check(static_cast<bool>(r) == static_cast<bool>(walked),
                "the data scanner and the token walk agree on accepting");
    if (walked)
      fuzz::check(same_events(first, *walked), "the scanner and the walk give the same events");
    else
      fuzz::check(error.status == walked.error().status && error.field == walked.error().field &&
                    error.message == walked.error().message &&
                    error.index == walked.error().index &&
                    error.names_field == walked.error().names_field,
                  "the scanner and the walk give the same refusal");
    if (!r) {
      fuzz::check_refusal(error);
      return 0;
    }
    // The walk's decode reused the thread's parser: decode again for views.
    body.assign(input);
    r = core::decode_native_events(body, now_ms);
  }
  fuzz::check(!r->events.empty(), "a decoded batch holds an event");
  for (const auto& e : r->events) {
    fuzz::check(!core::validate_event_type(e.type), "a decoded type is valid");
    fuzz::check(e.country.empty() || core::is_iso_country(e.country), "a decoded country is ISO");
    fuzz::check(e.client_id.size() <= 128, "a client id is at most 128 bytes");
    fuzz::check(e.timestamp_ms >= 0, "a timestamp is not negative");
    fuzz::check(fuzz::is_json_object(e.data), "data is a JSON object");
  }

  // Keep owned copies across the second decode (see owned()).
  auto first = owned(*r);
  auto again_body = encode(*r);
  auto again = core::decode_native_events(again_body, 0);
  fuzz::check(static_cast<bool>(again), "a re-encoded batch decodes");
  fuzz::check(same_events(first, owned(*again)), "decode, encode, decode gives the same events");
  return 0;
}
