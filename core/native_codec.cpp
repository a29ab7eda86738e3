// POST /v1/events: the native (Notificare Live API) event shape.

#include "core/native_codec.hpp"

#include <algorithm>

#include "core/country.hpp"
#include "core/json_input.hpp"
#include "core/type_pattern.hpp"

namespace sy::core {

namespace {

using namespace json;

constexpr std::size_t max_client_id_bytes = 128;
constexpr std::string_view empty_object = "{}";

// The members of a native event.
enum class member { type, data, timestamp, country, id, unknown };

// Returns the member `key` names, ignoring ASCII case: one comparison per
// key, chosen by its length.
member member_of(std::string_view key) {
  switch (key.size()) {
    case 2: return key_is(key, "id") ? member::id : member::unknown;
    case 4:
      if (key_is(key, "type"))
        return member::type;
      return key_is(key, "data") ? member::data : member::unknown;
    case 7: return key_is(key, "country") ? member::country : member::unknown;
    case 9: return key_is(key, "timestamp") ? member::timestamp : member::unknown;
    default: return member::unknown;
  }
}

// Returns the member whose name, ignoring ASCII case, is spelled at `raw`
// (the byte after the key's opening quote) without escapes; unknown for any
// other key, which member_of then reads unescaped. Every byte it compares
// before a mismatch is a letter of the name, so it never reads past the
// key's closing quote.
member member_of_raw(const char* raw) {
  auto is = [raw](std::string_view lower_name) {
    for (std::size_t i = 0; i < lower_name.size(); ++i)
      if (lower(raw[i]) != lower_name[i])
        return false;
    return raw[lower_name.size()] == '"';
  };
  switch (lower(raw[0])) {
    case 't':
      if (is("type"))
        return member::type;
      return is("timestamp") ? member::timestamp : member::unknown;
    case 'd': return is("data") ? member::data : member::unknown;
    case 'c': return is("country") ? member::country : member::unknown;
    case 'i': return is("id") ? member::id : member::unknown;
    default: return member::unknown;
  }
}

// Field names carry the batch index separately (input_error::index), so that
// a single event and element 3 of a batch name the same field.
event_view read_event(od::value& v, long index) {
  auto obj = get_object(v, "event", index);
  event_view e;
  e.data = empty_object;
  e.timestamp_ms = -1;
  bool seen_type = false, seen_data = false, seen_ts = false, seen_country = false, seen_id = false;
  auto once = [&](bool& seen, const char* name) {
    if (seen)
      fail_400(name, "appears more than once", index);
    seen = true;
  };
  for (auto field : obj) {
    // The five names are matched in place; only another key (an unknown
    // one, or one written with escapes) is unescaped.
    std::string_view key;
    member m = member_of_raw(field.key().raw());
    if (m == member::unknown) {
      if (auto err = field.unescaped_key().get(key))
        fail_400("event", std::string("malformed JSON: ") + simdjson::error_message(err), index);
      m = member_of(key);
    }
    od::value val;
    if (auto err = field.value().get(val))
      fail_400("event", std::string("malformed JSON: ") + simdjson::error_message(err), index);
    switch (m) {
      case member::type:
        once(seen_type, "type");
        e.type = get_string(val, "type", index);
        if (auto why = validate_event_type(e.type))
          fail_422("type", *why, index);
        break;
      case member::data:
        once(seen_data, "data");
        if (auto raw = get_optional_raw_object(val, "data", index))
          e.data = *raw;
        break;
      case member::timestamp:
        once(seen_ts, "timestamp");
        if (auto ts = get_optional_integer(val, "timestamp", 0, INT64_MAX / 1000, index))
          e.timestamp_ms = *ts;
        break;
      case member::country:
        once(seen_country, "country");
        if (auto country = get_optional_string(val, "country", index)) {
          e.country = *country;
          if (!is_iso_country(e.country))
            fail_422("country", "must be an ISO 3166-1 alpha-2 code in uppercase, such as NO or GB",
                     index);
        }
        break;
      case member::id:
        once(seen_id, "id");
        if (auto id = get_optional_string(val, "id", index)) {
          e.client_id = *id;
          if (e.client_id.empty() || e.client_id.size() > max_client_id_bytes)
            fail_422("id", "must be 1 to 128 bytes", index);
        }
        break;
      case member::unknown:
        fail_unknown("", key, {"type", "data", "timestamp", "country", "id"}, index);
    }
  }
  if (!seen_type)
    fail_422("type", "is required", index);
  return e;
}

} // namespace

input_error too_many_events(std::size_t max_events) {
  return {413, "",
          "the batch holds more than " + std::to_string(max_events) +
            " events (http.max_batch_events): split it",
          -1};
}

result<event_batch> decode_native_events(std::string& body, int64_t now_ms,
                                         std::size_t max_events) {
  return json::decode<event_batch>(body, [&](od::document& doc) {
    event_batch batch;
    od::json_type t;
    if (auto err = doc.type().get(t))
      throw codec_failure{malformed(err)};
    if (t == od::json_type::array) {
      od::array arr;
      if (auto err = doc.get_array().get(arr))
        throw codec_failure{malformed(err)};
      // One allocation for a typical batch instead of a doubling series: a
      // guess of one event per 128 bytes (an event of the API's examples is
      // 150 to 300), never more than the batch may hold.
      batch.events.reserve(std::min(max_events, body.size() / 128 + 1));
      long i = 0;
      for (auto elem : arr) {
        if (batch.events.size() == max_events)
          throw codec_failure{too_many_events(max_events)};
        od::value v;
        if (auto err = elem.get(v))
          throw codec_failure{malformed(err)};
        batch.events.push_back(read_event(v, i++));
      }
      if (batch.events.empty())
        fail_422("", "the batch holds no event: send at least one");
    } else if (t == od::json_type::object) {
      od::value v;
      if (auto err = doc.get_value().get(v))
        throw codec_failure{malformed(err)};
      batch.events.push_back(read_event(v, -1));
    } else {
      check_scalar_document(doc);
      fail_400("", std::string("the body must be an event object or an array of events, got ") +
                     type_name(t));
    }
    for (auto& e : batch.events)
      if (e.timestamp_ms < 0)
        e.timestamp_ms = now_ms;
    return batch;
  });
}

} // namespace sy::core
