#pragma once
// Which partitions' subscriptions may deliver on this node (cluster mode,
// ../shared/CLUSTER.md rule 5: only a partition's primary runs its
// subscribers). One flag per partition, closed until partition_apply
// (actors/cluster_apply.hpp) starts a tenure there and closed again by its
// demote(); a webhook subscriber of a client subscription reads its
// partition's flag before each delivery it starts. A single node has no
// gate (subscriber_env::gate null) and pays nothing.
//
// The flags also close, all at once, when this node's membership lease is
// not known to be alive: a node stopped (SIGSTOP, a long pause) or cut off
// from etcd past the lease's end has been replaced as primary, and learns
// of it only when its watch catches up; until then it would deliver what
// the new primary redelivers. cluster/membership.hpp tells the gate how
// long the lease lasts after each renewal etcd accepted.
//
// A graceful stop (SIGTERM) drains: close_all() closes every flag, the
// subscribers count their deliveries in flight and their delivered events
// whose queue keys are not deleted yet (pending()), and app/ waits for that
// count to reach zero before the release point goes to the backups and the
// lease is revoked, so that the successor redelivers almost nothing
// (docs/cluster.md "Rolling restart").

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "cluster/placement.hpp"

namespace sy::actors {

/// The per-partition delivery flags. Made by app/ before the subscribers'
/// env and shared by pointer; set by partition_apply, read by every
/// subscriber actor (any thread).
class delivery_gate {
public:
  /// Makes the gate of `partitions` partitions, every one closed.
  explicit delivery_gate(uint32_t partitions) : partitions_(partitions), open_(partitions) {}
  delivery_gate(const delivery_gate&) = delete;
  delivery_gate& operator=(const delivery_gate&) = delete;

  /// Returns the partition of subscription `id` (cluster/placement.hpp).
  uint32_t partition_of(std::string_view id) const {
    return cluster::partition_of(id, partitions_);
  }
  /// Returns true while subscriptions of `partition` may start deliveries
  /// here: this node leads it and its lease is alive.
  bool open(uint32_t partition) const {
    return leads(partition) && lease_alive() && !closed_.load(std::memory_order_acquire);
  }
  /// Returns true while this node leads `partition` (its flag is set).
  bool leads(uint32_t partition) const {
    return partition < partitions_ && open_[partition].load(std::memory_order_acquire);
  }
  /// Returns false once the lease's last known end has passed (true until
  /// the first hold_lease_until()).
  bool lease_alive() const {
    return clock::now().time_since_epoch().count() < lease_end_.load(std::memory_order_acquire);
  }
  /// Records that this node's lease lasts at least until `end` (the send
  /// time of a renewal etcd accepted plus the TTL).
  void hold_lease_until(std::chrono::steady_clock::time_point end) {
    lease_end_.store(end.time_since_epoch().count(), std::memory_order_release);
  }
  /// Opens or closes `partition`; a delivery that reads the flag after this
  /// returns sees it.
  void set(uint32_t partition, bool open) {
    if (partition < partitions_)
      open_[partition].store(open, std::memory_order_seq_cst);
  }

  /// Closes every partition for good (a graceful stop's drain): a delivery
  /// that reads a flag after this returns sees it closed.
  void close_all() { closed_.store(true, std::memory_order_seq_cst); }
  /// Adds `n` (negative: removes) to what the subscribers have delivered or
  /// are delivering and not yet recorded in the journal.
  void add_pending(int64_t n) { pending_.fetch_add(n, std::memory_order_acq_rel); }
  /// Returns the count add_pending() keeps.
  int64_t pending() const { return pending_.load(std::memory_order_acquire); }

private:
  using clock = std::chrono::steady_clock;
  uint32_t partitions_;
  std::vector<std::atomic<bool>> open_;
  std::atomic<clock::rep> lease_end_{std::numeric_limits<clock::rep>::max()};
  std::atomic<bool> closed_{false};
  std::atomic<int64_t> pending_{0};
};

} // namespace sy::actors
