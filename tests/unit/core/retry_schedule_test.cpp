#include "core/retry_schedule.hpp"

#include <gtest/gtest.h>

using namespace sy::core;

namespace {
const retry_settings settings{1000, 2.0, 10000};
}

TEST(retry_schedule, grows_exponentially_within_twenty_percent_jitter) {
  retry_schedule s(settings);
  std::mt19937_64 rng(42);
  const int64_t bases[] = {1000, 2000, 4000, 8000, 10000, 10000};
  for (int failures = 1; failures <= 6; ++failures) {
    const int64_t base = bases[failures - 1];
    for (int i = 0; i < 200; ++i) {
      auto d = s.delay_ms(failures, 0, rng);
      EXPECT_GE(d, base * 8 / 10) << failures;
      EXPECT_LT(d, base * 12 / 10) << failures;
    }
  }
}

TEST(retry_schedule, jitter_spreads_the_delays_and_repeats_with_the_seed) {
  retry_schedule s(settings);
  std::mt19937_64 a(7), b(7);
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < 500; ++i) {
    auto d = s.delay_ms(1, 0, a);
    EXPECT_EQ(d, s.delay_ms(1, 0, b));
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  // 500 draws from [800, 1200): both ends are reached within 20 ms.
  EXPECT_LT(lo, 820);
  EXPECT_GT(hi, 1180);
}

TEST(retry_schedule, honours_retry_after_beyond_max_but_bounded_to_an_hour) {
  retry_schedule s(settings);
  std::mt19937_64 rng(1);
  EXPECT_EQ(s.delay_ms(1, 30000, rng), 30000); // above max_ms: the receiver's word
  auto d = s.delay_ms(1, 200, rng);            // below the schedule: the schedule wins
  EXPECT_GE(d, 800);
  EXPECT_EQ(s.delay_ms(1, 10LL * 24 * 3600 * 1000, rng), retry_schedule::max_retry_after_ms);
}

TEST(retry_schedule, never_returns_less_than_one_millisecond) {
  retry_schedule s({1, 1.0, 1});
  std::mt19937_64 rng(3);
  for (int i = 0; i < 100; ++i)
    EXPECT_GE(s.delay_ms(1, 0, rng), 1);
}

TEST(retry_schedule, huge_failure_counts_stay_at_max) {
  retry_schedule s(settings);
  std::mt19937_64 rng(5);
  auto d = s.delay_ms(1'000'000, 0, rng);
  EXPECT_GE(d, 8000);
  EXPECT_LT(d, 12000);
}
