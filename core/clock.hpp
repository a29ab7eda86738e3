#pragma once
// The clock seam: every delivery policy reads time through a `clock`, so a
// test drives it with a manual_clock and never sleeps.

#include <cstdint>

namespace sy::core {

/// Reads time in milliseconds. `steady_ms` never goes back and measures
/// delays; `wall_ms` is the Unix epoch, for what is shown and for event ages.
/// Implementations are thread-safe to read.
class clock {
public:
  virtual ~clock() = default;
  /// Returns milliseconds on a monotonic clock (an arbitrary origin).
  virtual int64_t steady_ms() const = 0;
  /// Returns milliseconds since the Unix epoch.
  virtual int64_t wall_ms() const = 0;
};

/// The real clocks: std::chrono::steady_clock and system_clock.
class real_clock final : public clock {
public:
  /// Returns std::chrono::steady_clock's time in ms.
  int64_t steady_ms() const override;
  /// Returns std::chrono::system_clock's time in ms since the epoch.
  int64_t wall_ms() const override;
};

/// Returns the process's one real clock (it has no state).
const clock& system_clock();

/// A clock that moves only when told (tests). Both readings advance
/// together; not thread-safe.
class manual_clock final : public clock {
public:
  /// Starts at `steady` on the steady clock and `wall` on the wall clock.
  explicit manual_clock(int64_t steady = 1000, int64_t wall = 1'800'000'000'000)
      : steady_(steady), wall_(wall) {}
  /// Returns the steady reading.
  int64_t steady_ms() const override { return steady_; }
  /// Returns the wall reading.
  int64_t wall_ms() const override { return wall_; }
  /// Moves both readings forward by `ms`.
  void advance(int64_t ms) {
    steady_ += ms;
    wall_ += ms;
  }

private:
  int64_t steady_;
  int64_t wall_;
};

} // namespace sy::core
