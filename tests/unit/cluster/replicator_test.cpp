// The replicator running between three nodes in one process: three
// caf::actor_system instances linked by peer_links over CAF's middleman on
// loopback (port 0), each with a real journal and partition log in a temp
// directory, and configurations made by hand (no etcd). Every wait has a
// deadline; "did not commit" is shown by a fetch round the primary records.
#include "cluster/replicator.hpp"

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/membership.hpp"
#include "cluster/peer_links.hpp"
#include "cluster/protocol.hpp"
#include "storage/journal.hpp"
#include "storage/partition_log.hpp"

#include "../../common/eventually.hpp"
#include "../../common/tcp_proxy.hpp"

using namespace sy::cluster;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t part = 3;

// What every node reads: the members' addresses and the configurations
// (one node may be shown another, as a node whose etcd view differs).
struct control {
  std::mutex mutex;
  std::vector<peer_address> members;
  std::map<uint32_t, configuration> configs;
  std::map<std::string, configuration> shown_to;

  void set(const configuration& c) {
    std::lock_guard<std::mutex> guard(mutex);
    configs[part] = c;
  }
  void show(const std::string& node, const configuration& c) {
    std::lock_guard<std::mutex> guard(mutex);
    shown_to[node] = c;
  }
  std::map<uint32_t, configuration> of(const std::string& node) {
    std::lock_guard<std::mutex> guard(mutex);
    auto out = configs;
    if (auto it = shown_to.find(node); it != shown_to.end())
      out[part] = it->second;
    return out;
  }
};

// What a node's on_commit and on_demote were given.
struct handed {
  struct commit {
    uint64_t epoch = 0;
    uint64_t first = 0;
    std::vector<std::string> entries;
  };
  std::mutex mutex;
  std::vector<commit> commits;
  std::vector<uint64_t> demotes; // their epochs
  struct proposal {
    uint64_t epoch = 0;
    std::vector<std::string> add, drop;
  };
  std::vector<proposal> proposals;
  bool wrong_partition = false;

  // Returns every entry handed to on_commit, in call order.
  std::vector<std::string> entries() {
    std::lock_guard<std::mutex> guard(mutex);
    std::vector<std::string> out;
    for (const auto& c : commits)
      out.insert(out.end(), c.entries.begin(), c.entries.end());
    return out;
  }
  std::vector<commit> calls() {
    std::lock_guard<std::mutex> guard(mutex);
    return commits;
  }
  std::vector<uint64_t> demoted() {
    std::lock_guard<std::mutex> guard(mutex);
    return demotes;
  }
};

// One node: its actor system, journal, links and replicator.
struct node {
  std::string name;
  std::filesystem::path dir;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  std::unique_ptr<sy::storage::journal> journal;
  std::unique_ptr<peer_links> links;
  std::unique_ptr<replicator> repl;
  control& ctl;
  handed seen;
  bool record_proposals = false;                // start() hands on_propose's calls to seen
  std::chrono::milliseconds long_poll = 200ms;  // start()'s; request_timeout stays above it
  std::chrono::milliseconds request_timeout{0}; // start()'s; 0: long_poll + 2 s, at least 2 s
  std::chrono::milliseconds lag_max = 2500ms;   // start()'s; above request_timeout (2 s)

  node(std::string n, control& c)
      : name(std::move(n)), dir(std::filesystem::temp_directory_path() /
                                ("sy_replicator_" + std::to_string(::getpid()) + "_" + name)),
        ctl(c) {
    std::filesystem::remove_all(dir);
    cfg.set("scheduler.max-threads", size_t{2});
    cfg.set("logger.verbosity", caf::atom("quiet"));
    cfg.load<caf::io::middleman>();
    register_cluster_protocol(cfg);
    system = std::make_unique<caf::actor_system>(cfg);
    open_journal();
    peer_links_options o;
    o.node = name;
    o.partitions = 8;
    o.members = [&c = ctl] {
      std::lock_guard<std::mutex> guard(c.mutex);
      return c.members;
    };
    links = std::make_unique<peer_links>(*system, std::move(o));
    auto port = links->listen("127.0.0.1", 0);
    EXPECT_TRUE(port) << port.error();
    std::lock_guard<std::mutex> guard(ctl.mutex);
    ctl.members.push_back({name, "127.0.0.1:" + std::to_string(port ? *port : 0)});
  }
  ~node() {
    repl.reset();
    links.reset();
    system.reset();
    journal.reset();
    std::filesystem::remove_all(dir);
  }
  void open_journal() {
    sy::storage::journal_options o;
    o.sync = true;
    o.reserve_bytes = 0;
    std::string error;
    journal = sy::storage::journal::open(dir.string(), std::move(o), error);
    ASSERT_TRUE(journal) << error;
  }
  void start() {
    replicator_options o;
    o.node = name;
    o.min_insync = 1;
    o.poll_every = 20ms;
    o.long_poll = long_poll;
    o.request_timeout = request_timeout.count() > 0
                          ? request_timeout
                          : std::max<std::chrono::milliseconds>(2000ms, long_poll + 2000ms);
    o.retry_after = 50ms;
    o.fenced_grace = 300ms;
    o.configurations = [&c = ctl, n = name] { return c.of(n); };
    o.on_commit = [this](uint32_t p, uint64_t epoch, uint64_t first,
                         std::vector<std::string> entries) {
      std::lock_guard<std::mutex> guard(seen.mutex);
      seen.wrong_partition |= p != part;
      seen.commits.push_back({epoch, first, std::move(entries)});
    };
    o.on_demote = [this](uint32_t p, uint64_t epoch) {
      std::lock_guard<std::mutex> guard(seen.mutex);
      seen.wrong_partition |= p != part;
      seen.demotes.push_back(epoch);
    };
    o.lag_max = lag_max;
    if (record_proposals) // the tests' controller (ctl) does not act on them
      o.on_propose = [this](uint32_t p, uint64_t epoch, std::vector<std::string> add,
                            std::vector<std::string> drop) {
        std::lock_guard<std::mutex> guard(seen.mutex);
        seen.wrong_partition |= p != part;
        seen.proposals.push_back({epoch, std::move(add), std::move(drop)});
      };
    repl = std::make_unique<replicator>(*system, *journal, *links, std::move(o));
  }
  // Stops the replicator (its log closes) and returns the partition's entries.
  std::vector<std::string> stop_and_read() {
    if (repl)
      repl->stop();
    repl.reset();
    auto log = sy::storage::partition_log::open(*journal, part);
    EXPECT_TRUE(log);
    if (!log || (*log)->end_offset() == (*log)->start_offset())
      return {};
    auto r = (*log)->read((*log)->start_offset(), (*log)->end_offset(), SIZE_MAX, SIZE_MAX);
    EXPECT_TRUE(r);
    return r ? *r : std::vector<std::string>{};
  }
  replica_status status() const { return repl->status(part); }
};

// Waits up to 20 s for `ok`.
using sy::test::eventually;

// An append's outcome, once it came. The callback shares what it records,
// so that a test that fails (an ASSERT returns) while an append is pending
// ends cleanly: the replicator answers it when it stops, after the outcome
// itself is gone.
struct outcome {
  struct state {
    std::mutex mutex;
    std::vector<append_outcome> seen;
  };
  std::shared_ptr<state> shared = std::make_shared<state>();
  std::function<void(append_outcome)> callback() {
    return [s = shared](append_outcome o) {
      std::lock_guard<std::mutex> guard(s->mutex);
      s->seen.push_back(o);
    };
  }
  size_t count() {
    std::lock_guard<std::mutex> guard(shared->mutex);
    return shared->seen.size();
  }
  append_outcome first() {
    std::lock_guard<std::mutex> guard(shared->mutex);
    return shared->seen.at(0);
  }
};

std::vector<std::string> entries(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i)
    out.push_back(prefix + std::to_string(i));
  return out;
}

// Returns whether `primary` proposed dropping `backup` in `epoch`.
bool proposed_dropping(node& primary, uint64_t epoch, const std::string& backup) {
  std::lock_guard<std::mutex> guard(primary.seen.mutex);
  for (const auto& p : primary.seen.proposals)
    if (p.epoch == epoch && std::count(p.drop.begin(), p.drop.end(), backup) > 0)
      return true;
  return false;
}

bool linked(const node& n, size_t peers) {
  size_t up = 0;
  for (const auto& l : n.links->links())
    up += l.state == "connected";
  return up == peers;
}

struct three_nodes : ::testing::Test {
  control ctl;
  std::unique_ptr<node> a, b, c;
  std::chrono::milliseconds long_poll = 200ms; // each node's
  // Makes a, b and c (which link as soon as they are made).
  virtual void make_nodes() {
    a = std::make_unique<node>("a", ctl);
    b = std::make_unique<node>("b", ctl);
    c = std::make_unique<node>("c", ctl);
  }
  void SetUp() override {
    make_nodes();
    if (HasFatalFailure())
      return;
    a->long_poll = b->long_poll = c->long_poll = long_poll;
    ASSERT_TRUE(eventually([&] { return linked(*a, 2) && linked(*b, 2) && linked(*c, 2); }))
      << "the three nodes did not link";
    ctl.set({10, "a", {"a", "b", "c"}, {"a", "b", "c"}});
    a->start();
    b->start();
    c->start();
    ASSERT_TRUE(eventually([&] {
      return a->status().role == "primary" && b->status().role == "backup" &&
             c->status().role == "backup";
    }));
  }
  void TearDown() override {
    c.reset();
    b.reset();
    a.reset();
  }
  // Starts a's replicator again with its proposals recorded and `lag_max`,
  // and commits a first append (e0, e1) through it.
  void restart_a_recording_proposals(std::chrono::milliseconds lag_max) {
    a->repl.reset();
    a->record_proposals = true;
    a->lag_max = lag_max;
    a->start();
    ASSERT_TRUE(eventually([&] { return a->status().role == "primary"; }));
    outcome first;
    a->repl->append(part, entries("e", 0, 2), first.callback());
    ASSERT_TRUE(eventually([&] { return first.count() == 1; }));
    ASSERT_EQ(first.first(), append_outcome::committed);
  }
};

} // namespace

TEST_F(three_nodes, an_append_commits_once_every_in_sync_backup_stored_it) {
  outcome done;
  a->repl->append(part, entries("e", 0, 3), done.callback());
  ASSERT_TRUE(eventually([&] { return done.count() == 1; })) << "the append never completed";
  EXPECT_EQ(done.first(), append_outcome::committed);
  // Committed means stored on both backups before the callback ran.
  EXPECT_GE(b->status().log_end, 3u);
  EXPECT_GE(c->status().log_end, 3u);
  EXPECT_EQ(a->status().commit, 3u);

  // A second batch, after the backups' fetches are parked (long-poll).
  outcome more;
  a->repl->append(part, entries("e", 3, 5), more.callback());
  ASSERT_TRUE(eventually([&] { return more.count() == 1; }));
  EXPECT_EQ(more.first(), append_outcome::committed);
  EXPECT_EQ(a->status().commit, 5u);

  const auto want = entries("e", 0, 5);
  EXPECT_EQ(b->stop_and_read(), want);
  EXPECT_EQ(c->stop_and_read(), want);
  EXPECT_EQ(a->stop_and_read(), want);
}

TEST_F(three_nodes, a_stopped_in_sync_backup_holds_commit_until_the_configuration_drops_it) {
  outcome first;
  a->repl->append(part, entries("e", 0, 2), first.callback());
  ASSERT_TRUE(eventually([&] { return first.count() == 1; }));
  ASSERT_EQ(first.first(), append_outcome::committed);

  c->repl->stop();
  outcome held;
  a->repl->append(part, entries("e", 2, 4), held.callback());
  // b stored both and said so in a fetch from 4: the commit still waits for c.
  ASSERT_TRUE(eventually([&] { return a->status().replica_offsets["b"] == 4; }));
  EXPECT_EQ(a->status().commit, 2u);
  EXPECT_EQ(held.count(), 0u) << "committed without c, which is in the in-sync set";

  ctl.set({11, "a", {"a", "b", "c"}, {"a", "b"}});
  ASSERT_TRUE(eventually([&] { return held.count() == 1; }));
  EXPECT_EQ(held.first(), append_outcome::committed);
  EXPECT_EQ(a->status().commit, 4u);
}

TEST_F(three_nodes, a_primary_proposes_dropping_an_in_sync_backup_it_no_longer_hears_from) {
  restart_a_recording_proposals(a->lag_max);
  if (HasFatalFailure())
    return;

  c->repl->stop(); // c's fetches stop, as when its link to a is cut
  outcome held;
  a->repl->append(part, entries("e", 2, 4), held.callback());
  auto proposed_drop = [&](const std::string& n) { return proposed_dropping(*a, 10, n); };
  ASSERT_TRUE(eventually([&] { return proposed_drop("c"); })) << "c was never proposed out";
  EXPECT_EQ(held.count(), 0u) << "the proposal alone does not commit: the configuration does";
  EXPECT_FALSE(proposed_drop("b")) << "b fetches: it stays";
  // The controller takes the proposal: the held append commits without c.
  ctl.set({11, "a", {"a", "b", "c"}, {"a", "b"}});
  ASSERT_TRUE(eventually([&] { return held.count() == 1; }));
  EXPECT_EQ(held.first(), append_outcome::committed);
  std::lock_guard<std::mutex> guard(a->seen.mutex);
  EXPECT_FALSE(a->seen.wrong_partition);
}

TEST_F(three_nodes,
       a_primary_proposes_dropping_a_backup_whose_link_dropped_without_waiting_lag_max) {
  restart_a_recording_proposals(600s); // a lag_max no wait here reaches
  if (HasFatalFailure())
    return;

  // c stops and its links close: a's link to c drops (a node killed, or
  // CAF's heartbeats timing out on a cut link).
  c->repl->stop();
  c->links.reset();
  ASSERT_TRUE(eventually([&] { return linked(*a, 1); })) << "a never saw its link to c drop";
  outcome held;
  a->repl->append(part, entries("e", 2, 4), held.callback());
  auto proposed_drop = [&](const std::string& n) { return proposed_dropping(*a, 10, n); };
  ASSERT_TRUE(eventually([&] { return proposed_drop("c"); }))
    << "c, whose link dropped, was not proposed out within 20 s (lag_max is 600 s)";
  EXPECT_FALSE(proposed_drop("b")) << "b is linked and fetches: it stays";
  ctl.set({11, "a", {"a", "b", "c"}, {"a", "b"}});
  ASSERT_TRUE(eventually([&] { return held.count() == 1; }));
  EXPECT_EQ(held.first(), append_outcome::committed);
}

TEST_F(three_nodes, a_failover_truncates_the_old_primarys_uncommitted_suffix) {
  outcome first;
  a->repl->append(part, entries("e", 0, 3), first.callback());
  ASSERT_TRUE(eventually([&] { return first.count() == 1; }));
  ASSERT_EQ(first.first(), append_outcome::committed);
  ASSERT_TRUE(eventually([&] { return b->status().log_end == 3 && c->status().log_end == 3; }));

  // b and c stop: a's next entries are durable on a alone, never committed.
  b->repl->stop();
  c->repl->stop();
  outcome lost;
  a->repl->append(part, entries("old", 3, 6), lost.callback());
  ASSERT_TRUE(eventually([&] { return a->status().log_end == 6; }));
  EXPECT_EQ(a->status().commit, 3u);
  EXPECT_EQ(lost.count(), 0u);

  // The controller fails over to b (in sync: it holds every committed entry).
  ctl.set({20, "b", {"a", "b", "c"}, {"b", "c"}});
  b->repl.reset();
  c->repl.reset();
  b->start();
  c->start();
  ASSERT_TRUE(eventually([&] { return lost.count() == 1; }));
  // Written, never committed: its fate is the successor's. b's log holds
  // none of it (a, following b, cuts it), so nothing of it is delivered
  // and the asker may route it again.
  EXPECT_EQ(lost.first(), append_outcome::not_primary)
    << "a held it until its cut told: none of it is in the successor's log";
  ASSERT_TRUE(eventually([&] { return b->status().role == "primary"; }));

  // a, the deposed primary, refuses appends now (its epoch is stale).
  outcome stale;
  a->repl->append(part, entries("late", 0, 1), stale.callback());
  ASSERT_TRUE(eventually([&] { return stale.count() == 1; }));
  EXPECT_EQ(stale.first(), append_outcome::not_primary);

  outcome fresh;
  b->repl->append(part, entries("new", 3, 5), fresh.callback());
  ASSERT_TRUE(eventually([&] { return fresh.count() == 1; }));
  EXPECT_EQ(fresh.first(), append_outcome::committed);
  // a rejoins as a backup: truncated to 3, then fetches new3, new4.
  ASSERT_TRUE(eventually([&] {
    auto s = a->status();
    return s.role == "backup" && s.log_end == 5 && s.epoch == 20;
  }))
    << "a's log ends at " << a->status().log_end;

  auto want = entries("e", 0, 3);
  for (auto& e : entries("new", 3, 5))
    want.push_back(e);
  EXPECT_EQ(b->stop_and_read(), want);
  EXPECT_EQ(c->stop_and_read(), want);
  EXPECT_EQ(a->stop_and_read(), want) << "old3..old5 are cut";
}

TEST_F(three_nodes, a_primary_moved_away_answers_committed_once_the_successor_commits_its_append) {
  outcome first;
  a->repl->append(part, entries("e", 0, 3), first.callback());
  ASSERT_TRUE(eventually([&] { return first.count() == 1; }));
  ASSERT_EQ(first.first(), append_outcome::committed);

  // c stops: b stores a's next append, which waits for c to commit.
  c->repl->stop();
  outcome moved;
  a->repl->append(part, entries("m", 3, 6), moved.callback());
  ASSERT_TRUE(eventually([&] { return b->status().log_end == 6; }));
  EXPECT_EQ(a->status().commit, 3u);
  EXPECT_EQ(moved.count(), 0u);

  // The controller moves the partition to b (as a rebalancing pass does)
  // and drops c: b holds the append and commits it with a.
  ctl.set({20, "b", {"a", "b", "c"}, {"a", "b"}});
  ASSERT_TRUE(eventually([&] { return moved.count() == 1; }));
  EXPECT_EQ(moved.first(), append_outcome::committed)
    << "without the hold a answers deposed (503) and the producer sends again what b delivers";
  EXPECT_EQ(a->status().role, "backup");
  EXPECT_GE(b->status().commit, 6u);
  // b, the successor, hands the entries on: they are delivered there.
  ASSERT_TRUE(eventually([&] { return b->seen.entries().size() >= 6; }));
  auto want = entries("e", 0, 3);
  for (auto& e : entries("m", 3, 6))
    want.push_back(e);
  EXPECT_EQ(b->seen.entries(), want);
}

// Checks that `calls` cover [from, from + size of want) contiguously, in
// order, with `want`'s entries.
void expect_contiguous(const std::vector<handed::commit>& calls, uint64_t from,
                       const std::vector<std::string>& want) {
  uint64_t next = from;
  std::vector<std::string> got;
  for (const auto& c : calls) {
    EXPECT_EQ(c.first, next) << "on_commit out of order or with a gap";
    EXPECT_FALSE(c.entries.empty());
    next += c.entries.size();
    got.insert(got.end(), c.entries.begin(), c.entries.end());
  }
  EXPECT_EQ(got, want);
}

TEST_F(three_nodes, on_commit_hands_each_committed_entry_once_in_order_on_the_primary_only) {
  outcome first;
  a->repl->append(part, entries("e", 0, 3), first.callback());
  ASSERT_TRUE(eventually([&] { return a->seen.entries().size() == 3; }));
  ASSERT_TRUE(eventually([&] { return first.count() == 1; }));
  EXPECT_EQ(first.first(), append_outcome::committed);
  auto calls = a->seen.calls();
  ASSERT_EQ(calls.size(), 1u) << "the entries of one commit go in one call";
  EXPECT_EQ(calls[0].epoch, 10u);

  // The same primary in a newer epoch (any etcd write bumps it): its tenure
  // goes on, nothing is handed twice and nothing is demoted.
  ctl.set({11, "a", {"a", "b", "c"}, {"a", "b", "c"}});
  ASSERT_TRUE(eventually([&] { return a->status().epoch == 11; }));
  outcome second;
  a->repl->append(part, entries("e", 3, 5), second.callback());
  ASSERT_TRUE(eventually([&] { return second.count() == 1; }));
  EXPECT_EQ(second.first(), append_outcome::committed);
  ASSERT_TRUE(eventually([&] { return a->seen.entries().size() == 5; }));
  calls = a->seen.calls();
  expect_contiguous(calls, 0, entries("e", 0, 5));
  // Handed on under the tenure's epoch: the apply takes a new epoch for a
  // new tenure (it would drop the queues and start over from the log's start).
  EXPECT_EQ(calls.back().epoch, 10u);
  EXPECT_TRUE(a->seen.demoted().empty());

  // The backups stored everything and were handed nothing.
  ASSERT_TRUE(eventually([&] { return b->status().log_end == 5 && c->status().log_end == 5; }));
  EXPECT_TRUE(b->seen.calls().empty());
  EXPECT_TRUE(c->seen.calls().empty());
  EXPECT_FALSE(a->seen.wrong_partition);
  // Stopping hands nothing more and demotes nothing.
  a->repl->stop();
  EXPECT_EQ(a->seen.entries().size(), 5u);
  EXPECT_TRUE(a->seen.demoted().empty());
}

TEST_F(three_nodes, after_a_failover_the_new_primary_hands_on_its_log_from_its_start) {
  outcome first;
  a->repl->append(part, entries("e", 0, 3), first.callback());
  ASSERT_TRUE(eventually([&] { return first.count() == 1; }));
  ASSERT_EQ(first.first(), append_outcome::committed);
  ASSERT_TRUE(eventually([&] { return a->seen.entries().size() == 3; }));

  ctl.set({20, "b", {"a", "b", "c"}, {"b", "c"}});
  ASSERT_TRUE(eventually([&] { return a->seen.demoted().size() == 1; }))
    << "the old primary was not told it stopped being primary";
  EXPECT_EQ(a->seen.demoted()[0], 10u) << "the epoch of the tenure that ended";
  // b hands on every entry from its log's start — committed under epoch 10
  // — in its own epoch, once c has them (they are in c's log already).
  ASSERT_TRUE(eventually([&] { return b->seen.entries().size() == 3; }));
  auto calls = b->seen.calls();
  expect_contiguous(calls, 0, entries("e", 0, 3));
  EXPECT_EQ(calls[0].epoch, 20u);

  outcome more;
  b->repl->append(part, entries("f", 3, 5), more.callback());
  ASSERT_TRUE(eventually([&] { return more.count() == 1; }));
  EXPECT_EQ(more.first(), append_outcome::committed);
  ASSERT_TRUE(eventually([&] { return b->seen.entries().size() == 5; }));
  auto want = entries("e", 0, 3);
  for (auto& e : entries("f", 3, 5))
    want.push_back(e);
  expect_contiguous(b->seen.calls(), 0, want);
  // a, a backup now, stored them and was handed nothing more.
  ASSERT_TRUE(eventually([&] { return a->status().log_end == 5; }));
  EXPECT_EQ(a->seen.entries().size(), 3u);
  EXPECT_TRUE(b->seen.demoted().empty());
  EXPECT_TRUE(c->seen.calls().empty());
}

TEST_F(three_nodes, release_trims_the_primary_and_after_a_fetch_the_backups) {
  outcome done;
  a->repl->append(part, entries("e", 0, 10), done.callback());
  ASSERT_TRUE(eventually([&] { return a->seen.entries().size() == 10; }));
  // Another tenure's release, and one on a backup, are ignored; messages to
  // one actor arrive in order, so once the last one took effect the others
  // had theirs.
  a->repl->release(part, 9, 8);
  a->repl->release(part, 11, 8);
  b->repl->release(part, 10, 9);
  a->repl->release(part, 10, 6);
  ASSERT_TRUE(eventually([&] { return a->status().log_start == 6; }));
  EXPECT_EQ(a->status().log_end, 10u);
  // The release answers the backups' parked fetches with the new start.
  ASSERT_TRUE(eventually([&] { return b->status().log_start == 6 && c->status().log_start == 6; }))
    << "b starts at " << b->status().log_start << ", c at " << c->status().log_start;

  // A release past what was handed on stops there.
  a->repl->release(part, 10, 100);
  ASSERT_TRUE(eventually([&] { return a->status().log_start == 10; }));
  outcome more;
  a->repl->append(part, entries("e", 10, 12), more.callback());
  ASSERT_TRUE(eventually([&] { return more.count() == 1; }));
  EXPECT_EQ(more.first(), append_outcome::committed);
  ASSERT_TRUE(eventually([&] { return c->status().log_start == 10 && c->status().log_end == 12; }));
  EXPECT_EQ(b->stop_and_read(), entries("e", 10, 12));
  EXPECT_EQ(c->stop_and_read(), entries("e", 10, 12));
  EXPECT_EQ(a->stop_and_read(), entries("e", 10, 12));
}

TEST_F(three_nodes, hand_over_waits_for_the_appends_written_and_refuses_new_ones) {
  outcome before;
  a->repl->append(part, entries("e", 0, 3), before.callback());
  ASSERT_TRUE(eventually([&] { return before.count() == 1; }));
  // Both backups fetched again after storing it: they know the log's start
  // (0), so only the append below can hold the hand-over.
  ASSERT_TRUE(eventually([&] {
    auto offsets = a->status().replica_offsets;
    return offsets["b"] == 3 && offsets["c"] == 3;
  }));
  outcome first;
  a->repl->append(part, entries("e", 3, 5), first.callback());
  // Queued after the append (one sender, one mailbox): the append is written
  // but not committed when the hand-over begins.
  ASSERT_TRUE(a->repl->hand_over(std::chrono::steady_clock::now() + 10s));
  ASSERT_EQ(first.count(), 1u) << "hand_over returned before the append written had committed";
  EXPECT_EQ(first.first(), append_outcome::committed);
  outcome later;
  a->repl->append(part, entries("e", 5, 7), later.callback());
  ASSERT_TRUE(eventually([&] { return later.count() == 1; }));
  EXPECT_EQ(later.first(), append_outcome::not_primary);
  EXPECT_EQ(a->status().log_end, 5u); // nothing written for the refused one
  EXPECT_EQ(a->stop_and_read(), entries("e", 0, 5));
}

// Fetches that find nothing new wait 10 s here: only hand_over's answers
// tell the backups a new start within hand_over's deadline.
struct three_nodes_slow_poll : three_nodes {
  three_nodes_slow_poll() { long_poll = 10s; }
};

TEST_F(three_nodes_slow_poll, hand_over_returns_once_every_backup_trimmed_to_the_released_start) {
  outcome done;
  a->repl->append(part, entries("e", 0, 10), done.callback());
  ASSERT_TRUE(eventually([&] { return done.count() == 1 && a->seen.entries().size() == 10; }));
  // Both backups' fetches are parked now (nothing new for 10 s).
  ASSERT_TRUE(eventually([&] { return b->status().log_end == 10 && c->status().log_end == 10; }));
  a->repl->release(part, 10, 7);
  EXPECT_TRUE(b->repl->hand_over(std::chrono::steady_clock::now() + 3s))
    << "a backup leads nothing";
  ASSERT_TRUE(a->repl->hand_over(std::chrono::steady_clock::now() + 3s))
    << "b starts at " << b->status().log_start << ", c at " << c->status().log_start;
  // Trimmed when hand_over returned, not at their next fetch.
  EXPECT_EQ(b->status().log_start, 7u);
  EXPECT_EQ(c->status().log_start, 7u);
  EXPECT_EQ(a->status().log_start, 7u);
  // Nothing more released: a second hand-over has nothing to tell.
  EXPECT_TRUE(a->repl->hand_over(std::chrono::steady_clock::now() + 3s));
  EXPECT_EQ(b->stop_and_read(), entries("e", 7, 10));
}

TEST_F(three_nodes_slow_poll,
       a_release_tells_the_backups_the_new_start_without_waiting_for_the_long_poll) {
  outcome done;
  a->repl->append(part, entries("e", 0, 10), done.callback());
  ASSERT_TRUE(eventually([&] { return done.count() == 1 && a->seen.entries().size() == 10; }));
  // Both backups stored everything and fetched again: their fetches are
  // parked now, for 10 s.
  ASSERT_TRUE(eventually([&] {
    auto offsets = a->status().replica_offsets;
    return offsets["b"] == 10 && offsets["c"] == 10;
  }));
  const auto released = std::chrono::steady_clock::now();
  a->repl->release(part, 10, 7);
  // A new primary would redeliver from its own start: the backups must
  // trim long before the parked fetches' 10 s deadline.
  const auto deadline = released + 3s;
  bool trimmed = false;
  while (!trimmed && std::chrono::steady_clock::now() < deadline) {
    trimmed = b->status().log_start == 7 && c->status().log_start == 7;
    if (!trimmed)
      std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(trimmed) << "3 s after the release b starts at " << b->status().log_start << ", c at "
                       << c->status().log_start;
  EXPECT_EQ(b->stop_and_read(), entries("e", 7, 10));
  EXPECT_EQ(c->stop_and_read(), entries("e", 7, 10));
}

TEST_F(three_nodes, a_backup_behind_the_primarys_start_copies_afresh_and_ends_identical) {
  outcome first;
  a->repl->append(part, entries("e", 0, 3), first.callback());
  ASSERT_TRUE(eventually([&] { return first.count() == 1; }));
  ASSERT_TRUE(eventually([&] { return c->status().log_end == 3; }));
  c->repl->stop();
  // c is dropped from the in-sync set; a and b go on without it.
  ctl.set({11, "a", {"a", "b", "c"}, {"a", "b"}});
  ASSERT_TRUE(eventually([&] { return a->status().epoch == 11; }));
  outcome more;
  a->repl->append(part, entries("e", 3, 10), more.callback());
  ASSERT_TRUE(eventually([&] { return more.count() == 1; }));
  ASSERT_EQ(more.first(), append_outcome::committed);
  ASSERT_TRUE(eventually([&] { return a->seen.entries().size() == 10; }));
  a->repl->release(part, 11, 8);
  ASSERT_TRUE(eventually([&] { return a->status().log_start == 8; }));

  // c returns with a log ending at 3, below a's start: it copies afresh.
  c->repl.reset();
  c->start();
  ASSERT_TRUE(eventually([&] {
    auto s = c->status();
    return s.role == "backup" && s.log_start == 8 && s.log_end == 10;
  }))
    << "c's log is [" << c->status().log_start << ", " << c->status().log_end << ")";
  outcome last;
  a->repl->append(part, entries("e", 10, 12), last.callback());
  ASSERT_TRUE(eventually([&] { return last.count() == 1; }));
  ASSERT_TRUE(eventually([&] { return c->status().log_end == 12; }));
  EXPECT_EQ(c->stop_and_read(), entries("e", 8, 12)) << "no hole, nothing of its old log";
  EXPECT_EQ(a->stop_and_read(), entries("e", 8, 12));
}

TEST_F(three_nodes, a_primary_fenced_by_an_epoch_it_cannot_see_stops_after_the_grace) {
  outcome first;
  a->repl->append(part, entries("e", 0, 2), first.callback());
  ASSERT_TRUE(eventually([&] { return first.count() == 1; }));
  // b sees epoch 12 (a's etcd view lags): its requests fence a.
  ctl.show("b", {12, "a", {"a", "b", "c"}, {"a", "b", "c"}});
  ASSERT_TRUE(eventually([&] { return a->seen.demoted().size() == 1; }))
    << "a stayed primary while fenced";
  EXPECT_EQ(a->seen.demoted()[0], 10u);
  outcome refused;
  a->repl->append(part, entries("x", 2, 3), refused.callback());
  ASSERT_TRUE(eventually([&] { return refused.count() == 1; }));
  EXPECT_EQ(refused.first(), append_outcome::not_primary);

  // When a's view catches up and still names it, a new tenure begins: it
  // hands on its log from the start again (a takeover may redeliver).
  ctl.set({12, "a", {"a", "b", "c"}, {"a", "b", "c"}});
  ASSERT_TRUE(eventually([&] { return a->seen.entries().size() == 4; }));
  auto calls = a->seen.calls();
  EXPECT_EQ(calls.back().first, 0u);
  EXPECT_EQ(calls.back().epoch, 12u);
}

// As three_nodes, with a's link to b through a proxy that can cut it (a
// dials b: the name that sorts first dials), and request_timeout far above
// the test's deadlines: a request whose answer was lost with the link would
// only end by it.
struct three_nodes_cuttable : three_nodes {
  std::unique_ptr<sy::test::tcp_proxy> a_to_b;
  void make_nodes() override {
    b = std::make_unique<node>("b", ctl);
    {
      std::lock_guard<std::mutex> guard(ctl.mutex);
      auto& entry = ctl.members.back();
      ASSERT_EQ(entry.node, "b");
      const auto colon = entry.cluster.rfind(':');
      a_to_b = std::make_unique<sy::test::tcp_proxy>(
        static_cast<uint16_t>(std::stoi(entry.cluster.substr(colon + 1))));
      entry.cluster = "127.0.0.1:" + std::to_string(a_to_b->port());
    }
    a = std::make_unique<node>("a", ctl);
    c = std::make_unique<node>("c", ctl);
    for (auto* n : {a.get(), b.get(), c.get()})
      n->request_timeout = 120s;
  }
};

TEST_F(three_nodes_cuttable, a_backup_whose_link_to_the_primary_flapped_fetches_again_at_once) {
  outcome first;
  a->repl->append(part, entries("e", 0, 2), first.callback());
  ASSERT_TRUE(eventually([&] { return first.count() == 1; }));
  ASSERT_EQ(first.first(), append_outcome::committed);
  // b's next fetch is parked on a (long poll) or on its way: the cut loses
  // it or its answer.
  ASSERT_TRUE(eventually([&] { return b->status().log_end >= 2; }));
  ASSERT_GE(a_to_b->cut(), 1u) << "a's link to b did not go through the proxy";
  ASSERT_TRUE(eventually([&] { return linked(*a, 2) && linked(*b, 2); }))
    << "a did not link to b again";

  // The append commits once b stored it: b must ask a again, which it does
  // at once when told its link dropped, not after request_timeout (120 s).
  outcome second;
  a->repl->append(part, entries("e", 2, 4), second.callback());
  ASSERT_TRUE(eventually([&] { return second.count() == 1; }))
    << "b did not fetch again after its link flapped (b's log ends at " << b->status().log_end
    << ")";
  EXPECT_EQ(second.first(), append_outcome::committed);

  const auto want = entries("e", 0, 4);
  EXPECT_EQ(b->stop_and_read(), want);
  EXPECT_EQ(c->stop_and_read(), want);
  EXPECT_EQ(a->stop_and_read(), want);
}

TEST(replicator, reads_the_assigned_configurations_of_a_membership_view) {
  cluster_view v;
  v.partitions.push_back({0, 0, "", {}, {}});
  v.partitions.push_back({1, 42, "b", {"b", "a"}, {"b"}});
  auto got = configurations_of(v);
  ASSERT_EQ(got.size(), 1u) << "partition 0 has no epoch yet";
  EXPECT_EQ(got.at(1).epoch, 42u);
  EXPECT_EQ(got.at(1).primary, "b");
  EXPECT_EQ(got.at(1).replicas, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(got.at(1).in_sync, std::vector<std::string>{"b"});
}
