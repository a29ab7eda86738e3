// The set check of CLUSTER.md's CI test, with the real binary: one etcd,
// three nodes on free loopback ports, subscriptions made on n1 (a catch-all
// and two whose filters match part of the events), publishers posting
// through all three nodes at once and recording the ids of every 202, kill
// -9 of one node mid-stream, its restart on the same data directory, and
// then every acknowledged event must reach every subscription it matches.
//
// The victim is the primary of a paused subscription (/orders), so that
// its partition log holds acknowledged events not yet delivered when it
// dies, and of a strict-FIFO one (/fifo, max_in_flight 1), whose partition
// moves to a survivor at the kill: its order must hold up to a redelivered
// suffix. What it proves is in docs/cluster.md, "What the kill test
// proves". Waits are deadlines on counts, never fixed sleeps.

#include "../common/set_check.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <sys/wait.h>

#include "cluster_fixture.hpp"
#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

TEST(set_check, counts_lost_duplicated_and_unacknowledged_deliveries) {
  set_checker c;
  c.acknowledged("n1 evt_1", {"/all", "/orders"});
  c.acknowledged("n2 evt_1", {"/all"}); // the same id from another node is another event
  c.acknowledged("n1 evt_2", {});       // matches nothing: nothing is owed
  c.delivered("/all", "n1 evt_1");
  c.delivered("/all", "n1 evt_1"); // one duplicate
  c.delivered("/orders", "n1 evt_1");
  c.delivered("/all", "n3 evt_9"); // its 202 never came
  // "n2 evt_1" never reached /all: lost.
  const auto r = c.result();
  EXPECT_EQ(r.acknowledged, 3u);
  EXPECT_EQ(r.expected, 3u);
  EXPECT_EQ(r.deliveries, 4u);
  EXPECT_EQ(r.delivered, 2u);
  EXPECT_EQ(r.lost, 1u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.unacknowledged, 1u);
  ASSERT_EQ(r.lost_examples.size(), 1u);
  EXPECT_EQ(r.lost_examples[0], "/all n2 evt_1");
}

TEST(set_check, the_lab_command_reads_loadgen_and_sink_id_files) {
  temp_dir dir;
  const auto write = [&](const std::string& name, const std::string& text) {
    std::FILE* f = std::fopen((dir.path() + "/" + name).c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
  };
  // switchyard-loadgen --tag n1/n2 --ids-out, and switchyard-sink --ids-out.
  write("n1.ids", "n1 evt_0000000000000001\nn1 evt_0000000000000002\n");
  write("n2.ids", "n2 evt_0000000000000001\n");
  write("sink.ids", "/a n1 evt_0000000000000001\n/a n1 evt_0000000000000001\n"
                    "/a n2 evt_0000000000000001\n/b n1 evt_0000000000000001\n"
                    "/b n2 evt_0000000000000001\n/b n1 evt_0000000000000002\n"
                    "/other n1 evt_0000000000000002\n");
  const auto run = [&](const std::string& args) {
    const std::string command = std::string(SWITCHYARD_SET_CHECK_BIN) + " --acked " + dir.path() +
                                "/n1.ids --acked " + dir.path() + "/n2.ids --delivered " +
                                dir.path() + "/sink.ids " + args + " 2>&1";
    std::FILE* p = popen(command.c_str(), "r");
    std::string out;
    char buf[512];
    while (p != nullptr && std::fgets(buf, sizeof buf, p) != nullptr)
      out += buf;
    const int status = p == nullptr ? -1 : pclose(p);
    return std::pair{WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
  };
  auto [status, out] = run("--subscription /a --subscription /b --json");
  EXPECT_EQ(status, 1) << out; // n1 evt_…2 never reached /a
  EXPECT_EQ(out, "{\"acknowledged\":3,\"owed\":6,\"deliveries\":6,\"delivered\":5,"
                 "\"lost\":1,\"duplicates\":1,\"unacknowledged\":0,\"other_paths\":1}\n");
  std::tie(status, out) = run("--subscription /b");
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("lost           0"), std::string::npos) << out;
  std::tie(status, out) = run("");
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("--subscription are required"), std::string::npos) << out;
}

namespace {

// One event as the publisher sent it and the node acknowledged it.
struct acked_event {
  std::string id;
  uint64_t k = 0;      // the publisher's own number for it, carried in data.k
  bool orders = false; // type orders.created (else users.signed_up)
  bool norway = false; // country NO (else GB)
};

// The subscriptions, by the sink path each delivers to, and what each
// matches. /fifo (max_in_flight 1: strict FIFO) takes a sixth of the events,
// so that one delivery at a time keeps up in a sanitizer build too.
const std::vector<std::string> paths = {"/all", "/orders", "/norway", "/fifo"};

std::vector<std::string> matching(const acked_event& e) {
  std::vector<std::string> out = {"/all"};
  if (e.orders)
    out.push_back("/orders");
  if (e.norway)
    out.push_back("/norway");
  if (!e.orders && e.norway)
    out.push_back("/fifo");
  return out;
}

// Counts the FIFO breaks in `deliveries` (one subscription's, in arrival
// order), given as (publisher, its number k, acknowledged). A publisher
// sends each request after the previous one's 202, so its acknowledged
// events stand in its partition's log in k order; a takeover may deliver a
// suffix again (k goes back to one already delivered), but an event
// delivered for the first time after a later one of its publisher is a break.
std::size_t fifo_breaks(const std::vector<std::tuple<std::string, uint64_t, bool>>& deliveries,
                        std::size_t* redelivered) {
  std::map<std::string, uint64_t> top; // publisher → highest k delivered so far
  std::set<std::pair<std::string, uint64_t>> seen;
  std::size_t breaks = 0;
  for (const auto& [via, k, acked] : deliveries) {
    if (!acked)
      continue;
    if (!seen.insert({via, k}).second) {
      ++*redelivered;
      continue;
    }
    auto it = top.find(via);
    if (it != top.end() && k < it->second)
      ++breaks;
    top[via] = it == top.end() ? k : std::max(it->second, k);
  }
  return breaks;
}

// Posts batches of events to one node in a loop from its own thread and
// records every event a 202 named. A request that got no answer (refused,
// reset, timed out) or another status is a failure and acknowledges
// nothing. The node's port is an atomic because the node gets a new one
// when it is restarted while this runs.
class publisher {
public:
  explicit publisher(std::string via) : via_(std::move(via)) {}
  ~publisher() { stop(); }

  void start(uint16_t port) {
    port_ = port;
    thread_ = std::thread([this] { run(); });
  }
  void set_port(uint16_t port) { port_ = port; }
  void stop() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  const std::string& via() const { return via_; }
  std::size_t acked() const { return acked_count_; }
  std::size_t acked_orders() const { return acked_orders_; }
  std::size_t failures() const { return failures_; }
  std::size_t requests() const { return requests_; }
  std::vector<acked_event> events() const {
    std::lock_guard<std::mutex> g(mutex_);
    return events_;
  }

private:
  static constexpr int batch = 5;

  void run() {
    simdjson::dom::parser parser;
    uint64_t k = 0;
    while (!stop_) {
      std::string body = "[";
      std::vector<acked_event> sent;
      for (int i = 0; i < batch; ++i, ++k) {
        acked_event e;
        e.k = k;
        e.orders = k % 2 == 0;
        e.norway = k % 3 == 0;
        if (i != 0)
          body += ',';
        body += std::string(R"({"type":")") + (e.orders ? "orders.created" : "users.signed_up") +
                R"(","country":")" + (e.norway ? "NO" : "GB") + R"(","data":{"via":")" + via_ +
                R"(","k":)" + std::to_string(k) + "}}";
        sent.push_back(e);
      }
      body += ']';
      ++requests_;
      auto r = http_call(port_, "POST", "/v1/events", body, {}, 10s);
      simdjson::dom::element root;
      simdjson::dom::array ids;
      if (r.status != 202 || parser.parse(r.body).get(root) || root["ids"].get_array().get(ids) ||
          ids.size() != sent.size()) {
        ++failures_;
        // A refused port answers at once: do not spin on it.
        std::this_thread::sleep_for(20ms);
        continue;
      }
      std::size_t i = 0, orders = 0;
      for (auto id : ids) {
        sent[i].id = std::string(id.get_string().value_unsafe());
        orders += sent[i++].orders;
      }
      {
        std::lock_guard<std::mutex> g(mutex_);
        events_.insert(events_.end(), sent.begin(), sent.end());
      }
      acked_orders_ += orders;
      acked_count_ += sent.size();
      // Paced, so that the run stays a few thousand events on a loaded
      // two-core machine (sanitizer builds included).
      std::this_thread::sleep_for(10ms);
    }
  }

  std::string via_;
  std::atomic<uint16_t> port_{0};
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> acked_count_{0}, acked_orders_{0}, failures_{0}, requests_{0};
  mutable std::mutex mutex_;
  std::vector<acked_event> events_;
  std::thread thread_;
};

// Waits (at most `timeout`) until `done()` holds.
template <class Pred>
bool wait_for(Pred done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// Returns stats.queued of subscription `id` as `node` shows it, -1 if unknown.
int64_t queued_on(const server_process& node, const std::string& id) {
  auto r = node.call("GET", "/v1/subscriptions/" + id);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  int64_t queued = -1;
  if (r.status != 200 || parser.parse(r.body).get(root) ||
      root["stats"]["queued"].get_int64().get(queued))
    return -1;
  return queued;
}

class cluster_kill_test : public cluster_fixture {};

} // namespace

TEST(fifo_check, a_redelivered_suffix_passes_and_a_late_first_delivery_breaks) {
  std::size_t again = 0;
  // 1 2 3, then a takeover redelivers 2 3 and goes on with 4; n2's 7 was never acknowledged.
  EXPECT_EQ(fifo_breaks({{"n1", 1, true},
                         {"n1", 2, true},
                         {"n2", 9, true},
                         {"n1", 3, true},
                         {"n1", 2, true},
                         {"n1", 3, true},
                         {"n2", 7, false},
                         {"n1", 4, true}},
                        &again),
            0u);
  EXPECT_EQ(again, 2u);
  again = 0;
  // 3 delivered for the first time after 4: a break.
  EXPECT_EQ(
    fifo_breaks({{"n1", 1, true}, {"n1", 2, true}, {"n1", 4, true}, {"n1", 3, true}}, &again), 1u);
}

TEST_F(cluster_kill_test,
       every_acknowledged_event_reaches_every_matching_subscription_after_kill_9) {
  const std::vector<std::string> names = {"n1", "n2", "n3"};
  for (const auto& n : names)
    add_node(n).start();
  auto linked = [&](std::size_t i) {
    return wait_until(*nodes_[i], [&](const cluster_state& c) {
      for (const auto& [n, state] : c.members)
        if (state != "up")
          return false;
      return c.members.size() == 3 && check_links(c, names[i], others_of(names, names[i])).empty();
    });
  };
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto c = linked(i);
    ASSERT_EQ(check_links(c, names[i], others_of(names, names[i])), "")
      << names[i] << " sees " << c.body;
  }

  sink hook;
  auto& n1 = *nodes_[0];
  std::map<std::string, std::string> ids; // path → subscription id
  for (const auto& [path, filter] : std::vector<std::pair<std::string, std::string>>{
         {"/all", ""}, {"/orders", R"(,"types":["orders.*"])"}, {"/norway", R"(,"country":"NO")"}}) {
    auto r = n1.call("POST", "/v1/subscriptions",
                     R"({"service":")" + path.substr(1) + R"(","url":")" + hook.url(path) + "\"" +
                       filter + R"(,"verification":"skip"})");
    ASSERT_EQ(r.status, 201) << r.body;
    ids[path] = json_string(r.body, "id");
  }
  // Every node must route to all three before anything is published: an
  // event taken by a node that does not know a subscription yet is not
  // owed to it.
  for (auto& node : nodes_)
    for (const auto& entry : ids) {
      const auto target = "/v1/subscriptions/" + entry.second;
      ASSERT_TRUE(wait_for([&] { return node->call("GET", target).status == 200; }, 10s))
        << entry.first << " never appeared on a node";
    }

  // The partitions settled (placement reached, every replica in sync):
  // the kill is the only change of primary while the publishers run.
  auto before = wait_until(
    *nodes_[0], [](const cluster_state& c) { return settled(c, replicas); }, 30s);
  ASSERT_TRUE(settled(before, replicas)) << before.body;
  // And every partition is led by its preferred replica. A new cluster
  // places them so when its members join within the controller's formation
  // wait (5 s); one that joins later gets its share from the rebalancing
  // passes (8 moves every 10 s). Midway, the victim chosen below could lead
  // only a partition or two, and /fifo's 40 tries could miss them all (seen
  // in an ASan run before the formation wait: "no subscription landed on
  // n2"), and a move could still be pending while the publishers run.
  auto preferred = [&](const cluster_state& c) {
    return settled(c, replicas) && led_by_preferred(c, names, replicas);
  };
  auto placed = wait_until(*nodes_[0], preferred, 60s);
  ASSERT_TRUE(preferred(placed)) << placed.body;

  // The victim: /orders' primary (data plane: only it queues /orders'
  // events while it is paused, so that its journal — and its partition
  // log's replicas — hold acknowledged events it has not delivered).
  std::string victim_name;
  ASSERT_TRUE(wait_for(
    [&] {
      victim_name = json_string(n1.call("GET", "/v1/subscriptions/" + ids["/orders"]).body,
                                "primary");
      return !victim_name.empty();
    },
    20s));
  std::map<std::string, int64_t> partition_of_sub; // path → its partition
  for (const auto& [path, id] : ids) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    int64_t p = -1;
    auto body = n1.call("GET", "/v1/subscriptions/" + id).body;
    ASSERT_FALSE(parser.parse(body).get(root) || root["partition"].get_int64().get(p)) << body;
    partition_of_sub[path] = p;
  }
  std::size_t victim = 0;
  while (victim + 1 < names.size() && names[victim] != victim_name)
    ++victim;
  // /fifo is led by the victim too, so that its partition moves at the kill
  // (to a survivor) and, once the victim is back in sync, maybe back: made
  // again until its partition's primary is the victim (a third of tries).
  for (int attempt = 0; attempt < 40 && !ids.count("/fifo"); ++attempt) {
    auto r = n1.call("POST", "/v1/subscriptions",
                     R"({"service":"fifo","url":")" + hook.url("/fifo") +
                       R"(","types":["users.*"],"country":"NO","max_in_flight":1,)"
                       R"("verification":"skip"})");
    ASSERT_EQ(r.status, 201) << r.body;
    const auto id = json_string(r.body, "id");
    std::string primary;
    ASSERT_TRUE(wait_for(
      [&] {
        primary = json_string(n1.call("GET", "/v1/subscriptions/" + id).body, "primary");
        return !primary.empty();
      },
      10s));
    if (primary == victim_name)
      ids["/fifo"] = id;
    else
      ASSERT_EQ(n1.call("DELETE", "/v1/subscriptions/" + id).status, 204); // API.md: 204
  }
  ASSERT_TRUE(ids.count("/fifo")) << "no subscription landed on " << victim_name;
  for (auto& node : nodes_)
    ASSERT_TRUE(wait_for(
      [&] { return node->call("GET", "/v1/subscriptions/" + ids["/fifo"]).status == 200; }, 10s))
      << "/fifo never appeared on a node";
  std::vector<std::unique_ptr<publisher>> pubs;
  for (std::size_t i = 0; i < names.size(); ++i) {
    pubs.push_back(std::make_unique<publisher>(names[i]));
    pubs.back()->start(nodes_[i]->port());
  }
  auto all_acked = [&](const std::vector<std::size_t>& at_least, std::size_t more,
                       const std::vector<std::size_t>& which) {
    return wait_for(
      [&] {
        for (auto i : which)
          if (pubs[i]->acked() < at_least[i] + more)
            return false;
        return true;
      },
      30s);
  };
  auto counts = [&] {
    std::vector<std::size_t> v;
    for (auto& p : pubs)
      v.push_back(p->acked());
    return v;
  };
  // Long enough a run for the duplicate ratio to mean something: a takeover
  // redelivers about one in-flight batch per publisher (what the dead
  // primary delivered but had not released yet), whatever the run's length.
  ASSERT_TRUE(all_acked(counts(), 400, {0, 1, 2})) << "publishers did not get going";

  // /orders is paused everywhere (it keeps queuing), so that the victim's
  // journal holds acknowledged events it has not delivered when it dies.
  auto& n2 = *nodes_[victim];
  ASSERT_EQ(n1.call("POST", "/v1/subscriptions/" + ids["/orders"] + "/pause").status, 200);
  ASSERT_TRUE(wait_for(
    [&] {
      return json_string(n2.call("GET", "/v1/subscriptions/" + ids["/orders"]).body, "state") ==
             "paused";
    },
    10s));
  const auto orders_before = pubs[victim]->acked_orders();
  const auto paused_at = pubs[victim]->events();
  const std::string last_before_pause = paused_at.empty() ? "" : paused_at.back().id;
  ASSERT_TRUE(wait_for([&] { return pubs[victim]->acked_orders() >= orders_before + 10; }, 20s));
  const auto queued_at_kill = queued_on(n2, ids["/orders"]);
  ASSERT_GE(queued_at_kill, 10) << "the victim must hold undelivered acknowledged events";

  // kill -9 mid-stream: the victim's publisher keeps posting and is refused;
  // the survivors keep acknowledging.
  const auto failures_before = pubs[victim]->failures();
  n2.kill9();
  const auto killed_at = std::chrono::steady_clock::now();
  std::vector<std::size_t> survivors;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (i != victim)
      survivors.push_back(i);
  ASSERT_TRUE(all_acked(counts(), 50, survivors)) << "the survivors stopped acknowledging";
  ASSERT_TRUE(wait_for([&] { return pubs[victim]->failures() >= failures_before + 3; }, 10s))
    << "posts to the dead node must fail";

  // It comes back on its own data directory and rejoins.
  n2.start();
  const auto restarted_after = std::chrono::steady_clock::now() - killed_at;
  pubs[victim]->set_port(n2.port());
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto c = linked(i);
    ASSERT_EQ(check_links(c, names[i], others_of(names, names[i])), "")
      << names[i] << " sees " << c.body;
  }
  ASSERT_TRUE(all_acked(counts(), 50, {victim})) << "the restarted node does not acknowledge";
  for (auto& p : pubs)
    p->stop();
  ASSERT_EQ(n1.call("POST", "/v1/subscriptions/" + ids["/orders"] + "/activate").status, 200);

  // The set check, polled until nothing is lost or the deadline passes. An
  // event's key is the node it was posted to, the id the 202 named and the
  // publisher's own number for it (data.k, echoed in the delivery): ids are
  // per node, and a node restarted on an empty journal hands out its ids
  // again — with n2's data directory wiped before its restart, keys of node
  // and id alone matched the new events to the lost ones and showed 0 lost.
  set_check_result r;
  std::size_t misrouted = 0;
  const auto drain_from = std::chrono::steady_clock::now();
  std::map<std::string, std::size_t> dups_of; // path → deliveries beyond the first
  std::size_t fifo_broken = 0, fifo_redelivered = 0;
  auto check = [&] {
    set_checker c;
    std::map<std::string, std::map<std::string, std::size_t>> times;
    std::set<std::string> acked_keys;
    for (auto& p : pubs)
      for (const auto& e : p->events()) {
        const auto key = p->via() + " " + e.id + " " + std::to_string(e.k);
        c.acknowledged(key, matching(e));
        acked_keys.insert(key);
      }
    std::vector<std::tuple<std::string, uint64_t, bool>> fifo_order;
    misrouted = 0;
    simdjson::dom::parser parser;
    for (const auto& path : paths)
      for (const auto& d : hook.delivered(path)) {
        simdjson::dom::element root;
        std::string_view id, via, type, country;
        uint64_t k = 0;
        if (parser.parse(d.body).get(root) || root["id"].get_string().get(id) ||
            root["data"]["via"].get_string().get(via) || root["data"]["k"].get_uint64().get(k) ||
            root["type"].get_string().get(type) || root["country"].get_string().get(country)) {
          ++misrouted;
          continue;
        }
        if ((path == "/orders" && type != "orders.created") ||
            (path == "/norway" && country != "NO") ||
            (path == "/fifo" && (type != "users.signed_up" || country != "NO")))
          ++misrouted;
        auto key = std::string(via) + " " + std::string(id) + " " + std::to_string(k);
        ++times[path][key];
        c.delivered(path, key);
        if (path == "/fifo")
          fifo_order.emplace_back(std::string(via), k, acked_keys.count(key) != 0);
      }
    fifo_redelivered = 0;
    fifo_broken = fifo_breaks(fifo_order, &fifo_redelivered);
    dups_of.clear();
    for (const auto& [path, keys] : times)
      for (const auto& [key, n] : keys)
        dups_of[path] += n - 1;
    r = c.result();
    return r.lost == 0;
  };
  const bool complete = wait_for(check, 45s);
  check();
  const auto drained_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - drain_from)
                            .count();

  // Ids handed out by more than one node (each node numbers its own journal).
  std::map<std::string, std::set<std::string>> nodes_of_id;
  std::size_t victim_acked = 0, requests = 0, failures = 0;
  for (auto& p : pubs) {
    for (const auto& e : p->events())
      nodes_of_id[e.id].insert(p->via());
    requests += p->requests();
    failures += p->failures();
  }
  victim_acked = pubs[victim]->acked();
  std::size_t shared_ids = 0;
  for (const auto& [id, via] : nodes_of_id)
    shared_ids += via.size() > 1;
  std::printf("set check: acknowledged %zu events (%zu by the victim), %zu owed deliveries, "
              "%zu deliveries, %zu lost, %zu duplicates (%.3f %%), %zu unacknowledged, "
              "%zu misrouted\n",
              r.acknowledged, victim_acked, r.expected, r.deliveries, r.lost, r.duplicates,
              r.expected ? 100.0 * static_cast<double>(r.duplicates) / r.expected : 0.0,
              r.unacknowledged, misrouted);
  std::printf("requests %zu, failed %zu; victim queued %lld for /orders at the kill, back after "
              "%lld ms; drained in %lld ms; ids named by more than one node: %zu\n",
              requests, failures, static_cast<long long>(queued_at_kill),
              static_cast<long long>(
                std::chrono::duration_cast<std::chrono::milliseconds>(restarted_after).count()),
              static_cast<long long>(drained_ms), shared_ids);
  std::printf("the victim's last id acknowledged before it showed /orders paused: %s\n",
              last_before_pause.c_str());
  std::printf("/fifo (moved from %s at the kill): %zu FIFO breaks, %zu redelivered\n",
              victim_name.c_str(), fifo_broken, fifo_redelivered);
  for (const auto& d : r.duplicate_examples)
    std::printf("duplicated: %s\n", d.c_str());
  std::fflush(stdout);

  EXPECT_TRUE(complete);
  EXPECT_EQ(r.lost, 0u) << "first lost (subscription, node, id, k): "
                        << (r.lost_examples.empty() ? "" : r.lost_examples.front()) << "\n"
                        << n2.log();
  EXPECT_EQ(misrouted, 0u);
  EXPECT_EQ(fifo_broken, 0u) << "/fifo delivered an acknowledged event after a later one of its "
                                "publisher (beyond a redelivered suffix)";
  // CLUSTER.md's target for one fault. Measured (docs/cluster.md): 0 to 7
  // duplicates (≤ 0.21 %) in 22 plain and 5 sanitizer runs, against
  // ≥ 3 300 owed deliveries.
  // A paused subscription holds its partition's log (docs/cluster.md
  // "Release"): a subscription sharing /orders' partition gets again, from
  // the takeover, what it was delivered since the pause. That is the
  // design's cost, reported; the 1 % holds for the others.
  std::size_t dups_free = 0;
  for (const auto& [path, n] : dups_of) {
    const bool shares = path != "/orders" && partition_of_sub[path] == partition_of_sub["/orders"];
    std::printf("%s: partition %lld, %zu duplicates%s\n", path.c_str(),
                static_cast<long long>(partition_of_sub[path]), n,
                shares ? " (shares /orders' partition)" : "");
    if (!shares)
      dups_free += n;
  }
  std::fflush(stdout);
  EXPECT_LE(dups_free * 100, r.expected) << "more than 1 % of deliveries duplicated";
  EXPECT_GT(r.acknowledged, 0u);
}
