#include "core/circuit_breaker.hpp"

#include <algorithm>

namespace sy::core {

circuit_breaker::circuit_breaker(const clock& clock, breaker_settings settings,
                                 retry_schedule schedule)
    : clock_(&clock), settings_(settings), schedule_(schedule),
      bucket_ms_(std::max<int64_t>(1, settings.window_ms / static_cast<int64_t>(buckets))) {}

void circuit_breaker::sent(uint64_t seq) {
  if (state_ == state::half_open && !probe_out_) {
    probe_out_ = true;
    probe_seq_ = seq;
  }
}

void circuit_breaker::count(bool failed) {
  const int64_t index = clock_->steady_ms() / bucket_ms_;
  auto& b = window_[static_cast<std::size_t>(index % static_cast<int64_t>(buckets))];
  if (b.index != index)
    b = bucket{index, 0, 0};
  ++b.attempts;
  if (failed)
    ++b.failures;
}

std::pair<uint64_t, uint64_t> circuit_breaker::window_counts() const {
  const int64_t index = clock_->steady_ms() / bucket_ms_;
  uint64_t attempts = 0, failures = 0;
  for (const auto& b : window_) {
    if (b.index >= 0 && index - b.index < static_cast<int64_t>(buckets)) {
      attempts += b.attempts;
      failures += b.failures;
    }
  }
  return {attempts, failures};
}

void circuit_breaker::open(int64_t retry_after_ms, std::mt19937_64& rng) {
  ++trips_;
  state_ = state::open;
  probe_out_ = false;
  open_until_ = clock_->steady_ms() + schedule_.delay_ms(trips_, retry_after_ms, rng);
  // The failures that tripped it are spent: after the probe the window
  // starts empty, or the next failure would trip it again at once.
  window_.fill(bucket{});
}

void circuit_breaker::trip(int64_t retry_after_ms, std::mt19937_64& rng) {
  if (state_ == state::open) {
    // Already waiting: only a longer Retry-After moves the end.
    if (retry_after_ms > 0) {
      const int64_t until = clock_->steady_ms() +
                            std::min(retry_after_ms, retry_schedule::max_retry_after_ms);
      if (until > open_until_) {
        open_until_ = until;
      }
    }
    return;
  }
  open(retry_after_ms, rng);
}

bool circuit_breaker::record(uint64_t seq, attempt_outcome outcome, int64_t retry_after_ms,
                             std::mt19937_64& rng) {
  const bool failed = outcome != attempt_outcome::success;
  switch (state_) {
    case state::closed: {
      count(failed);
      if (!failed)
        return false;
      if (outcome == attempt_outcome::connection_failure || outcome == attempt_outcome::throttled) {
        open(retry_after_ms, rng);
        return true;
      }
      auto [attempts, failures] = window_counts();
      if (attempts >= static_cast<uint64_t>(settings_.min_attempts) &&
          static_cast<double>(failures) >= settings_.ratio * static_cast<double>(attempts)) {
        open(retry_after_ms, rng);
        return true;
      }
      return false;
    }
    case state::half_open:
      if (!probe_out_ || seq != probe_seq_)
        return false; // an attempt sent before the breaker opened
      if (!failed) {
        state_ = state::closed;
        trips_ = 0;
        probe_out_ = false;
        return false;
      }
      open(retry_after_ms, rng);
      return true;
    case state::open: {
      // Answers to attempts sent before it opened: a Retry-After among
      // them is still the receiver's word.
      if (retry_after_ms <= 0)
        return false;
      const int64_t before = open_until_;
      trip(retry_after_ms, rng);
      return open_until_ != before;
    }
  }
  return false;
}

void circuit_breaker::withdraw(uint64_t seq) {
  if (state_ == state::half_open && probe_out_ && seq == probe_seq_)
    probe_out_ = false;
}

bool circuit_breaker::try_half_open() {
  if (state_ != state::open || clock_->steady_ms() < open_until_)
    return false;
  state_ = state::half_open;
  probe_out_ = false;
  return true;
}

} // namespace sy::core
