#pragma once
// A subscription's rate limit (`rate_limit`, deliveries per second).

#include <cstdint>

#include "core/clock.hpp"

namespace sy::core {

/// A token bucket on the steady clock (a wall-clock step cannot stall it).
/// It refills at `rate` tokens a second up to a burst of max(1, rate / 10),
/// at most 100 ms worth at once; a rate of 0 is unlimited. It starts with
/// one token. Owned by one subscriber actor; not thread-safe.
class token_bucket {
public:
  /// Makes a bucket of `rate` per second; `clock` must outlive it.
  token_bucket(const clock& clock, int64_t rate);

  /// Changes the rate (a subscription update); the tokens held stay, capped
  /// by the new burst.
  void set_rate(int64_t rate);
  /// Takes one token if there is one; always true when unlimited.
  bool try_take();
  /// Returns how long until a token is there (ms, at least 1); 0 when one is
  /// there now or the rate is unlimited.
  int64_t wait_ms();

private:
  void refill();

  const clock* clock_;
  double rate_ = 0;
  double tokens_ = 1;
  int64_t at_ = 0;
};

} // namespace sy::core
