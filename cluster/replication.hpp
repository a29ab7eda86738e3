#pragma once
// The per-partition replication rules (../shared/CLUSTER.md rules 1–6, the
// PacificA / Kafka-ISR shape) as pure state machines: no CAF, no RocksDB, no
// clock. Each call takes what happened (a configuration read from etcd, a
// fetch, a durable append) and returns what to do (which waiters committed,
// which entries to send, where to truncate); the owner does the I/O.
//
// Offsets: a partition's log holds entries at offsets 0, 1, 2, …; its end
// offset is one past the last. A backup fetching from offset X says it has
// durably stored every entry below X. The commit offset (high watermark) is
// the end of the prefix every member of the in-sync set stored in etcd has
// durably stored: entries below it are committed and may be answered 202.
// A log's start is its first entry: the primary trims the entries its
// subscribers delivered (replicator::release), backups learn the primary's
// start from fetch responses and trim to it lazily, and a replica whose log
// ends below the primary's start copies the log afresh from there.
//
// Epochs are the etcd revisions of /sy/parts/<p> writes (membership.hpp):
// one primary per epoch, only growing. Every message carries its sender's
// epoch; a message below the newest epoch a replica knows is refused.
//
// The wire structs here are plain (strings and integers only, CLUSTER.md's
// CAF wire rules); cluster/protocol.hpp gives them their `inspect` overloads
// and type IDs, so this header stays free of CAF.
//
// Driven between nodes by cluster/replicator.hpp; not wired yet: ingest and
// delivery do not use them (docs/cluster.md).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sy::cluster {

// -- limits --------------------------------------------------------------------

/// Most entry bytes one fetch response carries: with the framing of at most
/// max_fetch_entries entries it stays under CLUSTER.md's ~256 KiB per
/// message, so that BASP heartbeats are not starved. An entry larger than
/// this travels alone (the ingest's body cap, 1 MiB, bounds it).
inline constexpr std::size_t max_fetch_bytes = 192u * 1024;
/// Most entries one fetch response carries (bounds the per-entry framing:
/// CAF writes a length prefix per string).
inline constexpr std::size_t max_fetch_entries = 4096;

// -- wire messages (inspect overloads in cluster/protocol.hpp) ------------------

/// The first offset of one epoch in a partition's log: entries from
/// `start_offset` up to the next epoch's start were written by that epoch's
/// primary (Kafka KIP-101's leader-epoch cache entry).
struct epoch_start {
  uint64_t epoch = 0;
  uint64_t start_offset = 0;
  friend bool operator==(const epoch_start&, const epoch_start&) = default;
};

/// How a primary answered a fetch or an epoch-end query (an integer on the wire).
enum class reply_status : uint8_t {
  ok = 0,
  stale_epoch = 1,  ///< the request's epoch is below the primary's: refresh the configuration
  not_primary = 2,  ///< the receiver is not this epoch's primary (or knows a newer epoch)
  not_replica = 3,  ///< the requester is not a replica of the partition
  out_of_range = 4, ///< from_offset is past the primary's log end: truncate first
  below_start = 5,  ///< from_offset is below the primary's log start: copy afresh from log_start
};

/// Asks a partition's primary for its entries from `from_offset`; says that
/// `node` has durably stored every entry below it. Idempotent.
struct fetch_request {
  uint32_t partition = 0;
  uint64_t epoch = 0; ///< the requester's epoch
  std::string node;   ///< the requesting backup
  uint64_t from_offset = 0;
};

/// Answers a fetch_request: at most max_fetch_bytes of entries from
/// `from_offset`, each the journal's own encoded record.
struct fetch_response {
  uint32_t partition = 0;
  uint64_t epoch = 0; ///< the primary's epoch
  uint8_t status = 0; ///< a reply_status
  uint64_t from_offset = 0;
  uint64_t commit_offset = 0; ///< the primary's commit offset when it answered
  uint64_t log_end = 0;       ///< the primary's durable end when it answered
  /// The primary's epoch starts covering the entries sent: the one holding
  /// `from_offset`, then each later one that starts before the last entry.
  std::vector<epoch_start> epochs;
  std::vector<std::string> entries;
  /// The primary's log start (entries below it are trimmed there): a backup
  /// trims its own log up to it, and one below it copies afresh from it.
  uint64_t log_start = 0;
};

/// Asks a primary where epoch `last_epoch` (the asker's newest) ends in its
/// log: a replica joining a new epoch truncates there (KIP-101 / KIP-279).
struct epoch_end_request {
  uint32_t partition = 0;
  uint64_t epoch = 0; ///< the requester's epoch
  std::string node;
  uint64_t last_epoch = 0;
};

/// Answers an epoch_end_request: the primary's largest epoch not above
/// `last_epoch` (0: none) and where it ends in the primary's log.
struct epoch_end_response {
  uint32_t partition = 0;
  uint64_t epoch = 0;
  uint8_t status = 0; ///< a reply_status
  uint64_t found_epoch = 0;
  uint64_t end_offset = 0;
};

// -- configuration ---------------------------------------------------------------

/// A partition's configuration as the controller wrote it to etcd
/// (/sy/parts/<p>) with its epoch (the write's revision).
struct configuration {
  uint64_t epoch = 0;
  std::string primary;
  std::vector<std::string> replicas;
  std::vector<std::string> in_sync;
};

// -- epoch history ---------------------------------------------------------------

/// The epochs a replica's log holds, each with its first offset, in order
/// (Kafka KIP-101's leader-epoch cache). Persisted with the log
/// (storage/partition_log.hpp). A value type, owned by one replica.
class epoch_history {
public:
  epoch_history() = default;
  /// Makes a history of `starts`; entries out of order are dropped.
  explicit epoch_history(const std::vector<epoch_start>& starts);

  /// Records that `epoch` starts at `start_offset`. Returns false, changing
  /// nothing, unless `epoch` is above the newest and `start_offset` is not
  /// below the newest's start.
  bool assign(uint64_t epoch, uint64_t start_offset);
  /// Forgets every epoch starting at or after `offset` (the log was truncated there).
  void truncate_from(uint64_t offset);
  /// Returns the newest epoch (0 when none).
  uint64_t latest() const { return starts_.empty() ? 0 : starts_.back().epoch; }
  /// Returns, for a log ending at `log_end`, the largest epoch not above
  /// `epoch` and the offset it ends at (the next epoch's start, else
  /// `log_end`); nullopt when every epoch is above `epoch`.
  std::optional<epoch_start> end_of(uint64_t epoch, uint64_t log_end) const;
  /// Returns the epoch starts covering [from, to): the one holding `from`
  /// and every later one starting before `to`.
  std::vector<epoch_start> covering(uint64_t from, uint64_t to) const;
  /// Returns every epoch start, oldest first.
  const std::vector<epoch_start>& starts() const { return starts_; }

private:
  std::vector<epoch_start> starts_;
};

// -- primary ---------------------------------------------------------------------

/// Why a primary refuses an append: the caller answers 503 + Retry-After.
enum class append_refusal : uint8_t {
  none,             ///< admitted
  not_primary,      ///< this replica is not the partition's primary (any more), or is fenced
  below_min_insync, ///< the in-sync set in etcd is smaller than min_insync
};

/// Where an admitted append goes: entries at [first, first + count).
struct append_ticket {
  append_refusal refused = append_refusal::none;
  uint64_t first = 0;
};

/// What a primary answers to a fetch: the reply's header, and the range of
/// its log to read into `entries` (at most max_fetch_bytes, at most
/// max_fetch_entries, at least one entry when the range is not empty).
struct fetch_plan {
  fetch_response reply; ///< everything but entries and epochs filled in
  uint64_t read_from = 0;
  uint64_t read_to = 0;            ///< exclusive; == read_from: nothing to send now (long-poll)
  std::vector<uint64_t> committed; ///< waiters whose entries the fetch committed
};

/// A partition's primary for one epoch: the in-sync set from etcd, each
/// replica's durable offset as its fetches report it, the commit offset
/// and the appends waiting for it. Owned by the partition's replica actor
/// (one thread at a time); holds no entry, only offsets.
class primary_state {
public:
  /// Makes the primary `self` of `config` (config.primary must be self) with
  /// a durable log ending at `log_end` and the epochs it holds; `commit`
  /// is the commit offset it knew as a backup (never goes back).
  primary_state(std::string self, uint32_t partition, uint32_t min_insync,
                const configuration& config, uint64_t log_end, epoch_history history,
                uint64_t commit);

  /// Applies a configuration read from etcd. A lower epoch changes nothing;
  /// one naming another primary deposes this one (every waiter fails; the
  /// caller hands the log to a backup_state); otherwise the in-sync set
  /// becomes the stored one — the only way it changes — and the waiters it
  /// now commits are returned. Returns the waiters to answer 503 in `failed`.
  struct applied {
    bool deposed = false;
    std::vector<uint64_t> committed;
    std::vector<uint64_t> failed;
  };
  applied apply(const configuration& config);

  /// Admits `count` entries with `waiter` to be told when they commit, or
  /// refuses them (below min_insync, deposed). Admitted entries go at
  /// ticket.first; the caller writes them (one fsync) then calls durable().
  append_ticket append(uint64_t count, uint64_t waiter);
  /// Records that the own log is durable up to `end`; returns the waiters
  /// that commits, in order.
  std::vector<uint64_t> durable(uint64_t end);
  /// Gives up the appends admitted past the durable end (their write
  /// failed): returns their waiters, to answer 503.
  std::vector<uint64_t> abandon_unwritten();

  /// Answers a backup's fetch: records its durable offset (which may commit
  /// waiters) and says what to send.
  fetch_plan fetch(const fetch_request& req);
  /// Returns the epoch starts to send with `count` entries read from
  /// `from` (fetch_response::epochs).
  std::vector<epoch_start> epochs_for(uint64_t from, std::size_t count) const;
  /// Answers a backup's epoch-end query from this primary's history.
  epoch_end_response epoch_end(const epoch_end_request& req);

  /// Returns the replicas outside the in-sync set whose last fetch was
  /// from at least the commit offset (they hold every committed entry;
  /// Kafka's "follower end ≥ high watermark", so that a backup under
  /// steady appends qualifies without an exact catch-up), for the owner to propose
  /// to the controller. From this call until the next apply() they count
  /// towards commit as if in sync (Kafka KIP-497's "maximal ISR"): a
  /// replica the controller adds on this proposal holds every entry this
  /// primary committed before it applied the addition, so it may be chosen
  /// as the next primary. The controller must add replicas on a primary's
  /// proposal only (docs/cluster.md). Replicas in `unheard` (the owner has
  /// not heard from them lately: their last offset may be a dead node's)
  /// are not proposed, so that a stopped backup whose last fetch happened
  /// to reach the commit offset does not hold the commits it would count in.
  std::vector<std::string> propose_in_sync(const std::vector<std::string>& unheard = {});

  /// Records that the own log now starts at `start` (opened so, or trimmed):
  /// a fetch from below it is answered below_start, and every response
  /// carries it. Never goes back.
  /// Entries below the start committed (they were delivered, or copied
  /// from a primary's committed prefix): the commit offset rises to it.
  void set_log_start(uint64_t start);
  /// Returns the own log's start.
  uint64_t log_start() const { return start_; }
  /// Returns the commit offset (the high watermark): only grows.
  uint64_t commit_offset() const { return commit_; }
  /// Returns the end of the durable log.
  uint64_t durable_end() const { return durable_end_; }
  /// Returns the end of the log including admitted appends not yet durable.
  uint64_t log_end() const { return log_end_; }
  /// Returns this primary's epoch.
  uint64_t epoch() const { return epoch_; }
  /// Returns the epochs of the log, this one last.
  const epoch_history& history() const { return history_; }
  /// Returns what `node` last reported as durably stored (0 when it never fetched).
  uint64_t replica_offset(const std::string& node) const;
  /// Returns false once a configuration named another primary.
  bool active() const { return !deposed_; }
  /// Returns true while a request showed a newer epoch than this primary
  /// applied: appends are refused and nothing commits until apply() brings
  /// the newer configuration (which may keep this primary, or depose it).
  bool fenced() const { return fenced_; }

private:
  std::vector<uint64_t> advance();
  std::vector<uint64_t> fail_all();

  std::string self_;
  uint32_t partition_;
  uint32_t min_insync_;
  uint64_t epoch_ = 0;
  std::vector<std::string> replicas_;
  std::vector<std::string> in_sync_;
  std::vector<std::string> proposed_;       // counted towards commit until apply()
  std::map<std::string, uint64_t> offsets_; // backup → durable offset it reported
  uint64_t start_ = 0;
  uint64_t log_end_ = 0;
  uint64_t durable_end_ = 0;
  uint64_t commit_ = 0;
  epoch_history history_;
  bool deposed_ = false;
  bool fenced_ = false;
  // (end offset, waiter) in offset order: committed once commit_ >= end.
  std::deque<std::pair<uint64_t, uint64_t>> waiters_;
};

// -- backup ----------------------------------------------------------------------

/// What a backup does next.
enum class backup_action : uint8_t {
  none,     ///< nothing (a refused or stale message, or not a backup now)
  query,    ///< send `query` to the primary: where does my last epoch end?
  truncate, ///< truncate the log from `truncate_to`, then call truncated()
  append,   ///< append `entries` at the log end, then call appended()
  fetch,    ///< send `fetch` to the primary
  promote,  ///< this node is the primary now: make a primary_state of this one's log
  reset,    ///< empty the log at `truncate_to` (the primary's start), then call reset_done()
};

/// One step of a backup: what to do and its arguments.
struct backup_step {
  backup_action action = backup_action::none;
  epoch_end_request query;
  uint64_t truncate_to = 0; ///< truncate: where the log is cut; reset: the new start
  fetch_request fetch;
  /// The entries to append at the log end (append only).
  std::vector<std::string> entries;
  /// The epoch starts to record with them, in the same write (append only).
  std::vector<epoch_start> epochs;
};

/// A partition's backup: refuses messages of an older epoch, truncates to
/// the new primary's end of its last epoch when an epoch begins, then
/// fetches. Owned by the partition's replica actor; holds no entry. A
/// truncate or append that fails leaves it waiting: the owner reopens the
/// log and makes a new backup_state from it (fetches are idempotent).
class backup_state {
public:
  /// Makes backup `self` of partition `partition` over a durable log ending
  /// at `log_end` that holds `history`.
  backup_state(std::string self, uint32_t partition, uint64_t log_end, epoch_history history);

  /// Applies a configuration read from etcd: a newer one where this node is
  /// a backup starts the epoch (returns the query to send); a lower or equal
  /// epoch changes nothing.
  backup_step apply(const configuration& config);
  /// Handles the primary's answer to the query: returns the truncation.
  backup_step on_epoch_end(const epoch_end_response& r);
  /// Records that the log now ends at `log_end` (truncated there, history
  /// too); returns the first fetch.
  backup_step truncated(uint64_t log_end);
  /// Handles a fetch response: entries to append, or the next fetch (none
  /// new: fetch again, a long-poll), or nothing when refused.
  backup_step on_fetch(fetch_response r);
  /// Records that the fetched entries are durable, the log ending at
  /// `log_end`, the epochs of the step recorded; returns the next fetch.
  backup_step appended(uint64_t log_end);
  /// Records that the log was emptied at `start` (a reset step: every entry
  /// and epoch gone, start = end = `start`); returns the first fetch.
  backup_step reset_done(uint64_t start);

  /// Returns where the owner may trim this log up to: the primary's start
  /// as the last accepted fetch response said, capped at this log's end
  /// (0 before any). Entries below it were delivered by the primary.
  uint64_t trim_point() const { return std::min(primary_start_, log_end_); }
  /// Returns whether a message of `epoch` is accepted (not below the newest known).
  bool accepts(uint64_t epoch) const { return epoch >= known_epoch_; }
  /// Returns the newest epoch this backup knows.
  uint64_t known_epoch() const { return known_epoch_; }
  /// Returns the end of the durable log.
  uint64_t log_end() const { return log_end_; }
  /// Returns the commit offset the primary last reported (capped at log_end()).
  uint64_t commit_offset() const { return commit_; }
  /// Returns the epochs the log holds.
  const epoch_history& history() const { return history_; }
  /// Returns the primary of the newest epoch ("" when none).
  const std::string& primary() const { return primary_; }

private:
  enum class phase : uint8_t { idle, querying, truncating, resetting, fetching, appending };
  fetch_request next_fetch() const;

  std::string self_;
  uint32_t partition_;
  uint64_t known_epoch_ = 0;
  std::string primary_;
  uint64_t log_end_ = 0;
  uint64_t commit_ = 0;
  epoch_history history_;
  phase phase_ = phase::idle;
  uint64_t primary_start_ = 0;
  uint64_t pending_truncate_ = 0;
  uint64_t pending_commit_ = 0;
  std::vector<epoch_start> pending_epochs_;
};

} // namespace sy::cluster
