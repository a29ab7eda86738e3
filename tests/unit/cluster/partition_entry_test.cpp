// A partition entry must decode to what was encoded, and nothing that is
// not a whole entry of this version may decode.

#include <gtest/gtest.h>

#include "cluster/partition_entry.hpp"

using namespace sy::cluster;

TEST(partition_entry, round_trips_record_and_subscriptions) {
  const std::string record("\x01\x00record with \0 bytes", 20);
  const auto bytes = encode_partition_entry(record, {"sub_a", "", "sub_ccc"});
  auto e = decode_partition_entry(bytes);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->record, record);
  ASSERT_EQ(e->subscriptions.size(), 3u);
  EXPECT_EQ(e->subscriptions[0], "sub_a");
  EXPECT_EQ(e->subscriptions[1], "");
  EXPECT_EQ(e->subscriptions[2], "sub_ccc");
}

TEST(partition_entry, the_bytes_are_fixed) {
  // Nodes of different versions read each other's logs: the layout is
  // the documented one, not whatever the encoder does today.
  const auto bytes = encode_partition_entry("rec", {"s1"});
  EXPECT_EQ(bytes, std::string("\x01\x00\x00\x00\x03rec\x00\x00\x00\x01\x00\x02s1", 16));
}

TEST(partition_entry, appends_to_what_is_there) {
  std::string out = "head";
  encode_partition_entry(out, "r", {});
  EXPECT_EQ(out.substr(0, 4), "head");
  auto e = decode_partition_entry(std::string_view(out).substr(4));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->record, "r");
  EXPECT_TRUE(e->subscriptions.empty());
}

TEST(partition_entry, refuses_anything_but_one_whole_entry) {
  const auto good = encode_partition_entry("record", {"sub_1", "sub_2"});
  ASSERT_TRUE(decode_partition_entry(good));
  for (std::size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(decode_partition_entry(std::string_view(good).substr(0, n))) << n;
  EXPECT_FALSE(decode_partition_entry(good + "x"));
  auto other_version = good;
  other_version[0] = 2;
  EXPECT_FALSE(decode_partition_entry(other_version));
  // A subscription count far beyond what the bytes hold.
  EXPECT_FALSE(decode_partition_entry(std::string("\x01\x00\x00\x00\x00\xff\xff\xff\xff", 9)));
}
