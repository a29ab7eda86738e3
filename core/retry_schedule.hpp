#pragma once
// The exponential retry schedule of docs/api.md "Retries": retry.initial_ms,
// retry.multiplier, retry.max_ms, ±20 % jitter, Retry-After honoured.

#include <cstdint>
#include <random>

namespace sy::core {

/// The three settings of the schedule (config table `retry`).
struct retry_settings {
  int64_t initial_ms = 1000;
  double multiplier = 2.0;
  int64_t max_ms = 600000;
};

/// Computes retry delays. A value type with no state of its own: the caller
/// counts failures and owns the random generator (seeded, so tests repeat).
class retry_schedule {
public:
  /// Bounds a Retry-After: it is the receiver's own word and may exceed
  /// retry.max_ms, but a hostile or mistaken value must not park a
  /// subscription for days.
  static constexpr int64_t max_retry_after_ms = 3600 * 1000;

  /// Makes a schedule from `s`.
  explicit retry_schedule(retry_settings s = {}) : settings_(s) {}

  /// Returns the delay before the next attempt after `failures` consecutive
  /// failures (1 = the first): initial × multiplier^(failures-1), at most
  /// max, times a jitter drawn from [0.8, 1.2) with `rng`; at least
  /// `retry_after_ms` (bounded by max_retry_after_ms) when that is > 0; never
  /// below 1 ms.
  int64_t delay_ms(int failures, int64_t retry_after_ms, std::mt19937_64& rng) const;

  /// Returns the settings.
  const retry_settings& settings() const { return settings_; }

private:
  retry_settings settings_;
};

} // namespace sy::core
