#pragma once
// The node's router (../shared/CLUSTER.md rule 1, "The card's router
// actor"): takes a batch that ingest already matched and split by
// partition (partition → entries, each cluster/partition_entry bytes) and
// gets every partition's entries to that partition's primary as this
// node's view of the configurations names it: a partition this node leads
// goes to the local replicator's append(), the others travel as ONE
// `route_request` per peer per group commit (split only when it would pass
// `max_message_bytes`, CLUSTER.md's ~256 KiB rule) through peer_links to
// the peer's router, which appends them to its own replicator and answers
// an outcome per partition. The caller gets one outcome per partition,
// within `timeout` whatever the peers do.
//
// The group commit: the router sends what it took at a flush that queues
// behind the batches already in its mailbox, so under load one flush
// carries many batches. Their entries of one partition travel as one part
// and are merged into as few entries as max_partition_entry_bytes allows
// (one local append per partition alike): concurrent single-event
// requests cost the peers one message and the replicas one entry, not one
// each. Every batch of a part shares its outcome.
//
// The router decides nothing: the replicator that receives an append is the
// one that accepts it (it is the primary of the epoch it applied) or refuses
// it (`not_primary`), so a stale view costs a 503 and a retry, never an
// entry committed by a deposed primary.
//
// Made and owned by app/server.cpp in cluster mode (and the tests), after
// peer_links and the replicator, both of which must outlive it. route(),
// counters() and stop() may be called from any thread; `done` runs on a
// CAF worker.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/replication.hpp"

namespace caf {
class actor_system;
}

namespace sy::cluster {

class peer_links;
class replicator;

/// How one partition of a routed batch ended.
enum class route_outcome : uint8_t {
  committed,        ///< every in-sync replica of the partition stored its entries
  not_primary,      ///< the node named primary is not (any more), or none is known yet
  below_min_insync, ///< the partition's in-sync set is below cluster.min_insync
  failed,           ///< the primary could not write, or the answer made no sense
  timeout,          ///< no answer within router_options::timeout
  unreachable,      ///< no link to the partition's primary, or it dropped with the part in flight
};

/// Returns the outcome's name ("committed", …), for logs, 503 bodies and tests.
const char* to_string(route_outcome o);

/// Every partition of a batch and its entries (cluster/partition_entry bytes).
using routed_batch = std::map<uint32_t, std::vector<std::string>>;

/// One outcome per partition of a routed batch.
using route_outcomes = std::map<uint32_t, route_outcome>;

/// What the router needs.
struct router_options {
  std::string node; ///< cluster.node
  /// Returns each partition's configuration as this node last saw it
  /// (configurations_of(membership.view())); called on a CAF worker at most
  /// every `refresh_every` while batches come in, so it must be thread-safe.
  std::function<std::map<uint32_t, configuration>()> configurations;
  std::chrono::milliseconds refresh_every{100};
  /// A batch's partitions still unanswered after this are `timeout`. A
  /// peer gives the appends of a request three quarters of it, then answers
  /// what committed and `timeout` for the rest, so that one held partition
  /// does not make the others of its request time out at the asker.
  /// Deadlines are met by a sweep every timeout / 20 (5–100 ms) while any
  /// is set, so up to that late (request_deadlines.hpp).
  std::chrono::milliseconds timeout{3000};
  /// The most entry bytes one route_request carries; a peer's part of a
  /// batch that is larger travels as several (an entry larger than this
  /// alone goes alone).
  std::size_t max_message_bytes = 256 * 1024;
  /// A partition answered `not_primary` (by the node named primary, or
  /// because none is known yet), or `unreachable` before it was sent (no
  /// link to its primary yet, as in a node's first second), with none of
  /// its entries written is routed again every `retry_every`, by the
  /// configurations as they are then, for up to `retry_for` after the batch
  /// was taken — a failover's new primary is usually known, and a new link
  /// up, within it — and answered with that refusal after. So is one
  /// answered `below_min_insync` while its configuration, as this node
  /// sees it, has `min_insync` in-sync replicas (its primary has not
  /// applied it yet) or names a replica outside the in-sync set (one
  /// catching up, as a node that has just returned: its proposal usually
  /// lifts the partition within it); otherwise it is answered at once.
  /// A partition any part of which may have been written (timeout,
  /// failed, a link lost with it in flight) is never routed again. 0: not
  /// retried.
  std::chrono::milliseconds retry_for{1500};
  std::chrono::milliseconds retry_every{100};
  /// cluster.min_insync, for the `below_min_insync` retries above.
  std::size_t min_insync = 1;
};

/// What the router counted since it started (tests, /metrics later).
struct router_counters {
  /// route_requests sent, by peer.
  std::map<std::string, uint64_t> sent;
  /// route_requests served for peers.
  uint64_t served = 0;
  /// Partitions routed again after a refusal (router_options::retry_for).
  uint64_t retried = 0;
};

/// The node's router.
class router {
public:
  /// Spawns the router actor in `system` and attaches it to `links`, so that
  /// peers' route_requests reach it; `local` takes the appends of the
  /// partitions this node leads. Both must outlive this object.
  router(caf::actor_system& system, peer_links& links, replicator& local, router_options options);
  /// Stops (see stop()).
  ~router();
  router(const router&) = delete;
  router& operator=(const router&) = delete;

  /// Routes `batch` to its partitions' primaries and calls `done` once with
  /// an outcome for every partition of `batch`, at the latest `timeout`
  /// (plus one sweep) after the router took it. Thread-safe; `done` runs on a CAF worker
  /// (`failed` for every partition if the router stopped first).
  void route(routed_batch batch, std::function<void(route_outcomes)> done);

  /// Returns how many batches route() took that are not answered yet.
  int64_t in_flight() const;

  /// Returns what the router counted.
  router_counters counters() const;

  /// Ends the actor and waits for it; batches in flight are answered `failed`.
  void stop();

private:
  struct impl; // the actor handle and the counters: keeps CAF out of this header
  std::unique_ptr<impl> impl_;
};

} // namespace sy::cluster
