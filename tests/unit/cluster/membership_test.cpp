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

TEST(next_configuration, the_rebalancing_pass_moves_a_partition_back_to_its_preferred_replica) {
  const std::vector<std::string> live = {"a", "b", "c"};
  auto top = replicas_of(2, live, 3);
  // Led by another replica since a failover; the preferred one is back in sync.
  auto current = config_of(2, 10, top.back(), top);
  auto moved = next_configuration(current, live, 3, nullptr, true);
  EXPECT_EQ(moved.primary, top.front());
  EXPECT_EQ(moved.replicas, current.replicas);
  EXPECT_EQ(moved.in_sync, current.in_sync);
  // Not while the preferred replica is out of sync: it lacks committed entries.
  current.in_sync = {top[1], top[2]};
  EXPECT_EQ(next_configuration(current, live, 3, nullptr, true).primary, top.back());
  // A partition led by its preferred replica stays as it is.
  auto home = config_of(2, 11, top.front(), top);
  EXPECT_EQ(next_configuration(home, live, 3, nullptr, true).primary, top.front());
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

TEST(next_configuration, a_returning_node_is_a_replica_but_not_in_sync_until_proposed) {
  const std::vector<std::string> live = {"a", "b"};
  auto current = config_of(4, 10, "a", {"a", "b"});
  current.in_sync = {"a"}; // b died and came back
  auto next = next_configuration(current, live, 2);
  EXPECT_EQ(next.primary, "a");
  EXPECT_EQ(next.in_sync, std::vector<std::string>{"a"});
  EXPECT_EQ(next.replicas.size(), 2u);
}

TEST(next_configuration, the_current_primarys_proposal_in_the_current_epoch_adds_a_backup) {
  const std::vector<std::string> live = {"a", "b"};
  auto current = config_of(4, 10, "a", {"a", "b"});
  current.in_sync = {"a"};
  in_sync_proposal stale{"a", 9, {"b"}, {}};
  EXPECT_EQ(next_configuration(current, live, 2, &stale).in_sync, std::vector<std::string>{"a"});
  in_sync_proposal not_primary{"b", 10, {"b"}, {}};
  EXPECT_EQ(next_configuration(current, live, 2, &not_primary).in_sync,
            std::vector<std::string>{"a"});
  in_sync_proposal good{"a", 10, {"b"}, {}};
  auto next = next_configuration(current, live, 2, &good);
  EXPECT_EQ(next.primary, "a");
  EXPECT_EQ(next.in_sync.size(), 2u);
  EXPECT_EQ(std::count(next.in_sync.begin(), next.in_sync.end(), "b"), 1);
}

TEST(next_configuration, the_current_primarys_proposal_in_the_current_epoch_drops_a_backup) {
  const std::vector<std::string> live = {"a", "b", "c"};
  auto current = config_of(4, 10, "a", {"a", "b", "c"});
  current.in_sync = {"a", "b", "c"};
  in_sync_proposal stale{"a", 9, {}, {"c"}};
  EXPECT_EQ(next_configuration(current, live, 3, &stale).in_sync.size(), 3u);
  in_sync_proposal not_primary{"b", 10, {}, {"c"}};
  EXPECT_EQ(next_configuration(current, live, 3, &not_primary).in_sync.size(), 3u);
  in_sync_proposal self_drop{"a", 10, {}, {"a"}}; // never the primary
  EXPECT_EQ(next_configuration(current, live, 3, &self_drop).in_sync.size(), 3u);
  in_sync_proposal good{"a", 10, {}, {"c"}};
  auto next = next_configuration(current, live, 3, &good);
  EXPECT_EQ(next.primary, "a");
  EXPECT_EQ(next.in_sync, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(next.replicas.size(), 3u) << "a dropped backup stays a replica and catches up";
  // Proposed again once it caught up, it is back in sync.
  next.epoch = 11;
  in_sync_proposal back{"a", 11, {"c"}, {}};
  EXPECT_EQ(next_configuration(next, live, 3, &back).in_sync.size(), 3u);
}

TEST(membership_values, a_proposal_keeps_its_drop_list_and_reads_without_one) {
  auto read = decode_proposal(encode_proposal({"a", 7, {"b"}, {"c"}}));
  ASSERT_TRUE(read);
  EXPECT_EQ(read->nodes, std::vector<std::string>{"b"});
  EXPECT_EQ(read->drop, std::vector<std::string>{"c"});
  auto old = decode_proposal(R"({"primary":"a","epoch":7,"nodes":["b"]})");
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->drop.empty());
}

TEST(membership_values, a_progress_record_reads_back_and_a_malformed_one_reads_as_none) {
  partition_progress p{"n1", 42, {{"sub \"a\"", 17}, {"sub_b", 0}}};
  auto read = decode_progress(encode_progress(p));
  ASSERT_TRUE(read);
  EXPECT_EQ(read->node, "n1");
  EXPECT_EQ(read->epoch, 42);
  EXPECT_EQ(read->offsets, p.offsets);
  // An offset that is not a non-negative integer makes the whole record
  // unreadable: a record only ever says "delivered", so none is safe.
  EXPECT_FALSE(decode_progress(R"({"node":"n1","epoch":1,"offsets":{"a":-1}})"));
  EXPECT_FALSE(decode_progress(R"({"node":"n1","epoch":1,"offsets":{"a":"7"}})"));
  EXPECT_FALSE(decode_progress(R"({"node":"n1","epoch":1,"offsets":[7]})"));
  EXPECT_FALSE(decode_progress("not json"));
}

TEST(next_configuration, no_live_in_sync_node_means_no_primary_and_the_set_is_kept) {
  const std::vector<std::string> live = {"b", "c"};
  auto current = config_of(6, 10, "a", {"a", "b"});
  current.in_sync = {"a"}; // only a held every committed entry, and a is gone
  auto next = next_configuration(current, live, 2);
  EXPECT_TRUE(next.primary.empty());
  EXPECT_EQ(next.in_sync, std::vector<std::string>{"a"});
  // a returns: it leads again.
  next.epoch = 11;
  auto back = next_configuration(next, {"a", "b", "c"}, 2);
  EXPECT_EQ(back.primary, "a");
}

TEST(next_configuration,
     a_moving_partition_keeps_its_in_sync_holders_until_the_new_replicas_catch_up) {
  const std::vector<std::string> old_members = {"a", "b"};
  const std::vector<std::string> live = {"a", "b", "c", "d", "e", "f"};
  // A partition whose placement over six members leaves out a or b.
  uint32_t p = 0;
  std::vector<std::string> wanted;
  for (;; ++p) {
    wanted = replicas_of(p, live, 2);
    if (std::count(wanted.begin(), wanted.end(), "a") == 0)
      break;
  }
  auto current = config_of(p, 10, "a", old_members);
  auto next = next_configuration(current, live, 2);
  EXPECT_EQ(next.primary, "a");
  EXPECT_EQ(std::count(next.replicas.begin(), next.replicas.end(), "a"), 1);
  for (const auto& n : wanted)
    EXPECT_EQ(std::count(next.replicas.begin(), next.replicas.end(), n), 1) << n;
  // Once the primary proposed the wanted ones, the partition settles on them.
  next.epoch = 11;
  in_sync_proposal caught_up{"a", 11, wanted, {}};
  auto settled = next_configuration(next, live, 2, &caught_up);
  EXPECT_EQ(settled.replicas, wanted);
  EXPECT_EQ(settled.in_sync.size(), 2u);
  EXPECT_NE(settled.primary, "a");
  EXPECT_EQ(std::count(wanted.begin(), wanted.end(), settled.primary), 1);
}
