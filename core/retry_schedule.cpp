#include "core/retry_schedule.hpp"

#include <algorithm>

namespace sy::core {

int64_t retry_schedule::delay_ms(int failures, int64_t retry_after_ms, std::mt19937_64& rng) const {
  const auto max = static_cast<double>(settings_.max_ms);
  double base = static_cast<double>(settings_.initial_ms);
  for (int i = 1; i < failures && base < max; ++i)
    base *= settings_.multiplier;
  base = std::min(base, max);
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  auto ms = static_cast<int64_t>(base * jitter(rng));
  if (retry_after_ms > 0)
    ms = std::max(ms, std::min(retry_after_ms, max_retry_after_ms));
  return std::max<int64_t>(ms, 1);
}

} // namespace sy::core
