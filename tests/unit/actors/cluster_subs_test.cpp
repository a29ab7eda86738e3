// The pure rules of the subscription registry in etcd (actors/cluster_subs.hpp):
// keys, the mirrored record, and what a watched put, delete or snapshot does.

#include <gtest/gtest.h>

#include "actors/cluster_subs.hpp"

using namespace sy::actors;

namespace {

subscription client_sub(const std::string& id) {
  subscription s;
  s.id = id;
  s.kind = subscription_kind::native;
  s.service = "s";
  s.url = "http://127.0.0.1:9/x";
  s.types = {"a.*"};
  s.public_key = "pk";
  s.private_key = "secret";
  s.created_at = 1700000000000;
  return s;
}

} // namespace

TEST(cluster_subs, keys_round_trip_and_reject_what_is_not_directly_under_the_prefix) {
  EXPECT_EQ(subs_key("sub_abc"), "/sy/subs/sub_abc");
  EXPECT_EQ(subs_id_of("/sy/subs/sub_abc"), "sub_abc");
  EXPECT_EQ(subs_id_of("/sy/subs/"), std::nullopt);
  EXPECT_EQ(subs_id_of("/sy/subs/a/b"), std::nullopt);
  EXPECT_EQ(subs_id_of("/sy/parts/1"), std::nullopt);
  EXPECT_EQ(subs_id_of("/sy/sub"), std::nullopt);
}

TEST(cluster_subs, the_mirrored_record_has_no_journal_number_and_keeps_the_rest) {
  auto s = client_sub("sub_1");
  s.number = 42;
  s.previous_private_key = "old";
  s.previous_key_until = 5;
  auto back = decode_subscription(mirror_record(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->number, 0u);
  back->number = 42;
  EXPECT_EQ(*back, s);
}

TEST(cluster_subs, a_put_adds_an_unknown_id_and_ignores_stale_or_deleted_revisions) {
  auto s = client_sub("sub_1");
  EXPECT_EQ(decide_put(nullptr, 0, 0, s, 10), remote_verdict::add);
  // Deleted at 12: a put at 11 (older) is not revived, one at 13 is new.
  EXPECT_EQ(decide_put(nullptr, 0, 12, s, 11), remote_verdict::ignore);
  EXPECT_EQ(decide_put(nullptr, 0, 12, s, 12), remote_verdict::ignore);
  EXPECT_EQ(decide_put(nullptr, 0, 12, s, 13), remote_verdict::add);
}

TEST(cluster_subs, a_put_of_a_known_id_adopts_the_same_record_and_replaces_a_changed_one) {
  auto local = client_sub("sub_1");
  local.number = 7; // the node's own journal number: not part of the comparison
  auto same = client_sub("sub_1");
  EXPECT_EQ(decide_put(&local, 0, 0, same, 10), remote_verdict::adopt);
  auto changed = same;
  changed.state = sy::core::subscription_state::paused;
  EXPECT_EQ(decide_put(&local, 0, 0, changed, 10), remote_verdict::replace);
  // This node wrote revision 10 itself: its own watch echo, or anything
  // older, changes nothing.
  EXPECT_EQ(decide_put(&local, 10, 0, changed, 10), remote_verdict::ignore);
  EXPECT_EQ(decide_put(&local, 10, 0, changed, 9), remote_verdict::ignore);
  EXPECT_EQ(decide_put(&local, 10, 0, changed, 11), remote_verdict::replace);
}

TEST(cluster_subs, node_local_kinds_are_never_taken_from_etcd_nor_overwritten) {
  auto gateway = client_sub("push_gateway");
  gateway.kind = subscription_kind::push_gateway;
  EXPECT_EQ(decide_put(nullptr, 0, 0, gateway, 10), remote_verdict::ignore);
  auto incoming = client_sub("push_gateway");
  EXPECT_EQ(decide_put(&gateway, 0, 0, incoming, 10), remote_verdict::ignore);
}

TEST(cluster_subs, the_change_watcher_is_taken_from_etcd_as_a_client_subscription_is) {
  auto watcher = client_sub("subscription_watcher");
  watcher.kind = subscription_kind::watcher;
  EXPECT_EQ(decide_put(nullptr, 0, 0, watcher, 10), remote_verdict::add);
  auto moved = watcher;
  moved.url = "http://127.0.0.1:9/elsewhere";
  EXPECT_EQ(decide_put(&watcher, 10, 0, moved, 11), remote_verdict::replace);
  EXPECT_EQ(decide_put(&watcher, 10, 0, watcher, 11), remote_verdict::adopt);
  EXPECT_EQ(decide_put(&watcher, 0, 12, moved, 11), remote_verdict::ignore); // deleted since
  // A record of another kind under a local watcher's id is not taken.
  EXPECT_EQ(decide_put(&watcher, 0, 0, client_sub("subscription_watcher"), 11),
            remote_verdict::ignore);
}

TEST(cluster_subs, a_delete_removes_only_what_was_not_written_after_it) {
  EXPECT_TRUE(decide_delete(0, 5));
  EXPECT_TRUE(decide_delete(4, 5));
  EXPECT_FALSE(decide_delete(5, 5));
  EXPECT_FALSE(decide_delete(6, 5));
}

TEST(cluster_subs, a_snapshot_removes_what_it_lacks_unless_written_after_it) {
  std::map<std::string, int64_t> local = {
    {"kept", 3}, {"gone", 4}, {"unknown_revision", 0}, {"written_later", 21}};
  auto gone = absent_from_snapshot(local, {"kept"}, 20);
  EXPECT_EQ(gone, (std::vector<std::string>{"gone", "unknown_revision"}));
  EXPECT_TRUE(absent_from_snapshot(local, {"kept", "gone", "unknown_revision"}, 20).empty());
  EXPECT_EQ(absent_from_snapshot({}, {"x"}, 20), std::vector<std::string>{});
}
