#pragma once
// The HTTP API: installs every handler group on the server.

#include "actors/messages.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace sy::transport {
class http_server;
}
namespace sy::storage {
class journal;
}
namespace sy::actors {
class route_publisher;
class event_type_publisher;
class ingest_pipeline;
}

namespace sy::api {

class http_metrics;

/// What the handlers reach; everything outlives the server.
struct api_context {
  actors::route_publisher* routes = nullptr;
  actors::event_type_publisher* event_types = nullptr;
  actors::ingest_pipeline* pipeline = nullptr;
  actors::registry_actor registry;
  caf::actor_system* system = nullptr;
  std::atomic<bool>* ready = nullptr;
  std::vector<std::string> admin_tokens;
  std::vector<std::string> publish_tokens;
  /// server.allowed_hosts: Host values accepted besides loopback names when
  /// no token is configured.
  std::vector<std::string> allowed_hosts;
  std::shared_ptr<http_metrics> metrics;
  /// auth.metrics_tokens: bearer tokens that may only GET /metrics.
  std::vector<std::string> metrics_tokens;
  /// metrics.max_subscription_series: subscriptions (the deepest queues)
  /// given per-subscription series on /metrics.
  int64_t max_subscription_series = 1000;
  /// http.max_batch_events: most events one ingest request may carry (413 beyond).
  std::size_t max_batch_events = 10000;
  /// Read by /metrics for the age of the oldest undelivered event.
  const storage::journal* journal = nullptr;
};

/// Adds every route of docs/api.md, the auth and content-type filter and the
/// metrics observer to `server`.
void install(transport::http_server& server, const api_context& ctx);

/// Adds only /metrics, /healthz and /readyz, with no auth filter, and the
/// metrics observer to `server`: the listener of server.metrics_listen.
void install_metrics_listener(transport::http_server& server, const api_context& ctx);

} // namespace sy::api
