#pragma once
// Where a subscription's subscriber actor lives, spawned on its first need
// (issue 11): an idle subscription costs its record and one block for this
// slot and its stats, not an actor (~10 KB each, most of start-up's time and
// memory at 100 000).

#include <caf/actor.hpp>

#include <atomic>
#include <memory>
#include <mutex>

#include "actors/subscriber.hpp"

namespace sy::actors {

/// Holds the subscriber actor of one subscription, spawned on first need,
/// and the subscription's live stats (one allocation for both: make it
/// with std::make_shared). The registry makes one per subscription and
/// shares it with the route tables; the ingest's commit thread calls get()
/// for each routed event (one acquire load once the actor runs), the
/// registry calls the rest. Every path to a subscriber goes through get(),
/// so whoever comes first spawns it, exactly once, with a copy of the
/// subscription's record as it is then. The slot reads that record where
/// the registry keeps it (no copy per idle subscription): the registry
/// changes it only through update(), under the slot's mutex, and keeps it
/// until it has called close(), after which the slot never reads it again.
/// Once closed (deleted, or the registry stopped) no actor is spawned any
/// more, so none outlives the registry to hang ~actor_system.
class subscriber_slot : public std::enable_shared_from_this<subscriber_slot> {
public:
  /// Makes an empty slot for the subscription whose record is `*record`
  /// (the registry's, see the class comment); nothing runs until get() or start().
  subscriber_slot(caf::actor_system& sys, subscription* record,
                  std::shared_ptr<const subscriber_env> env);
  /// Adopts `actor`, already running (tests that stand in for a subscriber).
  explicit subscriber_slot(caf::actor actor);
  subscriber_slot(const subscriber_slot&) = delete;
  subscriber_slot& operator=(const subscriber_slot&) = delete;

  /// Returns the subscription's live stats; the pointer keeps this slot
  /// alive (it lives in the slot's allocation).
  stats_ptr stats() { return stats_ptr(shared_from_this(), &stats_); }
  /// Returns the actor, spawning it (with an empty queue) when none runs
  /// yet; a null handle once closed before any was spawned.
  const caf::actor& get();
  /// Spawns the actor now, told that the journal holds `queued` of its
  /// events from before the restart (recovery); a no-op when one runs.
  void start(uint64_t queued);
  /// Returns true once the actor was spawned.
  bool spawned() const { return live_.load(std::memory_order_acquire); }
  /// Replaces the registry's record with `next` and hands a copy to the
  /// actor, if one runs (else the spawn copies the new record).
  void update(subscription next);
  /// Stops the actor, if any, and spawns none (nor reads the record) from now on.
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
  subscription* record_ = nullptr; ///< the registry's; read under mutex_ until closed
  std::shared_ptr<const subscriber_env> env_;
  subscription_stats stats_;
};

} // namespace sy::actors
