#include "core/in_flight_window.hpp"

#include <gtest/gtest.h>

using namespace sy::core;

TEST(in_flight_window, allows_max_in_flight_and_one_while_probing) {
  in_flight_window w(16);
  EXPECT_EQ(w.limit(false), 16u);
  EXPECT_TRUE(w.has_room(15, false));
  EXPECT_FALSE(w.has_room(16, false));
  EXPECT_EQ(w.limit(true), 1u);
  EXPECT_TRUE(w.has_room(0, true));
  EXPECT_FALSE(w.has_room(1, true));
  EXPECT_FALSE(w.fifo());
}

TEST(in_flight_window, one_or_less_is_a_fifo_window_of_one) {
  in_flight_window w(0);
  EXPECT_EQ(w.limit(false), 1u);
  EXPECT_TRUE(w.fifo());
  w.set_max(4);
  EXPECT_FALSE(w.fifo());
  EXPECT_EQ(w.limit(false), 4u);
  w.set_max(1);
  EXPECT_TRUE(w.fifo());
}
