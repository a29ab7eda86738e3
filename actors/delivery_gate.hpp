#pragma once
// Which partitions' subscriptions may deliver on this node (cluster mode,
// ../shared/CLUSTER.md rule 5: only a partition's primary runs its
// subscribers). One flag per partition, closed until partition_apply
// (actors/cluster_apply.hpp) starts a tenure there and closed again by its
// demote(); a webhook subscriber of a client subscription reads its
// partition's flag before each delivery it starts. A single node has no
// gate (subscriber_env::gate null) and pays nothing.

#include <atomic>
#include <cstdint>
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
  /// Returns true while subscriptions of `partition` may start deliveries here.
  bool open(uint32_t partition) const {
    return partition < partitions_ && open_[partition].load(std::memory_order_acquire);
  }
  /// Opens or closes `partition`; a delivery that reads the flag after this
  /// returns sees it.
  void set(uint32_t partition, bool open) {
    if (partition < partitions_)
      open_[partition].store(open, std::memory_order_seq_cst);
  }

private:
  uint32_t partitions_;
  std::vector<std::atomic<bool>> open_;
};

} // namespace sy::actors
