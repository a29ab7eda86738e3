#pragma once
// One actor per subscription: its queue, in-flight window, backoff,
// rate limit and stats.

#include <caf/fwd.hpp>

#include <memory>

#include "actors/subscription.hpp"

namespace sy::storage {
class journal;
}
namespace sy::transport {
class http_client;
}

namespace sy::actors {

/// Retry and delivery settings shared by every subscriber (API.md §3, §7).
struct delivery_settings {
  int64_t timeout_ms = 10000;
  int64_t initial_ms = 1000;
  double multiplier = 2.0;
  int64_t max_ms = 600000;
  int64_t max_age_ms = 72LL * 3600 * 1000;
  /// Events a subscriber keeps in memory; the rest wait in the journal.
  std::size_t memory_queue = 10000;
};

/// The services a subscriber uses; they outlive every actor.
struct subscriber_env {
  storage::journal* journal = nullptr;
  transport::http_client* client = nullptr;
  delivery_settings settings;
};

/// Spawns the subscriber actor of `sub`. `recovered` tells it that the
/// journal may already hold `queued` events for it (read back page by page).
caf::actor spawn_subscriber(caf::actor_system& sys, subscription sub, stats_ptr stats,
                            std::shared_ptr<const subscriber_env> env, bool recovered,
                            uint64_t queued);

} // namespace sy::actors
