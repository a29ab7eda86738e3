#pragma once
// switchyard's configuration: conf/switchyard.toml, overridden by flags.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sy::app {

/// A bearer token and the name the log shows for it (the value never is).
struct named_token {
  std::string name;  ///< from {name = "…", token = "…"}, else "<list>#<n>" (from 1)
  std::string value; ///< the secret
  bool operator==(const named_token&) const = default;
};

/// Every setting of docs/api.md §7, with the built-in defaults.
struct config {
  // [server]
  std::string listen = "127.0.0.1:8080";
  int io_threads = 0;    ///< 0 = one per core
  int actor_threads = 0; ///< 0 = one per core
  /// Host header values accepted besides loopback names when no token is
  /// configured (docs/api.md §9: DNS rebinding).
  std::vector<std::string> allowed_hosts;
  /// HOST:PORT of a second listener serving /metrics, /healthz and /readyz
  /// without auth; "" = none.
  std::string metrics_listen;
  /// PEM certificate chain and PEM private key that make server.listen
  /// HTTPS; both or neither.
  std::string tls_cert;
  std::string tls_key;
  // [storage]
  std::string data_dir = "./data";
  bool sync = true;
  // [http]
  int64_t max_body_bytes = 1 << 20;
  int64_t max_header_bytes = 16 << 10;
  int64_t max_batch_events = 10000; ///< events per ingest request; more → 413
  int64_t read_timeout_ms = 30000;
  int64_t idle_timeout_ms = 60000;
  // [delivery]
  int64_t timeout_ms = 10000;
  // [retry]
  int64_t initial_ms = 1000;
  double multiplier = 2.0;
  int64_t max_ms = 600000;
  int64_t max_age_ms = 72LL * 3600 * 1000;
  double breaker_ratio = 0.5;        ///< failed share of the window that opens the breaker
  int64_t breaker_window_ms = 10000; ///< the breaker's sliding window
  int64_t breaker_min_attempts = 20; ///< attempts in the window before the ratio counts
  // [egress]
  bool allow_private = true; ///< the embedded default serves loopback sinks
  std::string ca_file;
  // [auth]
  std::vector<named_token> admin_tokens;
  std::vector<named_token> publish_tokens;
  /// Allows listening beyond loopback with no token (docs/api.md §9).
  bool allow_anonymous = false;
  /// Bearer tokens that may only GET /metrics.
  std::vector<named_token> metrics_tokens;
  // [pull]
  int64_t file_max_events = 10000;
  int64_t file_max_age_ms = 60000;
  // [push]
  std::string gateway_url;
  // [log]
  std::string log_level = "info";
  std::string log_format = "text"; ///< "text" or "json" (JSON lines)
  /// At most one failure-streak line per subscription, and one auth-failure
  /// line per remote address, this often.
  int64_t failure_interval_s = 60;
  /// The file lines are appended to (reopened on SIGHUP); "" = standard error.
  std::string log_file;
  // [metrics]
  /// Subscriptions (the deepest queues) given per-subscription series.
  int64_t max_subscription_series = 1000;
  // [console]
  /// Serves /console/ from this directory instead of the copy embedded in
  /// the binary ("" = embedded): for working on web/ without rebuilding.
  std::string console_dir;
  /// Most /v1/stream connections open at once (503 beyond).
  int64_t max_streams = 16;
  // [cluster] (docs/api.md §10, docs/cluster.md): absent = a single node.
  bool cluster_enabled = false;          ///< a [cluster] table was given
  std::string cluster_node;              ///< unique name of this node
  std::string cluster_listen;            ///< HOST:PORT for node-to-node traffic
  std::string cluster_advertise;         ///< what peers dial; "" = cluster_listen
  std::vector<std::string> cluster_etcd; ///< etcd client URLs
  int64_t cluster_partitions = 64;
  int64_t cluster_replicas = 3;
  int64_t cluster_min_insync = 2;
  /// How often the controller moves partitions back to their preferred
  /// replicas (seconds; 0: never).
  int64_t cluster_rebalance_every_s = 10;
  /// The TTL of this node's etcd lease (seconds): how long a node that
  /// stopped renewing it stays a member (docs/cluster.md "Membership").
  int64_t cluster_lease_ttl_s = 3;
  std::string cluster_tls_cert;
  std::string cluster_tls_key;
  std::string cluster_tls_ca;
  /// The operator's acknowledgement that events are not replicated yet.
  bool cluster_preview = false;

  bool operator==(const config&) const = default;
};

/// Says what is wrong with a configuration, naming the key.
struct config_error {
  std::string message;
};

/// Reads the TOML file at `path` over the defaults. An unknown key, a wrong
/// type or an out-of-range value is an error naming the key.
std::optional<config_error> load_config_file(const std::string& path, config& out);

/// Reads TOML text (as load_config_file does for a file); `source` names it in errors.
std::optional<config_error> load_config_text(const std::string& text, const std::string& source,
                                             config& out);

/// Checks cross-key rules (a listen address that parses, no open server on a
/// non-loopback address without tokens, no token shorter than
/// min_token_length or starting with "change-me", a complete [cluster]).
std::optional<config_error> validate_config(const config& c);

/// The shortest bearer token accepted at start-up (docs/api.md §11).
inline constexpr std::size_t min_token_length = 24;

/// Splits "host:port" ("[::1]:80" for IPv6); nullopt when malformed.
std::optional<std::pair<std::string, uint16_t>> split_host_port(const std::string& s);

} // namespace sy::app
