// A partition entry must decode to the events encoded into it, in order,
// entries of version 1 (one event, written before 2026-12-05) must still
// decode, and nothing that is not a whole entry of a version this binary
// reads may decode.

#include <gtest/gtest.h>

#include "cluster/partition_entry.hpp"

using namespace sy::cluster;

TEST(partition_entry, round_trips_record_and_subscriptions) {
  const std::string record("\x01\x00record with \0 bytes", 20);
  const auto bytes = encode_partition_entry(record, {"sub_a", "", "sub_ccc"});
  auto e = decode_partition_entry(bytes);
  ASSERT_TRUE(e);
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ((*e)[0].record, record);
  ASSERT_EQ((*e)[0].subscriptions.size(), 3u);
  EXPECT_EQ((*e)[0].subscriptions[0], "sub_a");
  EXPECT_EQ((*e)[0].subscriptions[1], "");
  EXPECT_EQ((*e)[0].subscriptions[2], "sub_ccc");
}

TEST(partition_entry, holds_several_events_in_the_order_appended) {
  std::string entry;
  append_to_partition_entry(entry, "first", {"s1"});
  append_to_partition_entry(entry, "second", {});
  append_to_partition_entry(entry, "third", {"s1", "s2"});
  auto e = decode_partition_entry(entry);
  ASSERT_TRUE(e);
  ASSERT_EQ(e->size(), 3u);
  EXPECT_EQ((*e)[0].record, "first");
  EXPECT_EQ((*e)[0].subscriptions, (std::vector<std::string_view>{"s1"}));
  EXPECT_EQ((*e)[1].record, "second");
  EXPECT_TRUE((*e)[1].subscriptions.empty());
  EXPECT_EQ((*e)[2].record, "third");
  EXPECT_EQ((*e)[2].subscriptions, (std::vector<std::string_view>{"s1", "s2"}));
  // Each record is a view into the entry: the apply journals it as a
  // reference to its byte range (storage::log_ref).
  EXPECT_EQ(entry.substr((*e)[2].record.data() - entry.data(), 5), "third");
}

TEST(partition_entry, the_bytes_are_fixed) {
  // Nodes of different versions read each other's logs: the layout is
  // the documented one, not whatever the encoder does today.
  std::string entry;
  append_to_partition_entry(entry, "rec", {"s1"});
  append_to_partition_entry(entry, "r2", {});
  EXPECT_EQ(entry, std::string("\x02\x00\x00\x00\x02"
                               "\x00\x00\x00\x03rec\x00\x00\x00\x01\x00\x02s1"
                               "\x00\x00\x00\x02r2\x00\x00\x00\x00",
                               30));
}

TEST(partition_entry, reads_version_1_as_one_event) {
  // What nodes wrote before 2026-12-05: no count, one event.
  const std::string v1("\x01\x00\x00\x00\x03rec\x00\x00\x00\x01\x00\x02s1", 16);
  auto e = decode_partition_entry(v1);
  ASSERT_TRUE(e);
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ((*e)[0].record, "rec");
  EXPECT_EQ((*e)[0].subscriptions, (std::vector<std::string_view>{"s1"}));
  EXPECT_FALSE(decode_partition_entry(v1 + "x"));
  EXPECT_FALSE(decode_partition_entry(std::string_view(v1).substr(0, 15)));
}

TEST(partition_entry, refuses_anything_but_one_whole_entry) {
  std::string good;
  append_to_partition_entry(good, "record", {"sub_1", "sub_2"});
  append_to_partition_entry(good, "another", {"sub_3"});
  ASSERT_TRUE(decode_partition_entry(good));
  for (std::size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(decode_partition_entry(std::string_view(good).substr(0, n))) << n;
  EXPECT_FALSE(decode_partition_entry(good + "x"));
  auto other_version = good;
  other_version[0] = 3;
  EXPECT_FALSE(decode_partition_entry(other_version));
  other_version[0] = 0;
  EXPECT_FALSE(decode_partition_entry(other_version));
  // A count of one event where two are: trailing bytes.
  auto fewer = good;
  fewer[4] = 1;
  EXPECT_FALSE(decode_partition_entry(fewer));
  // No event at all.
  EXPECT_FALSE(decode_partition_entry(std::string("\x02\x00\x00\x00\x00", 5)));
  // Counts far beyond what the bytes hold, of events and of subscriptions.
  EXPECT_FALSE(decode_partition_entry(std::string("\x02\xff\xff\xff\xff\x00\x00\x00\x00", 9)));
  EXPECT_FALSE(decode_partition_entry(std::string("\x01\x00\x00\x00\x00\xff\xff\xff\xff", 9)));
  EXPECT_FALSE(decode_partition_entry(
    std::string("\x02\x00\x00\x00\x01\x00\x00\x00\x00\xff\xff\xff\xff", 13)));
}

TEST(partition_entry, a_refused_subscription_id_leaves_the_entry_whole) {
  const std::string long_id(70000, 'x');
  std::string entry;
  EXPECT_THROW(append_to_partition_entry(entry, "refused", {long_id}), std::length_error);
  EXPECT_TRUE(entry.empty()) << "no header without an event";
  append_to_partition_entry(entry, "kept", {"s1"});
  EXPECT_THROW(append_to_partition_entry(entry, "refused", {long_id}), std::length_error);
  auto e = decode_partition_entry(entry);
  ASSERT_TRUE(e);
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ((*e)[0].record, "kept");
}

TEST(partition_entry, merged_entries_hold_both_events_in_order) {
  std::string into;
  append_to_partition_entry(into, "first", {"s1"});
  append_to_partition_entry(into, "second", {});
  std::string more;
  append_to_partition_entry(more, "third", {"s1", "s2"});
  ASSERT_TRUE(merge_partition_entries(into, more));
  std::string want;
  append_to_partition_entry(want, "first", {"s1"});
  append_to_partition_entry(want, "second", {});
  append_to_partition_entry(want, "third", {"s1", "s2"});
  // The very bytes of one entry the three were appended to.
  EXPECT_EQ(into, want);
  auto e = decode_partition_entry(into);
  ASSERT_TRUE(e);
  ASSERT_EQ(e->size(), 3u);
  EXPECT_EQ((*e)[2].record, "third");
}

TEST(partition_entry, entries_are_merged_only_when_both_are_version_2_and_fit) {
  const std::string v1("\x01\x00\x00\x00\x03rec\x00\x00\x00\x01\x00\x02s1", 16);
  const auto one = encode_partition_entry("rec", {"s1"});
  auto into = one;
  EXPECT_FALSE(merge_partition_entries(into, v1));
  EXPECT_FALSE(merge_partition_entries(into, "opaque bytes"));
  EXPECT_FALSE(merge_partition_entries(into, ""));
  EXPECT_EQ(into, one);
  std::string old = v1;
  EXPECT_FALSE(merge_partition_entries(old, one));
  EXPECT_EQ(old, v1);
  std::string empty;
  EXPECT_FALSE(merge_partition_entries(empty, one));
  EXPECT_TRUE(empty.empty());

  // Two that together pass max_partition_entry_bytes stay two; one byte
  // less and they merge.
  const std::size_t fixed = one.size() - 3; // the bytes of `one` besides its record
  auto big = encode_partition_entry(std::string(max_partition_entry_bytes / 2, 'x'), {"s1"});
  const auto other = encode_partition_entry(
    std::string(max_partition_entry_bytes - big.size() - fixed + 5 + 1, 'y'), {"s1"});
  ASSERT_EQ(big.size() + other.size() - 5, max_partition_entry_bytes + 1);
  const auto before = big;
  EXPECT_FALSE(merge_partition_entries(big, other));
  EXPECT_EQ(big, before);
  const auto fits = encode_partition_entry(std::string(other.size() - fixed - 1, 'y'), {"s1"});
  EXPECT_TRUE(merge_partition_entries(big, fits));
  EXPECT_EQ(big.size(), max_partition_entry_bytes);
  auto e = decode_partition_entry(big);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->size(), 2u);
}
