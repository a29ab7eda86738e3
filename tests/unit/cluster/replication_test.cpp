#include "cluster/replication.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

using namespace sy::cluster;

namespace sy::cluster {
// Shows an epoch start as gtest reports it: "(epoch 20 from 6)".
void PrintTo(const epoch_start& s, std::ostream* os) {
  *os << "(epoch " << s.epoch << " from " << s.start_offset << ")";
}
} // namespace sy::cluster

namespace {

configuration config(uint64_t epoch, std::string primary, std::vector<std::string> replicas,
                     std::vector<std::string> in_sync) {
  return {epoch, std::move(primary), std::move(replicas), std::move(in_sync)};
}

fetch_request fetch_from(const std::string& node, uint64_t epoch, uint64_t from) {
  return {0, epoch, node, from};
}

uint8_t status(reply_status s) { return static_cast<uint8_t>(s); }

// A replica's log in memory: what partition_log stores, for the pure rules.
// Entries below `start` are trimmed: their slots hold "" and must not be read.
struct memory_log {
  std::vector<std::string> entries;
  epoch_history history;
  uint64_t start = 0;
};

// Reads as partition_log::read does: at least one entry, then up to the budget.
std::vector<std::string> read(const memory_log& log, uint64_t from, uint64_t to,
                              std::size_t max_bytes, std::size_t max_entries) {
  std::vector<std::string> out;
  std::size_t bytes = 0;
  EXPECT_GE(from, log.start) << "read below the log's start";
  for (uint64_t o = from; o < std::min<uint64_t>(to, log.entries.size()); ++o) {
    const auto& e = log.entries[o];
    if (!out.empty() && (bytes + e.size() > max_bytes || out.size() >= max_entries))
      break;
    bytes += e.size();
    out.push_back(e);
  }
  return out;
}

// Answers `req` from `primary` over `log`, as the replica actor will.
fetch_response serve(primary_state& primary, const memory_log& log, const fetch_request& req,
                     std::size_t max_entries = max_fetch_entries) {
  auto plan = primary.fetch(req);
  auto r = plan.reply;
  if (plan.read_to > plan.read_from) {
    r.entries = read(log, plan.read_from, plan.read_to, max_fetch_bytes, max_entries);
    r.epochs = primary.epochs_for(plan.read_from, r.entries.size());
  }
  return r;
}

// Runs `step` for backup `b` over `log` against `primary` until the
// backup is caught up (a fetch that brings nothing); returns the steps taken.
int drive(backup_state& b, memory_log& log, backup_step step, primary_state& primary,
          const memory_log& primary_log) {
  int steps = 0;
  for (; steps < 100; ++steps) {
    switch (step.action) {
      case backup_action::query: step = b.on_epoch_end(primary.epoch_end(step.query)); break;
      case backup_action::truncate:
        log.entries.resize(std::min<std::size_t>(log.entries.size(), step.truncate_to));
        log.history.truncate_from(step.truncate_to);
        step = b.truncated(step.truncate_to);
        break;
      case backup_action::reset:
        log.entries.assign(step.truncate_to, "");
        log.history = epoch_history();
        log.start = step.truncate_to;
        step = b.reset_done(step.truncate_to);
        break;
      case backup_action::append:
        for (const auto& e : step.epochs)
          EXPECT_TRUE(log.history.assign(e.epoch, e.start_offset));
        log.entries.insert(log.entries.end(), step.entries.begin(), step.entries.end());
        step = b.appended(log.entries.size());
        break;
      case backup_action::fetch: {
        auto r = serve(primary, primary_log, step.fetch);
        const bool nothing = r.status == status(reply_status::ok) && r.entries.empty();
        step = b.on_fetch(std::move(r));
        if (nothing)
          return steps;
        break;
      }
      default: return steps;
    }
  }
  ADD_FAILURE() << "the backup did not catch up";
  return steps;
}

void append_entries(primary_state& p, memory_log& log, std::vector<std::string> entries,
                    uint64_t waiter) {
  auto t = p.append(entries.size(), waiter);
  ASSERT_EQ(t.refused, append_refusal::none);
  ASSERT_EQ(t.first, log.entries.size());
  log.entries.insert(log.entries.end(), entries.begin(), entries.end());
}

} // namespace

TEST(epoch_history, answers_the_end_of_an_epoch_as_kip_101_does) {
  epoch_history h({{3, 0}, {7, 10}, {9, 15}});
  EXPECT_EQ(h.latest(), 9u);
  EXPECT_EQ(h.end_of(3, 20), (epoch_start{3, 10}));
  EXPECT_EQ(h.end_of(5, 20), (epoch_start{3, 10})); // largest epoch not above 5
  EXPECT_EQ(h.end_of(9, 20), (epoch_start{9, 20})); // the newest ends at the log end
  EXPECT_EQ(h.end_of(100, 20), (epoch_start{9, 20}));
  EXPECT_FALSE(h.end_of(2, 20).has_value());
  EXPECT_FALSE(h.assign(9, 30)) << "an epoch not above the newest";
  EXPECT_FALSE(h.assign(10, 14)) << "a start before the newest's";
  EXPECT_EQ(h.covering(12, 16), (std::vector<epoch_start>{{7, 10}, {9, 15}}));
  EXPECT_EQ(h.covering(10, 11), (std::vector<epoch_start>{{7, 10}}));
  EXPECT_TRUE(h.covering(12, 12).empty());
  h.truncate_from(15);
  EXPECT_EQ(h.starts(), (std::vector<epoch_start>{{3, 0}, {7, 10}}));
}

TEST(replication, an_entry_commits_only_when_every_in_sync_replica_has_it) {
  memory_log log;
  primary_state p("a", 0, 2, config(5, "a", {"a", "b", "c"}, {"a", "b", "c"}), 0, {}, 0);
  append_entries(p, log, {"e0", "e1"}, 1);
  append_entries(p, log, {"e2"}, 2);
  EXPECT_TRUE(p.durable(3).empty()) << "only the primary has them";
  EXPECT_TRUE(p.fetch(fetch_from("b", 5, 3)).committed.empty()) << "c has none";
  EXPECT_EQ(p.commit_offset(), 0u);
  auto plan = p.fetch(fetch_from("c", 5, 2));
  EXPECT_EQ(plan.committed, std::vector<uint64_t>{1}) << "entries 0 and 1 are on all three";
  EXPECT_EQ(p.commit_offset(), 2u);
  EXPECT_EQ(plan.reply.commit_offset, 2u);
  EXPECT_EQ(p.fetch(fetch_from("c", 5, 3)).committed, std::vector<uint64_t>{2});
  EXPECT_EQ(p.commit_offset(), 3u);
}

TEST(replication, the_primary_counts_only_what_it_made_durable) {
  memory_log log;
  primary_state p("a", 0, 2, config(5, "a", {"a", "b"}, {"a", "b"}), 0, {}, 0);
  append_entries(p, log, {"e0"}, 1);
  // A backup cannot be ahead of the durable end (out of range), and the
  // primary's own unsynced entries do not count.
  EXPECT_EQ(p.fetch(fetch_from("b", 5, 1)).reply.status, status(reply_status::out_of_range));
  EXPECT_EQ(p.fetch(fetch_from("b", 5, 0)).read_to, 0u) << "nothing durable to send yet";
  EXPECT_TRUE(p.durable(1).empty());
  EXPECT_EQ(p.fetch(fetch_from("b", 5, 1)).committed, std::vector<uint64_t>{1});
}

TEST(replication, a_lagging_replica_outside_the_in_sync_set_does_not_block_commit) {
  memory_log log;
  primary_state p("a", 0, 2, config(5, "a", {"a", "b", "c"}, {"a", "b"}), 0, {}, 0);
  append_entries(p, log, {"e0", "e1"}, 7);
  p.durable(2);
  auto lagging = p.fetch(fetch_from("c", 5, 0));
  EXPECT_EQ(lagging.reply.status, status(reply_status::ok)) << "c still gets entries";
  EXPECT_EQ(lagging.read_to, 2u);
  EXPECT_TRUE(lagging.committed.empty());
  EXPECT_EQ(p.fetch(fetch_from("b", 5, 2)).committed, std::vector<uint64_t>{7});
}

TEST(replication, the_in_sync_set_shrinks_only_through_a_new_configuration) {
  memory_log log;
  primary_state p("a", 0, 2, config(5, "a", {"a", "b", "c"}, {"a", "b", "c"}), 0, {}, 0);
  append_entries(p, log, {"e0"}, 1);
  p.durable(1);
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(p.fetch(fetch_from("b", 5, 1)).committed.empty()) << "c is in sync and lags";
  EXPECT_EQ(p.commit_offset(), 0u);
  auto applied = p.apply(config(6, "a", {"a", "b", "c"}, {"a", "b"}));
  EXPECT_FALSE(applied.deposed);
  EXPECT_EQ(applied.committed, std::vector<uint64_t>{1});
  EXPECT_EQ(p.commit_offset(), 1u);
  EXPECT_EQ(p.history().starts(), (std::vector<epoch_start>{{5, 0}, {6, 1}}));
}

// A replica proposed for the in-sync set counts towards commit from the
// proposal on: the controller may add it and then choose it as primary
// before this primary applied the addition, so it must hold every commit.
TEST(replication, a_replica_proposed_for_the_in_sync_set_counts_before_etcd_adds_it) {
  memory_log log;
  primary_state p("a", 0, 2, config(5, "a", {"a", "b", "c"}, {"a", "b"}), 0, {}, 0);
  append_entries(p, log, {"e0"}, 1);
  p.durable(1);
  EXPECT_EQ(p.fetch(fetch_from("b", 5, 1)).committed, std::vector<uint64_t>{1});
  p.fetch(fetch_from("c", 5, 0));
  EXPECT_TRUE(p.propose_in_sync().empty()) << "c lacks e0, which committed";
  // Behind the durable end but holding every committed entry (Kafka: the
  // follower's end reached the high watermark): proposed, so that a backup
  // under steady appends is not left out for want of an exact catch-up.
  append_entries(p, log, {"e1"}, 2);
  p.durable(2);
  p.fetch(fetch_from("c", 5, 1));
  // Not heard from lately (the owner's say): not proposed, and not counted.
  EXPECT_TRUE(p.propose_in_sync({"c"}).empty());
  EXPECT_EQ(p.propose_in_sync(), std::vector<std::string>{"c"});
  EXPECT_TRUE(p.fetch(fetch_from("b", 5, 2)).committed.empty()) << "c, proposed, lacks e1";
  EXPECT_EQ(p.fetch(fetch_from("c", 5, 2)).committed, std::vector<uint64_t>{2});
  // Until the next configuration decides: here etcd did not add c.
  append_entries(p, log, {"e2"}, 3);
  p.durable(3);
  p.apply(config(6, "a", {"a", "b", "c"}, {"a", "b"}));
  EXPECT_EQ(p.fetch(fetch_from("b", 6, 3)).committed, std::vector<uint64_t>{3});
}

TEST(replication, below_min_insync_appends_are_refused) {
  memory_log log;
  primary_state p("a", 0, 2, config(5, "a", {"a", "b", "c"}, {"a"}), 0, {}, 0);
  auto t = p.append(1, 1);
  EXPECT_EQ(t.refused, append_refusal::below_min_insync);
  EXPECT_EQ(p.log_end(), 0u);
  p.apply(config(6, "a", {"a", "b", "c"}, {"a", "b"}));
  EXPECT_EQ(p.append(1, 1).refused, append_refusal::none);
  EXPECT_EQ(p.log_end(), 1u);
}

TEST(replication, a_lower_epoch_is_refused_on_both_sides) {
  memory_log log;
  primary_state p("a", 0, 1, config(7, "a", {"a", "b"}, {"a", "b"}), 0, {}, 0);
  append_entries(p, log, {"e0"}, 1);
  p.durable(1);
  auto stale = p.fetch(fetch_from("b", 6, 1));
  EXPECT_EQ(stale.reply.status, status(reply_status::stale_epoch));
  EXPECT_EQ(stale.reply.epoch, 7u);
  EXPECT_TRUE(stale.committed.empty()) << "a stale fetch reports nothing";
  EXPECT_EQ(p.replica_offset("b"), 0u);
  EXPECT_EQ(p.epoch_end({0, 6, "b", 6}).status, status(reply_status::stale_epoch));
  EXPECT_TRUE(p.apply(config(6, "b", {"a", "b"}, {"a", "b"})).committed.empty());
  EXPECT_TRUE(p.active()) << "an older configuration deposes nobody";

  backup_state b("b", 0, 0, {});
  ASSERT_EQ(b.apply(config(7, "a", {"a", "b"}, {"a", "b"})).action, backup_action::query);
  EXPECT_FALSE(b.accepts(6));
  EXPECT_EQ(b.apply(config(6, "c", {"b", "c"}, {"b", "c"})).action, backup_action::none);
  EXPECT_EQ(b.primary(), "a");
  epoch_end_response old_answer{0, 6, status(reply_status::ok), 6, 0};
  EXPECT_EQ(b.on_epoch_end(old_answer).action, backup_action::none);
  auto step = b.on_epoch_end(p.epoch_end({0, 7, "b", 0}));
  ASSERT_EQ(step.action, backup_action::truncate);
  ASSERT_EQ(b.truncated(0).action, backup_action::fetch);
  fetch_response from_old{0, 6, status(reply_status::ok), 0, 5, 5, {{6, 0}}, {"x0", "x1"}};
  EXPECT_EQ(b.on_fetch(from_old).action, backup_action::none) << "entries of epoch 6 refused";
  EXPECT_EQ(b.log_end(), 0u);
}

TEST(replication, a_request_showing_a_newer_epoch_fences_the_primary_until_it_applies_it) {
  memory_log log;
  primary_state p("a", 0, 1, config(7, "a", {"a", "b"}, {"a", "b"}), 0, {}, 0);
  append_entries(p, log, {"e0"}, 1);
  p.durable(1);
  auto r = p.fetch(fetch_from("b", 8, 1));
  EXPECT_EQ(r.reply.status, status(reply_status::not_primary));
  EXPECT_TRUE(p.fenced());
  EXPECT_EQ(p.append(1, 2).refused, append_refusal::not_primary);
  EXPECT_EQ(p.commit_offset(), 0u) << "b's offset of epoch 8 is not counted";
  auto applied = p.apply(config(8, "a", {"a", "b"}, {"a"}));
  EXPECT_FALSE(p.fenced());
  EXPECT_EQ(applied.committed, std::vector<uint64_t>{1});
}

TEST(replication, a_deposed_primary_fails_its_waiters_and_refuses_appends) {
  memory_log log;
  primary_state p("a", 0, 1, config(7, "a", {"a", "b"}, {"a", "b"}), 0, {}, 0);
  append_entries(p, log, {"e0"}, 1);
  append_entries(p, log, {"e1"}, 2);
  p.durable(2);
  auto applied = p.apply(config(9, "b", {"a", "b"}, {"b"}));
  EXPECT_TRUE(applied.deposed);
  EXPECT_EQ(applied.failed, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(p.append(1, 3).refused, append_refusal::not_primary);
  EXPECT_EQ(p.fetch(fetch_from("b", 7, 2)).reply.status, status(reply_status::not_primary));
  EXPECT_EQ(p.commit_offset(), 0u);
}

TEST(replication, a_failed_write_fails_only_the_appends_past_the_durable_end) {
  memory_log log;
  primary_state p("a", 0, 1, config(7, "a", {"a"}, {"a"}), 0, {}, 0);
  append_entries(p, log, {"e0"}, 1);
  EXPECT_EQ(p.durable(1), std::vector<uint64_t>{1});
  ASSERT_EQ(p.append(2, 2).refused, append_refusal::none);
  ASSERT_EQ(p.append(1, 3).refused, append_refusal::none);
  EXPECT_EQ(p.abandon_unwritten(), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(p.log_end(), 1u);
  EXPECT_EQ(p.append(1, 4).first, 1u) << "the offsets of the failed write are reused";
}

TEST(replication, a_fetch_is_idempotent) {
  memory_log log;
  primary_state p("a", 0, 1, config(5, "a", {"a", "b"}, {"a", "b"}), 0, {}, 0);
  append_entries(p, log, {"e0", "e1", "e2"}, 1);
  p.durable(3);
  auto first = serve(p, log, fetch_from("b", 5, 1));
  auto again = serve(p, log, fetch_from("b", 5, 1));
  EXPECT_EQ(first.entries, (std::vector<std::string>{"e1", "e2"}));
  EXPECT_EQ(again.entries, first.entries);
  EXPECT_EQ(again.epochs, first.epochs);
  EXPECT_EQ(again.commit_offset, first.commit_offset);

  // The backup takes a response once: a duplicate of one it appended is dropped.
  backup_state b("b", 0, 1, epoch_history({{5, 0}}));
  auto step = b.apply(config(5, "a", {"a", "b"}, {"a", "b"}));
  ASSERT_EQ(step.action, backup_action::query);
  step = b.on_epoch_end(p.epoch_end(step.query));
  ASSERT_EQ(step.action, backup_action::truncate);
  EXPECT_EQ(step.truncate_to, 1u) << "nothing of epoch 5 is cut";
  ASSERT_EQ(b.truncated(1).action, backup_action::fetch);
  ASSERT_EQ(b.on_fetch(first).action, backup_action::append);
  EXPECT_EQ(b.appended(3).fetch.from_offset, 3u);
  EXPECT_EQ(b.on_fetch(again).action, backup_action::none);
  EXPECT_EQ(b.log_end(), 3u);
}

TEST(replication, a_fetch_is_bounded_in_bytes_and_entries) {
  memory_log log;
  primary_state p("a", 0, 1, config(5, "a", {"a", "b"}, {"a", "b"}), 0, {}, 0);
  std::vector<std::string> big(400, std::string(1024, 'x'));
  append_entries(p, log, big, 1);
  p.durable(log.entries.size());
  auto r = serve(p, log, fetch_from("b", 5, 0));
  std::size_t bytes = 0;
  for (const auto& e : r.entries)
    bytes += e.size();
  EXPECT_LE(bytes, max_fetch_bytes);
  EXPECT_EQ(r.entries.size(), max_fetch_bytes / 1024);
  EXPECT_EQ(r.log_end, 400u) << "the backup learns how far behind it is";
}

// The failover of CLUSTER.md rule 4: the old primary's divergent suffix, never
// committed, is cut when it returns as a backup; every committed entry stays.
TEST(replication, failover_truncates_an_old_primarys_uncommitted_suffix_and_keeps_committed) {
  memory_log la, lb, lc;
  const auto cfg10 = config(10, "a", {"a", "b", "c"}, {"a", "b", "c"});
  primary_state a("a", 0, 2, cfg10, 0, {}, 0);
  la.history = a.history();
  backup_state b("b", 0, 0, {}), c("c", 0, 0, {});

  append_entries(a, la, {"e0", "e1", "e2", "e3", "e4"}, 1);
  EXPECT_TRUE(a.durable(5).empty());
  drive(b, lb, b.apply(cfg10), a, la);
  drive(c, lc, c.apply(cfg10), a, la);
  // Their fetches at the end reported 5: committed.
  EXPECT_EQ(a.commit_offset(), 5u);

  // Three more on a; b fetches one of them, c none: not committed.
  append_entries(a, la, {"e5", "old6", "old7"}, 2);
  a.durable(8);
  auto partial = serve(a, la, fetch_from("b", 10, 5), 1);
  ASSERT_EQ(partial.entries, std::vector<std::string>{"e5"});
  auto step = b.on_fetch(partial);
  ASSERT_EQ(step.action, backup_action::append);
  lb.entries.insert(lb.entries.end(), step.entries.begin(), step.entries.end());
  ASSERT_EQ(b.appended(6).action, backup_action::fetch);
  EXPECT_EQ(a.commit_offset(), 5u);

  // a is lost; the controller makes b primary from the in-sync set.
  const auto cfg20 = config(20, "b", {"a", "b", "c"}, {"b", "c"});
  auto deposed = a.apply(cfg20);
  EXPECT_TRUE(deposed.deposed);
  EXPECT_EQ(deposed.failed, std::vector<uint64_t>{2}) << "answered 503, never 202";
  ASSERT_EQ(b.apply(cfg20).action, backup_action::promote);
  primary_state nb("b", 0, 2, cfg20, b.log_end(), b.history(), b.commit_offset());
  lb.history = nb.history();
  EXPECT_EQ(nb.history().starts(), (std::vector<epoch_start>{{10, 0}, {20, 6}}));
  append_entries(nb, lb, {"f6", "f7"}, 3);
  nb.durable(8);

  drive(c, lc, c.apply(cfg20), nb, lb);
  EXPECT_EQ(nb.commit_offset(), 8u);

  // a returns as a backup with its divergent old6, old7.
  backup_state ra("a", 0, la.entries.size(), a.history());
  step = ra.apply(cfg20);
  ASSERT_EQ(step.action, backup_action::query);
  EXPECT_EQ(step.query.last_epoch, 10u);
  step = ra.on_epoch_end(nb.epoch_end(step.query));
  ASSERT_EQ(step.action, backup_action::truncate);
  EXPECT_EQ(step.truncate_to, 6u) << "epoch 10 ends at 6 in the new primary's log";
  drive(ra, la, step, nb, lb);

  const std::vector<std::string> expected{"e0", "e1", "e2", "e3", "e4", "e5", "f6", "f7"};
  EXPECT_EQ(lb.entries, expected);
  EXPECT_EQ(lc.entries, expected);
  EXPECT_EQ(la.entries, expected) << "old6 and old7 are gone, every committed entry is kept";
  EXPECT_EQ(la.history.starts(), nb.history().starts());
  EXPECT_EQ(lc.history.starts(), nb.history().starts());
  EXPECT_EQ(ra.commit_offset(), 8u);
}

// KIP-279: the new primary knows only an older epoch than the backup's newest.
TEST(replication, a_backup_whose_newest_epoch_the_primary_never_had_cuts_to_the_common_one) {
  // c was primary of epoch 15 for a moment and wrote two entries nobody else has.
  memory_log lc;
  lc.entries = {"e0", "e1", "e2", "x3", "x4"};
  lc.history = epoch_history({{10, 0}, {15, 3}});
  // b, primary of epoch 20, holds epoch 10 up to 4.
  memory_log lb;
  lb.entries = {"e0", "e1", "e2", "e3"};
  lb.history = epoch_history({{10, 0}});
  const auto cfg20 = config(20, "b", {"b", "c"}, {"b"});
  primary_state b("b", 0, 1, cfg20, 4, lb.history, 3);
  lb.history = b.history();
  append_entries(b, lb, {"f4"}, 1);
  b.durable(5);
  backup_state c("c", 0, lc.entries.size(), lc.history);
  auto step = c.apply(cfg20);
  ASSERT_EQ(step.query.last_epoch, 15u);
  auto answer = b.epoch_end(step.query);
  EXPECT_EQ(answer.found_epoch, 10u);
  EXPECT_EQ(answer.end_offset, 4u);
  step = c.on_epoch_end(answer);
  EXPECT_EQ(step.truncate_to, 3u) << "c's own end of epoch 10";
  drive(c, lc, step, b, lb);
  EXPECT_EQ(lc.entries, lb.entries);
  EXPECT_EQ(lc.history.starts(), lb.history.starts());
}

TEST(replication, a_configuration_naming_this_node_primary_promotes_the_backup) {
  backup_state b("b", 0, 3, epoch_history({{4, 0}}));
  EXPECT_EQ(b.apply(config(9, "b", {"a", "b"}, {"a", "b"})).action, backup_action::promote);
  EXPECT_EQ(b.known_epoch(), 9u);
  backup_state gone("c", 0, 0, {});
  EXPECT_EQ(gone.apply(config(9, "b", {"a", "b"}, {"a", "b"})).action, backup_action::none)
    << "not a replica any more";
}

// The primary trimmed what it delivered: a replica whose log ends below the
// primary's start (a wiped disk, a long absence) copies afresh from there,
// never leaving a hole; one that holds the start trims to it lazily.
TEST(replication, a_fetch_below_the_primarys_start_copies_the_log_afresh_from_it) {
  memory_log la, lb, lc;
  const auto cfg10 = config(10, "a", {"a", "b", "c"}, {"a", "b"});
  primary_state a("a", 0, 1, cfg10, 0, {}, 0);
  la.history = a.history();
  backup_state b("b", 0, 0, {});
  append_entries(a, la, {"e0", "e1", "e2", "e3", "e4", "e5"}, 1);
  a.durable(6);
  drive(b, lb, b.apply(cfg10), a, la);
  ASSERT_EQ(a.commit_offset(), 6u);
  EXPECT_EQ(b.trim_point(), 0u) << "nothing trimmed on the primary yet";

  // Delivered below 4: the primary's log starts there.
  la.start = 4;
  a.set_log_start(4);
  EXPECT_EQ(a.log_start(), 4u);
  append_entries(a, la, {"e6"}, 2);
  a.durable(7);
  backup_step again;
  again.action = backup_action::fetch;
  again.fetch = fetch_from("b", 10, b.log_end()); // its long-poll, answered now
  drive(b, lb, again, a, la);
  EXPECT_EQ(b.trim_point(), 4u) << "a backup holding the start trims to it";

  // c never fetched: its fetch from 0 is below the start.
  backup_state c("c", 0, 0, {});
  auto step = c.apply(cfg10);
  ASSERT_EQ(step.action, backup_action::query);
  step = c.on_epoch_end(a.epoch_end(step.query));
  ASSERT_EQ(step.action, backup_action::truncate);
  step = c.truncated(0);
  ASSERT_EQ(step.action, backup_action::fetch);
  auto r = serve(a, la, step.fetch);
  EXPECT_EQ(r.status, status(reply_status::below_start));
  EXPECT_EQ(r.log_start, 4u);
  EXPECT_TRUE(r.entries.empty());
  EXPECT_EQ(a.replica_offset("c"), 0u) << "a prefix is not a log: not recorded";
  step = c.on_fetch(r);
  ASSERT_EQ(step.action, backup_action::reset);
  EXPECT_EQ(step.truncate_to, 4u);
  lc.entries.assign(4, "");
  lc.start = 4;
  step = c.reset_done(4);
  ASSERT_EQ(step.action, backup_action::fetch);
  EXPECT_EQ(step.fetch.from_offset, 4u);
  EXPECT_EQ(c.commit_offset(), 4u) << "everything below the primary's start was committed";
  drive(c, lc, step, a, la);
  EXPECT_EQ(std::vector<std::string>(lc.entries.begin() + 4, lc.entries.end()),
            (std::vector<std::string>{"e4", "e5", "e6"}));
  EXPECT_EQ(lc.history.starts(), (std::vector<epoch_start>{{10, 4}}))
    << "the epoch holding the start begins there in the copy";
  EXPECT_EQ(c.trim_point(), 4u);
  EXPECT_EQ(a.replica_offset("c"), 7u);
}

// A log copied afresh holds no epoch until a fetch brings entries. Started
// again in that window (a new configuration, a refused fetch), its backup
// must not cut it to 0: the next fetch would fall below the primary's start
// and copy the log afresh a second time.
TEST(replication, a_log_copied_afresh_is_not_cut_again_before_its_first_entries) {
  memory_log la, lc;
  const auto cfg10 = config(10, "a", {"a", "c"}, {"a"});
  primary_state a("a", 0, 1, cfg10, 0, {}, 0);
  la.history = a.history();
  append_entries(a, la, {"e0", "e1", "e2", "e3"}, 1);
  a.durable(4);
  la.start = 4; // all delivered: nothing beyond the start
  a.set_log_start(4);

  backup_state c("c", 0, 0, {});
  auto step = c.apply(cfg10);
  step = c.on_epoch_end(a.epoch_end(step.query));
  step = c.truncated(0);
  step = c.on_fetch(serve(a, la, step.fetch));
  ASSERT_EQ(step.action, backup_action::reset);
  lc.entries.assign(4, "");
  lc.start = 4;
  step = c.reset_done(4);
  ASSERT_EQ(step.action, backup_action::fetch);

  // Its backup started again from the log: end 4, no epoch.
  backup_state again("c", 0, 4, lc.history);
  step = again.apply(cfg10);
  ASSERT_EQ(step.action, backup_action::query);
  step = again.on_epoch_end(a.epoch_end(step.query));
  ASSERT_EQ(step.action, backup_action::truncate);
  EXPECT_EQ(step.truncate_to, 4u) << "an empty log has nothing to cut";
  step = again.truncated(4);
  ASSERT_EQ(step.action, backup_action::fetch);
  EXPECT_EQ(step.fetch.from_offset, 4u);
  auto r = serve(a, la, step.fetch);
  EXPECT_EQ(r.status, status(reply_status::ok)) << "not below the start: no second copy";
  append_entries(a, la, {"e4"}, 2);
  a.durable(5);
  drive(again, lc, again.on_fetch(r), a, la);
  EXPECT_EQ(lc.entries.back(), "e4");
  EXPECT_EQ(lc.history.starts(), (std::vector<epoch_start>{{10, 4}}));
  EXPECT_EQ(again.log_end(), 5u);
}

// An empty log starting beyond the primary's end (a primary that holds
// less than the one it was copied from) starts over at 0 and catches up
// from the primary's start, instead of asking where its (absent) epochs end.
TEST(replication, an_empty_log_beyond_the_primarys_end_starts_over) {
  memory_log la, ld;
  const auto cfg10 = config(10, "a", {"a", "d"}, {"a"});
  primary_state a("a", 0, 1, cfg10, 0, {}, 0);
  la.history = a.history();
  append_entries(a, la, {"e0", "e1", "e2", "e3", "e4", "e5"}, 1);
  a.durable(6);
  la.start = 4;
  a.set_log_start(4);

  ld.entries.assign(9, "");
  ld.start = 9;
  backup_state d("d", 0, 9, {});
  auto step = d.apply(cfg10);
  step = d.on_epoch_end(a.epoch_end(step.query));
  ASSERT_EQ(step.action, backup_action::truncate);
  step = d.truncated(9);
  ASSERT_EQ(step.action, backup_action::fetch);
  auto r = serve(a, la, step.fetch);
  ASSERT_EQ(r.status, status(reply_status::out_of_range));
  step = d.on_fetch(r);
  ASSERT_EQ(step.action, backup_action::truncate);
  EXPECT_EQ(step.truncate_to, 0u);
  drive(d, ld, step, a, la);
  EXPECT_EQ(d.log_end(), 6u);
  EXPECT_EQ(std::vector<std::string>(ld.entries.begin() + 4, ld.entries.end()),
            (std::vector<std::string>{"e4", "e5"}));
  EXPECT_EQ(a.replica_offset("d"), 6u);
}

TEST(replication, a_log_start_counts_as_committed_and_never_goes_back) {
  primary_state p("a", 0, 1, config(5, "a", {"a", "b"}, {"a", "b"}), 10, {}, 2);
  EXPECT_EQ(p.commit_offset(), 2u) << "b has not fetched";
  p.set_log_start(6);
  EXPECT_EQ(p.commit_offset(), 6u) << "entries below the start were delivered, so committed";
  p.set_log_start(3);
  EXPECT_EQ(p.log_start(), 6u);
  p.set_log_start(50);
  EXPECT_EQ(p.log_start(), 10u) << "never past the durable end";
}
