#include "storage/partition_log.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <rocksdb/db.h>

using namespace sy::storage;

namespace {

// A fresh directory under the system temp dir, removed afterwards.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() /
           ("sy_plog_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

std::unique_ptr<journal> open_journal(const temp_dir& d) {
  journal_options o;
  o.sync = true;
  o.reserve_bytes = 0;
  std::string error;
  auto j = journal::open(d.path.string(), std::move(o), error);
  EXPECT_TRUE(j) << error;
  return j;
}

std::unique_ptr<partition_log> open_log(journal& j, uint32_t p) {
  auto log = partition_log::open(j, p);
  EXPECT_TRUE(log) << (log ? "" : log.error().message);
  return log ? std::move(*log) : nullptr;
}

std::vector<std::string> numbered(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i)
    out.push_back(prefix + std::to_string(i));
  return out;
}

std::vector<std::string> read_all(const partition_log& log) {
  auto r = log.read(log.start_offset(), log.end_offset(), SIZE_MAX, SIZE_MAX);
  EXPECT_TRUE(r || log.end_offset() == log.start_offset());
  return r ? *r : std::vector<std::string>{};
}

} // namespace

TEST(partition_log, appends_reads_and_survives_a_reopen) {
  temp_dir d;
  {
    auto j = open_journal(d);
    auto log = open_log(*j, 3);
    EXPECT_EQ(log->end_offset(), 0u);
    const partition_epoch e5{5, 0};
    ASSERT_FALSE(log->append(0, numbered("a", 0, 4), std::span(&e5, 1)));
    ASSERT_FALSE(log->append(4, numbered("a", 4, 6)));
    ASSERT_FALSE(log->put_epoch(9, 6));
    EXPECT_EQ(log->end_offset(), 6u);
    // Another partition's log in the same family is its own.
    auto other = open_log(*j, 4);
    ASSERT_FALSE(other->append(0, numbered("b", 0, 2)));
    auto mid = log->read(2, 5, SIZE_MAX, SIZE_MAX);
    ASSERT_TRUE(mid);
    EXPECT_EQ(*mid, (std::vector<std::string>{"a2", "a3", "a4"}));
    // A graceful stop flushes the partitions family with the others.
    ASSERT_FALSE(j->flush());
  }
  auto j = open_journal(d);
  auto log = open_log(*j, 3);
  EXPECT_EQ(log->end_offset(), 6u);
  EXPECT_EQ(read_all(*log), numbered("a", 0, 6));
  EXPECT_EQ(log->epochs(), (std::vector<partition_epoch>{{5, 0}, {9, 6}}));
  auto other = open_log(*j, 4);
  EXPECT_EQ(read_all(*other), numbered("b", 0, 2));
}

TEST(partition_log, refuses_an_append_that_is_not_at_the_end_or_an_epoch_out_of_order) {
  temp_dir d;
  auto j = open_journal(d);
  auto log = open_log(*j, 0);
  ASSERT_FALSE(log->append(0, numbered("a", 0, 2)));
  EXPECT_TRUE(log->append(1, numbered("x", 0, 1))) << "would overwrite offset 1";
  EXPECT_TRUE(log->append(3, numbered("x", 0, 1))) << "would leave a hole at 2";
  ASSERT_FALSE(log->put_epoch(7, 2));
  EXPECT_TRUE(log->put_epoch(7, 2)) << "not above the newest";
  EXPECT_TRUE(log->put_epoch(8, 1)) << "before the newest's start";
  EXPECT_EQ(log->end_offset(), 2u);
  EXPECT_EQ(read_all(*log), numbered("a", 0, 2));
}

TEST(partition_log, truncates_the_suffix_and_its_epochs_across_a_reopen) {
  temp_dir d;
  {
    auto j = open_journal(d);
    auto log = open_log(*j, 1);
    const std::vector<partition_epoch> epochs{{10, 0}, {12, 5}};
    ASSERT_FALSE(log->append(0, numbered("a", 0, 8), epochs));
    ASSERT_FALSE(log->truncate(5));
    EXPECT_EQ(log->end_offset(), 5u);
    EXPECT_EQ(log->epochs(), (std::vector<partition_epoch>{{10, 0}}));
    // Appending after a cut writes the new suffix where the old one was.
    const partition_epoch e20{20, 5};
    ASSERT_FALSE(log->append(5, numbered("n", 5, 7), std::span(&e20, 1)));
  }
  auto j = open_journal(d);
  auto log = open_log(*j, 1);
  EXPECT_EQ(log->end_offset(), 7u);
  auto expected = numbered("a", 0, 5);
  for (auto& n : numbered("n", 5, 7))
    expected.push_back(n);
  EXPECT_EQ(read_all(*log), expected);
  EXPECT_EQ(log->epochs(), (std::vector<partition_epoch>{{10, 0}, {20, 5}}));
  // An epoch that starts at the end holds nothing: a cut there drops it.
  ASSERT_FALSE(log->put_epoch(21, 7));
  ASSERT_FALSE(log->truncate(7));
  EXPECT_EQ(log->epochs(), (std::vector<partition_epoch>{{10, 0}, {20, 5}}));
  ASSERT_FALSE(log->truncate(0));
  EXPECT_EQ(log->end_offset(), 0u);
  EXPECT_TRUE(log->epochs().empty());
}

TEST(partition_log, trims_the_prefix_and_keeps_its_start_across_a_reopen) {
  temp_dir d;
  {
    auto j = open_journal(d);
    auto log = open_log(*j, 2);
    const partition_epoch e3{3, 0};
    ASSERT_FALSE(log->append(0, numbered("a", 0, 10), std::span(&e3, 1)));
    ASSERT_FALSE(log->put_epoch(5, 6));
    ASSERT_FALSE(log->trim(4));
    EXPECT_EQ(log->start_offset(), 4u);
    EXPECT_EQ(log->end_offset(), 10u);
    EXPECT_EQ(read_all(*log), numbered("a", 4, 10));
    auto below = log->read(2, 10, SIZE_MAX, SIZE_MAX);
    ASSERT_FALSE(below) << "entries below the start are gone";
    EXPECT_TRUE(below.error().not_found());
    ASSERT_FALSE(log->trim(2)) << "a trim below the start is a no-op";
    EXPECT_EQ(log->start_offset(), 4u);
    // Another partition in the same family is untouched.
    auto other = open_log(*j, 3);
    ASSERT_FALSE(other->append(0, numbered("b", 0, 3)));
    ASSERT_FALSE(j->flush());
  }
  {
    auto j = open_journal(d);
    auto log = open_log(*j, 2);
    EXPECT_EQ(log->start_offset(), 4u);
    EXPECT_EQ(log->end_offset(), 10u);
    EXPECT_EQ(read_all(*log), numbered("a", 4, 10));
    EXPECT_EQ(log->epochs(), (std::vector<partition_epoch>{{3, 0}, {5, 6}})) << "kept whole";
    EXPECT_EQ(read_all(*open_log(*j, 3)), numbered("b", 0, 3));
    // A trim past the end stops at the end: an empty log that goes on there.
    ASSERT_FALSE(log->trim(100));
    EXPECT_EQ(log->start_offset(), 10u);
    EXPECT_EQ(log->end_offset(), 10u);
    ASSERT_FALSE(log->append(10, numbered("a", 10, 12)));
    ASSERT_FALSE(j->flush());
  }
  auto j = open_journal(d);
  auto log = open_log(*j, 2);
  EXPECT_EQ(log->start_offset(), 10u);
  EXPECT_EQ(log->end_offset(), 12u);
  EXPECT_EQ(read_all(*log), numbered("a", 10, 12));
  // A truncation below the start empties the log there.
  ASSERT_FALSE(log->truncate(7));
  EXPECT_EQ(log->start_offset(), 7u);
  EXPECT_EQ(log->end_offset(), 7u);
  EXPECT_EQ(log->epochs(), (std::vector<partition_epoch>{{3, 0}, {5, 6}}));
}

TEST(partition_log, a_reset_empties_the_log_at_a_new_start_across_a_reopen) {
  temp_dir d;
  {
    auto j = open_journal(d);
    auto log = open_log(*j, 1);
    const std::vector<partition_epoch> epochs{{3, 0}, {5, 2}};
    ASSERT_FALSE(log->append(0, numbered("a", 0, 5), epochs));
    ASSERT_FALSE(log->reset(20));
    EXPECT_EQ(log->start_offset(), 20u);
    EXPECT_EQ(log->end_offset(), 20u);
    EXPECT_TRUE(log->epochs().empty());
    EXPECT_TRUE(read_all(*log).empty());
    EXPECT_TRUE(log->append(5, numbered("x", 5, 6))) << "the end is the new start";
    const partition_epoch e9{9, 20};
    ASSERT_FALSE(log->append(20, numbered("c", 20, 23), std::span(&e9, 1)));
  }
  auto j = open_journal(d);
  auto log = open_log(*j, 1);
  EXPECT_EQ(log->start_offset(), 20u);
  EXPECT_EQ(log->end_offset(), 23u);
  EXPECT_EQ(read_all(*log), numbered("c", 20, 23));
  EXPECT_EQ(log->epochs(), (std::vector<partition_epoch>{{9, 20}}));
  // A reset to a lower start goes there too (nothing of the old log is kept).
  ASSERT_FALSE(log->reset(2));
  EXPECT_EQ(log->start_offset(), 2u);
  EXPECT_EQ(log->end_offset(), 2u);
}

TEST(partition_log, a_read_is_bounded_in_bytes_and_entries_and_repeatable) {
  temp_dir d;
  auto j = open_journal(d);
  auto log = open_log(*j, 0);
  std::vector<std::string> kib(50, std::string(1024, 'k'));
  ASSERT_FALSE(log->append(0, kib));
  auto r = log->read(0, 50, 10 * 1024, SIZE_MAX);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 10u);
  auto again = log->read(0, 50, 10 * 1024, SIZE_MAX);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *r);
  auto capped = log->read(5, 50, SIZE_MAX, 7);
  ASSERT_TRUE(capped);
  EXPECT_EQ(capped->size(), 7u);
  auto upto = log->read(45, 48, SIZE_MAX, SIZE_MAX);
  ASSERT_TRUE(upto);
  EXPECT_EQ(upto->size(), 3u) << "`to` is exclusive";
  auto past = log->read(50, 60, SIZE_MAX, SIZE_MAX);
  ASSERT_TRUE(past);
  EXPECT_TRUE(past->empty());
  // One entry larger than the budget still goes, alone.
  ASSERT_FALSE(log->append(50, std::vector<std::string>{std::string(64 * 1024, 'b'), "c"}));
  auto big = log->read(50, 52, 1024, SIZE_MAX);
  ASSERT_TRUE(big);
  ASSERT_EQ(big->size(), 1u);
  EXPECT_EQ(big->front().size(), 64u * 1024);
}

// The write is synced: a process killed with -9 right after append() returned
// has it on the next open.
TEST(partition_log, an_append_survives_kill_9) {
  temp_dir d;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    journal_options o;
    o.sync = true;
    o.reserve_bytes = 0;
    std::string error;
    auto j = journal::open(d.path.string(), std::move(o), error);
    if (!j)
      ::_exit(2);
    auto log = partition_log::open(*j, 2);
    const partition_epoch e{4, 0};
    if (!log || (*log)->append(0, numbered("k", 0, 100), std::span(&e, 1)))
      ::_exit(3);
    char ok = 1;
    (void)!::write(ready[1], &ok, 1);
    for (;;)
      ::pause(); // killed here, the journal never closed
  }
  ::close(ready[1]);
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1) << "the child failed before appending";
  ::close(ready[0]);
  ::kill(child, SIGKILL);
  int st = 0;
  ::waitpid(child, &st, 0);
  ASSERT_TRUE(WIFSIGNALED(st));
  auto j = open_journal(d);
  auto log = open_log(*j, 2);
  EXPECT_EQ(log->end_offset(), 100u);
  EXPECT_EQ(read_all(*log), numbered("k", 0, 100));
  EXPECT_EQ(log->epochs(), (std::vector<partition_epoch>{{4, 0}}));
}

TEST(partition_log, a_journal_never_in_cluster_mode_has_no_partitions_family) {
  temp_dir d;
  { auto j = open_journal(d); }
  std::vector<std::string> families;
  ASSERT_TRUE(
    rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), d.path.string(), &families).ok());
  EXPECT_EQ(std::count(families.begin(), families.end(), "partitions"), 0);
  {
    auto j = open_journal(d);
    auto log = open_log(*j, 0);
    ASSERT_FALSE(log->append(0, numbered("a", 0, 1)));
  }
  ASSERT_TRUE(
    rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), d.path.string(), &families).ok());
  EXPECT_EQ(std::count(families.begin(), families.end(), "partitions"), 1);
  // And the journal opens it again (RocksDB refuses an open that omits a family).
  auto j = open_journal(d);
  EXPECT_EQ(read_all(*open_log(*j, 0)), numbered("a", 0, 1));
}

// A held log (a paused or failing subscription keeps its partition's
// entries) is written to disk at every level compressed: flushed whole and
// rewritten into level 1 at full size, it slowed ingest (docs/performance.md
// "A held partition's log"). Both ways the family is opened are checked:
// made on first use, and found by a reopen.
TEST(partition_log, a_flushed_log_takes_a_fraction_of_its_entries_bytes_on_disk) {
  temp_dir d;
  auto event = [](int i) {
    return R"({"id":"0192b7a1-)" + std::to_string(100000 + i) +
           R"(","type":"re.notifica.event.custom.purchase","country":"NO","timestamp":)" +
           std::to_string(1764900000000 + i) +
           R"(,"data":{"orderId":"54ac46e8b2e39ca0","deviceID":"09260d8b1de06948c516a",)"
           R"("total":129.5,"currency":"NOK","items":["sku-1","sku-2"]}})";
  };
  // The table files of every family (the others hold next to nothing).
  auto sst_bytes = [&d](journal&) {
    std::size_t n = 0;
    for (const auto& f : std::filesystem::directory_iterator(d.path))
      if (f.path().extension() == ".sst")
        n += f.file_size();
    return n;
  };
  std::size_t raw = 0;
  auto append_some = [&](partition_log& log, int from, int to) {
    std::vector<std::string> entries;
    for (int i = from; i < to; ++i) {
      entries.push_back(event(i));
      raw += entries.back().size();
    }
    ASSERT_FALSE(log.append(log.end_offset(), entries));
  };
  {
    auto j = open_journal(d);
    auto log = open_log(*j, 7);
    append_some(*log, 0, 4000);
    ASSERT_FALSE(j->flush());
    EXPECT_LT(sst_bytes(*j), raw / 3) << "entries of " << raw << " bytes";
  }
  auto j = open_journal(d);
  auto log = open_log(*j, 7);
  const auto before = sst_bytes(*j);
  const auto raw_before = raw;
  append_some(*log, 4000, 8000);
  ASSERT_FALSE(j->flush());
  EXPECT_LT(sst_bytes(*j) - before, (raw - raw_before) / 3) << "after a reopen";
  EXPECT_EQ(read_all(*log).size(), 8000u);
}

// -- the journal's references into a partition log (storage::log_ref) ---------

namespace {

stored_event referenced_event(uint64_t seq, const std::string& id) {
  stored_event e;
  e.seq = seq;
  e.ingest_ms = 1700000000123;
  e.ev.timestamp_ms = 1700000000000;
  e.ev.id = id;
  e.ev.type = "re.notifica.event.custom.order";
  e.ev.country = "PT";
  e.ev.data = R"({"n":1})";
  return e;
}

// Journals `e` at `seq` for subscription `sub` as a reference to bytes
// [at, at + size) of entry `offset` of partition `p` (with e's id).
void journal_ref(journal& j, uint64_t seq, const stored_event& e, uint64_t sub, log_ref ref) {
  ref.id = e.ev.id;
  const uint64_t subs[] = {sub};
  append_record r{seq, e.ingest_ms, {}, {}, subs, &ref};
  ASSERT_FALSE(j.append_records(std::span(&r, 1), append_sync::now));
}

} // namespace

TEST(partition_log, a_journaled_reference_reads_the_event_from_the_log_across_a_reopen) {
  temp_dir d;
  // The log's record carries the ingest node's seq (777); the journal's key another.
  const auto e = referenced_event(777, "evt_cluster_wide_id1");
  const std::string record = encode_event(e);
  const log_ref ref{2, 0, 3, static_cast<uint32_t>(record.size())};
  uint64_t seq = 0;
  {
    auto j = open_journal(d);
    auto log = open_log(*j, 2);
    ASSERT_TRUE(log);
    EXPECT_EQ(j->format_version(), journal_format_partitions);
    seq = j->reserve_seqs(1);
    // A reference before the entry it names: format 3, then 4 with the entry.
    journal_ref(*j, seq, e, 9, ref);
    EXPECT_EQ(j->format_version(), journal_format_refs);
    ASSERT_FALSE(log->append(0, std::vector<std::string>{"hd:" + record + ":tail"}));
    EXPECT_EQ(j->format_version(), journal_format_entry_batches);
  }
  auto j = open_journal(d);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->format_version(), journal_format_entry_batches) << "the raised version was recorded";
  auto read = j->read_queue(9, 0, 10);
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->size(), 1u);
  const auto& got = *read->front();
  EXPECT_EQ(got.seq, seq) << "the journal's own seq, not the log record's";
  EXPECT_EQ(got.ingest_ms, e.ingest_ms);
  EXPECT_EQ(got.ev.id, e.ev.id);
  EXPECT_EQ(got.ev.type, e.ev.type);
  EXPECT_EQ(got.ev.country, e.ev.country);
  EXPECT_EQ(got.ev.data, e.ev.data);
  auto oldest = j->oldest_queued_ingest_ms();
  ASSERT_TRUE(oldest) << oldest.error().message;
  EXPECT_EQ(*oldest, std::optional<int64_t>(e.ingest_ms));
}

TEST(partition_log, a_reference_to_an_entry_the_log_no_longer_holds_reads_as_missing) {
  temp_dir d;
  auto j = open_journal(d);
  auto log = open_log(*j, 0);
  ASSERT_TRUE(log);
  const auto e1 = referenced_event(1, "evt_cluster_wide_id1");
  const auto e2 = referenced_event(2, "evt_cluster_wide_id2");
  const std::vector<std::string> entries{encode_event(e1), encode_event(e2)};
  ASSERT_FALSE(log->append(0, entries));
  const uint64_t first = j->reserve_seqs(3);
  journal_ref(*j, first, e1, 4, {0, 0, 0, static_cast<uint32_t>(entries[0].size())});
  journal_ref(*j, first + 1, e2, 4, {0, 1, 0, static_cast<uint32_t>(entries[1].size())});
  // A reference past its entry's end (not what the apply writes) reads as missing too.
  journal_ref(*j, first + 2, e2, 5, {0, 1, 1, static_cast<uint32_t>(entries[1].size())});
  // Entry 0 was delivered everywhere and trimmed: its reference finds nothing.
  ASSERT_FALSE(log->trim(1));
  auto read = j->read_queue(4, 0, 10);
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ(read->front()->ev.id, e2.ev.id);
  EXPECT_EQ(read->front()->seq, first + 1);
  // Like a missing record, the dangling key was removed from its queue.
  auto left = j->count_queue(4);
  ASSERT_TRUE(left);
  EXPECT_EQ(*left, 1u);
  auto past = j->read_queue(5, 0, 10);
  ASSERT_TRUE(past) << past.error().message;
  EXPECT_TRUE(past->empty());
  auto none = j->count_queue(5);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
}

// An entry holds several events since 2026-12-05: a queue's references
// into one entry, and into the next, are each read back as their own record.
TEST(partition_log, references_into_one_entry_read_back_each_record) {
  temp_dir d;
  auto j = open_journal(d);
  auto log = open_log(*j, 1);
  ASSERT_TRUE(log);
  const auto e1 = referenced_event(1, "evt_cluster_wide_id1");
  const auto e2 = referenced_event(2, "evt_cluster_wide_id2");
  const auto e3 = referenced_event(3, "evt_cluster_wide_id3");
  const std::string r1 = encode_event(e1), r2 = encode_event(e2), r3 = encode_event(e3);
  ASSERT_FALSE(log->append(0, std::vector<std::string>{"<" + r1 + "|" + r2 + ">", "#" + r3}));
  const uint64_t first = j->reserve_seqs(3);
  const auto size = [](const std::string& r) { return static_cast<uint32_t>(r.size()); };
  journal_ref(*j, first, e1, 4, {1, 0, 1, size(r1)});
  journal_ref(*j, first + 1, e2, 4, {1, 0, static_cast<uint32_t>(2 + r1.size()), size(r2)});
  journal_ref(*j, first + 2, e3, 4, {1, 1, 1, size(r3)});
  auto read = j->read_queue(4, 0, 10);
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ((*read)[0]->ev.id, e1.ev.id);
  EXPECT_EQ((*read)[1]->ev.id, e2.ev.id);
  EXPECT_EQ((*read)[2]->ev.id, e3.ev.id);
  EXPECT_EQ((*read)[1]->ev.data, e2.ev.data);
  EXPECT_EQ((*read)[2]->seq, first + 2);
}

TEST(partition_log, a_journal_without_references_keeps_format_2) {
  temp_dir d;
  auto j = open_journal(d);
  auto log = open_log(*j, 0);
  ASSERT_TRUE(log);
  const auto e = referenced_event(1, "evt_cluster_wide_id1");
  const std::string record = encode_event(e);
  const uint64_t subs[] = {4};
  append_record r{j->reserve_seqs(1), e.ingest_ms, record, {}, subs};
  ASSERT_FALSE(j->append_records(std::span(&r, 1), append_sync::now));
  EXPECT_EQ(j->format_version(), journal_format_partitions)
    << "a copied record is readable by format 2: the version is raised by a reference only";
}

// A queue's references far apart in the log (a subscription that matches
// few of its partition's events) are read with point reads, not one scan.
TEST(partition_log, references_far_apart_read_their_entries_and_skip_a_trimmed_one) {
  temp_dir d;
  auto j = open_journal(d);
  auto log = open_log(*j, 1);
  ASSERT_TRUE(log);
  std::vector<std::string> entries;
  for (uint64_t n = 0; n < 20; ++n)
    entries.push_back(encode_event(referenced_event(n, "evt_cluster_wide_i" + std::to_string(n))));
  ASSERT_FALSE(log->append(0, entries));
  const uint64_t first = j->reserve_seqs(3);
  for (uint64_t k = 0; k < 3; ++k) {
    const uint64_t offset = 1 + 9 * k; // 1, 10, 19: further apart than 4 × 3
    journal_ref(*j, first + k,
                referenced_event(offset, "evt_cluster_wide_i" + std::to_string(offset)), 7,
                {1, offset, 0, static_cast<uint32_t>(entries[offset].size())});
  }
  ASSERT_FALSE(log->trim(2));
  auto read = j->read_queue(7, 0, 10);
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0]->ev.id, "evt_cluster_wide_i10");
  EXPECT_EQ((*read)[0]->seq, first + 1);
  EXPECT_EQ((*read)[1]->ev.id, "evt_cluster_wide_i19");
  EXPECT_EQ((*read)[1]->seq, first + 2);
}

// A queue of this node's kept a reference while its log was cut and written
// again by another primary: the event now at that offset is another, and
// the reference reads as missing, not as that event.
TEST(partition_log, a_reference_to_an_offset_now_holding_another_event_reads_as_missing) {
  temp_dir d;
  auto j = open_journal(d);
  auto log = open_log(*j, 0);
  ASSERT_TRUE(log);
  const auto mine = referenced_event(1, "evt_cluster_wide_id1");
  const auto theirs = referenced_event(1, "evt_cluster_wide_id9");
  ASSERT_FALSE(log->append(0, std::vector<std::string>{encode_event(mine)}));
  const uint64_t seq = j->reserve_seqs(1);
  journal_ref(*j, seq, mine, 4, {0, 0, 0, static_cast<uint32_t>(encode_event(mine).size())});
  ASSERT_FALSE(log->truncate(0));
  ASSERT_FALSE(log->append(0, std::vector<std::string>{encode_event(theirs)}));
  auto read = j->read_queue(4, 0, 10);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_TRUE(read->empty()) << "read as " << (read->empty() ? "" : read->front()->ev.id);
  auto left = j->count_queue(4);
  ASSERT_TRUE(left);
  EXPECT_EQ(*left, 0u);
}
