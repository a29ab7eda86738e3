#pragma once
// A subscription as switchyard stores and serves it, and its live stats.

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_writer.hpp"
#include "core/subscription_codec.hpp"

namespace sy::actors {

/// Which API created a subscription; it decides how it is shown.
/// `push_gateway` is switchyard's own (docs/api.md §5): created from
/// push.gateway_url, never listed, never matched by ordinary routing, and
/// delivered the event's `data` itself rather than the envelope. `watcher`
/// is switchyard's own too (docs/api.md §4): the one change-notification URL,
/// whose queue holds one event per subscription change, delivered the same
/// way.
enum class subscription_kind { native, dashboard, push_gateway, watcher };

/// The stored record of one subscription. Owned by the registry actor; the
/// subscriber actor holds a copy of the delivery-relevant part.
struct subscription {
  uint64_t number = 0; ///< journal key; never reused
  std::string id;      ///< public id
  subscription_kind kind = subscription_kind::native;
  std::string service;
  std::string url;
  std::vector<std::string> types;
  std::string country; ///< "" = every country
  core::delivery_mode delivery = core::delivery_mode::push;
  bool verification_required = true;
  core::subscription_state state = core::subscription_state::pending_verification;
  std::string public_key;
  std::string private_key;
  int64_t created_at = 0; ///< ms since epoch
  int64_t max_in_flight = core::default_max_in_flight;
  int64_t rate_limit = 0;
  core::egress_auth auth;
  std::string access_key;       ///< pull subscriptions
  std::string dashboard_event;  ///< dashboard facade: REGISTER, CHANGE, …
  std::string notification_key; ///< watcher: echoed in every notification
  /// The private key before the last rotate-keys: it still signs
  /// webhook-signature, after the new one, until `previous_key_until`.
  std::string previous_private_key;
  int64_t previous_key_until = 0; ///< ms since epoch; 0 = no grace

  /// Returns true for the kinds a client created (shown, routed, watched).
  bool is_client_kind() const {
    return kind == subscription_kind::native || kind == subscription_kind::dashboard;
  }
  /// Returns true for the kinds cluster mode keeps in etcd (/sy/subs/):
  /// a client's, and the change-notification watcher, which every node
  /// holds so that each tells it about the changes made through its API.
  bool is_mirrored() const { return is_client_kind() || kind == subscription_kind::watcher; }

  /// True once its endpoint proved it holds the key (or needed not to): a
  /// new url asks for verification again but does not stop queuing.
  bool verified = false;

  /// Returns true when events are queued for it: active or paused, or
  /// pending a new url's verification after an earlier one (docs/api.md §2:
  /// nothing published during a url change is lost). A subscription never
  /// verified queues nothing.
  bool receives_events() const {
    return verified || state != core::subscription_state::pending_verification;
  }

  bool operator==(const subscription&) const = default;
};

/// Returns the record as stored in the journal (JSON, with the private key).
std::string encode_subscription(const subscription& s);

/// Returns the record stored in `bytes`, or nullopt when they are corrupt.
std::optional<subscription> decode_subscription(std::string bytes);

/// Upper bounds (ms, inclusive) of the delivery latency histogram's buckets;
/// one more bucket counts the latencies above the last bound.
inline constexpr std::array<int64_t, 16> latency_bucket_ms = {
  5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 900000, 3600000};

/// Live delivery statistics of one subscription: written by its subscriber
/// actor, read by the registry and /metrics, under `mutex`.
struct subscription_stats {
  mutable std::mutex mutex;
  uint64_t queued = 0;
  uint64_t in_flight = 0;
  uint64_t delivered = 0;
  uint64_t failed_attempts = 0;
  uint64_t dead_lettered = 0;
  int64_t last_success_at = 0; ///< ms; 0 = never
  int64_t last_failure_at = 0; ///< ms; 0 = never
  std::string last_error;
  /// Ingest → 2xx, the newest 1024 in a ring (oldest overwritten at
  /// latency_next): a vector, empty until the first delivery, where a
  /// std::deque allocated ~600 B up front for every idle subscription.
  std::vector<int64_t> latencies_ms;
  std::size_t latency_next = 0;
  /// ms since epoch until which the circuit breaker holds deliveries; 0 = closed.
  int64_t backing_off_until = 0;
  /// True while the breaker lets one probe out.
  bool probing = false;
  /// ms since epoch when the next attempt is due on a timer (a breaker
  /// opening, a failed event's retry, the rate limit); 0 = none waits.
  int64_t next_attempt_at = 0;
  /// Every latency since start, by latency_bucket_ms (not cumulative).
  std::array<uint64_t, latency_bucket_ms.size() + 1> latency_buckets{};
  int64_t latency_sum_ms = 0;

  /// Records one delivery latency: keeps the newest 1024 and counts it in
  /// its histogram bucket.
  void add_latency(int64_t ms);
};

using stats_ptr = std::shared_ptr<subscription_stats>;

/// A copy of a subscription's live delivery statistics, taken under their
/// mutex: what the API shows as `stats` and what crosses actors.
struct stats_snapshot {
  uint64_t queued = 0;
  uint64_t in_flight = 0;
  uint64_t delivered = 0;
  uint64_t failed_attempts = 0;
  uint64_t dead_lettered = 0;
  int64_t last_success_at = 0; ///< ms; 0 = never
  int64_t last_failure_at = 0; ///< ms; 0 = never
  std::string last_error;
  int64_t latency_p50_ms = -1; ///< ingest → 2xx; -1 = no delivery yet
  int64_t latency_p99_ms = -1;
  int64_t backing_off_until = 0; ///< ms; 0 = the breaker is closed
  bool probing = false;
  int64_t next_attempt_at = 0; ///< ms; 0 = nothing waits on a timer
  /// The histogram of subscription_stats (per bucket, not cumulative);
  /// empty when no latency was recorded.
  std::vector<uint64_t> latency_buckets;
  int64_t latency_sum_ms = 0;

  bool operator==(const stats_snapshot&) const = default;
};

/// Returns a snapshot of `stats`.
stats_snapshot snapshot_of(const subscription_stats& stats);

/// Where a subscription lives in a cluster (docs/cluster.md).
struct placement_view {
  uint32_t partition = 0;
  std::string primary; ///< empty: no primary yet
};

/// Writes the subscription as the API shows it. The native shape carries
/// keys (the private key only when `show_private_key`), stats and, in a
/// cluster (`where` set), "partition" and "primary"; the dashboard shape is
/// {id, url, country, event}. `stats_json`, when not empty, is written as
/// the stats instead of `stats`: the JSON the node that delivers the
/// subscription rendered (a cluster's lists show that node's stats).
void write_subscription(core::json_writer& w, const subscription& s, const stats_snapshot* stats,
                        bool show_private_key, const placement_view* where = nullptr,
                        std::string_view stats_json = {});

/// Writes the stats object of docs/api.md §2.
void write_stats(core::json_writer& w, const stats_snapshot& st);

} // namespace sy::actors
