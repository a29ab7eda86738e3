#pragma once
// One actor per subscription: its queue, in-flight window, backoff,
// rate limit and stats.

#include <caf/fwd.hpp>

#include <functional>
#include <memory>

#include "actors/subscription.hpp"

namespace sy::core {
class clock;
}
namespace sy::storage {
class blocking_worker;
class journal;
struct stored_event;
} // namespace sy::storage
namespace sy::transport {
class http_client;
struct client_request;
struct client_response;
} // namespace sy::transport

namespace sy::actors {

class delivery_gate;
class live_feed;

/// Retry and delivery settings shared by every subscriber (docs/api.md §3, §7).
struct delivery_settings {
  int64_t timeout_ms = 10000;
  int64_t initial_ms = 1000;
  double multiplier = 2.0;
  int64_t max_ms = 600000;
  int64_t max_age_ms = 72LL * 3600 * 1000;
  /// The circuit breaker (retry.breaker_ratio, _window_ms, _min_attempts).
  double breaker_ratio = 0.5;
  int64_t breaker_window_ms = 10000;
  int64_t breaker_min_attempts = 20;
  /// Events a subscriber keeps in memory; the rest wait in the journal.
  std::size_t memory_queue = 10000;
  /// A pull subscriber seals its open file at this many events (pull.file_max_events)…
  int64_t pull_file_max_events = 10000;
  /// …or once its first event is this old (pull.file_max_age_ms).
  int64_t pull_file_max_age_ms = 60000;
  /// At most one failure-streak log line per subscription this often
  /// (log.failure_interval_s, in ms).
  int64_t failure_log_interval_ms = 60000;
};

/// The services a subscriber uses; they outlive every actor.
struct subscriber_env {
  storage::journal* journal = nullptr;
  /// Runs the synced journal writes (dead letters, purge, replay) off the
  /// CAF workers; when null (tests) they run on the actor's own thread.
  storage::blocking_worker* writer = nullptr;
  transport::http_client* client = nullptr;
  /// Shows each delivery attempt to the open /v1/stream connections; null
  /// in tests that watch none.
  live_feed* feed = nullptr;
  /// Sends a subscriber's requests instead of `client` when set: a test
  /// answers them itself (the production path leaves it empty). Calls
  /// `done` exactly once, never inside the call, as http_client::send does.
  std::function<void(transport::client_request, std::function<void(transport::client_response)>)>
    send;
  delivery_settings settings;
  /// Reads time for every delay and age (core::system_clock() when null).
  const core::clock* clock = nullptr;
  /// Cluster mode: a client subscription's webhook deliveries start only
  /// while its partition is open here (actors/delivery_gate.hpp), and count
  /// what they have in flight there for a graceful stop; null: always.
  delivery_gate* gate = nullptr;
  /// Seeds each subscriber's jitter (mixed with its number, so that
  /// subscriptions failing together do not retry in step).
  uint64_t seed = 0;
};

/// Most sealed files one GET /v1/eventfiles lists.
inline constexpr uint64_t max_listed_files = 10;

/// Returns the envelope `e` is delivered in to `sub` (docs/api.md §3): the webhook
/// body and one line of a pull file.
std::string envelope_body(const subscription& sub, const storage::stored_event& e);

/// Spawns the subscriber actor of `sub`: a webhook deliverer, or for a pull
/// subscription the keeper of its files (actors/pull_subscriber.cpp). `recovered` tells it that the
/// journal may already hold `queued` events for it (read back page by page).
caf::actor spawn_subscriber(caf::actor_system& sys, subscription sub, stats_ptr stats,
                            std::shared_ptr<const subscriber_env> env, bool recovered,
                            uint64_t queued);

/// Spawns the actor of pull subscription `sub`: it groups the queued events
/// into files and serves them (docs/api.md §4).
caf::actor spawn_pull_subscriber(caf::actor_system& sys, subscription sub, stats_ptr stats,
                                 std::shared_ptr<const subscriber_env> env, bool recovered);

} // namespace sy::actors
