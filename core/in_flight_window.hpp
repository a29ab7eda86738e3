#pragma once
// How many deliveries of one subscription may be out at once.

#include <cstddef>
#include <cstdint>

namespace sy::core {

/// The `max_in_flight` window: that many concurrent deliveries (at least
/// one), one while the circuit breaker probes. A window of one is a FIFO
/// subscription: its events go strictly in order, a failing head first.
/// A value type owned by one subscriber actor.
class in_flight_window {
public:
  /// Makes a window of `max_in_flight` (values below 1 count as 1).
  explicit in_flight_window(int64_t max_in_flight = 16) { set_max(max_in_flight); }
  /// Changes the window (a subscription update).
  void set_max(int64_t max_in_flight) {
    max_ = max_in_flight < 1 ? 1 : static_cast<std::size_t>(max_in_flight);
  }
  /// Returns the limit: one while probing, else max_in_flight.
  std::size_t limit(bool probing) const { return probing ? 1 : max_; }
  /// Returns true when one more delivery may start with `in_flight` out.
  bool has_room(std::size_t in_flight, bool probing) const { return in_flight < limit(probing); }
  /// Returns true when events must go strictly in order (a window of one).
  bool fifo() const { return max_ == 1; }

private:
  std::size_t max_ = 16;
};

} // namespace sy::core
