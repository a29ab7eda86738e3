#pragma once
// Where a subscription's subscriber actor lives, spawned on its first need
// (issue 11): an idle subscription costs its record and its stats, not an
// actor (~10 KB each, most of start-up's time and memory at 100 000).

#include <caf/actor.hpp>

#include <atomic>
#include <memory>
#include <mutex>

#include "actors/subscriber.hpp"

namespace sy::actors {

/// Holds the subscriber actor of one subscription, spawned on first need.
/// The registry makes one per subscription and shares it with the route
/// tables; the ingest's commit thread calls get() for each routed event
/// (one acquire load once the actor runs), the registry calls the rest.
/// Every path to a subscriber goes through get(), so whoever comes first
/// spawns it, exactly once, with the subscription's current record; once
/// closed (deleted, or the registry stopped) no actor is spawned any more,
/// so none outlives the registry to hang ~actor_system.
class subscriber_slot {
public:
  /// Makes an empty slot for `sub`; nothing runs until get() or start().
  subscriber_slot(caf::actor_system& sys, subscription sub, stats_ptr stats,
                  std::shared_ptr<const subscriber_env> env);
  /// Adopts `actor`, already running (tests that stand in for a subscriber).
  explicit subscriber_slot(caf::actor actor);
  subscriber_slot(const subscriber_slot&) = delete;
  subscriber_slot& operator=(const subscriber_slot&) = delete;

  /// Returns the actor, spawning it (with an empty queue) when none runs
  /// yet; a null handle once closed before any was spawned.
  const caf::actor& get();
  /// Spawns the actor now, told that the journal holds `queued` of its
  /// events from before the restart (recovery); a no-op when one runs.
  void start(uint64_t queued);
  /// Returns true once the actor was spawned.
  bool spawned() const { return live_.load(std::memory_order_acquire); }
  /// Hands `sub`, the subscription's new record, to the actor, or keeps it
  /// for the spawn when none runs.
  void update(const subscription& sub);
  /// Stops the actor, if any, and spawns none from now on.
  void close();

private:
  void spawn_locked(bool recovered, uint64_t queued);

  std::mutex mutex_;
  // Set (release) once actor_ is written, which then never changes: get()
  // reads actor_ without the mutex after seeing it.
  std::atomic<bool> live_{false};
  caf::actor actor_;
  bool closed_ = false;
  caf::actor_system* system_ = nullptr;
  subscription sub_; ///< the record to spawn with; moved into the actor
  stats_ptr stats_;
  std::shared_ptr<const subscriber_env> env_;
};

} // namespace sy::actors
