#pragma once
// Where a subscription lives in a cluster (../shared/CLUSTER.md,
// "Partitions"): partition = hash(id) mod P, stable forever; a partition's
// replicas = the R live members of highest rendezvous weight hash(p, node),
// so a member joining or leaving moves only the partitions whose top R
// changed. Pure functions, identical on every node and every version: the
// hash is fixed (FNV-1a 64 finished with splitmix64) and must never change
// once a cluster exists.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sy::cluster {

/// Returns the stable 64-bit hash of `bytes` that placement uses.
uint64_t placement_hash(std::string_view bytes);

/// Returns the partition (0 … partitions-1) of subscription `id`;
/// `partitions` must be at least 1.
uint32_t partition_of(std::string_view id, uint32_t partitions);

/// Returns the rendezvous weight of `node` for `partition`.
uint64_t rendezvous_weight(uint32_t partition, std::string_view node);

/// Returns the `replicas` members of highest weight for `partition`, the
/// highest first (the preferred primary); all of them, so ordered, when
/// fewer members exist. Ties (equal weights) break by node name.
std::vector<std::string> replicas_of(uint32_t partition, const std::vector<std::string>& members,
                                     uint32_t replicas);

} // namespace sy::cluster
