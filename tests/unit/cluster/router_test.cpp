// The router between three nodes in one process: three caf::actor_system
// instances linked by peer_links over CAF's middleman on loopback (port 0),
// each with a real journal, a replicator and a router, and configurations
// made by hand (no etcd). The routers read their own copy of the
// configurations, so that a test can give one a stale view. Every wait has
// a deadline.
#include "cluster/router.hpp"

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/partition_entry.hpp"
#include "cluster/peer_links.hpp"
#include "cluster/protocol.hpp"
#include "cluster/replicator.hpp"
#include "storage/journal.hpp"
#include "storage/partition_log.hpp"

#include "../../common/eventually.hpp"

using namespace sy::cluster;
using namespace std::chrono_literals;

namespace {

constexpr auto route_timeout = 1000ms;

// Holds a router inside its read of the configurations (as it takes a
// batch) until opened, so that the batches routed meanwhile queue in its
// mailbox, as under load.
struct gate {
  std::mutex mutex;
  std::condition_variable changed;
  bool entered = false;
  bool opened = false;
  void pass() {
    std::unique_lock<std::mutex> lock(mutex);
    entered = true;
    changed.notify_all();
    changed.wait_for(lock, 20s, [&] { return opened; });
  }
  bool wait_entered() {
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, 20s, [&] { return entered; });
  }
  void open() {
    std::lock_guard<std::mutex> guard(mutex);
    opened = true;
    changed.notify_all();
  }
};

// What every node reads: the members' addresses, the configurations the
// replicators apply, and the ones the routers route by.
struct control {
  std::mutex mutex;
  std::vector<peer_address> members;
  std::map<uint32_t, configuration> configs;
  std::map<uint32_t, configuration> routed;
  gate* hold = nullptr; // the next router to read `routed` waits at it

  void set(uint32_t p, const configuration& c) {
    std::lock_guard<std::mutex> guard(mutex);
    configs[p] = c;
    routed[p] = c;
  }
};

// One node: its actor system, journal, links, replicator and router.
struct node {
  std::string name;
  std::filesystem::path dir;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  std::unique_ptr<sy::storage::journal> journal;
  std::unique_ptr<peer_links> links;
  std::unique_ptr<replicator> repl;
  std::unique_ptr<router> rt;
  control& ctl;
  std::chrono::milliseconds timeout = route_timeout; // start()'s router's
  std::size_t min_insync = 1;                        // start()'s replicator's and router's

  node(std::string n, control& c)
      : name(std::move(n)), dir(std::filesystem::temp_directory_path() /
                                ("sy_router_" + std::to_string(::getpid()) + "_" + name)),
        ctl(c) {
    std::filesystem::remove_all(dir);
    cfg.set("scheduler.max-threads", size_t{2});
    cfg.set("logger.verbosity", caf::atom("quiet"));
    cfg.load<caf::io::middleman>();
    register_cluster_protocol(cfg);
    system = std::make_unique<caf::actor_system>(cfg);
    sy::storage::journal_options jo;
    jo.sync = true;
    jo.reserve_bytes = 0;
    std::string error;
    journal = sy::storage::journal::open(dir.string(), std::move(jo), error);
    EXPECT_TRUE(journal) << error;
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
  ~node() { down(); }
  // Ends the node as a dead process would look to the others: every actor
  // and the links go.
  void down() {
    rt.reset();
    repl.reset();
    links.reset();
    system.reset();
    journal.reset();
    std::filesystem::remove_all(dir);
  }
  void start(std::size_t max_message_bytes = 256 * 1024) {
    replicator_options o;
    o.node = name;
    o.min_insync = min_insync;
    o.poll_every = 20ms;
    o.long_poll = 200ms;
    o.retry_after = 50ms;
    o.configurations = [&c = ctl] {
      std::lock_guard<std::mutex> guard(c.mutex);
      return c.configs;
    };
    repl = std::make_unique<replicator>(*system, *journal, *links, std::move(o));
    router_options r;
    r.node = name;
    r.refresh_every = 0ms;
    r.timeout = timeout;
    r.retry_for = timeout / 2; // as the defaults: half the timeout
    r.min_insync = min_insync;
    r.max_message_bytes = max_message_bytes;
    r.configurations = [&c = ctl] {
      gate* g = nullptr;
      {
        std::lock_guard<std::mutex> guard(c.mutex);
        g = std::exchange(c.hold, nullptr);
      }
      if (g)
        g->pass();
      std::lock_guard<std::mutex> guard(c.mutex);
      return c.routed;
    };
    rt = std::make_unique<router>(*system, *links, *repl, std::move(r));
  }
  // Stops the replicator (its logs close) and returns partition p's entries.
  std::vector<std::string> stop_and_read(uint32_t p) {
    rt.reset();
    repl.reset();
    auto log = sy::storage::partition_log::open(*journal, p);
    EXPECT_TRUE(log);
    if (!log || (*log)->end_offset() == 0)
      return {};
    auto r = (*log)->read(0, (*log)->end_offset(), SIZE_MAX, SIZE_MAX);
    EXPECT_TRUE(r);
    return r ? *r : std::vector<std::string>{};
  }
};

// Waits up to 20 s for `ok`.
using sy::test::eventually;

// A route()'s outcomes once they came, and when.
struct answer {
  std::mutex mutex;
  std::optional<route_outcomes> got;
  int calls = 0;
  std::chrono::steady_clock::time_point at;
  std::function<void(route_outcomes)> callback() {
    return [this](route_outcomes o) {
      std::lock_guard<std::mutex> guard(mutex);
      ++calls;
      got = std::move(o);
      at = std::chrono::steady_clock::now();
    };
  }
  bool came() {
    std::lock_guard<std::mutex> guard(mutex);
    return got.has_value();
  }
  route_outcomes outcomes() {
    std::lock_guard<std::mutex> guard(mutex);
    return *got;
  }
};

std::vector<std::string> entries(const std::string& prefix, int n, std::size_t size = 0) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    auto e = prefix + std::to_string(i);
    if (e.size() < size)
      e.resize(size, '.');
    out.push_back(std::move(e));
  }
  return out;
}

bool linked(const node& n, size_t peers) {
  size_t up = 0;
  for (const auto& l : n.links->links())
    up += l.state == "connected";
  return up == peers;
}

// Partitions: 1 led by a (backed by b), 2 and 4 by b, 3 by c.
struct router_nodes : ::testing::Test {
  control ctl;
  std::unique_ptr<node> a, b, c;
  void SetUp() override {
    a = std::make_unique<node>("a", ctl);
    b = std::make_unique<node>("b", ctl);
    c = std::make_unique<node>("c", ctl);
    ASSERT_TRUE(eventually([&] { return linked(*a, 2) && linked(*b, 2) && linked(*c, 2); }))
      << "the three nodes did not link";
    ctl.set(1, {10, "a", {"a", "b"}, {"a", "b"}});
    ctl.set(2, {10, "b", {"b", "c"}, {"b", "c"}});
    ctl.set(3, {10, "c", {"c", "a"}, {"c", "a"}});
    ctl.set(4, {10, "b", {"b", "a"}, {"b", "a"}});
  }
  void start_all(std::size_t max_message_bytes = 256 * 1024) {
    a->start(max_message_bytes);
    b->start();
    c->start();
    ASSERT_TRUE(eventually([&] {
      return a->repl->status(1).role == "primary" && b->repl->status(2).role == "primary" &&
             c->repl->status(3).role == "primary" && b->repl->status(4).role == "primary" &&
             c->repl->status(2).role == "backup" && a->repl->status(3).role == "backup";
    }));
  }
  void TearDown() override {
    c.reset();
    b.reset();
    a.reset();
  }
};

} // namespace

TEST_F(router_nodes, a_batch_over_local_and_remote_partitions_commits_with_one_message_per_peer) {
  start_all();
  answer done;
  a->rt->route(
    {{1, entries("p1-", 3)}, {2, entries("p2-", 2)}, {3, entries("p3-", 4)}, {4, entries("p4-", 1)}},
    done.callback());
  ASSERT_TRUE(eventually([&] { return done.came(); })) << "the batch was never answered";
  const route_outcomes want = {{1, route_outcome::committed},
                               {2, route_outcome::committed},
                               {3, route_outcome::committed},
                               {4, route_outcome::committed}};
  EXPECT_EQ(done.outcomes(), want);

  // Committed: on the primary and its in-sync backup before the answer.
  EXPECT_EQ(a->repl->status(1).commit, 3u);
  EXPECT_EQ(b->repl->status(2).commit, 2u);
  EXPECT_GE(c->repl->status(2).log_end, 2u);
  EXPECT_EQ(c->repl->status(3).commit, 4u);
  EXPECT_GE(a->repl->status(3).log_end, 4u);
  EXPECT_EQ(b->repl->status(4).commit, 1u);

  // b leads two of the partitions: still one message to it.
  const auto sent = a->rt->counters().sent;
  EXPECT_EQ(sent, (std::map<std::string, uint64_t>{{"b", 1}, {"c", 1}}));
  EXPECT_EQ(b->rt->counters().served, 1u);
  EXPECT_EQ(c->rt->counters().served, 1u);
  EXPECT_EQ(a->rt->counters().served, 0u);
  EXPECT_EQ(done.calls, 1);

  EXPECT_EQ(b->stop_and_read(2), entries("p2-", 2));
  EXPECT_EQ(c->stop_and_read(3), entries("p3-", 4));
}

// An entry of one event, as ingest writes it.
std::string event_entry(const std::string& record) { return encode_partition_entry(record, {"s"}); }

// The records of `entry`'s events.
std::vector<std::string> records_of(const std::string& entry) {
  std::vector<std::string> out;
  if (auto events = decode_partition_entry(entry))
    for (const auto& e : *events)
      out.emplace_back(e.record);
  return out;
}

TEST_F(router_nodes, batches_taken_together_travel_as_one_request_and_one_entry_per_partition) {
  start_all();
  gate g;
  {
    std::lock_guard<std::mutex> guard(ctl.mutex);
    ctl.hold = &g;
  }
  // Ten single-event batches for b's partition 2 and a's own partition 1;
  // the sixth also for partition 6, which has no primary. The first holds
  // a's router while the other nine queue behind it.
  constexpr int n = 10;
  std::vector<std::unique_ptr<answer>> done;
  for (int i = 0; i < n; ++i) {
    routed_batch batch{{1, {event_entry("p1-" + std::to_string(i))}},
                       {2, {event_entry("p2-" + std::to_string(i))}}};
    if (i == 5)
      batch[6] = {event_entry("p6-5")};
    done.push_back(std::make_unique<answer>());
    a->rt->route(std::move(batch), done.back()->callback());
    if (i == 0) {
      ASSERT_TRUE(g.wait_entered()) << "the router never took the first batch";
    }
  }
  g.open();
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(eventually([&] { return done[i]->came(); })) << "batch " << i << " unanswered";
    route_outcomes want{{1, route_outcome::committed}, {2, route_outcome::committed}};
    if (i == 5)
      want[6] = route_outcome::not_primary;
    EXPECT_EQ(done[i]->outcomes(), want) << "batch " << i;
    EXPECT_EQ(done[i]->calls, 1);
  }
  // One message to b for the ten, and one entry of ten events in each
  // partition's log, in the order the batches were routed.
  EXPECT_EQ(a->rt->counters().sent, (std::map<std::string, uint64_t>{{"b", 1}}));
  EXPECT_EQ(b->rt->counters().served, 1u);
  std::vector<std::string> p1, p2;
  for (int i = 0; i < n; ++i) {
    p1.push_back("p1-" + std::to_string(i));
    p2.push_back("p2-" + std::to_string(i));
  }
  const auto log2 = b->stop_and_read(2);
  ASSERT_EQ(log2.size(), 1u);
  EXPECT_EQ(records_of(log2[0]), p2);
  const auto log1 = a->stop_and_read(1);
  ASSERT_EQ(log1.size(), 1u);
  EXPECT_EQ(records_of(log1[0]), p1);
}

TEST_F(router_nodes, a_peers_part_above_the_message_bound_is_split_and_stays_in_order) {
  start_all(1024);
  answer done;
  // 20 entries of 200 bytes for b: about 4 KiB, so at least four messages of ≤ 1 KiB.
  a->rt->route({{2, entries("p2-", 20, 200)}, {4, entries("p4-", 3)}}, done.callback());
  ASSERT_TRUE(eventually([&] { return done.came(); }));
  EXPECT_EQ(done.outcomes(),
            (route_outcomes{{2, route_outcome::committed}, {4, route_outcome::committed}}));
  const auto sent = a->rt->counters().sent;
  ASSERT_EQ(sent.count("b"), 1u);
  EXPECT_GE(sent.at("b"), 4u);
  EXPECT_LE(sent.at("b"), 6u);
  EXPECT_EQ(b->rt->counters().served, sent.at("b"));
  EXPECT_EQ(b->stop_and_read(2), entries("p2-", 20, 200));
}

TEST_F(router_nodes, a_node_named_primary_that_is_not_answers_not_primary) {
  // Partition 5 is led by c, but a's router still thinks b leads it (b is a
  // backup there); partition 6 has no primary yet.
  ctl.set(5, {10, "c", {"c", "b"}, {"c", "b"}});
  {
    std::lock_guard<std::mutex> guard(ctl.mutex);
    ctl.routed[5] = {9, "b", {"b", "c"}, {"b", "c"}};
    ctl.routed[6] = {0, "", {}, {}};
  }
  start_all();
  ASSERT_TRUE(eventually([&] { return b->repl->status(5).role == "backup"; }));
  answer done;
  a->rt->route({{5, entries("p5-", 2)}, {6, entries("p6-", 1)}, {4, entries("p4-", 1)}},
               done.callback());
  ASSERT_TRUE(eventually([&] { return done.came(); }));
  EXPECT_EQ(done.outcomes(), (route_outcomes{{4, route_outcome::committed},
                                             {5, route_outcome::not_primary},
                                             {6, route_outcome::not_primary}}));
  EXPECT_EQ(b->repl->status(5).log_end, 0u) << "the backup took an append";
}

TEST_F(router_nodes, a_part_refused_not_primary_is_routed_again_once_the_new_primary_is_known) {
  // Partition 5 is led by c; a's router thinks b leads it until its view
  // catches up (as during a failover).
  ctl.set(5, {10, "c", {"c", "b"}, {"c", "b"}});
  {
    std::lock_guard<std::mutex> guard(ctl.mutex);
    ctl.routed[5] = {9, "b", {"b", "c"}, {"b", "c"}};
  }
  start_all();
  ASSERT_TRUE(eventually(
    [&] { return b->repl->status(5).role == "backup" && c->repl->status(5).role == "primary"; }));
  answer done;
  a->rt->route({{5, entries("p5-", 2)}, {4, entries("p4-", 1)}}, done.callback());
  ASSERT_TRUE(eventually([&] { return b->rt->counters().served >= 1; })) << "b was never asked";
  {
    std::lock_guard<std::mutex> guard(ctl.mutex);
    ctl.routed[5] = ctl.configs[5];
  }
  ASSERT_TRUE(eventually([&] { return done.came(); }));
  EXPECT_EQ(done.outcomes(),
            (route_outcomes{{4, route_outcome::committed}, {5, route_outcome::committed}}));
  EXPECT_GE(a->rt->counters().retried, 1u);
  EXPECT_EQ(done.calls, 1);
  EXPECT_EQ(c->stop_and_read(5), entries("p5-", 2)); // once, in order
}

TEST_F(router_nodes, a_part_for_a_primary_not_linked_yet_is_routed_again_once_the_link_is_up) {
  a->timeout = 6s; // retries for 3 s: time for a link to come up
  start_all();
  // d leads partition 6, but a does not know d's address yet, as a node
  // that has just joined and is not linked to every peer.
  auto d = std::make_unique<node>("d", ctl);
  peer_address d_address;
  {
    std::lock_guard<std::mutex> guard(ctl.mutex);
    d_address = ctl.members.back();
    ctl.members.pop_back();
  }
  ctl.set(6, {10, "d", {"d"}, {"d"}});
  d->start();
  ASSERT_TRUE(eventually([&] { return d->repl->status(6).role == "primary"; }));
  answer done;
  a->rt->route({{6, entries("p6-", 2)}}, done.callback());
  // a refuses it before sending (no link to d): nothing was written, so it
  // is routed again rather than answered `unreachable` (a 503).
  ASSERT_TRUE(eventually([&] { return a->rt->counters().retried >= 2; }))
    << "an unsent part was not routed again";
  EXPECT_FALSE(done.came());
  {
    std::lock_guard<std::mutex> guard(ctl.mutex);
    ctl.members.push_back(d_address);
  }
  ASSERT_TRUE(eventually([&] { return done.came(); }));
  EXPECT_EQ(done.outcomes(), (route_outcomes{{6, route_outcome::committed}}));
  EXPECT_EQ(done.calls, 1);
  EXPECT_EQ(d->stop_and_read(6), entries("p6-", 2)); // once
}

TEST_F(router_nodes, a_part_below_min_insync_is_routed_again_while_a_replica_catches_up) {
  // c leads partition 5 alone in its in-sync set and asks for two; b is a
  // replica catching up (as a node that has just returned).
  a->timeout = 6s; // retries for 3 s
  a->min_insync = 2;
  c->min_insync = 2;
  ctl.set(5, {10, "c", {"c", "b"}, {"c"}});
  start_all();
  ASSERT_TRUE(eventually(
    [&] { return c->repl->status(5).role == "primary" && b->repl->status(5).role == "backup"; }));
  answer done;
  a->rt->route({{5, entries("p5-", 2)}, {4, entries("p4-", 1)}}, done.callback());
  ASSERT_TRUE(eventually([&] { return a->rt->counters().retried >= 2; }))
    << "a part refused below_min_insync was not routed again";
  EXPECT_FALSE(done.came()) << "answered while b was still catching up";
  // The controller takes b into the set (its primary proposed it).
  ctl.set(5, {11, "c", {"c", "b"}, {"c", "b"}});
  ASSERT_TRUE(eventually([&] { return done.came(); }));
  EXPECT_EQ(done.outcomes(),
            (route_outcomes{{4, route_outcome::committed}, {5, route_outcome::committed}}));
  EXPECT_EQ(done.calls, 1);
  EXPECT_EQ(c->stop_and_read(5), entries("p5-", 2)); // once, in order
}

TEST_F(router_nodes, a_part_below_min_insync_is_routed_again_while_its_primary_lags_the_view) {
  // a already sees b back in partition 5's in-sync set; c, its primary,
  // has not applied that configuration yet and refuses below_min_insync.
  a->timeout = 6s; // retries for 3 s
  a->min_insync = 2;
  c->min_insync = 2;
  ctl.set(5, {10, "c", {"c"}, {"c"}});
  {
    std::lock_guard<std::mutex> guard(ctl.mutex);
    ctl.routed[5] = {11, "c", {"c", "b"}, {"c", "b"}};
  }
  start_all();
  ASSERT_TRUE(eventually([&] { return c->repl->status(5).role == "primary"; }));
  answer done;
  a->rt->route({{5, entries("p5-", 2)}}, done.callback());
  ASSERT_TRUE(eventually([&] { return a->rt->counters().retried >= 2; }))
    << "a part refused below_min_insync was not routed again";
  EXPECT_FALSE(done.came()) << "answered while c had not applied the configuration";
  ctl.set(5, {11, "c", {"c", "b"}, {"c", "b"}});
  ASSERT_TRUE(eventually([&] { return done.came(); }));
  EXPECT_EQ(done.outcomes(), (route_outcomes{{5, route_outcome::committed}}));
  EXPECT_EQ(done.calls, 1);
  EXPECT_EQ(c->stop_and_read(5), entries("p5-", 2)); // once, in order
}

TEST_F(router_nodes, a_part_below_min_insync_with_no_replica_catching_up_is_answered_at_once) {
  a->min_insync = 2;
  c->min_insync = 2;
  ctl.set(5, {10, "c", {"c"}, {"c"}});
  start_all();
  ASSERT_TRUE(eventually([&] { return c->repl->status(5).role == "primary"; }));
  answer done;
  a->rt->route({{5, entries("p5-", 2)}}, done.callback());
  ASSERT_TRUE(eventually([&] { return done.came(); }));
  EXPECT_EQ(done.outcomes(), (route_outcomes{{5, route_outcome::below_min_insync}}));
  EXPECT_EQ(a->rt->counters().retried, 0u);
}

TEST_F(router_nodes, a_peer_that_is_down_is_answered_within_the_timeout) {
  start_all();
  c->down();
  answer done;
  const auto sent = std::chrono::steady_clock::now();
  a->rt->route({{3, entries("p3-", 2)}, {1, entries("p1-", 1)}}, done.callback());
  ASSERT_TRUE(eventually([&] { return done.came(); }));
  EXPECT_LE(done.at - sent, route_timeout + 1s);
  const auto out = done.outcomes();
  EXPECT_EQ(out.at(1), route_outcome::committed);
  EXPECT_TRUE(out.at(3) == route_outcome::unreachable || out.at(3) == route_outcome::timeout)
    << to_string(out.at(3));
}

TEST_F(router_nodes, a_commit_held_by_a_stopped_backup_answers_timeout_and_the_rest_commits) {
  start_all();
  // c backs b's partition 2 and is in its in-sync set: b cannot commit.
  c->rt.reset();
  c->repl->stop();
  answer done;
  const auto sent = std::chrono::steady_clock::now();
  a->rt->route({{2, entries("p2-", 2)}, {1, entries("p1-", 1)}, {4, entries("p4-", 1)}},
               done.callback());
  ASSERT_TRUE(eventually([&] { return done.came(); }));
  // b gives its appends 3/4 of the timeout, then answers what committed.
  EXPECT_GE(done.at - sent, route_timeout * 3 / 4 - 100ms)
    << "answered before the commit could time out";
  EXPECT_LE(done.at - sent, route_timeout + 1s);
  EXPECT_EQ(done.outcomes(), (route_outcomes{{1, route_outcome::committed},
                                             {2, route_outcome::timeout},
                                             {4, route_outcome::committed}}));
  EXPECT_EQ(done.calls, 1);
}

TEST_F(router_nodes, a_part_in_flight_to_a_peer_whose_link_drops_answers_unreachable_at_once) {
  start_all();
  // a backs c's partition 3 and is in its in-sync set: c cannot commit.
  a->repl->stop();
  answer done;
  a->rt->route({{3, entries("p3-", 2)}}, done.callback());
  ASSERT_TRUE(eventually([&] { return c->rt->counters().served == 1; }));
  // c's links actor ends: a sees the link down (as when c's process dies)
  // while c's router still holds the part; its answer (`timeout`, after
  // three quarters of the timeout) can no longer come back.
  c->links.reset();
  ASSERT_TRUE(eventually([&] { return done.came(); }));
  EXPECT_EQ(done.outcomes(), (route_outcomes{{3, route_outcome::unreachable}}));
  EXPECT_EQ(done.calls, 1);
}

TEST(router, a_stopped_router_answers_failed) {
  control ctl;
  node a("a", ctl);
  ctl.set(1, {10, "a", {"a"}, {"a"}});
  a.start();
  a.rt->stop();
  answer done;
  a.rt->route({{1, entries("p1-", 1)}}, done.callback());
  ASSERT_TRUE(done.came());
  EXPECT_EQ(done.outcomes(), (route_outcomes{{1, route_outcome::failed}}));
}
