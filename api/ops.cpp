// /healthz, /readyz, /metrics (docs/api.md §6).

#include "actors/ingest.hpp"
#include "api/common.hpp"
#include "api/metrics.hpp"

namespace sy::api {

namespace {

void counter(std::string& out, const char* name, const char* help, uint64_t v) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
         " " + std::to_string(v) + "\n";
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

} // namespace

void install_ops(transport::http_server& server, const api_context& ctx) {
  server.route("GET", "/healthz", [](transport::http_request&&, transport::responder respond) {
    respond(json_response(200, R"({"status":"ok"})"));
  });
  server.route("GET", "/readyz", [ctx](transport::http_request&&, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    respond(json_response(200, R"({"status":"ready"})"));
  });
  server.route("GET", "/metrics", [ctx](transport::http_request&&, transport::responder respond) {
    std::string out;
    const auto& c = ctx.pipeline->counters();
    counter(out, "switchyard_events_ingested_total", "Events journaled.", c.ingested.load());
    counter(out, "switchyard_events_routed_total", "(event, subscription) pairs queued.",
            c.routed.load());
    counter(out, "switchyard_events_deduplicated_total", "Events dropped as repeats of a client id.",
            c.deduplicated.load());
    counter(out, "switchyard_journal_commits_total", "Group commits written.", c.commits.load());
    if (ctx.metrics)
      ctx.metrics->render(out);
    if (!ctx.ready->load()) {
      transport::http_response r;
      r.content_type = "text/plain; version=0.0.4";
      r.body = std::move(out);
      return respond(std::move(r));
    }
    ask<actors::stats_table>(
      *ctx.system, ctx.registry, actors::list_stats{}, std::move(respond),
      [out = std::move(out)](const actors::stats_table& table) {
        std::string body = out;
        uint64_t delivered = 0, failed = 0, dead = 0;
        std::string depth =
          "# HELP switchyard_queue_depth Events queued per subscription.\n"
          "# TYPE switchyard_queue_depth gauge\n";
        std::string in_flight =
          "# HELP switchyard_in_flight Deliveries in flight per subscription.\n"
          "# TYPE switchyard_in_flight gauge\n";
        for (const auto& row : table.rows) {
          const auto& stats = row.stats;
          delivered += stats.delivered;
          failed += stats.failed_attempts;
          dead += stats.dead_lettered;
          depth += "switchyard_queue_depth{subscription=\"" + label(row.id) + "\"} " +
                   std::to_string(stats.queued) + "\n";
          in_flight += "switchyard_in_flight{subscription=\"" + label(row.id) + "\"} " +
                       std::to_string(stats.in_flight) + "\n";
        }
        counter(body, "switchyard_deliveries_total", "Webhook deliveries answered 2xx.", delivered);
        counter(body, "switchyard_failed_attempts_total", "Webhook attempts that failed.", failed);
        counter(body, "switchyard_dead_lettered_total", "Events given up as dead letters.", dead);
        body += depth;
        body += in_flight;
        transport::http_response r;
        r.content_type = "text/plain; version=0.0.4";
        r.body = std::move(body);
        return r;
      });
  });
}

} // namespace sy::api
