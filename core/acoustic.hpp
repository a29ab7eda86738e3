#pragma once
// Acoustic Exchange (API.md §1 "Acoustic Exchange shape" and §4): registered
// event types and the POST /v1/event codec that turns Acoustic's three
// payload forms into routed events. Pure: no I/O, no clock (callers pass
// `now_ms`), no registry (callers pass a lookup).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.hpp"
#include "core/json_writer.hpp"
#include "core/result.hpp"

namespace sy::core {

/// Describes one attribute an event type registers.
struct attribute_def {
  std::string name;
  std::string type; ///< normalised lowercase: string, number, boolean or date

  /// Returns true when both fields are equal.
  bool operator==(const attribute_def&) const = default;
};

/// Describes an event type registered with POST /v1/eventtype.
struct event_type_def {
  std::string code, name, description, ns; ///< ns = namespace, may be empty
  double version = 1;
  std::string registration_type = "PUBLISH"; ///< PUBLISH or SUBSCRIBE
  std::vector<attribute_def> attributes;     ///< empty = any attribute accepted

  /// Returns the routed event type: "<ns>.<code>", or "<code>" when ns is empty.
  std::string routed_type() const;

  /// Returns true when every field is equal.
  bool operator==(const event_type_def&) const = default;
};

/// Decodes POST /v1/eventtype: code and name required (422 when missing or
/// empty); description and namespace optional strings; version an optional
/// positive number (default 1); registrationType PUBLISH or SUBSCRIBE in any
/// case (stored uppercase); attributes an optional array of {name, type}
/// with type string, number, boolean, date or its synonym time. Wrong JSON
/// types are 400, invalid values 422.
result<event_type_def> decode_event_type(std::string& body);

/// Writes `t` as the JSON object GET /v1/eventtype lists: {"code", "version",
/// "namespace", "name", "description", "attributes": [{"name", "type"}],
/// "registrationType"}.
void write_event_type(json_writer& w, const event_type_def& t);

/// Returns the registered event type for a code, or nullptr.
using event_type_lookup = std::function<const event_type_def*(std::string_view code)>;

/// Decodes POST /v1/event (API.md §1 "Acoustic Exchange shape"): an
/// individual event, a simple batch or a compound batch, all or nothing.
/// Every violation is a 400 naming the field's full path (such as
/// "eventbatch[1].events[0].timestamp") and, when it concerns one event, the
/// event's index in the returned order. A compound batch's events without a
/// timestamp get `now_ms`. Unlike the other codecs' views, the returned
/// views point into the batch's own storage, not into `body`.
result<event_batch> decode_acoustic_events(std::string& body, const event_type_lookup& lookup,
                                           int64_t now_ms);

/// Returns the milliseconds since the Unix epoch that an ISO-8601 time such
/// as "2015-02-28T20:16:12Z" names (fractional seconds and "+01:00" offsets
/// accepted, fractions below a millisecond truncated), or nullopt when
/// `text` is not exactly such a time or names an impossible date.
std::optional<int64_t> parse_iso8601_ms(std::string_view text);

} // namespace sy::core
