// Fuzzes POST /v1/event (core/acoustic.hpp decode_acoustic_events) against a
// catalog like the unit tests' (a namespaced type with typed attributes, one
// that takes any attribute), and the ISO-8601 reader on the raw input.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "core/acoustic_codec.hpp"
#include "core/time_format.hpp"
#include "core/event_type_codec.hpp"
#include "core/type_pattern.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

namespace {

constexpr int64_t now_ms = 1'700'000'000'000;

const std::map<std::string, core::event_type_def, std::less<>>& catalog() {
  static const auto types = [] {
    std::map<std::string, core::event_type_def, std::less<>> m;
    core::event_type_def order;
    order.code = "orderPlaced";
    order.name = "Order placed";
    order.ns = "shop";
    order.attributes = {{"orderTotal", "number"},
                        {"giftWrap", "boolean"},
                        {"deliveredAt", "date"},
                        {"note", "string"}};
    m.emplace(order.code, order);
    core::event_type_def view;
    view.code = "pageView";
    view.name = "Page view";
    m.emplace(view.code, view);
    return m;
  }();
  return types;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (auto ms = core::parse_iso8601_ms(text))
    fuzz::check(text.size() >= 20, "an ISO-8601 time has at least 20 bytes");

  core::event_type_lookup lookup = [](std::string_view code) -> const core::event_type_def* {
    auto it = catalog().find(code);
    return it == catalog().end() ? nullptr : &it->second;
  };
  std::string body = text;
  auto r = core::decode_acoustic_events(body, lookup, now_ms);
  if (!r) {
    fuzz::check_refusal(r.error());
    return 0;
  }
  fuzz::check(!r->events.empty(), "a decoded batch holds an event");
  for (const auto& e : r->events) {
    fuzz::check(!core::validate_event_type(e.type), "a routed type is valid");
    fuzz::check(e.type == "shop.orderPlaced" || e.type == "pageView",
                "a routed type is registered");
    fuzz::check(fuzz::is_json_object(e.data), "synthesised data is a JSON object");
  }
  return 0;
}
