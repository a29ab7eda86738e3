#pragma once
// The HTTP API: installs every handler group on the server.

#include "actors/messages.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace sy::transport {
class http_server;
class http_client;
struct http_request;
} // namespace sy::transport
namespace sy::log {
class rate_limit;
} // namespace sy::log
namespace sy::storage {
class journal;
class backup_runner;
} // namespace sy::storage
namespace sy::actors {
class partition_apply;
class route_publisher;
class event_type_publisher;
class ingest_pipeline;
class live_feed;
} // namespace sy::actors
namespace sy::cluster {
class membership;
class peer_links;
class replicator;
} // namespace sy::cluster

namespace sy::api {

class http_metrics;
struct cluster_ingest;

/// A bearer token and the name the log shows for it.
struct named_token {
  std::string name;
  std::string value;
};

/// The bearer tokens of auth.admin_tokens, auth.publish_tokens and
/// auth.metrics_tokens.
struct auth_tokens {
  std::vector<named_token> admin;
  std::vector<named_token> publish;
  std::vector<named_token> metrics;
  /// Returns true when any token is configured (then every request needs one).
  bool any() const { return !admin.empty() || !publish.empty() || !metrics.empty(); }
};

/// The tokens in force, swapped whole by a SIGHUP reload while I/O threads
/// read them: each request takes one snapshot.
class token_store {
public:
  /// Makes a store holding `initial`.
  explicit token_store(auth_tokens initial = {})
      : current_(std::make_shared<const auth_tokens>(std::move(initial))) {}
  /// Returns the tokens in force.
  std::shared_ptr<const auth_tokens> get() const { return current_.load(); }
  /// Replaces the tokens; requests already checked keep their snapshot.
  void set(auth_tokens next) {
    current_.store(std::make_shared<const auth_tokens>(std::move(next)));
  }

private:
  std::atomic<std::shared_ptr<const auth_tokens>> current_;
};

/// What the handlers reach; everything outlives the server.
struct api_context {
  actors::route_publisher* routes = nullptr;
  actors::event_type_publisher* event_types = nullptr;
  actors::ingest_pipeline* pipeline = nullptr;
  actors::registry_actor registry;
  caf::actor_system* system = nullptr;
  std::atomic<bool>* ready = nullptr;
  /// auth.*_tokens; never null.
  std::shared_ptr<token_store> tokens = std::make_shared<token_store>();
  /// server.allowed_hosts: Host values accepted besides loopback names when
  /// no token is configured.
  std::vector<std::string> allowed_hosts;
  std::shared_ptr<http_metrics> metrics;
  /// metrics.max_subscription_series: subscriptions (the deepest queues)
  /// given per-subscription series on /metrics.
  int64_t max_subscription_series = 1000;
  /// http.max_batch_events: most events one ingest request may carry (413 beyond).
  std::size_t max_batch_events = 10000;
  /// Read by /metrics for the age of the oldest undelivered event.
  const storage::journal* journal = nullptr;
  /// Runs POST /v1/admin/backup.
  storage::backup_runner* backups = nullptr;
  /// console.dir: serve /console/ from here instead of the embedded copy.
  std::string console_dir;
  /// Keeps auth-failure lines to one per remote address per
  /// log.failure_interval_s; null: every failure is logged.
  std::shared_ptr<log::rate_limit> auth_failures;
  /// Shows attempts and state changes to the open /v1/stream connections.
  actors::live_feed* feed = nullptr;
  /// console.max_streams: most /v1/stream connections open at once.
  int64_t max_streams = 16;
  /// How many /v1/stream connections are open (shared by the handlers' copies).
  std::shared_ptr<std::atomic<int64_t>> open_streams = std::make_shared<std::atomic<int64_t>>(0);
  /// This node's cluster membership ([cluster]); null on a single node.
  const cluster::membership* cluster = nullptr;
  /// Passes requests about a subscription's delivery state on to its
  /// partition's primary ([cluster]; api/primary_forward.cpp); null on a
  /// single node.
  transport::http_client* forward = nullptr;
  /// This node's links to the other members ([cluster]); null on a single node.
  const cluster::peer_links* links = nullptr;
  /// The partition logs (cluster mode's data plane): GET /v1/cluster shows
  /// each partition's local replica.
  const cluster::replicator* replicator = nullptr;
  /// The primary's last step (committed entries → journal, subscribers):
  /// /metrics shows what its per-subscription release points did.
  const actors::partition_apply* apply = nullptr;
  /// Cluster-mode ingest (api/cluster_ingest.hpp): when set, every ingest
  /// path (POST /v1/events, POST /v1/event, sendToList) routes its batches
  /// to the partitions' primaries instead of the local pipeline. Null on a
  /// single node.
  const cluster_ingest* to_cluster = nullptr;
};

/// Returns the name of the token `req` carries ("anonymous" when no token is
/// configured, "unknown" when it matches none): for the log, never the value.
std::string token_name(const api_context& ctx, const transport::http_request& req);

/// Adds every route of docs/api.md, the auth and content-type filter and the
/// metrics observer to `server`.
void install(transport::http_server& server, const api_context& ctx);

/// Adds only /metrics, /healthz and /readyz, with no auth filter, and the
/// metrics observer to `server`: the listener of server.metrics_listen.
void install_metrics_listener(transport::http_server& server, const api_context& ctx);

} // namespace sy::api
