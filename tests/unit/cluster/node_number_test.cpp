#include "cluster/node_number.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <string>

using namespace sy::cluster;

namespace {

// The 16 hex digits an id ("evt_" + 16 hex) shows for `seq` (actors/ingest.cpp's format).
std::string hex16(uint64_t seq) {
  char hex[32];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(seq));
  return hex;
}

} // namespace

TEST(node_number, ranges_of_consecutive_numbers_touch_and_never_overlap) {
  for (uint64_t n : {uint64_t{1}, uint64_t{2}, uint64_t{77}, max_node_number - 1}) {
    SCOPED_TRACE(n);
    EXPECT_LT(seq_range_first(n), seq_range_end(n));
    EXPECT_EQ(seq_range_end(n), seq_range_first(n + 1));
    EXPECT_EQ(seq_range_end(n) - seq_range_first(n), uint64_t{1} << 48);
    EXPECT_EQ(node_number_of_seq(seq_range_first(n)), n);
    EXPECT_EQ(node_number_of_seq(seq_range_end(n) - 1), n);
    EXPECT_EQ(node_number_of_seq(seq_range_end(n)), n + 1);
  }
  // A single node's sequence numbers (from 1) are number 0's range, which
  // etcd never hands out.
  EXPECT_EQ(node_number_of_seq(1), 0u);
  EXPECT_EQ(seq_range_first(1), uint64_t{1} << 48);
}

TEST(node_number, the_highest_number_keeps_ids_at_16_hex_digits_without_overflow) {
  EXPECT_EQ(max_node_number, 65534u);
  // The last range ends at 2^64 - 2^48: still above its first number.
  EXPECT_GT(seq_range_end(max_node_number), seq_range_first(max_node_number));
  EXPECT_EQ(seq_range_end(max_node_number),
            std::numeric_limits<uint64_t>::max() - ((uint64_t{1} << 48) - 1));
  EXPECT_EQ(hex16(seq_range_end(max_node_number) - 1), "fffeffffffffffff");
  // The number is the id's first four hex digits: a reader can tell the node.
  EXPECT_EQ(hex16(seq_range_first(3) + 42), "000300000000002a");
}

TEST(node_number, parses_only_what_it_formats) {
  for (uint64_t n : {uint64_t{1}, uint64_t{9}, uint64_t{10}, uint64_t{4096}, max_node_number}) {
    auto text = format_node_number(n);
    EXPECT_EQ(parse_node_number(text), n) << text;
  }
  EXPECT_EQ(format_node_number(12), "12");
  for (const char* bad : {"", "0", "012", "-1", "+1", "1a", " 1", "65535", "99999999999999999999",
                          "999999999999999999999"})
    EXPECT_FALSE(parse_node_number(bad)) << '"' << bad << '"';
}

TEST(node_number, the_counter_hands_out_each_number_once_and_stops_at_the_highest) {
  EXPECT_EQ(next_node_number(0), 1u); // no counter yet: the first node
  EXPECT_EQ(next_node_number(1), 2u);
  EXPECT_EQ(next_node_number(max_node_number - 1), max_node_number);
  EXPECT_FALSE(next_node_number(max_node_number));
  EXPECT_FALSE(next_node_number(std::numeric_limits<uint64_t>::max()));
}
