#pragma once
// Cluster-mode ingest (docs/cluster.md, ../shared/CLUSTER.md rule 1): a
// batch matched on the I/O thread as on a single node is given its event
// ids (sequence numbers reserved from this node's journal), split by the
// partitions of the subscriptions each event matched, and handed to the
// node's router as partition entries (cluster/partition_entry.hpp: one
// per partition the batch touches, more when it passes
// max_partition_entry_bytes). The
// producer hears 202 only once every partition of the batch committed (every
// in-sync replica stored it), else 503 with Retry-After naming the cause.
//
// An event that matches no subscription is answered 202 with its id and
// stored nowhere: it has no partition, and no subscription could ever be
// owed it (a single node journals it, with no queue entry, until garbage
// collection).
//
// Used only when app/server.cpp sets api_context::cluster_ingest; a single
// node never reaches this file. Thread-safety: submit_to_cluster() may be
// called from any thread; `done` runs on a CAF worker.

#include <cstdint>

#include "actors/ingest.hpp"

namespace sy::storage {
class journal;
}
namespace sy::cluster {
class router;
}

namespace sy::api {

/// What cluster-mode ingest needs; everything outlives the server.
struct cluster_ingest {
  cluster::router* router = nullptr;
  /// Hands out the events' sequence numbers (their ids).
  storage::journal* journal = nullptr;
  /// cluster.partitions.
  uint32_t partitions = 0;
};

/// Gives the events of `s` their ids, routes them to their partitions'
/// primaries and calls `s.done` once: 202 with every event's sequence
/// number when every partition committed, else 503 and why.
void submit_to_cluster(const cluster_ingest& c, actors::ingest_submission s);

/// Returns the 503 message for a batch whose partition `partition` ended
/// `outcome` (a cluster::route_outcome's name) while `failed` of `total`
/// partitions did not commit: the cause and what the producer should do.
std::string cluster_ingest_error(uint32_t partition, const char* outcome, std::size_t failed,
                                 std::size_t total);

} // namespace sy::api
