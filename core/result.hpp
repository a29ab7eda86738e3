#pragma once
// A value or an error, for everything in core that can fail on bad input.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

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

/// Holds either a T or an input_error (a minimal std::expected for C++20).
template <class T>
class result {
public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(input_error err) : v_(std::in_place_index<1>, std::move(err)) {}

  /// Returns true when a value is held.
  explicit operator bool() const noexcept { return v_.index() == 0; }
  bool has_value() const noexcept { return v_.index() == 0; }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const input_error& error() const {
    assert(!has_value());
    return std::get<1>(v_);
  }

private:
  std::variant<T, input_error> v_;
};

} // namespace sy::core
