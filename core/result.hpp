#pragma once
// A value or an error, for everything in core that can fail on bad input.

#include <string>
#include <utility>

#include "core/expected.hpp"

namespace sy::core {

/// Describes why an input was refused: the HTTP status it maps to, the field
/// it names (a path such as "events[2].code", empty for the whole body) and
/// a sentence for the client.
struct input_error {
  int status = 400;
  std::string field;
  std::string message;
  /// Index of the offending element in a batch, or -1.
  long index = -1;
  /// True when the message names the field itself (`unknown field "x"`).
  bool names_field = false;

  /// Returns "field: message", or the message alone when no field is named
  /// or the message names it.
  std::string what() const {
    return field.empty() || names_field ? message : field + ": " + message;
  }
};

/// Returns a 400 (malformed body, wrong type) naming `field`.
inline input_error bad_request(std::string field, std::string message, long index = -1) {
  return {400, std::move(field), std::move(message), index};
}

/// Returns a 422 (well-formed body, invalid value) naming `field`.
inline input_error unprocessable(std::string field, std::string message, long index = -1) {
  return {422, std::move(field), std::move(message), index};
}

/// Holds either a T or an input_error: what every decoder of core returns.
template <class T>
using result = expected<T, input_error>;

} // namespace sy::core
