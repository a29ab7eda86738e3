#include "log/rate_limit.hpp"

#include <gtest/gtest.h>

#include <string>

using sy::log::rate_limit;

TEST(rate_limit, admits_one_line_per_key_per_interval_and_counts_the_rest) {
  rate_limit limit(1000);
  EXPECT_EQ(limit.admit("10.0.0.1", 5000), 0u);
  EXPECT_FALSE(limit.admit("10.0.0.1", 5001));
  EXPECT_FALSE(limit.admit("10.0.0.1", 5999));
  // Another key has its own interval.
  EXPECT_EQ(limit.admit("10.0.0.2", 5500), 0u);
  // The interval is over: the line says how many were left out.
  EXPECT_EQ(limit.admit("10.0.0.1", 6000), 2u);
  EXPECT_FALSE(limit.admit("10.0.0.1", 6500));
  EXPECT_EQ(limit.admit("10.0.0.1", 9000), 1u);
  EXPECT_EQ(limit.admit("10.0.0.1", 20000), 0u);
}

TEST(rate_limit, holds_at_most_max_keys_and_lets_quiet_ones_go) {
  rate_limit limit(1000, 3);
  EXPECT_EQ(limit.admit("a", 0), 0u);
  EXPECT_EQ(limit.admit("b", 0), 0u);
  EXPECT_EQ(limit.admit("c", 0), 0u);
  EXPECT_FALSE(limit.admit("a", 10)); // a has something to report later
  // Full, and no key's interval is over: new keys share one slot.
  EXPECT_EQ(limit.admit("d", 20), 0u);
  EXPECT_FALSE(limit.admit("e", 30));
  EXPECT_FALSE(limit.admit("f", 40));
  // Later, the quiet keys (b, c) are let go; a keeps its count.
  EXPECT_EQ(limit.admit("g", 2000), 0u);
  EXPECT_EQ(limit.admit("a", 2000), 1u);
}
