#pragma once
// Cluster mode's last step of the data plane on a partition's primary
// (../shared/CLUSTER.md rule 5): committed partition log entries
// (cluster/partition_entry.hpp) are written to the local journal with
// queue keys for the subscriptions they list and handed to those
// subscriptions' actors, through the same group commit as single-node
// ingest (actors/ingest.hpp); once every subscription of the partition has
// delivered (or dead-lettered) an entry, the log is told it may trim there.
//
// What it keeps per partition:
//   - the tenure: the epoch this node applies as primary (0: none);
//   - the applied watermark, meta "cluster_applied.<p>" = epoch(8) next
//     offset(8), written in the same RocksDB write as the events it covers:
//     entries below it in the same epoch are never queued twice (on_commit
//     replays the log from its start after a restart); a new epoch resets it;
//   - client-id dedupe under keys scoped by partition and epoch ("\0P",
//     partition(4), epoch(8), client id): the same client id in two
//     partitions is two events; a new tenure re-applies its log from the
//     start, which must not be taken for repeats of the last tenure's;
//   - what each applied offset became locally (a segment of offsets and the
//     highest local seq among them) and, per subscription with undelivered
//     events, the highest seq queued for it: the release check compares
//     that with the head of the subscription's journal queue.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/ingest.hpp"
#include "actors/routes.hpp"

namespace caf {
class actor_system;
}
namespace sy::storage {
class journal;
}

namespace sy::actors {

class delivery_gate;

/// Subscription ids with an offset of one partition: each has had every
/// entry of the partition below its offset delivered (or dead-lettered).
using delivered_offsets = std::vector<std::pair<std::string, uint64_t>>;

/// Timings of partition_apply (tests shorten them).
struct partition_apply_options {
  /// How often delivery is checked and release called (stretched to four
  /// times a check's cost, in the checking thread's CPU time, when checks
  /// grow costly). What a takeover
  /// redelivers is what the old primary delivered within about this, a
  /// journal commit and one fetch before it died.
  std::chrono::milliseconds release_interval{10};
  /// The longest the stretch above makes the interval (a check costing
  /// more than a quarter of it runs more than a fifth of the time).
  std::chrono::milliseconds check_gap_most{1000};
  /// How long a batch the journal refused (full, failing, saturated) waits
  /// before it is submitted again.
  std::chrono::milliseconds retry_after{500};
  /// How long a reset waits for one subscriber to drop its queue.
  std::chrono::milliseconds reset_timeout{10000};
  /// The gate the subscribers read (their env's; actors/delivery_gate.hpp):
  /// opened for a partition when its tenure starts, closed by demote().
  /// Null: deliveries are not gated (then a subscriber holding recovered
  /// events of a partition this node no longer leads delivers them).
  delivery_gate* gate = nullptr;
  /// The entries apply() is given are the ones this node's partition log
  /// holds at those offsets (app/'s wiring: the replicator reads them from
  /// there, and trims an entry only once every queue passed it): the
  /// journal keeps a reference to each event's record in the log
  /// (storage::log_ref) instead of a second copy. False: each is copied
  /// (entries that are in no log, as tests feed them).
  bool reference_log = false;
  /// Per-subscription release points. A subscription that does not deliver
  /// (paused, failing) or is slow holds its partition's release, and a
  /// takeover then redelivers to the partition's other subscriptions
  /// everything since. So while a partition's release lags an entry
  /// applied `progress_after` ago or earlier, every `progress_every` the
  /// applier calls `record_progress(partition, epoch, offsets)` with the
  /// subscriptions that delivered beyond the release (at most
  /// `progress_most`, the furthest ahead), unless they are what it last
  /// recorded less than `progress_repeat` ago; and a new tenure (not a
  /// restart within one) calls `recorded_progress(partition)` and does not
  /// queue, for a subscription it lists, the entries below its offset.
  /// Unset: neither happens. A takeover redelivers to a listed subscription
  /// what it delivered within about `progress_every` before it.
  std::chrono::milliseconds progress_after{2000};
  std::chrono::milliseconds progress_every{100};
  std::chrono::milliseconds progress_repeat{30000};
  /// At most this many records a second for all partitions together (each
  /// is one etcd write): with n partitions lagging, each records every
  /// max(progress_every, n / progress_rate). 0: no bound.
  double progress_rate = 40;
  std::size_t progress_most = 2000;
  std::function<void(uint32_t, uint64_t, const delivered_offsets&)> record_progress;
  /// A partition whose release checks found it lagging `progress_after`
  /// (above) for this long without a break logs `cluster.release_held`
  /// once, naming the subscription whose undelivered event holds it; again
  /// only after a check found it caught up.
  std::chrono::milliseconds held_after{10000};
  std::function<delivered_offsets(uint32_t)> recorded_progress;
};

/// What partition_apply counted (for /metrics and tests).
struct partition_apply_counters {
  std::atomic<uint64_t> applied{0}; ///< events submitted to the journal (an entry holds several)
  std::atomic<uint64_t> replayed{
    0}; ///< events of entries below the applied watermark (not queued again)
  std::atomic<uint64_t> unknown_subscriptions{0}; ///< listed ids this node does not know (deleted)
  std::atomic<uint64_t> malformed{0};             ///< entries that did not decode (skipped, logged)
  std::atomic<uint64_t> stale{0};    ///< entries of an epoch this node was demoted from
  std::atomic<uint64_t> resets{0};   ///< subscriber queues dropped by a demote or a new tenure
  std::atomic<uint64_t> releases{0}; ///< release calls made
  std::atomic<uint64_t> checks{0};   ///< release checks run (one per release_interval)
  std::atomic<uint64_t> progress_records{0}; ///< record_progress calls made
  std::atomic<uint64_t> holds{0};            ///< cluster.release_held lines written
  /// Events a new tenure did not queue for a subscription, as the record
  /// of an earlier primary said it had their entries delivered (one per
  /// event and subscription).
  std::atomic<uint64_t> skipped_delivered{0};
};

/// Applies committed partition entries on their partition's primary.
/// Owned by app/ (cluster mode only), made after the registry and the
/// ingest pipeline and stopped before them. apply() and demote() may be
/// called from any thread (the replicator's on_commit and on_demote, on a
/// CAF worker): they queue the work and return; one thread of its own does
/// the rest — builds the submissions, waits for subscribers to reset, and
/// runs the release check — so that no CAF worker blocks on RocksDB or on
/// another actor. Per partition at most one submission is in the pipeline
/// at a time (what arrives meanwhile joins the next), so that the applied
/// watermark advances in offset order even when a write fails and is retried.
class partition_apply {
public:
  /// Makes the applier over `journal` (the node's), `pipeline` (its group
  /// commit), `routes` (the registry's routing tables: subscription ids to
  /// journal numbers and subscriber slots) for `partitions` partitions.
  /// `release(partition, epoch, offset)` is called on the applier's thread
  /// when every entry of `partition` below `offset` applied in `epoch` was
  /// delivered or dead-lettered by every subscription it was queued for.
  /// `system` carries the reset requests to the subscribers.
  partition_apply(caf::actor_system& system, storage::journal& journal, ingest_pipeline& pipeline,
                  const route_publisher& routes, uint32_t partitions,
                  std::function<void(uint32_t, uint64_t, uint64_t)> release,
                  partition_apply_options options = {});
  ~partition_apply();
  partition_apply(const partition_apply&) = delete;
  partition_apply& operator=(const partition_apply&) = delete;

  /// Queues `entries` (partition_entry bytes), committed at offsets
  /// first_offset… of `partition` in `epoch`, for the journal and the
  /// subscribers. Entries of an epoch below one demote() named are dropped.
  void apply(uint32_t partition, uint64_t epoch, uint64_t first_offset,
             std::vector<std::string> entries);

  /// Tells that this node is no longer `partition`'s primary as of `epoch`
  /// (ignored when apply() was already given a newer epoch: a new tenure
  /// has begun). When it returns, no entry of `partition` of an epoch ≤
  /// `epoch` is submitted to the journal any more, and with a gate no
  /// webhook delivery of the partition's subscriptions starts on this node
  /// (deliveries in flight complete: duplicates, the new primary redelivers
  /// from its log). Then, on the applier's thread: once the submission in
  /// the pipeline (if any) has been handed over, each subscription of the
  /// partition that has an actor is sent purge_queue (as POST …/purge does:
  /// its memory queue goes at once, its journal keys by the writer), and
  /// the next tenure starts only after every reply. Also for a partition
  /// this node has not applied since it started: its recovered queues go.
  void demote(uint32_t partition, uint64_t epoch);

  /// Runs a release check that begins after this call (release is called
  /// for what the acks written before it freed) and returns once it ended,
  /// or false at `deadline` or when stopped. For a graceful stop's drain
  /// (app/server.cpp); blocks.
  bool check_releases_now(std::chrono::steady_clock::time_point deadline);

  /// Stops the applier's thread; queued work is dropped (the log keeps it).
  /// Call before the pipeline stops.
  void stop();

  /// Returns the counters.
  const partition_apply_counters& counters() const;

  /// Returns the meta name of `partition`'s applied watermark.
  static std::string watermark_key(uint32_t partition);

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace sy::actors
