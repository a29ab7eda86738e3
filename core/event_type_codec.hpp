#pragma once
// Event types of the Acoustic Exchange (docs/api.md §4): the POST /v1/eventtype
// codec, the JSON form GET /v1/eventtype lists, and the attribute types an
// event's attribute values are checked against (core/acoustic_codec.hpp).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

/// The type of an event attribute's value.
enum class attribute_type { string, number, boolean, date };

/// Returns the attribute type named by `s` in any case ("time" being
/// Acoustic's word for an ISO-8601 date and time, so a date), or nullopt.
std::optional<attribute_type> parse_attribute_type(std::string_view s);

/// Returns "string", "number", "boolean" or "date".
const char* to_string(attribute_type t);

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

} // namespace sy::core
