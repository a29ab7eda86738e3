#pragma once
// The data plane's replication running between nodes (../shared/CLUSTER.md
// rules 2–4, docs/cluster.md): one `replicator` actor per node owns, for
// each partition this node replicates, the partition's log
// (storage/partition_log) and a primary_state or backup_state
// (cluster/replication.hpp), and drives them:
// - it applies each partition's configuration as `configurations` returns
//   it (polled, as peer_links polls the members);
// - as a backup, it runs epoch-end query → truncate → fetch → append →
//   fetch … against the primary through peer_links, one request in flight
//   per partition; a refused or failed request starts the partition's
//   backup again from its log after a short pause (fetches are idempotent);
// - as the primary, it serves fetches and epoch-end queries (a fetch with
//   nothing new is parked for up to `long_poll` and answered as soon as
//   entries are durable) and commits appends once every member of the
//   in-sync set stored them, and hands every committed entry to
//   `on_commit` (the node's apply: journal, queue, deliver), in offset order,
//   from the log's start on when it becomes primary (CLUSTER.md rule 5: a
//   takeover may redeliver, never lose); release() trims the log below
//   what was delivered, and the backups trim to the primary's start.
//
// Why one actor per node, not one per partition: with 64 partitions on 2
// cores, 64 actors would only add mailboxes and timers; the states are
// small, the work per message is a RocksDB read or one synced write, and
// one actor keeps one poll of the configurations and one routing table.
//
// The server wires on_commit to the partition apply (actors/cluster_apply)
// and the apply's release to release(). Thread-safety: append(), release(), status() and stop() may
// be called from any thread; the callbacks run on a CAF worker, one at a
// time (the replicator actor's), and must not block long.

#include <chrono>
#include <cstddef>
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

namespace sy::storage {
class journal;
}

namespace sy::cluster {

class peer_links;
struct cluster_view;

/// How an append ended.
enum class append_outcome : uint8_t {
  committed,        ///< every member of the in-sync set stored the entries
  not_primary,      ///< this node is not the partition's primary (any more): retry elsewhere
  below_min_insync, ///< the in-sync set is smaller than min_insync
  failed,           ///< the local write failed, or the partition is not replicated here
  /// Written here, then this node stopped being the primary before it
  /// committed: the successor may still commit it (if a backup fetched
  /// it), so it is not known whether it will be delivered — not to be sent
  /// again by the asker (a second copy would be delivered twice).
  ///
  /// Such an append is not answered at once: it is held until this node's
  /// log, following the successor as a backup, tells its fate: `committed`
  /// once the successor's commit offset passed it, `not_primary` when the
  /// successor's log holds none of it (the asker routes it again), and
  /// `deposed` only when the successor holds a part of it, when nothing told
  /// within request_timeout, or when this node leads or leaves the
  /// partition first.
  deposed,
};

/// Returns the outcome's name ("committed", …), for logs and tests.
const char* to_string(append_outcome o);

/// Returns the partition configurations of `view` (membership::view()),
/// for replicator_options::configurations; a partition with no epoch yet
/// (not assigned) is left out.
std::map<uint32_t, configuration> configurations_of(const cluster_view& view);

/// Most entries one on_commit call carries.
inline constexpr std::size_t max_commit_entries = 4096;
/// Most entry bytes one on_commit call carries (an entry larger goes alone).
inline constexpr std::size_t max_commit_bytes = 1024u * 1024;

/// What the replicator needs.
struct replicator_options {
  std::string node;        ///< cluster.node
  uint32_t min_insync = 1; ///< below this many in-sync replicas a primary refuses appends
  /// Returns each partition's configuration as last seen (partition →
  /// configuration); called on a CAF worker every `poll_every`, so it must
  /// be thread-safe and quick. Partitions this node does not replicate are
  /// ignored.
  std::function<std::map<uint32_t, configuration>()> configurations;
  std::chrono::milliseconds poll_every{250};
  /// How long a primary parks a fetch that finds nothing new.
  std::chrono::milliseconds long_poll{500};
  /// The timeout of a request to a peer (above long_poll): a dead peer's
  /// requests end only by it (CAF 0.17). Met by the tick, up to poll_every
  /// late (request_deadlines.hpp).
  std::chrono::milliseconds request_timeout{2000};
  /// The pause before a backup whose request was refused or failed starts again.
  std::chrono::milliseconds retry_after{100};
  /// How long a primary that a request showed a newer epoch (fenced: it
  /// commits nothing) waits for the configuration explaining it before it
  /// stops being primary (on_demote) without it: its view of etcd is stale.
  std::chrono::milliseconds fenced_grace{2000};
  /// How long an in-sync backup may go unheard (no fetch or epoch-end
  /// query) while it lacks entries this primary holds durably before the
  /// primary proposes dropping it from the in-sync set (Kafka's
  /// replica.lag.time.max.ms): its commits stop waiting for it once the
  /// controller wrote that. Above long_poll (a caught-up backup is heard
  /// at least once per long poll) and request_timeout (a backup whose
  /// request went to a primary that restarted asks again only after it).
  /// A backup whose link to this node dropped (CAF's heartbeats timed out,
  /// or the socket closed) and that has not fetched since, for two long
  /// polls, is proposed out at once instead.
  std::chrono::milliseconds lag_max{5000};

  /// Takes committed entries of `partition`, on its primary only: the
  /// entries at [first_offset, first_offset + entries.size()), committed in
  /// the tenure that began in `epoch` (the same value for the whole tenure:
  /// a newer epoch naming this node again — an in-sync set or replica
  /// change — continues it, and release() takes it). Called in offset order, each
  /// entry once per tenure as primary, all newly committed entries of a
  /// partition in one call (at most max_commit_entries / max_commit_bytes
  /// per call); when this node becomes primary (a configuration names it),
  /// from the log's start on, as each entry commits — so a takeover
  /// redelivers what the old primary had not released. Runs on the
  /// replicator's CAF worker: it must hand the work on, not do it.
  std::function<void(uint32_t partition, uint64_t epoch, uint64_t first_offset,
                     std::vector<std::string> entries)>
    on_commit;
  /// Says this node stopped being `partition`'s primary: a configuration
  /// named another (or dropped this node), or it stayed fenced for
  /// fenced_grace. `epoch` is the ending tenure's, the newest epoch it was
  /// primary in (≥ every epoch on_commit carried in it). Not called at
  /// stop(): the owner stops its deliveries itself. After it, on_commit of
  /// that partition is called again only for a new tenure, from the start.
  std::function<void(uint32_t partition, uint64_t epoch)> on_demote;
  /// Proposes `nodes` (backups whose fetches reached this primary's durable
  /// end) for `partition`'s in-sync set in `epoch`, and `drop` (in-sync
  /// backups that lack durable entries and were unheard for lag_max, or
  /// since their link dropped) out of it: the
  /// owner writes the proposal to etcd (membership::propose_in_sync), where
  /// the controller takes it into the next configuration. The primary
  /// already waits for the added ones' acknowledgement before it commits,
  /// and still waits for the dropped ones until the configuration without
  /// them is applied. Called again while the configuration does not match
  /// it (at most once a second per partition).
  std::function<void(uint32_t partition, uint64_t epoch, std::vector<std::string> nodes,
                     std::vector<std::string> drop)>
    on_propose;
};

/// One partition as the replicator last published it.
struct replica_status {
  std::string role = "none"; ///< "primary" | "backup" | "none"
  uint64_t epoch = 0;        ///< the epoch applied (a backup: the newest known)
  uint64_t log_start = 0;    ///< the first entry the local log holds
  uint64_t log_end = 0;      ///< the durable end of the local log
  uint64_t commit = 0;       ///< the commit offset known here
  /// A primary: each replica's durable offset as its last fetch reported.
  std::map<std::string, uint64_t> replica_offsets;
};

/// The node's replicator. Made by its owner (app/server.cpp; the tests)
/// after peer_links, which carries its messages.
class replicator {
public:
  /// Spawns the actor in `system`; `journal` holds the partition logs and
  /// `links` carries the messages (both must outlive this object).
  replicator(caf::actor_system& system, storage::journal& journal, peer_links& links,
             replicator_options options);
  /// Stops (see stop()).
  ~replicator();
  replicator(const replicator&) = delete;
  replicator& operator=(const replicator&) = delete;

  /// Appends `entries` (the journal's encoded records) to `partition`'s log
  /// and calls `done` once they committed or were refused. Thread-safe;
  /// `done` runs on a CAF worker, exactly once (`failed` if stopped first).
  void append(uint32_t partition, std::vector<std::string> entries,
              std::function<void(append_outcome)> done);

  /// Says every entry of `partition` below `offset` was delivered (or dead-
  /// lettered): the primary trims its log there (backups follow when their
  /// fetches show the new start). Ignored unless this node is the
  /// partition's primary in a tenure that includes `epoch`; `offset` is
  /// capped at what on_commit was given. Thread-safe, asynchronous.
  void release(uint32_t partition, uint64_t epoch, uint64_t offset);

  /// A graceful stop's last step before the lease goes (app/server.cpp):
  /// refuses appends from now on (not_primary: nothing is written that
  /// the asker hears no 202 for), tells each backup now, instead of at its
  /// next fetch, the log start the release() calls made so far left, and
  /// returns true once, on every partition this node leads, every append
  /// already written has committed and every in-sync backup heard from
  /// lately has trimmed to that start — a successor then redelivers nothing
  /// that was released here — or false at `deadline`. Blocks; not from a
  /// CAF worker.
  bool hand_over(std::chrono::steady_clock::time_point deadline);

  /// Returns `partition`'s status as last published.
  replica_status status(uint32_t partition) const;

  /// Ends the actor and waits for it: its partition logs are closed when
  /// this returns; pending appends are answered `failed`.
  void stop();

private:
  struct impl; // the actor handle and the snapshot: keeps CAF out of this header
  std::unique_ptr<impl> impl_;
};

} // namespace sy::cluster
