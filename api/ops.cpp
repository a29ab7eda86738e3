// /healthz, /readyz, /metrics (docs/api.md §6).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>

#include "actors/cluster_apply.hpp"
#include "actors/ingest.hpp"
#include "api/common.hpp"
#include "cluster/membership.hpp"
#include "cluster/peer_links.hpp"
#include "cluster/replicator.hpp"
#include "api/metrics.hpp"
#include "storage/journal.hpp"

namespace sy::api {

namespace {

void counter(std::string& out, const char* name, const char* help, uint64_t v) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
         " " + std::to_string(v) + "\n";
}

void gauge(std::string& out, const char* name, const char* help, const std::string& v) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " +
         v + "\n";
}

// Escapes a Prometheus label value.
std::string label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"')
      out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// Returns the rows given per-subscription series: at most `max` of them,
// the deepest queues first (ties: more in flight, then id, so that the set
// does not churn between scrapes).
std::vector<const actors::stats_row*> deepest(const actors::stats_table& table, int64_t max) {
  std::vector<const actors::stats_row*> rows;
  rows.reserve(table.rows.size());
  for (const auto& r : table.rows)
    rows.push_back(&r);
  const auto n = std::min<std::size_t>(rows.size(),
                                       static_cast<std::size_t>(std::max<int64_t>(max, 0)));
  std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n), rows.end(),
                    [](const actors::stats_row* a, const actors::stats_row* b) {
                      if (a->stats.queued != b->stats.queued)
                        return a->stats.queued > b->stats.queued;
                      if (a->stats.in_flight != b->stats.in_flight)
                        return a->stats.in_flight > b->stats.in_flight;
                      return a->id < b->id;
                    });
  rows.resize(n);
  return rows;
}

// Appends the metrics drawn from every subscription's stats: aggregates
// over all of them, per-subscription gauges for the deepest `max_series`.
void render_subscriptions(std::string& body, const actors::stats_table& table, int64_t max_series,
                          const storage::journal* journal) {
  uint64_t delivered = 0, failed = 0, dead = 0, queued = 0, in_flight = 0;
  std::array<uint64_t, actors::latency_bucket_ms.size() + 1> latency{};
  int64_t latency_sum_ms = 0;
  for (const auto& row : table.rows) {
    const auto& st = row.stats;
    delivered += st.delivered;
    failed += st.failed_attempts;
    dead += st.dead_lettered;
    queued += st.queued;
    in_flight += st.in_flight;
    for (std::size_t i = 0; i < latency.size() && i < st.latency_buckets.size(); ++i)
      latency[i] += st.latency_buckets[i];
    latency_sum_ms += st.latency_sum_ms;
  }
  counter(body, "switchyard_deliveries_total", "Webhook deliveries answered 2xx.", delivered);
  counter(body, "switchyard_failed_attempts_total", "Webhook attempts that failed.", failed);
  counter(body, "switchyard_dead_lettered_total", "Events given up as dead letters.", dead);
  gauge(body, "switchyard_subscriptions", "Subscriptions, every kind and state.",
        std::to_string(table.rows.size()));
  gauge(body, "switchyard_queued_events", "Events queued across all subscriptions.",
        std::to_string(queued));
  gauge(body, "switchyard_deliveries_in_flight", "Deliveries in flight across all subscriptions.",
        std::to_string(in_flight));

  // Nothing queued: nothing to read from the journal.
  std::optional<int64_t> oldest;
  bool unknown = false;
  if (queued > 0 && journal) {
    auto read = journal->oldest_queued_ingest_ms();
    if (read)
      oldest = *read;
    else
      unknown = true; // a failed read is not "nothing queued"
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f",
                oldest ? static_cast<double>(std::max<int64_t>(0, now_ms() - *oldest)) / 1000.0
                       : 0.0);
  if (unknown)
    std::snprintf(buf, sizeof buf, "NaN");
  gauge(body, "switchyard_oldest_undelivered_age_seconds",
        "Age of the oldest event still queued for any subscription; 0 when none is.", buf);

  body += "# HELP switchyard_delivery_latency_seconds Time from ingest to a 2xx answer, retries "
          "included.\n# TYPE switchyard_delivery_latency_seconds histogram\n";
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < actors::latency_bucket_ms.size(); ++i) {
    cumulative += latency[i];
    std::snprintf(buf, sizeof buf, "%g",
                  static_cast<double>(actors::latency_bucket_ms[i]) / 1000.0);
    body += std::string("switchyard_delivery_latency_seconds_bucket{le=\"") + buf + "\"} " +
            std::to_string(cumulative) + "\n";
  }
  cumulative += latency.back();
  body += "switchyard_delivery_latency_seconds_bucket{le=\"+Inf\"} " + std::to_string(cumulative) +
          "\n";
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(latency_sum_ms) / 1000.0);
  body += std::string("switchyard_delivery_latency_seconds_sum ") + buf + "\n";
  body += "switchyard_delivery_latency_seconds_count " + std::to_string(cumulative) + "\n";

  std::string depth = "# HELP switchyard_queue_depth Events queued per subscription, for the "
                      "metrics.max_subscription_series deepest queues.\n"
                      "# TYPE switchyard_queue_depth gauge\n";
  std::string flight = "# HELP switchyard_in_flight Deliveries in flight per subscription, for the "
                       "metrics.max_subscription_series deepest queues.\n"
                       "# TYPE switchyard_in_flight gauge\n";
  for (const auto* row : deepest(table, max_series)) {
    const auto id = label(row->id);
    depth += "switchyard_queue_depth{subscription=\"" + id + "\"} " +
             std::to_string(row->stats.queued) + "\n";
    flight += "switchyard_in_flight{subscription=\"" + id + "\"} " +
              std::to_string(row->stats.in_flight) + "\n";
  }
  body += depth;
  body += flight;
}

transport::http_response metrics_response(std::string body) {
  transport::http_response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = std::move(body);
  return r;
}

// Returns true when `links` shows this node's link to `node` connected.
bool connected(const std::vector<cluster::link_view>& links, const std::string& node) {
  return std::any_of(links.begin(), links.end(), [&](const cluster::link_view& l) {
    return l.node == node && l.state == "connected";
  });
}

// switchyard_cluster_peer_up{peer}: 1 while this node's link to that
// member is connected. One series per member other than this node (the
// members etcd lists), so the count stays bounded by the cluster's size.
void render_peer_links(std::string& out, const cluster::cluster_view& view,
                       const cluster::peer_links& links) {
  const auto seen = links.links();
  out += "# HELP switchyard_cluster_peer_up 1 while the node-to-node link to the peer is "
         "connected.\n# TYPE switchyard_cluster_peer_up gauge\n";
  for (const auto& m : view.members) {
    if (m.node == view.node)
      continue;
    out += "switchyard_cluster_peer_up{peer=\"" + m.node + "\"} " +
           (connected(seen, m.node) ? "1" : "0") + "\n";
  }
}

// The partitions as this node sees them: how many it leads and backs up,
// how many of those it leads have fewer in-sync replicas than
// cluster.replicas (their commits then rest on fewer copies; Kafka's
// under-replicated partitions), how many have no primary (their ingest
// answers 503: every node reports the same count), the entries its
// partition logs hold (a paused or failing subscription holds its
// partition's release, and this grows) and the entries it has written as a
// primary that are not committed yet. Then, per partition it leads, the
// replication lag: the entries its slowest replica has still to fetch. The
// lag series are the only ones labelled by partition: one per partition
// led here, so the cluster as a whole exports one per partition, bounded by
// cluster.partitions (which operators set, and clients cannot grow).
void render_partitions(std::string& out, const cluster::cluster_view& view, uint32_t wanted,
                       const cluster::replicator& replicator) {
  uint64_t led = 0, backed = 0, under = 0, offline = 0, held = 0, uncommitted = 0;
  std::string lag = "# HELP switchyard_cluster_replication_lag_entries Entries of a partition "
                    "this node leads that its slowest replica has not fetched yet.\n"
                    "# TYPE switchyard_cluster_replication_lag_entries gauge\n";
  for (const auto& p : view.partitions) {
    if (p.primary.empty())
      ++offline;
    const auto r = replicator.status(p.partition);
    if (r.role == "primary") {
      ++led;
      if (p.primary == view.node && p.in_sync.size() < wanted)
        ++under;
      uncommitted += r.log_end > r.commit ? r.log_end - r.commit : 0;
      uint64_t behind = 0;
      for (const auto& [node, offset] : r.replica_offsets)
        behind = std::max(behind, r.log_end > offset ? r.log_end - offset : 0);
      lag += "switchyard_cluster_replication_lag_entries{partition=\"" +
             std::to_string(p.partition) + "\"} " + std::to_string(behind) + "\n";
    } else if (r.role == "backup") {
      ++backed;
    }
    held += r.log_end > r.log_start ? r.log_end - r.log_start : 0;
  }
  out += "# HELP switchyard_cluster_partitions Partitions this node holds a replica of, by its "
         "role.\n# TYPE switchyard_cluster_partitions gauge\n";
  out += "switchyard_cluster_partitions{role=\"primary\"} " + std::to_string(led) + "\n";
  out += "switchyard_cluster_partitions{role=\"backup\"} " + std::to_string(backed) + "\n";
  gauge(out, "switchyard_cluster_under_replicated_partitions",
        "Partitions this node leads with fewer in-sync replicas than cluster.replicas.",
        std::to_string(under));
  gauge(out, "switchyard_cluster_offline_partitions",
        "Partitions with no primary (their events are answered 503).", std::to_string(offline));
  gauge(out, "switchyard_cluster_log_entries",
        "Entries this node's partition logs hold (not yet released by every subscription).",
        std::to_string(held));
  gauge(out, "switchyard_cluster_uncommitted_entries",
        "Entries of the partitions this node leads written but not yet committed.",
        std::to_string(uncommitted));
  out += lag;
}

// The other live members this node has no connected link to, by name
// ("" when it has one to each; "its peers" while its view does not show
// itself a member yet).
std::string unlinked_peers(const cluster::membership& membership,
                           const cluster::peer_links& links) {
  const auto view = membership.view();
  const auto seen = links.links();
  // Until the view shows this node's own member key it may not list the
  // members that joined before it either.
  if (std::none_of(view.members.begin(), view.members.end(),
                   [&](const cluster::member_view& m) { return m.up && m.node == view.node; }))
    return "its peers";
  std::string missing;
  for (const auto& m : view.members) {
    if (!m.up || m.node == view.node)
      continue;
    if (!connected(seen, m.node))
      missing += (missing.empty() ? "" : ", ") + m.node;
  }
  return missing;
}

// A node starting in a cluster is ready once it has linked to every other
// live member, or once `link_wait` has passed since the first /readyz that
// found it a member (a member etcd still lists may be dead): until
// then a batch for a partition led by a peer not linked yet waits in the
// router (up to 1.5 s) before it is sent. Once ready so, a link lost later
// does not make it unready: that is a peer dying, and the survivors serve
// the failover.
struct link_gate {
  static constexpr std::chrono::seconds link_wait{5};
  std::atomic<bool> passed{false};
  std::mutex mutex;
  std::optional<std::chrono::steady_clock::time_point> since;

  // Returns "" once passed, else the peers still missing.
  std::string check(const cluster::membership& membership, const cluster::peer_links& links) {
    if (passed.load())
      return {};
    auto missing = unlinked_peers(membership, links);
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex);
    if (!since)
      since = now;
    if (missing.empty() || now - *since >= link_wait) {
      passed = true;
      return {};
    }
    return missing;
  }
};

} // namespace

void install_ops(transport::http_server& server, const api_context& ctx) {
  server.route("GET", "/healthz", [](transport::http_request&&, transport::responder respond) {
    respond(json_response(200, R"({"status":"ok"})"));
  });
  auto links = std::make_shared<link_gate>();
  server.route(
    "GET", "/readyz", [ctx, links](transport::http_request&&, transport::responder respond) {
      if (!ctx.ready->load())
        return respond(not_ready_response());
      if (ctx.cluster && !ctx.cluster->ready()) {
        return respond(error_response(503, "this node has not joined the cluster or cannot renew "
                                           "its etcd lease; check that cluster.etcd answers"));
      }
      if (ctx.cluster && ctx.links) {
        if (auto missing = links->check(*ctx.cluster, *ctx.links); !missing.empty())
          return respond(error_response(
            503, "this node has not linked to " + missing + " yet; retry shortly (at most " +
                   std::to_string(link_gate::link_wait.count()) + " s)"));
      }
      respond(json_response(200, R"({"status":"ready"})"));
    });
  server.route("GET", "/metrics", [ctx](transport::http_request&&, transport::responder respond) {
    std::string out;
    const auto& c = ctx.pipeline->counters();
    counter(out, "switchyard_events_ingested_total", "Events journaled.", c.ingested.load());
    counter(out, "switchyard_events_routed_total", "(event, subscription) pairs queued.",
            c.routed.load());
    counter(out, "switchyard_events_deduplicated_total",
            "Events dropped as repeats of a client id.", c.deduplicated.load());
    counter(out, "switchyard_journal_commits_total", "Group commits written.", c.commits.load());
    if (ctx.metrics)
      ctx.metrics->render(out);
    render_build_info(out);
    render_process_metrics(out);
    if (ctx.cluster) {
      const auto view = ctx.cluster->view();
      if (ctx.links)
        render_peer_links(out, view, *ctx.links);
      if (ctx.replicator)
        render_partitions(out, view, ctx.cluster->replicas(), *ctx.replicator);
      if (ctx.apply) {
        const auto& a = ctx.apply->counters();
        counter(out, "switchyard_cluster_progress_records_total",
                "Delivery records made while a partition's release lagged (a subscription "
                "paused, failing or slow; written to etcd unless it held the same).",
                a.progress_records.load());
        counter(out, "switchyard_cluster_redeliveries_skipped_total",
                "Entries a new primary did not queue again for a subscription that an earlier "
                "primary's record said had them delivered.",
                a.skipped_delivered.load());
      }
    }
    if (!ctx.ready->load())
      return respond(metrics_response(std::move(out)));
    ask<actors::stats_table>(*ctx.system, ctx.registry, actors::list_stats{}, std::move(respond),
                             [out = std::move(out), max = ctx.max_subscription_series,
                              journal = ctx.journal](const actors::stats_table& table) {
                               std::string body = out;
                               render_subscriptions(body, table, max, journal);
                               return metrics_response(std::move(body));
                             });
  });
}

} // namespace sy::api
