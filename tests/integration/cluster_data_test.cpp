// Cluster mode's data plane with the real binary (docs/cluster.md): one
// etcd and real nodes on free loopback ports. Events published through
// every node reach every matching subscription through the partitions'
// primaries; kill -9 of a primary, NOT restarted, and its partitions
// deliver again from a survivor with nothing acknowledged lost (the set
// check); a partition below cluster.min_insync answers 503 + Retry-After.
// Waits are deadlines on counts, never fixed sleeps.

#include "../common/set_check.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/membership.hpp"
#include "cluster/placement.hpp"
#include "cluster_fixture.hpp"
#include "core/signing.hpp"
#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

// One event as the publisher sent it and the node acknowledged it.
struct acked_event {
  std::string id;
  uint64_t k = 0;
  bool orders = false; // orders.created, else users.signed_up
  bool norway = false; // country NO, else GB
  std::chrono::steady_clock::time_point acked_at;
};

const std::vector<std::string> paths = {"/all", "/orders", "/norway"};

// How far back before a primary's death its deliveries may be repeated by
// the takeover: what it delivered but had not released to its backups.
constexpr auto redelivery_window = std::chrono::milliseconds(1000);

std::vector<std::string> matching(const acked_event& e) {
  std::vector<std::string> out = {"/all"};
  if (e.orders)
    out.push_back("/orders");
  if (e.norway)
    out.push_back("/norway");
  return out;
}

// Posts batches of five events to one node from its own thread and records
// every event a 202 named; anything else acknowledges nothing.
class publisher {
public:
  explicit publisher(std::string via) : via_(std::move(via)) {}
  ~publisher() { stop(); }
  void start(uint16_t port) {
    port_ = port;
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  const std::string& via() const { return via_; }
  std::size_t acked() const { return acked_count_; }
  std::size_t failures() const { return failures_; }
  std::size_t requests() const { return requests_; }
  std::size_t unavailable() const { return unavailable_; }
  std::vector<acked_event> events() const {
    std::lock_guard<std::mutex> g(mutex_);
    return events_;
  }

private:
  void run() {
    simdjson::dom::parser parser;
    uint64_t k = 0;
    while (!stop_) {
      std::string body = "[";
      std::vector<acked_event> sent;
      for (int i = 0; i < 5; ++i, ++k) {
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
        unavailable_ += r.status == 503;
        std::this_thread::sleep_for(20ms);
        continue;
      }
      std::size_t i = 0;
      const auto now = std::chrono::steady_clock::now();
      for (auto id : ids) {
        sent[i].acked_at = now;
        sent[i++].id = std::string(id.get_string().value_unsafe());
      }
      {
        std::lock_guard<std::mutex> g(mutex_);
        events_.insert(events_.end(), sent.begin(), sent.end());
      }
      acked_count_ += sent.size();
      std::this_thread::sleep_for(10ms);
    }
  }

  std::string via_;
  std::atomic<uint16_t> port_{0};
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> acked_count_{0}, failures_{0}, requests_{0}, unavailable_{0};
  mutable std::mutex mutex_;
  std::vector<acked_event> events_;
  std::thread thread_;
};

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

class cluster_data_test : public cluster_fixture {};

} // namespace

TEST_F(cluster_data_test, a_partition_below_min_insync_answers_503_with_retry_after) {
  // One node of a cluster that asks for two in-sync replicas: every
  // partition has one, so no write can commit.
  auto& n1 = add_node("n1", partitions, "min_insync = 2\n");
  n1.start();
  all_linked({"n1"});
  sink hook;
  auto r = n1.call("POST", "/v1/subscriptions",
                   R"({"service":"orders","url":")" + hook.url("/orders") +
                     R"(","types":["orders.*"],"verification":"skip"})");
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_TRUE(wait_for(
    [&] {
      auto c = read_cluster(n1);
      if (!c.ok || c.parts.empty())
        return false;
      for (const auto& p : c.parts)
        if (p.primary != "n1")
          return false;
      return true;
    },
    20s));
  const std::string event = R"([{"type":"orders.created","data":{}}])";
  http_result answer;
  // The replicator applies the configuration within its poll: until then
  // the partition answers not_primary, also a 503.
  ASSERT_TRUE(wait_for(
    [&] {
      answer = n1.call("POST", "/v1/events", event);
      return answer.status == 503 && answer.body.find("below_min_insync") != std::string::npos;
    },
    10s))
    << answer.status << " " << answer.body;
  bool retry_after = false;
  for (const auto& [name, value] : answer.headers)
    retry_after |= (name == "Retry-After" || name == "retry-after") && !value.empty();
  EXPECT_TRUE(retry_after) << "no Retry-After on the 503";
  EXPECT_NE(answer.body.find("cluster.min_insync"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find("retry"), std::string::npos) << answer.body;
  // An event that matches no subscription has no partition: 202, stored nowhere.
  auto none = n1.call("POST", "/v1/events", R"([{"type":"users.signed_up","data":{}}])");
  EXPECT_EQ(none.status, 202) << none.body;
}

TEST_F(cluster_data_test,
       a_killed_primarys_partitions_deliver_from_a_survivor_without_its_restart) {
  const std::vector<std::string> names = {"n1", "n2", "n3"};
  for (const auto& n : names)
    add_node(n).start();
  all_linked(names);

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
  for (auto& node : nodes_)
    for (const auto& entry : ids)
      ASSERT_TRUE(wait_for(
        [&] { return node->call("GET", "/v1/subscriptions/" + entry.second).status == 200; }, 10s))
        << entry.first << " never appeared on a node";

  // The partitions settled (placement reached, every replica in sync):
  // the kill is the only change of primary while the publishers run.
  auto before = wait_until(
    *nodes_[0], [](const cluster_state& c) { return settled(c, replicas); }, 30s);
  ASSERT_TRUE(settled(before, replicas)) << before.body;

  // The victim: /orders' primary, which holds /orders' queue while it is paused.
  std::string victim_name;
  ASSERT_TRUE(wait_for(
    [&] {
      victim_name = json_string(n1.call("GET", "/v1/subscriptions/" + ids["/orders"]).body,
                                "primary");
      return !victim_name.empty();
    },
    20s));
  std::size_t victim = 0;
  while (names[victim] != victim_name)
    ++victim;
  auto& admin = *nodes_[(victim + 1) % names.size()];

  std::vector<std::unique_ptr<publisher>> pubs;
  for (std::size_t i = 0; i < names.size(); ++i) {
    pubs.push_back(std::make_unique<publisher>(names[i]));
    pubs.back()->start(nodes_[i]->port());
  }
  auto acked_more = [&](std::size_t more, const std::vector<std::size_t>& which) {
    std::vector<std::size_t> from;
    for (auto& p : pubs)
      from.push_back(p->acked());
    return wait_for(
      [&] {
        for (auto i : which)
          if (pubs[i]->acked() < from[i] + more)
            return false;
        return true;
      },
      30s);
  };
  ASSERT_TRUE(acked_more(50, {0, 1, 2})) << "publishers did not get going";
  ASSERT_EQ(admin.call("POST", "/v1/subscriptions/" + ids["/orders"] + "/pause").status, 200);
  ASSERT_TRUE(acked_more(50, {0, 1, 2}));

  nodes_[victim]->kill9();
  const auto killed_at = std::chrono::steady_clock::now();
  pubs[victim]->stop(); // posts to a dead node acknowledge nothing
  std::vector<std::size_t> survivors;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (i != victim)
      survivors.push_back(i);
  ASSERT_TRUE(acked_more(100, survivors)) << "the survivors stopped acknowledging";
  for (auto& p : pubs)
    p->stop();
  ASSERT_EQ(admin.call("POST", "/v1/subscriptions/" + ids["/orders"] + "/activate").status, 200);

  set_check_result r;
  std::size_t misrouted = 0;
  auto check = [&] {
    set_checker c;
    for (auto& p : pubs)
      for (const auto& e : p->events())
        c.acknowledged(p->via() + " " + e.id + " " + std::to_string(e.k), matching(e));
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
            (path == "/norway" && country != "NO"))
          ++misrouted;
        c.delivered(path, std::string(via) + " " + std::string(id) + " " + std::to_string(k));
      }
    r = c.result();
    return r.lost == 0;
  };
  const bool complete = wait_for(check, 45s);
  check();
  std::size_t requests = 0, failures = 0, unavailable = 0;
  for (auto& p : pubs) {
    requests += p->requests();
    failures += p->failures();
    unavailable += p->unavailable();
  }
  std::printf("set check: acknowledged %zu, owed %zu, deliveries %zu, lost %zu, duplicates %zu "
              "(%.3f %%), unacknowledged %zu, misrouted %zu; requests %zu, failed %zu (503: %zu); "
              "victim %s; complete %lld ms after the kill\n",
              r.acknowledged, r.expected, r.deliveries, r.lost, r.duplicates,
              r.expected ? 100.0 * static_cast<double>(r.duplicates) / r.expected : 0.0,
              r.unacknowledged, misrouted, requests, failures, unavailable, victim_name.c_str(),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - killed_at)
                                       .count()));
  // A takeover redelivers what the dead primary had delivered but not yet
  // released (docs/cluster.md: the release check's period and the backups'
  // next fetch): the events acknowledged shortly before the kill.
  std::size_t recent = 0;
  for (auto& p : pubs)
    for (const auto& e : p->events())
      if (e.acked_at + redelivery_window >= killed_at && e.acked_at <= killed_at)
        recent += matching(e).size();
  std::printf("owed pairs acknowledged in the last %lld ms before the kill: %zu; first "
              "duplicates: %s\n",
              static_cast<long long>(redelivery_window.count()), recent,
              r.duplicate_examples.empty() ? "-" : r.duplicate_examples.front().c_str());
  std::fflush(stdout);
  EXPECT_TRUE(complete);
  EXPECT_EQ(r.lost, 0u) << "first lost: "
                        << (r.lost_examples.empty() ? "" : r.lost_examples.front());
  EXPECT_EQ(misrouted, 0u);
  // Only what the victim delivered in its last moments may come twice.
  EXPECT_LE(r.duplicates, recent) << "duplicates beyond the redelivery window";
  EXPECT_GT(r.acknowledged, 0u);

  // The victim restarts on its data directory, rejoins, and becomes in sync
  // again only through its primaries' proposals (after it caught up).
  nodes_[victim]->start();
  auto settled = [&](const cluster_state& c) {
    bool victim_in_sync = false;
    for (const auto& p : c.parts) {
      if (p.primary.empty() || p.in_sync.size() != p.replicas.size())
        return false;
      for (const auto& n : p.in_sync)
        victim_in_sync |= n == victim_name;
    }
    return c.parts.size() == static_cast<std::size_t>(partitions) && victim_in_sync;
  };
  auto after = wait_until(admin, settled, 60s);
  EXPECT_TRUE(settled(after)) << victim_name << " did not become in sync again: " << after.body;
}

// Per-subscription release points (docs/cluster.md "What a takeover
// redelivers"): a subscription that cannot deliver holds its partition's
// release, so the log keeps what the partition's other subscription was
// delivered. The primary records that subscription's delivered offset in
// etcd (/sy/progress/<p>), and the survivor that takes the partition over
// after a kill -9 queues the held events for the failing subscription only.
TEST_F(cluster_data_test,
       a_takeover_redelivers_a_held_partition_only_to_the_subscription_holding_it) {
  const std::vector<std::string> names = {"n1", "n2"};
  // The survivor alone still commits (the event published after the kill).
  for (const auto& n : names)
    add_node(n, partitions, "min_insync = 1\n").start();
  all_linked(names);
  auto c = wait_until(
    *nodes_[0], [](const cluster_state& c) { return settled(c, replicas); }, 30s);
  ASSERT_TRUE(settled(c, replicas)) << c.body;
  auto& n1 = *nodes_[0];
  sink hook;
  hook.fail_all("/failing", 500);
  // One delivery at a time: strict FIFO (API.md), so /ok's deliveries come
  // in the order its events were queued.
  auto create = [&](const std::string& path) {
    auto r = n1.call("POST", "/v1/subscriptions",
                     R"({"service":"s","url":")" + hook.url(path) +
                       R"(","types":["t.**"],"max_in_flight":1,"verification":"skip"})");
    EXPECT_EQ(r.status, 201) << r.body;
    return json_string(r.body, "id");
  };
  const auto ok = create("/ok");
  const auto p = sy::cluster::partition_of(ok, partitions);
  // The failing subscription shares /ok's partition: candidates elsewhere go.
  std::string failing;
  for (int i = 0; i < 400 && failing.empty(); ++i) {
    auto id = create("/failing");
    if (sy::cluster::partition_of(id, partitions) == p)
      failing = id;
    else
      ASSERT_EQ(n1.call("DELETE", "/v1/subscriptions/" + id).status, 204);
  }
  ASSERT_FALSE(failing.empty());
  for (auto& node : nodes_)
    for (const auto& id : {ok, failing})
      ASSERT_TRUE(
        wait_for([&] { return node->call("GET", "/v1/subscriptions/" + id).status == 200; }, 10s));
  const auto primary = json_string(n1.call("GET", "/v1/subscriptions/" + ok).body, "primary");
  const std::size_t victim = primary == "n1" ? 0 : 1;
  auto& survivor = *nodes_[1 - victim];

  // Ten events for both; /ok has them all, /failing holds the release.
  std::string batch = "[";
  for (int k = 0; k < 10; ++k)
    batch += std::string(k ? "," : "") + R"({"type":"t.k","data":{"k":)" + std::to_string(k) + "}}";
  batch += "]";
  http_result r;
  ASSERT_TRUE(wait_for(
    [&] {
      r = survivor.call("POST", "/v1/events", batch);
      return r.status == 202;
    },
    15s))
    << r.status << " " << r.body;
  ASSERT_TRUE(hook.wait_delivered("/ok", 10));
  // The primary's record, read from etcd: /ok has every entry of the log
  // (the ten are one entry: one request for one partition).
  const auto etcd_port = static_cast<uint16_t>(
    std::stoi(etcd_url_.substr(etcd_url_.rfind(':') + 1)));
  const auto key = sy::core::base64_encode("/sy/progress/" + std::to_string(p));
  std::optional<sy::cluster::partition_progress> record;
  std::string seen;
  auto ok_offset = [&] {
    if (!record)
      return uint64_t{0};
    for (const auto& [id, offset] : record->offsets)
      if (id == ok)
        return offset;
    return uint64_t{0};
  };
  ASSERT_TRUE(wait_for(
    [&] {
      auto range = http_call(etcd_port, "POST", "/v3/kv/range", R"({"key":")" + key + "\"}", {},
                             5s);
      seen = range.body;
      simdjson::dom::parser parser;
      simdjson::dom::element root;
      std::string_view value;
      if (range.status != 200 || parser.parse(range.body).get(root) ||
          root["kvs"].at(0)["value"].get_string().get(value))
        return false;
      auto bytes = sy::core::base64_decode(value);
      record = bytes ? sy::cluster::decode_progress(*bytes) : std::nullopt;
      return ok_offset() >= 1;
    },
    20s))
    << seen;
  EXPECT_EQ(record->node, primary);
  for (const auto& [id, offset] : record->offsets)
    EXPECT_NE(id, failing) << "the holder is never ahead of the release";

  EXPECT_GE(sample(nodes_[victim]->call("GET", "/metrics").body,
                   "switchyard_cluster_progress_records_total")
              .value_or(0),
            1);
  nodes_[victim]->kill9();
  // The survivor leads the partition and queued the ten for /failing ...
  auto queued = [&](const std::string& id) {
    auto body = survivor.call("GET", "/v1/subscriptions/" + id).body;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    int64_t n = -1;
    if (parser.parse(body).get(root) || root["stats"]["queued"].get_int64().get(n))
      return int64_t{-1};
    return n;
  };
  EXPECT_TRUE(wait_for(
    [&] {
      return json_string(survivor.call("GET", "/v1/subscriptions/" + ok).body, "primary") ==
               names[1 - victim] &&
             queued(failing) == 10;
    },
    30s))
    << survivor.call("GET", "/v1/subscriptions/" + failing).body;
  // ... and none for /ok: an event published now is queued after anything
  // the takeover queued for /ok, so once it came, no repeat is still due.
  ASSERT_TRUE(wait_for(
    [&] {
      r = survivor.call("POST", "/v1/events", R"({"type":"t.k","data":{"k":10}})");
      return r.status == 202;
    },
    15s))
    << r.status << " " << r.body;
  auto marker_came = [&] {
    for (const auto& d : hook.delivered("/ok"))
      if (d.body.find(R"("k":10)") != std::string::npos)
        return true;
    return false;
  };
  ASSERT_TRUE(wait_for(marker_came, 30s));
  const auto delivered = hook.delivered("/ok");
  EXPECT_EQ(delivered.size(), 11u) << "the takeover redelivered to /ok";
  std::set<std::string> distinct;
  for (const auto& d : delivered)
    distinct.insert(json_string(d.body, "id"));
  EXPECT_EQ(distinct.size(), delivered.size());
  EXPECT_EQ(
    sample(survivor.call("GET", "/metrics").body, "switchyard_cluster_redeliveries_skipped_total"),
    10);
}
