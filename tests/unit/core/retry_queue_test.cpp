#include "core/retry_queue.hpp"

#include <gtest/gtest.h>

using namespace sy::core;

TEST(retry_queue, counts_failures_per_event_until_forgotten) {
  retry_queue q;
  EXPECT_EQ(q.failures(7), 0);
  EXPECT_EQ(q.add_failure(7), 1);
  EXPECT_EQ(q.add_failure(7), 2);
  EXPECT_EQ(q.add_failure(8), 1);
  q.defer(7, 100);
  q.take(7); // sent again: still counted
  EXPECT_EQ(q.failures(7), 2);
  q.forget(7); // delivered
  EXPECT_EQ(q.failures(7), 0);
  EXPECT_EQ(q.failures(8), 1);
}

TEST(retry_queue, events_not_due_are_skipped_and_the_earliest_due_goes_first) {
  retry_queue q;
  q.defer(1, 5000); // a long delay
  q.defer(2, 300);
  q.defer(3, 200);
  EXPECT_EQ(q.next_due(), 200);
  EXPECT_FALSE(q.take_due(199));
  EXPECT_EQ(q.take_due(250), 3u);
  EXPECT_FALSE(q.take_due(250));
  EXPECT_EQ(q.take_due(1000), 2u);
  EXPECT_FALSE(q.take_due(1000)); // 1 is not due before 5000
  EXPECT_EQ(q.size(), 1u);
  EXPECT_TRUE(q.waiting(1));
  EXPECT_EQ(q.take_due(5000), 1u);
  EXPECT_EQ(q.size(), 0u);
  EXPECT_FALSE(q.next_due());
}

TEST(retry_queue, equal_due_times_go_in_sequence_order) {
  retry_queue q;
  q.defer(9, 100);
  q.defer(4, 100);
  q.defer(6, 100);
  EXPECT_EQ(q.take_due(100), 4u);
  EXPECT_EQ(q.take_due(100), 6u);
  EXPECT_EQ(q.take_due(100), 9u);
}

TEST(retry_queue, head_is_the_lowest_seq_whatever_its_due_time) {
  // A FIFO subscription retries its head before anything later, even when
  // a later event would be due sooner.
  retry_queue q;
  q.defer(10, 900);
  q.defer(11, 100);
  auto h = q.head();
  ASSERT_TRUE(h);
  EXPECT_EQ(h->first, 10u);
  EXPECT_EQ(h->second, 900);
  q.take(10);
  EXPECT_EQ(q.head()->first, 11u);
}

TEST(retry_queue, defer_again_replaces_the_due_time) {
  retry_queue q;
  q.defer(5, 100);
  q.defer(5, 800);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_FALSE(q.take_due(500));
  EXPECT_EQ(q.take_due(800), 5u);
}

TEST(retry_queue, clear_forgets_everything) {
  retry_queue q;
  q.add_failure(1);
  q.defer(1, 10);
  q.clear();
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.failures(1), 0);
  EXPECT_FALSE(q.take_due(1000));
}

TEST(retry_queue, peek_due_leaves_the_event_waiting) {
  retry_queue q;
  q.defer(3, 50);
  EXPECT_FALSE(q.peek_due(49));
  EXPECT_EQ(q.peek_due(50), 3u);
  EXPECT_TRUE(q.waiting(3));
  q.take(3);
  EXPECT_FALSE(q.peek_due(50));
}

TEST(retry_queue, keeps_the_last_error_of_each_event_until_forgotten) {
  retry_queue q;
  EXPECT_EQ(q.last_error(7), "");
  q.add_failure(7, "HTTP 500");
  q.add_failure(7, "connection refused");
  q.add_failure(8, "HTTP 429");
  EXPECT_EQ(q.last_error(7), "connection refused");
  EXPECT_EQ(q.last_error(8), "HTTP 429");
  q.forget(7);
  EXPECT_EQ(q.last_error(7), "");
  q.clear();
  EXPECT_EQ(q.last_error(8), "");
}
