#pragma once
// The subscription level of docs/api.md "Retries": a circuit breaker that
// stops a subscription's deliveries, waits, and reopens after one probe.

#include <array>
#include <cstdint>
#include <random>

#include "core/clock.hpp"
#include "core/retry_schedule.hpp"

namespace sy::core {

/// What one delivery attempt came to, as the breaker weighs it.
enum class attempt_outcome {
  success,            ///< 2xx
  failure,            ///< any other answer: counts towards the ratio only
  connection_failure, ///< refused, reset, timeout, TLS: trips at once
  throttled,          ///< 429 or an answer with Retry-After: trips at once
};

/// When the breaker trips on the failure ratio (config table `retry`).
struct breaker_settings {
  double ratio = 0.5;        ///< retry.breaker_ratio
  int64_t window_ms = 10000; ///< retry.breaker_window_ms
  int64_t min_attempts = 20; ///< retry.breaker_min_attempts
};

/// A subscription's circuit breaker. Closed: deliveries flow and every
/// outcome is counted over a sliding time window. It opens on a connection
/// failure, on a throttling answer, or when at least `ratio` of the attempts
/// in the last `window_ms` failed (once there were `min_attempts`); open, it
/// lets nothing through until open_until(); then half-open, one probe goes
/// out: its success closes the breaker (and resets the delay), its failure
/// opens it again for longer (the retry schedule, counted in failed probes).
///
/// The window is 20 buckets of window_ms / 20 each, so "the last window_ms"
/// is exact to one bucket; memory is constant at any delivery rate.
/// Owned by one subscriber actor; not thread-safe; reads time from `clock`.
class circuit_breaker {
public:
  /// The breaker's three states.
  enum class state { closed, open, half_open };

  /// Makes a closed breaker; `clock` must outlive it.
  circuit_breaker(const clock& clock, breaker_settings settings, retry_schedule schedule);

  /// Returns the current state (open stays open until try_half_open()).
  state current() const { return state_; }
  /// Returns true while deliveries may start: closed, or half-open with no
  /// probe out yet.
  bool may_send() const {
    return state_ == state::closed || (state_ == state::half_open && !probe_out_);
  }
  /// Returns true while half-open (the window is one event: the probe).
  bool probing() const { return state_ == state::half_open; }
  /// Records that the delivery of `seq` went out; half-open, it is the probe.
  void sent(uint64_t seq);

  /// Records the outcome of an attempt of `seq` (`retry_after_ms` > 0 when
  /// the answer carried Retry-After). Returns true when the breaker opened
  /// or its open_until() moved: the caller arms a timer for it.
  bool record(uint64_t seq, attempt_outcome outcome, int64_t retry_after_ms, std::mt19937_64& rng);
  /// Forgets that `seq` went out without weighing it (it is sent again for
  /// a reason that is no failure, e.g. a refreshed OAuth token); half-open,
  /// another probe may go.
  void withdraw(uint64_t seq);
  /// Opens the breaker now, as a failed attempt that trips it would (for a
  /// failure that is no delivery, e.g. the OAuth token endpoint's).
  void trip(int64_t retry_after_ms, std::mt19937_64& rng);
  /// Moves an open breaker whose time has come to half-open; returns true
  /// when it did.
  bool try_half_open();

  /// Returns when an open breaker lets a probe go (steady ms); 0 unless open.
  int64_t open_until() const { return state_ == state::open ? open_until_ : 0; }
  /// Returns how many times it opened since it was last closed by a probe.
  int trips() const { return trips_; }
  /// Returns the (attempts, failures) counted in the current window.
  std::pair<uint64_t, uint64_t> window_counts() const;

private:
  struct bucket {
    int64_t index = -1;
    uint32_t attempts = 0;
    uint32_t failures = 0;
  };
  static constexpr std::size_t buckets = 20;

  void count(bool failed);
  void open(int64_t retry_after_ms, std::mt19937_64& rng);

  const clock* clock_;
  breaker_settings settings_;
  retry_schedule schedule_;
  int64_t bucket_ms_;
  std::array<bucket, buckets> window_{};
  state state_ = state::closed;
  int64_t open_until_ = 0;
  int trips_ = 0;
  bool probe_out_ = false;
  uint64_t probe_seq_ = 0;
};

} // namespace sy::core
