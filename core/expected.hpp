#pragma once
// A value or an error: the one result shape of switchyard (a minimal
// std::expected for C++20). core's decoders use it with input_error
// (core/result.hpp), storage with storage::error (storage/error.hpp).

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace sy::core {

/// Holds either a T or an E. Converts from either; `if (r)` tests for a value.
template <class T, class E>
class [[nodiscard]] expected {
  static_assert(!std::is_same_v<T, E>, "a value type must differ from its error type");

public:
  expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  expected(E err) : v_(std::in_place_index<1>, std::move(err)) {}

  /// Returns true when a value is held.
  explicit operator bool() const noexcept { return v_.index() == 0; }
  /// Returns true when a value is held.
  bool has_value() const noexcept { return v_.index() == 0; }

  /// Returns the value; only when has_value().
  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  /// Returns the value; only when has_value().
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  /// Returns the value; only when has_value().
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

  /// Returns the error; only when !has_value().
  const E& error() const& {
    assert(!has_value());
    return std::get<1>(v_);
  }
  /// Returns the error; only when !has_value().
  E&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(v_));
  }

private:
  std::variant<T, E> v_;
};

/// The outcome of an operation that returns nothing: success or an E.
template <class E>
class [[nodiscard]] expected<void, E> {
public:
  /// Makes a success.
  expected() = default;
  expected(E err) : err_(std::move(err)), failed_(true) {}

  /// Returns true on success.
  explicit operator bool() const noexcept { return !failed_; }
  /// Returns true on success.
  bool has_value() const noexcept { return !failed_; }

  /// Returns the error; only when !has_value().
  const E& error() const& {
    assert(failed_);
    return err_;
  }
  /// Returns the error; only when !has_value().
  E&& error() && {
    assert(failed_);
    return std::move(err_);
  }

private:
  E err_{};
  bool failed_ = false;
};

} // namespace sy::core
