// Placement must be the same on every node and in every version, spread
// partitions evenly, and move as little as possible when membership changes.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "cluster/placement.hpp"

using namespace sy::cluster;

TEST(placement, hash_is_fixed_forever) {
  // Golden values, computed independently (a few lines of Python of FNV-1a
  // 64 and splitmix64's finaliser): a change here re-homes every
  // subscription of every existing cluster. Never update them; add a new
  // function instead.
  EXPECT_EQ(placement_hash(""), 0xf52a15e9a9b5e89bULL);
  EXPECT_EQ(partition_of("sub_0123456789abcdef0123", 64), 37u);
  EXPECT_EQ(rendezvous_weight(0, "n1"), 0x25f67787b158782bULL);
  EXPECT_EQ(rendezvous_weight(63, "node-b"), 0x22507b0a8d48f4c6ULL);
}

TEST(placement, partitions_spread_evenly) {
  std::map<uint32_t, int> count;
  for (int i = 0; i < 64000; ++i)
    ++count[partition_of("sub_" + std::to_string(i), 64)];
  ASSERT_EQ(count.size(), 64u);
  for (const auto& [p, n] : count) {
    EXPECT_GT(n, 800) << p; // 1000 expected
    EXPECT_LT(n, 1200) << p;
  }
  EXPECT_EQ(partition_of("anything", 1), 0u);
}

TEST(placement, replicas_are_the_top_weights_and_balanced) {
  const std::vector<std::string> members{"n1", "n2", "n3"};
  std::map<std::string, int> primaries;
  for (uint32_t p = 0; p < 300; ++p) {
    auto r = replicas_of(p, members, 2);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_NE(r[0], r[1]);
    EXPECT_GE(rendezvous_weight(p, r[0]), rendezvous_weight(p, r[1]));
    ++primaries[r[0]];
    // The order of the member list does not matter.
    EXPECT_EQ(r, replicas_of(p, {"n3", "n1", "n2"}, 2));
  }
  for (const auto& [node, n] : primaries) {
    EXPECT_GT(n, 60) << node; // 100 expected
    EXPECT_LT(n, 140) << node;
  }
  // Fewer members than replicas: all of them.
  EXPECT_EQ(replicas_of(5, {"n1", "n2"}, 3).size(), 2u);
  EXPECT_EQ(replicas_of(5, {"n1", "n1"}, 3), std::vector<std::string>{"n1"});
  EXPECT_TRUE(replicas_of(5, {}, 3).empty());
}

TEST(placement, a_joining_member_moves_only_what_it_takes) {
  const std::vector<std::string> before{"n1", "n2", "n3"};
  auto after = before;
  after.push_back("n4");
  int moved = 0;
  for (uint32_t p = 0; p < 256; ++p) {
    auto a = replicas_of(p, before, 3);
    auto b = replicas_of(p, after, 3);
    std::set<std::string> old(a.begin(), a.end());
    for (const auto& n : b)
      EXPECT_TRUE(old.count(n) || n == "n4") << "partition " << p << " moved to " << n;
    if (std::find(b.begin(), b.end(), "n4") != b.end())
      ++moved;
  }
  // n4 should take about 3/4 of the partitions' replica slots' worth: each
  // partition includes it with probability 3/4.
  EXPECT_GT(moved, 150);
  EXPECT_LT(moved, 230);
}

TEST(placement, a_leaving_member_moves_only_its_partitions) {
  const std::vector<std::string> before{"n1", "n2", "n3", "n4", "n5"};
  const std::vector<std::string> after{"n1", "n2", "n4", "n5"}; // n3 died
  for (uint32_t p = 0; p < 256; ++p) {
    auto a = replicas_of(p, before, 2);
    auto b = replicas_of(p, after, 2);
    if (std::find(a.begin(), a.end(), "n3") == a.end()) {
      EXPECT_EQ(a, b) << "partition " << p << " moved although n3 held none of it";
      continue;
    }
    for (const auto& n : a) {
      if (n != "n3") {
        EXPECT_NE(std::find(b.begin(), b.end(), n), b.end()) << "survivor lost partition " << p;
      }
    }
  }
}
