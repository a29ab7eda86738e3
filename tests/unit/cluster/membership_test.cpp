#include "cluster/membership.hpp"

#include <gtest/gtest.h>

#include "cluster/placement.hpp"

using namespace sy::cluster;

namespace {

partition_view config_of(uint32_t p, int64_t epoch, std::string primary,
                         std::vector<std::string> replicas) {
  partition_view v;
  v.partition = p;
  v.epoch = epoch;
  v.primary = std::move(primary);
  v.in_sync = replicas;
  v.replicas = std::move(replicas);
  return v;
}

} // namespace

TEST(next_configuration, a_new_partition_takes_placements_top_replicas_led_by_the_first) {
  const std::vector<std::string> live = {"a", "b", "c", "d"};
  partition_view none;
  none.partition = 5;
  auto next = next_configuration(none, live, 3);
  EXPECT_EQ(next.replicas, replicas_of(5, live, 3));
  EXPECT_EQ(next.primary, next.replicas.front());
  EXPECT_EQ(next.in_sync, next.replicas);
}

TEST(next_configuration, keeps_a_primary_that_is_still_a_replica_and_in_sync) {
  const std::vector<std::string> live = {"a", "b", "c"};
  auto top = replicas_of(1, live, 3);
  // The primary is the last of placement's order: it stays, no needless move.
  auto current = config_of(1, 10, top.back(), top);
  auto next = next_configuration(current, live, 3);
  EXPECT_EQ(next.primary, top.back());
  EXPECT_EQ(next.replicas, top);
}

TEST(next_configuration, a_dead_primary_fails_over_to_a_replica_that_was_in_sync) {
  const std::vector<std::string> all = {"a", "b", "c", "d"};
  auto top = replicas_of(2, all, 2);
  auto current = config_of(2, 10, top[0], top);
  std::vector<std::string> live;
  for (const auto& n : all)
    if (n != top[0])
      live.push_back(n);
  auto next = next_configuration(current, live, 2);
  // The survivor that held the data leads, wherever placement ranks it.
  EXPECT_EQ(next.primary, top[1]);
  EXPECT_EQ(next.replicas.size(), 2u);
  EXPECT_EQ(std::count(next.replicas.begin(), next.replicas.end(), top[0]), 0);
}

TEST(next_configuration, a_primary_outside_the_in_sync_set_is_replaced) {
  const std::vector<std::string> live = {"a", "b", "c"};
  auto top = replicas_of(3, live, 3);
  auto current = config_of(3, 10, top[0], top);
  current.in_sync = {top[2]};
  auto next = next_configuration(current, live, 3);
  EXPECT_EQ(next.primary, top[2]);
}

TEST(next_configuration, no_live_member_means_no_configuration) {
  auto current = config_of(0, 10, "a", {"a"});
  auto next = next_configuration(current, {}, 3);
  EXPECT_TRUE(next.replicas.empty());
  EXPECT_TRUE(next.primary.empty());
}
