// journal::use_seq_range: cluster mode confines a journal's sequence
// numbers (and so its event ids) to its node number's range
// (cluster/node_number.hpp), never handing out one it handed out before.
#include "storage/journal.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

using namespace sy::storage;

namespace {

constexpr uint64_t range = uint64_t{1} << 48;
// Node number 1's range, and 2's (another node's events).
constexpr uint64_t first1 = range, end1 = 2 * range;
constexpr uint64_t first2 = 2 * range, end2 = 3 * range;

struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& tag = "") {
    path = std::filesystem::temp_directory_path() /
           ("sy_seqrange_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + tag);
    std::filesystem::remove_all(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

std::unique_ptr<journal> open_journal(const temp_dir& d) {
  journal_options o;
  o.reserve_bytes = 0;
  std::string error;
  auto j = journal::open(d.path.string(), std::move(o), error);
  EXPECT_TRUE(j) << error;
  return j;
}

uint64_t use(journal& j, uint64_t first, uint64_t end) {
  auto r = j.use_seq_range(first, end);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : 0;
}

// Appends events `seqs`, each queued for `subs`.
void append(journal& j, const std::vector<uint64_t>& seqs, std::vector<uint64_t> subs = {1}) {
  std::vector<append_item> items;
  for (uint64_t seq : seqs) {
    auto e = std::make_shared<stored_event>();
    e->seq = seq;
    e->ingest_ms = 1000;
    e->ev.id = "evt_" + std::to_string(seq);
    e->ev.type = "a.b";
    items.push_back({e, subs});
  }
  auto err = j.append(items);
  ASSERT_FALSE(err) << err->message;
}

} // namespace

TEST(seq_range, an_empty_journal_starts_at_the_range) {
  temp_dir d;
  auto j = open_journal(d);
  EXPECT_EQ(j->next_seq(), 1u);
  EXPECT_EQ(use(*j, first1, end1), first1);
  EXPECT_EQ(j->next_seq(), first1);
  EXPECT_EQ(j->reserve_seqs(3), first1);
  EXPECT_EQ(j->next_seq(), first1 + 3);
}

TEST(seq_range, a_journal_of_before_is_raised_to_the_range_never_lowered_within_it) {
  temp_dir d;
  {
    auto j = open_journal(d);
    append(*j, {1, 2, 3}); // a single node's (number 0's) events
  }
  {
    auto j = open_journal(d);
    EXPECT_EQ(j->next_seq(), 4u);
    EXPECT_EQ(use(*j, first1, end1), first1) << "below the range: raised to its start";
    append(*j, {j->reserve_seqs(1), j->reserve_seqs(1)});
    EXPECT_EQ(j->next_seq(), first1 + 2);
  }
  auto j = open_journal(d);
  EXPECT_EQ(use(*j, first1, end1), first1 + 2) << "a restart hands out the range's next";
}

TEST(seq_range, what_the_range_handed_out_stays_out_after_its_records_are_gone) {
  temp_dir d;
  {
    auto j = open_journal(d);
    ASSERT_EQ(use(*j, first1, end1), first1);
    const auto s = j->reserve_seqs(5);
    append(*j, {s, s + 1, s + 2, s + 3, s + 4});
    // Delivered and collected: no event, queue key or dead letter remains,
    // only the persisted counter.
    ASSERT_FALSE(j->ack_many(1, {s, s + 1, s + 2, s + 3, s + 4}));
    ASSERT_FALSE(j->collect_unreferenced(0));
  }
  auto j = open_journal(d);
  EXPECT_EQ(use(*j, first1, end1), first1 + 5);
}

TEST(seq_range, a_dead_letter_keeps_its_seq_from_being_handed_out_again) {
  temp_dir d;
  {
    auto j = open_journal(d);
    ASSERT_EQ(use(*j, first1, end1), first1);
    const auto s = j->reserve_seqs(1);
    append(*j, {s});
    auto e = std::make_shared<stored_event>();
    e->seq = s;
    e->ev.id = "evt_x";
    ASSERT_FALSE(j->kill(1, *e, "gone"));
    ASSERT_FALSE(j->collect_unreferenced(0)); // the event record goes
    ASSERT_FALSE(j->delete_meta("seq"));      // only the dead letter tells now
  }
  auto j = open_journal(d);
  EXPECT_EQ(use(*j, first1, end1), first1 + 1);
}

TEST(seq_range, another_nodes_seqs_above_the_range_never_move_it) {
  temp_dir d;
  {
    auto j = open_journal(d);
    ASSERT_EQ(use(*j, first1, end1), first1);
    append(*j, {j->reserve_seqs(1)}, {1, 2});
    // Events another node numbered (its range is above this one's), queued
    // here for subscriptions 1 and 3, and one of them dead-lettered.
    append(*j, {first2 + 40, first2 + 41}, {1, 3});
    auto e = std::make_shared<stored_event>();
    e->seq = first2 + 41;
    e->ev.id = "evt_y";
    ASSERT_FALSE(j->kill(3, *e, "gone"));
    EXPECT_EQ(j->next_seq(), first1 + 1) << "a foreign seq raised this node's counter";
    EXPECT_EQ(j->reserve_seqs(1), first1 + 1);
    append(*j, {first1 + 1});
  }
  // At the next start every family holds seqs of both ranges: only this
  // range's count.
  auto j = open_journal(d);
  EXPECT_GT(j->next_seq(), first2) << "open() alone counts every seq (single-node rule)";
  EXPECT_EQ(use(*j, first1, end1), first1 + 2);
  // And node 2's own journal, holding node 1's events, is not lowered by them.
  temp_dir d2("_node2");
  auto j2 = open_journal(d2);
  ASSERT_TRUE(j2);
  ASSERT_EQ(use(*j2, first2, end2), first2);
  append(*j2, {first1 + 7, first2});
  EXPECT_EQ(j2->next_seq(), first2 + 1);
}

TEST(seq_range, a_used_up_range_is_refused) {
  temp_dir d;
  auto j = open_journal(d);
  append(*j, {end1 - 1});
  auto r = j->use_seq_range(first1, end1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, errc::no_space);
  // The next range is free.
  EXPECT_EQ(use(*j, first2, end2), first2);
}
