// The replication rules driven over real partition logs (RocksDB in temp
// directories), as the replica actor will drive them: what the rules decide
// is what the logs hold, across a failover and a restart of the old primary.
#include "cluster/replication.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "storage/partition_log.hpp"

using namespace sy::cluster;
using sy::storage::partition_epoch;
using sy::storage::partition_log;

namespace {

// One node's journal and its log of partition 0.
struct node_store {
  std::filesystem::path dir;
  std::unique_ptr<sy::storage::journal> journal;
  std::unique_ptr<partition_log> log;

  explicit node_store(const std::string& name)
      : dir(std::filesystem::temp_directory_path() /
            ("sy_replog_" + std::to_string(::getpid()) + "_" + name)) {
    std::filesystem::remove_all(dir);
    open();
  }
  ~node_store() {
    log.reset();
    journal.reset();
    std::filesystem::remove_all(dir);
  }
  void open() {
    sy::storage::journal_options o;
    o.sync = true;
    o.reserve_bytes = 0;
    std::string error;
    journal = sy::storage::journal::open(dir.string(), std::move(o), error);
    ASSERT_TRUE(journal) << error;
    auto l = partition_log::open(*journal, 0);
    ASSERT_TRUE(l);
    log = std::move(*l);
  }
  void reopen() {
    log.reset();
    journal.reset();
    open();
  }
  epoch_history history() const {
    std::vector<epoch_start> starts;
    for (const auto& e : log->epochs())
      starts.push_back({e.epoch, e.start_offset});
    return epoch_history(starts);
  }
  std::vector<std::string> entries() const {
    if (log->end_offset() == 0)
      return {};
    auto r = log->read(0, log->end_offset(), SIZE_MAX, SIZE_MAX);
    EXPECT_TRUE(r);
    return r ? *r : std::vector<std::string>{};
  }
};

// Persists the epochs `p` started that `s`'s log does not hold yet.
void record_epochs(const primary_state& p, node_store& s) {
  for (const auto& e : p.history().starts()) {
    if (s.log->epochs().empty() || e.epoch > s.log->epochs().back().epoch) {
      ASSERT_FALSE(s.log->put_epoch(e.epoch, e.start_offset));
    }
  }
}

std::vector<uint64_t> write(primary_state& p, node_store& s, std::vector<std::string> entries,
                            uint64_t waiter) {
  auto t = p.append(entries.size(), waiter);
  EXPECT_EQ(t.refused, append_refusal::none);
  EXPECT_FALSE(s.log->append(t.first, entries));
  return p.durable(s.log->end_offset());
}

// Runs backup `b` over `bs` against primary `p` over `ps` until caught up.
void drive(backup_state& b, node_store& bs, backup_step step, primary_state& p, node_store& ps,
           std::size_t max_entries = max_fetch_entries) {
  for (int i = 0; i < 1000; ++i) {
    switch (step.action) {
      case backup_action::query: step = b.on_epoch_end(p.epoch_end(step.query)); break;
      case backup_action::truncate:
        ASSERT_FALSE(bs.log->truncate(step.truncate_to));
        step = b.truncated(bs.log->end_offset());
        break;
      case backup_action::append: {
        std::vector<partition_epoch> epochs;
        for (const auto& e : step.epochs)
          epochs.push_back({e.epoch, e.start_offset});
        ASSERT_FALSE(bs.log->append(bs.log->end_offset(), step.entries, epochs));
        step = b.appended(bs.log->end_offset());
        break;
      }
      case backup_action::fetch: {
        auto plan = p.fetch(step.fetch);
        auto r = plan.reply;
        if (plan.read_to > plan.read_from) {
          auto read = ps.log->read(plan.read_from, plan.read_to, max_fetch_bytes, max_entries);
          ASSERT_TRUE(read);
          r.entries = std::move(*read);
          r.epochs = p.epochs_for(plan.read_from, r.entries.size());
        }
        const bool caught_up = r.status == 0 && r.entries.empty();
        step = b.on_fetch(std::move(r));
        if (caught_up)
          return;
        break;
      }
      default: FAIL() << "unexpected backup action " << static_cast<int>(step.action);
    }
  }
  FAIL() << "the backup did not catch up";
}

std::vector<std::string> names(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i)
    out.push_back(prefix + std::to_string(i));
  return out;
}

} // namespace

TEST(replication_log, a_failover_and_a_restart_leave_every_log_equal_with_every_commit) {
  node_store sa("a"), sb("b"), sc("c");
  const configuration cfg10{10, "a", {"a", "b", "c"}, {"a", "b", "c"}};
  primary_state a("a", 0, 2, cfg10, 0, sa.history(), 0);
  record_epochs(a, sa);
  backup_state b("b", 0, 0, sb.history()), c("c", 0, 0, sc.history());

  EXPECT_TRUE(write(a, sa, names("e", 0, 300), 1).empty());
  // Small fetches: many round trips, each bounded.
  drive(b, sb, b.apply(cfg10), a, sa, 7);
  drive(c, sc, c.apply(cfg10), a, sa, 7);
  EXPECT_EQ(a.commit_offset(), 300u);

  // a writes more; only b fetches a part of it before a is lost.
  write(a, sa, names("old", 300, 310), 2);
  auto r = a.fetch({0, 10, "b", 300});
  auto part = sa.log->read(r.read_from, r.read_to, max_fetch_bytes, 4);
  ASSERT_TRUE(part);
  r.reply.entries = *part;
  r.reply.epochs = a.epochs_for(300, part->size());
  auto step = b.on_fetch(r.reply);
  ASSERT_EQ(step.action, backup_action::append);
  ASSERT_FALSE(sb.log->append(sb.log->end_offset(), step.entries));
  b.appended(sb.log->end_offset());
  EXPECT_EQ(a.commit_offset(), 300u);

  const configuration cfg20{20, "b", {"a", "b", "c"}, {"b", "c"}};
  EXPECT_EQ(a.apply(cfg20).failed, std::vector<uint64_t>{2});
  ASSERT_EQ(b.apply(cfg20).action, backup_action::promote);
  primary_state nb("b", 0, 2, cfg20, sb.log->end_offset(), sb.history(), b.commit_offset());
  record_epochs(nb, sb);
  write(nb, sb, names("new", 304, 320), 3);
  drive(c, sc, c.apply(cfg20), nb, sb);
  EXPECT_EQ(nb.commit_offset(), 320u);

  // a restarts from its disk, with its divergent old300..old309.
  sa.reopen();
  EXPECT_EQ(sa.log->end_offset(), 310u);
  backup_state ra("a", 0, sa.log->end_offset(), sa.history());
  drive(ra, sa, ra.apply(cfg20), nb, sb);

  auto want = names("e", 0, 300);
  for (auto& e : names("old", 300, 304))
    want.push_back(e);
  for (auto& e : names("new", 304, 320))
    want.push_back(e);
  EXPECT_EQ(sb.entries(), want);
  EXPECT_EQ(sc.entries(), want);
  EXPECT_EQ(sa.entries(), want) << "old304..old309 are cut; every committed entry stays";
  const std::vector<partition_epoch> epochs{{10, 0}, {20, 304}};
  EXPECT_EQ(sb.log->epochs(), epochs);
  EXPECT_EQ(sc.log->epochs(), epochs);
  EXPECT_EQ(sa.log->epochs(), epochs);
  // And what is on disk is what a restart reads.
  sc.reopen();
  EXPECT_EQ(sc.entries(), want);
  EXPECT_EQ(sc.log->epochs(), epochs);
}
