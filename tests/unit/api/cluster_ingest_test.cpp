// Cluster-mode ingest on one node that leads every partition: a real actor
// system with the middleman, peer_links, a replicator over a real journal
// and the router, configurations made by hand. Shows what reaches the
// partition logs (one entry per event and matched partition, naming that
// partition's subscriptions, the record carrying the event's id) and what
// the producer is told. Every wait has a deadline.
#include "api/cluster_ingest.hpp"

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "actors/routes.hpp"
#include "cluster/partition_entry.hpp"
#include "cluster/peer_links.hpp"
#include "cluster/placement.hpp"
#include "cluster/protocol.hpp"
#include "cluster/replicator.hpp"
#include "cluster/router.hpp"
#include "storage/journal.hpp"
#include "storage/partition_log.hpp"

using namespace sy;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t partitions = 8;

// One node leading the partitions `led` (the others have no primary).
struct one_node {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("sy_cluster_ingest_" + std::to_string(::getpid()));
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  std::unique_ptr<storage::journal> journal;
  std::unique_ptr<cluster::peer_links> links;
  std::unique_ptr<cluster::replicator> repl;
  std::unique_ptr<cluster::router> rt;
  std::map<uint32_t, cluster::configuration> configs;

  explicit one_node(const std::set<uint32_t>& led) {
    std::filesystem::remove_all(dir);
    for (auto p : led)
      configs[p] = {10, "a", {"a"}, {"a"}};
    cfg.set("scheduler.max-threads", size_t{2});
    cfg.set("logger.verbosity", caf::atom("quiet"));
    cfg.load<caf::io::middleman>();
    cluster::register_cluster_protocol(cfg);
    system = std::make_unique<caf::actor_system>(cfg);
    storage::journal_options jo;
    jo.reserve_bytes = 0;
    std::string error;
    journal = storage::journal::open(dir.string(), std::move(jo), error);
    EXPECT_TRUE(journal) << error;
    cluster::peer_links_options lo;
    lo.node = "a";
    lo.partitions = partitions;
    lo.members = [] { return std::vector<cluster::peer_address>{}; };
    links = std::make_unique<cluster::peer_links>(*system, std::move(lo));
    cluster::replicator_options ro;
    ro.node = "a";
    ro.poll_every = 20ms;
    ro.configurations = [this] { return configs; };
    repl = std::make_unique<cluster::replicator>(*system, *journal, *links, std::move(ro));
    cluster::router_options o;
    o.node = "a";
    o.configurations = [this] { return configs; };
    rt = std::make_unique<cluster::router>(*system, *links, *repl, std::move(o));
    const auto until = std::chrono::steady_clock::now() + 20s;
    for (auto p : led)
      while (repl->status(p).role != "primary" && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(5ms);
  }
  ~one_node() {
    rt.reset();
    repl.reset();
    links.reset();
    system.reset();
    journal.reset();
    std::filesystem::remove_all(dir);
  }
  // One event of an entry: its id and subscription ids.
  using logged_event = std::pair<std::string, std::vector<std::string>>;
  // Stops the replicator and returns each partition's entries, each as its
  // events in order.
  std::map<uint32_t, std::vector<std::vector<logged_event>>> read_logs() {
    rt.reset();
    repl.reset();
    std::map<uint32_t, std::vector<std::vector<logged_event>>> out;
    for (uint32_t p = 0; p < partitions; ++p) {
      auto log = storage::partition_log::open(*journal, p);
      EXPECT_TRUE(log);
      if (!log || (*log)->end_offset() == 0)
        continue;
      auto entries = (*log)->read(0, (*log)->end_offset(), SIZE_MAX, SIZE_MAX);
      EXPECT_TRUE(entries);
      for (const auto& bytes : *entries) {
        auto events = cluster::decode_partition_entry(bytes);
        EXPECT_TRUE(events);
        if (!events)
          continue;
        auto& entry = out[p].emplace_back();
        for (const auto& event : *events) {
          auto e = storage::decode_event(event.record);
          EXPECT_TRUE(e);
          if (!e)
            continue;
          EXPECT_EQ(e->ev.id, actors::event_id(e->seq)) << "the record's id and seq disagree";
          std::vector<std::string> subs(event.subscriptions.begin(), event.subscriptions.end());
          entry.emplace_back(e->ev.id, std::move(subs));
        }
      }
    }
    return out;
  }
};

const std::vector<core::index_entry> subscriptions = {
  {"sub_orders", {"orders.*"}, ""},
  {"sub_created", {"orders.created"}, ""},
  {"sub_billing", {"billing.*"}, ""},
  {"sub_other", {"shipping.*"}, ""},
};

uint32_t partition_of(const std::string& id) { return cluster::partition_of(id, partitions); }

// Submits events of `types` (each with `data`) and returns the outcome.
actors::ingest_outcome submit(one_node& n, const std::vector<std::string>& types,
                              const std::string& data = "{}") {
  auto routes = std::make_shared<const actors::route_table>(subscriptions);
  actors::ingest_submission s;
  std::vector<uint32_t> matched;
  for (const auto& t : types) {
    auto e = std::make_shared<storage::stored_event>();
    e->ev.type = t;
    e->ev.data = data;
    routes->index.match(t, "", matched);
    s.add(std::move(e), matched);
  }
  s.routes = routes;
  auto promise = std::make_shared<std::promise<actors::ingest_outcome>>();
  auto future = promise->get_future();
  s.done = [promise](actors::ingest_outcome out) { promise->set_value(std::move(out)); };
  api::cluster_ingest c{n.rt.get(), n.journal.get(), partitions};
  api::submit_to_cluster(c, std::move(s));
  EXPECT_EQ(future.wait_for(10s), std::future_status::ready) << "never answered";
  return future.get();
}

} // namespace

TEST(cluster_ingest, each_event_goes_to_its_subscriptions_partitions_with_its_id) {
  std::set<uint32_t> all;
  for (uint32_t p = 0; p < partitions; ++p)
    all.insert(p);
  one_node n(all);
  auto out = submit(n, {"orders.created", "billing.paid", "misc.nothing"});
  ASSERT_EQ(out.status, 202) << out.error;
  ASSERT_EQ(out.seqs.size(), 3u);
  EXPECT_EQ(out.seqs[1], out.seqs[0] + 1);
  EXPECT_EQ(out.seqs[2], out.seqs[0] + 2);
  const auto created = actors::event_id(out.seqs[0]);
  const auto paid = actors::event_id(out.seqs[1]);

  // What each partition's log should hold: one entry for the request,
  // with each event that matched a subscription of that partition, in
  // order, naming those subscriptions.
  std::map<uint32_t, std::map<std::string, std::set<std::string>>> want;
  want[partition_of("sub_orders")][created].insert("sub_orders");
  want[partition_of("sub_created")][created].insert("sub_created");
  want[partition_of("sub_billing")][paid].insert("sub_billing");

  std::map<uint32_t, std::map<std::string, std::set<std::string>>> got;
  for (const auto& [p, entries] : n.read_logs()) {
    EXPECT_EQ(entries.size(), 1u) << "partition " << p << ": one entry per request";
    for (const auto& entry : entries)
      for (const auto& [id, subs] : entry) {
        EXPECT_EQ(got[p].count(id), 0u) << id << " is logged twice in partition " << p;
        got[p][id] = std::set<std::string>(subs.begin(), subs.end());
      }
  }
  // The event that matched nothing is stored nowhere.
  EXPECT_EQ(got, want);
}

TEST(cluster_ingest, a_large_request_is_split_into_entries_of_bounded_size_in_order) {
  std::set<uint32_t> all;
  for (uint32_t p = 0; p < partitions; ++p)
    all.insert(p);
  one_node n(all);
  // 200 events of ~1 KiB, all for sub_billing's partition: ~200 KiB.
  const std::vector<std::string> types(200, "billing.paid");
  auto out = submit(n, types, "\"" + std::string(1000, 'x') + "\"");
  ASSERT_EQ(out.status, 202) << out.error;
  ASSERT_EQ(out.seqs.size(), 200u);
  auto logs = n.read_logs();
  ASSERT_EQ(logs.size(), 1u) << "only sub_billing matched";
  const auto& entries = logs.begin()->second;
  EXPECT_GE(entries.size(), 3u) << "~200 KiB in entries closed at 64 KiB";
  EXPECT_LE(entries.size(), 4u);
  std::vector<std::string> ids;
  for (const auto& entry : entries) {
    EXPECT_LE(entry.size() * 1000, cluster::max_partition_entry_bytes + 2000)
      << "an entry is closed once it passes max_partition_entry_bytes";
    for (const auto& [id, subs] : entry) {
      ids.push_back(id);
      EXPECT_EQ(subs, std::vector<std::string>{"sub_billing"});
    }
  }
  std::vector<std::string> want;
  for (auto seq : out.seqs)
    want.push_back(actors::event_id(seq));
  EXPECT_EQ(ids, want) << "every event once, in the request's order";
}

TEST(cluster_ingest, a_partition_without_a_primary_makes_the_batch_503_naming_it) {
  std::set<uint32_t> led;
  for (uint32_t p = 0; p < partitions; ++p)
    if (p != partition_of("sub_billing"))
      led.insert(p);
  ASSERT_NE(partition_of("sub_billing"), partition_of("sub_orders"));
  one_node n(led);
  auto out = submit(n, {"orders.created", "billing.paid"});
  EXPECT_EQ(out.status, 503);
  EXPECT_TRUE(out.seqs.empty());
  EXPECT_NE(
    out.error.find("partition " + std::to_string(partition_of("sub_billing")) + " (not_primary)"),
    std::string::npos)
    << out.error;
  EXPECT_NE(out.error.find("retry"), std::string::npos) << out.error;

  // Events that match nothing need no partition: 202 at once.
  auto none = submit(n, {"misc.nothing"});
  EXPECT_EQ(none.status, 202) << none.error;
  EXPECT_EQ(none.seqs.size(), 1u);
}
