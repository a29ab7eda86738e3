#include "core/token_bucket.hpp"

#include <algorithm>

namespace sy::core {

token_bucket::token_bucket(const clock& clock, int64_t rate)
    : clock_(&clock), rate_(static_cast<double>(std::max<int64_t>(0, rate))),
      at_(clock.steady_ms()) {}

void token_bucket::set_rate(int64_t rate) {
  refill();
  rate_ = static_cast<double>(std::max<int64_t>(0, rate));
  if (rate_ > 0)
    tokens_ = std::min(tokens_, std::max(1.0, rate_ / 10));
}

void token_bucket::refill() {
  const int64_t now = clock_->steady_ms();
  if (rate_ > 0 && now > at_) {
    const double burst = std::max(1.0, rate_ / 10);
    tokens_ = std::min(burst, tokens_ + rate_ * static_cast<double>(now - at_) / 1000.0);
  }
  at_ = std::max(at_, now);
}

bool token_bucket::try_take() {
  if (rate_ <= 0)
    return true;
  refill();
  if (tokens_ < 1.0)
    return false;
  tokens_ -= 1.0;
  return true;
}

int64_t token_bucket::wait_ms() {
  if (rate_ <= 0)
    return 0;
  refill();
  if (tokens_ >= 1.0)
    return 0;
  return static_cast<int64_t>((1.0 - tokens_) * 1000.0 / rate_) + 1;
}

} // namespace sy::core
