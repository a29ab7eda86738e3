#include "core/token_bucket.hpp"

#include <gtest/gtest.h>

using namespace sy::core;

TEST(token_bucket, unlimited_always_gives_a_token) {
  manual_clock c;
  token_bucket b(c, 0);
  for (int i = 0; i < 10000; ++i)
    ASSERT_TRUE(b.try_take());
  EXPECT_EQ(b.wait_ms(), 0);
}

TEST(token_bucket, spaces_deliveries_at_the_rate) {
  manual_clock c;
  token_bucket b(c, 20);     // 20/s: burst of 2, one token every 50 ms
  EXPECT_TRUE(b.try_take()); // it starts with one
  EXPECT_FALSE(b.try_take());
  EXPECT_EQ(b.wait_ms(), 51);
  c.advance(49);
  EXPECT_FALSE(b.try_take());
  c.advance(1);
  EXPECT_TRUE(b.try_take());
  // 1 s gives 20 tokens, but the bucket holds a burst of 2 at most.
  c.advance(1000);
  EXPECT_TRUE(b.try_take());
  EXPECT_TRUE(b.try_take());
  EXPECT_FALSE(b.try_take());
}

TEST(token_bucket, burst_is_a_tenth_of_the_rate_and_at_least_one) {
  manual_clock c;
  token_bucket fast(c, 1000);
  token_bucket slow(c, 3);
  c.advance(60000);
  int n = 0;
  while (fast.try_take())
    ++n;
  EXPECT_EQ(n, 100);
  EXPECT_TRUE(slow.try_take());
  EXPECT_FALSE(slow.try_take());
}

TEST(token_bucket, a_rate_change_keeps_the_tokens_within_the_new_burst) {
  manual_clock c;
  token_bucket b(c, 1000);
  c.advance(1000); // a burst of 100
  b.set_rate(10);  // a burst of 1
  EXPECT_TRUE(b.try_take());
  EXPECT_FALSE(b.try_take());
  b.set_rate(0);
  EXPECT_TRUE(b.try_take());
}

namespace {
// A clock whose readings the test sets, also backwards.
class settable_clock final : public clock {
public:
  int64_t steady = 1000;
  int64_t steady_ms() const override { return steady; }
  int64_t wall_ms() const override { return 0; }
};
} // namespace

TEST(token_bucket, a_clock_going_back_does_not_stall_it_or_mint_tokens) {
  settable_clock c;
  token_bucket b(c, 10); // one token a 100 ms
  EXPECT_TRUE(b.try_take());
  c.steady = 500; // back by 500 ms
  EXPECT_FALSE(b.try_take());
  c.steady = 1100; // 100 ms after the last reading that counted
  EXPECT_TRUE(b.try_take());
}
