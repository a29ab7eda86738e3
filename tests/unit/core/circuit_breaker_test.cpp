#include "core/circuit_breaker.hpp"

#include <gtest/gtest.h>

using namespace sy::core;
using outcome = attempt_outcome;
using state = circuit_breaker::state;

namespace {

const retry_settings schedule{1000, 2.0, 60000};
const breaker_settings defaults{0.5, 10000, 20};

struct fixture {
  manual_clock clock;
  std::mt19937_64 rng{99};
  circuit_breaker b{clock, defaults, retry_schedule(schedule)};
  uint64_t seq = 0;

  // Sends one event and records `o` for it.
  bool attempt(outcome o, int64_t retry_after = 0) {
    ++seq;
    b.sent(seq);
    return b.record(seq, o, retry_after, rng);
  }
};

} // namespace

TEST(circuit_breaker, thirty_percent_random_failures_never_trip_it_at_volume) {
  fixture f;
  std::mt19937_64 coin(2026);
  std::bernoulli_distribution fails(0.3);
  // 40 000 attempts a second for a minute, as the S4 benchmark sends.
  for (int i = 0; i < 2'400'000; ++i) {
    if (i % 40 == 0)
      f.clock.advance(1);
    f.attempt(fails(coin) ? outcome::failure : outcome::success);
    ASSERT_EQ(f.b.current(), state::closed) << "after " << i << " attempts";
  }
}

TEST(circuit_breaker, trips_on_the_ratio_only_from_the_minimum_number_of_attempts) {
  fixture f;
  for (int i = 0; i < 19; ++i)
    EXPECT_FALSE(f.attempt(outcome::failure)) << i;
  EXPECT_EQ(f.b.current(), state::closed); // 19 of 19 failed, but fewer than 20 attempts
  EXPECT_TRUE(f.attempt(outcome::failure));
  EXPECT_EQ(f.b.current(), state::open);
  EXPECT_FALSE(f.b.may_send());
}

TEST(circuit_breaker, trips_when_exactly_the_ratio_failed) {
  fixture f;
  for (int i = 0; i < 10; ++i)
    f.attempt(outcome::success);
  for (int i = 0; i < 9; ++i)
    f.attempt(outcome::failure);
  EXPECT_EQ(f.b.current(), state::closed); // 9 of 19
  f.attempt(outcome::failure);             // 10 of 20 = 0.5
  EXPECT_EQ(f.b.current(), state::open);
}

TEST(circuit_breaker, failures_older_than_the_window_do_not_count) {
  fixture f;
  for (int i = 0; i < 15; ++i)
    f.attempt(outcome::failure);
  f.clock.advance(10500); // past the window
  EXPECT_EQ(f.b.window_counts(), std::make_pair(uint64_t{0}, uint64_t{0}));
  for (int i = 0; i < 15; ++i)
    f.attempt(outcome::success);
  for (int i = 0; i < 10; ++i)
    f.attempt(outcome::failure);
  EXPECT_EQ(f.b.current(), state::closed); // 10 of 25 in the window
}

TEST(circuit_breaker, a_connection_failure_trips_it_at_once) {
  fixture f;
  for (int i = 0; i < 100; ++i)
    f.attempt(outcome::success);
  EXPECT_TRUE(f.attempt(outcome::connection_failure));
  EXPECT_EQ(f.b.current(), state::open);
  const int64_t wait = f.b.open_until() - f.clock.steady_ms();
  EXPECT_GE(wait, 800); // initial_ms with jitter
  EXPECT_LT(wait, 1200);
}

TEST(circuit_breaker, retry_after_trips_it_for_at_least_that_long) {
  fixture f;
  EXPECT_TRUE(f.attempt(outcome::throttled, 30000));
  EXPECT_EQ(f.b.open_until() - f.clock.steady_ms(), 30000);
  f.clock.advance(29999);
  EXPECT_FALSE(f.b.try_half_open());
  f.clock.advance(1);
  EXPECT_TRUE(f.b.try_half_open());
}

TEST(circuit_breaker, a_429_without_retry_after_trips_it_on_the_schedule) {
  fixture f;
  EXPECT_TRUE(f.attempt(outcome::throttled));
  EXPECT_EQ(f.b.current(), state::open);
  EXPECT_LT(f.b.open_until() - f.clock.steady_ms(), 1200);
}

TEST(circuit_breaker, half_open_lets_one_probe_out_and_its_success_closes_it) {
  fixture f;
  f.attempt(outcome::connection_failure);
  f.clock.advance(1200);
  ASSERT_TRUE(f.b.try_half_open());
  EXPECT_TRUE(f.b.probing());
  EXPECT_TRUE(f.b.may_send());
  f.b.sent(1000);
  EXPECT_FALSE(f.b.may_send()); // one probe at a time
  // The answer to an attempt sent before the trip decides nothing.
  EXPECT_FALSE(f.b.record(3, outcome::failure, 0, f.rng));
  EXPECT_EQ(f.b.current(), state::half_open);
  EXPECT_FALSE(f.b.record(1000, outcome::success, 0, f.rng));
  EXPECT_EQ(f.b.current(), state::closed);
  EXPECT_EQ(f.b.trips(), 0);
  EXPECT_TRUE(f.b.may_send());
  EXPECT_FALSE(f.b.probing());
}

TEST(circuit_breaker, each_failed_probe_waits_longer_and_success_resets_the_delay) {
  fixture f;
  f.attempt(outcome::connection_failure);
  std::vector<int64_t> waits{f.b.open_until() - f.clock.steady_ms()};
  for (int probe = 0; probe < 4; ++probe) {
    f.clock.advance(f.b.open_until() - f.clock.steady_ms());
    ASSERT_TRUE(f.b.try_half_open());
    EXPECT_TRUE(f.attempt(outcome::failure)); // any failed probe reopens it
    waits.push_back(f.b.open_until() - f.clock.steady_ms());
  }
  // 1 s, 2 s, 4 s, 8 s, 16 s, each ±20 %.
  for (std::size_t i = 0; i < waits.size(); ++i) {
    const int64_t base = 1000LL << i;
    EXPECT_GE(waits[i], base * 8 / 10) << i;
    EXPECT_LT(waits[i], base * 12 / 10) << i;
  }
  EXPECT_EQ(f.b.trips(), 5);
  f.clock.advance(f.b.open_until() - f.clock.steady_ms());
  ASSERT_TRUE(f.b.try_half_open());
  f.attempt(outcome::success);
  EXPECT_EQ(f.b.current(), state::closed);
  f.attempt(outcome::connection_failure);
  EXPECT_LT(f.b.open_until() - f.clock.steady_ms(), 1200); // back to initial_ms
}

TEST(circuit_breaker, after_closing_the_old_failures_do_not_trip_it_again) {
  fixture f;
  for (int i = 0; i < 20; ++i)
    f.attempt(outcome::failure);
  ASSERT_EQ(f.b.current(), state::open);
  f.clock.advance(1200);
  ASSERT_TRUE(f.b.try_half_open());
  f.attempt(outcome::success);
  ASSERT_EQ(f.b.current(), state::closed);
  EXPECT_FALSE(f.attempt(outcome::failure));
  EXPECT_EQ(f.b.current(), state::closed);
}

TEST(circuit_breaker, a_retry_after_arriving_while_open_extends_the_wait) {
  fixture f;
  f.attempt(outcome::connection_failure);
  const int64_t first = f.b.open_until();
  // Answers to deliveries that were in flight when it opened.
  EXPECT_FALSE(f.b.record(7, outcome::failure, 0, f.rng));
  EXPECT_FALSE(f.b.record(8, outcome::throttled, 100, f.rng)); // ends before: no change
  EXPECT_EQ(f.b.open_until(), first);
  EXPECT_TRUE(f.b.record(9, outcome::throttled, 5000, f.rng));
  EXPECT_EQ(f.b.open_until(), f.clock.steady_ms() + 5000);
  EXPECT_EQ(f.b.trips(), 1); // not a failed probe
}

TEST(circuit_breaker, trip_opens_it_without_a_delivery) {
  fixture f;
  f.b.trip(0, f.rng); // e.g. the OAuth token endpoint failed
  EXPECT_EQ(f.b.current(), state::open);
  EXPECT_FALSE(f.b.may_send());
  EXPECT_FALSE(f.b.try_half_open());
}

TEST(circuit_breaker, the_same_seed_gives_the_same_delays) {
  fixture a, b;
  a.attempt(outcome::connection_failure);
  b.attempt(outcome::connection_failure);
  EXPECT_EQ(a.b.open_until(), b.b.open_until());
}

TEST(circuit_breaker, a_withdrawn_probe_lets_another_go) {
  fixture f;
  f.attempt(outcome::connection_failure);
  f.clock.advance(1200);
  ASSERT_TRUE(f.b.try_half_open());
  f.b.sent(50);
  EXPECT_FALSE(f.b.may_send());
  f.b.withdraw(49); // not the probe
  EXPECT_FALSE(f.b.may_send());
  f.b.withdraw(50); // resent with a fresh token, say
  EXPECT_TRUE(f.b.may_send());
  EXPECT_EQ(f.b.current(), state::half_open);
}
