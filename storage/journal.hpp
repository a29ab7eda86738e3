#pragma once
// The durable journal on RocksDB: events, per-subscription queues, dead
// letters, subscription records, metadata and client-id deduplication.
//
// Column families (keys big-endian, so iteration is sequence order):
//   events  seq(8)                 → encoded stored_event, or (cluster mode's
//                                    apply, format 3) a log_ref: where the
//                                    record lies in a partition log entry
//   queues  sub(8) seq(8)          → "" (the event waits for that subscription)
//   dead    sub(8) seq(8)          → encoded stored_event + reason [+ attempts,
//                                    last error, dead-lettered at: since issue 13;
//                                    records without them still read]
//   subs    sub(8)                 → subscription record (opaque bytes)
//   meta    name                   → value (counters, registries)
//   dedupe  client id              → seq(8) ingest_ms(8)
//   dedupe_by_time ingest_ms(8) client id → "" (expiry in key order)
//   partitions  cluster mode's partition logs (storage/partition_log.hpp);
//               made on first use only, opened when present
//
// meta names "seq" and "sub_seq" are the journal's own counters; callers
// keep theirs under other names.
//
// Thread-safety: every method may be called from any thread (RocksDB is
// thread-safe); append() is meant to be called by one group-commit thread
// (concurrent calls are safe but serialised).
//
// Errors: every call that can fail says so with a storage::error
// (storage/error.hpp): a write returns std::optional<error> (nullopt on
// success), a read returns expected<T>. A single-key read that finds
// nothing answers errc::not_found; an I/O error is never taken for absent.
//
// A full disk: writes that add data are admitted only while the journal's
// file system keeps `reserve_bytes` free (measured with statvfs at most
// every 250 ms or every reserve/8 bytes written); deletes (acks, purges,
// garbage collection) are admitted down to a quarter of it, so that
// deliveries can still free space. A refused write answers errc::no_space.
// When a write fails in RocksDB all the same (ENOSPC, EIO), every later
// write is refused without reaching RocksDB until DB::Resume() succeeds
// (tried at most once a second once the reserve is free again): Debian's
// RocksDB 7.8 keeps its assertions, and a synced write after a failed WAL
// sync aborts the process (`sync_without_flush_called_`). Both states are
// logged once, with what to do, and once again when writes succeed.

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/event.hpp"
#include "storage/error.hpp"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Status;
class WriteBatch;
} // namespace rocksdb

namespace sy::storage {

class partition_log;

/// How long a client id is remembered: an event whose client id was seen
/// within this window is not routed again (docs/api.md §1), and garbage
/// collection expires dedupe keys older than it.
inline constexpr int64_t dedupe_window_ms = 24LL * 3600 * 1000;

/// Most dead letters one listing of a subscription shows (docs/api.md §2).
inline constexpr std::size_t max_listed_dead_letters = 1000;

/// An event as journaled: the owned event plus its sequence number and the
/// time switchyard received it. Shared immutable once built.
struct stored_event {
  uint64_t seq = 0;
  int64_t ingest_ms = 0;
  core::event ev;
};
using event_ptr = std::shared_ptr<const stored_event>;

/// Returns the bytes the journal stores for `e`.
std::string encode_event(const stored_event& e);
/// Appends the bytes the journal stores for `e` to `out` (encode_event
/// without a string of its own, for callers that encode many into one buffer).
void encode_event_into(std::string& out, const stored_event& e);
/// Returns the event encoded in `bytes`, or nullopt when they are corrupt.
std::optional<stored_event> decode_event(std::string_view bytes);
/// Writes `seq` and the public id `id` into `record`, the bytes encode_event
/// made of an event whose id had `id.size()` bytes then (a placeholder of
/// the same length): the group commit encodes on the I/O threads before the
/// sequence number is known and fills it in here. Returns false, leaving
/// `record` alone, when its id field is not `id.size()` bytes long.
bool set_record_seq(std::span<char> record, uint64_t seq, std::string_view id);

/// One event of a group commit and the subscriptions (by number) it is queued for.
struct append_item {
  event_ptr event;
  std::vector<uint64_t> subs;
};

/// How append_records() makes its write durable (when the journal syncs).
enum class append_sync : uint8_t {
  /// A synced write: durable when the call returns.
  now,
  /// Unsynced: readable at once but durable only after sync_appends(); the
  /// caller tells nobody of the records before that, and read_queue() stops
  /// before them until then.
  later,
  /// Unsynced and not waited for: the caller holds the same data durably
  /// elsewhere and writes it again if a crash lost it (cluster mode's apply:
  /// the partition log, replayed above the applied offset stored in the same
  /// write). Readable and deliverable at once; on disk with the next sync of
  /// the WAL by any writer.
  elsewhere,
};

/// Where an event's record lies in this journal's partition log (cluster
/// mode's apply, storage/partition_log.hpp): entry `offset` of partition
/// `partition`, bytes [at, at + size) of it. The record there is
/// encode_event's bytes with the ingest node's seq; read_queue() gives the
/// event the seq of its own key. `id` is the event's id, kept with the
/// reference and checked against the record's: should the log come to
/// hold another event at that offset (cut and written again by another
/// primary while a queue of this node's kept the reference), the
/// reference reads as missing rather than as that event. A view: the
/// caller keeps it alive for the append.
struct log_ref {
  uint32_t partition = 0;
  uint64_t offset = 0;
  uint32_t at = 0;
  uint32_t size = 0;
  std::string_view id;
};

/// One event of a group commit as append_records() takes it: its record
/// already encoded (encode_event's bytes, seq and id filled in), its client
/// id and ingest time for deduplication, and the subscriptions (by number)
/// it is queued for. Views: the caller keeps the bytes alive for the call.
/// With `ref` set, `record` is not written: the events family keeps the
/// reference instead (the apply's events are in the partition log already,
/// which keeps them until every queue passed them). An entry gone from the
/// log reads as a missing record (read_queue() skips it).
struct append_record {
  uint64_t seq = 0;
  int64_t ingest_ms = 0;
  std::string_view record;
  std::string_view client_id;
  std::span<const uint64_t> subs;
  const log_ref* ref = nullptr;
};

/// A dead letter: the event, why it was given up, and how its delivery went.
struct dead_letter {
  event_ptr event;
  std::string reason;
  /// Failed delivery attempts before it was given up (0 when none was made).
  uint32_t attempts = 0;
  /// The last attempt's failure ("HTTP 500", a connection error); "" when none.
  std::string last_error;
  /// Wall ms when it was given up; 0 for records written before it was kept.
  int64_t dead_ms = 0;
};

/// Returns the bytes the journal stores for dead letter `d`.
std::string encode_dead_letter(const dead_letter& d);
/// Returns the dead letter encoded in `bytes` (also as written before
/// attempts, last error and time were kept: those read as 0, "" and 0), or
/// nullopt when they are corrupt.
std::optional<dead_letter> decode_dead_letter(std::string_view bytes);

/// Which dead letters a replay requeues: those whose event timestamp is
/// within [since_ms, until_ms) (every one by default), and only the event
/// `only_id` when that is not empty.
struct replay_filter {
  std::string only_id;
  int64_t since_ms = std::numeric_limits<int64_t>::min();
  int64_t until_ms = std::numeric_limits<int64_t>::max();
  /// Returns true when `e` is one of those.
  bool admits(const core::event& e) const {
    return (only_id.empty() || e.id == only_id) && e.timestamp_ms >= since_ms &&
           e.timestamp_ms < until_ms;
  }
};

/// A sealed pull file (docs/api.md §4): the queued events `first`..`last` of one
/// pull subscription, served as one NDJSON file until the client deletes it.
struct pull_file {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t count = 0;
  int64_t sealed_ms = 0;
};

/// How loud a line the journal logs is: `read_error` is a failed read (the
/// caller answers it as an error; the receiver should rate-limit these
/// lines, a failing disk fails every read).
enum class log_level : uint8_t { info, error, read_error };

/// How a journal is opened.
struct journal_options {
  /// Makes append() and subscription writes fsync before returning.
  bool sync = false;
  /// Free bytes writes that add data must leave on the journal's file
  /// system; nullopt: an eighth of its size, clamped to 4–256 MiB; 0: no check.
  std::optional<uint64_t> reserve_bytes;
  /// Receives the journal's log lines (a full disk, writes failing and
  /// recovering); when empty they go to stderr. Called from any thread.
  std::function<void(log_level, const std::string&)> log;
};

/// Sequence numbers reserved for one append. While it lives, garbage
/// collection waits rather than pass them: a low-water mark taken between
/// the reservation and the append would otherwise delete the events the
/// append is about to write. Append, then let it go.
class seq_reservation {
public:
  seq_reservation(std::shared_lock<std::shared_mutex> gate, uint64_t first)
      : gate_(std::move(gate)), first_(first) {}
  /// Returns the first reserved number.
  uint64_t first() const { return first_; }

private:
  std::shared_lock<std::shared_mutex> gate_;
  uint64_t first_;
};

/// The newest layout version this binary writes and reads. A journal
/// records the version of its layout in meta `format_version` (a journal of
/// before the record counts as 1): 1 while it holds the families of
/// single-node mode only, journal_format_partitions once cluster mode made
/// its `partitions` family, journal_format_refs once its apply wrote a
/// log_ref, journal_format_entry_batches once a partition log was appended
/// to. A journal recording a newer version, or
/// holding a column family this binary does not know, is refused at open
/// (journal::open sets `newer_format`): rolling back across a format
/// change needs a backup.
constexpr uint32_t journal_format_version = 4;
/// The version a journal records once it holds the `partitions` family
/// (cluster mode's partition logs): binaries of format 1 cannot open it.
constexpr uint32_t journal_format_partitions = 2;
/// The version a journal records with its first log_ref (cluster mode's
/// apply): binaries of format 2 would read the references as damaged
/// records and drop their queue keys, so they cannot open it.
constexpr uint32_t journal_format_refs = 3;
/// The version a journal records with its first partition log append by a
/// binary that writes entries of several events (partition_entry version
/// 2, 2026-12-05): binaries of format 3 would skip those entries as
/// malformed and never deliver their events, so they cannot open it.
constexpr uint32_t journal_format_entry_batches = 4;

/// Owns the RocksDB instance. Created once at start-up by app/.
class journal {
public:
  /// Opens (creating if needed) the journal in `dir`. `sync` makes append()
  /// and subscription writes fsync before returning.
  /// On failure returns null with `error` set, and `*newer_format` (when
  /// given) true when the only fault is a journal written by a newer
  /// switchyard: a format version above journal_format_version, or a
  /// column family this binary does not know (`error` then says "written
  /// by a newer switchyard (format N); restore a backup or run a newer
  /// switchyard"; without this check RocksDB refuses such a journal with
  /// "Column families not opened", which reads like a damaged journal).
  static std::unique_ptr<journal> open(const std::string& dir, bool sync, std::string& error,
                                       bool* newer_format = nullptr);
  /// Opens (creating if needed) the journal in `dir` with `options`; fails as the other open().
  static std::unique_ptr<journal> open(const std::string& dir, journal_options options,
                                       std::string& error, bool* newer_format = nullptr);

  /// Writes a consistent copy of the journal as it is now into `dir`, which
  /// must not exist (its parent must): a RocksDB checkpoint, hard links on
  /// the same filesystem, copies elsewhere, created 0700. Writers are not
  /// stopped. Blocks for as long as it takes: call it off the I/O and actor
  /// threads. journal::open(dir) opens the copy.
  std::optional<error> checkpoint(const std::string& dir) const;
  /// Writes every column family's memtable to table files and waits for
  /// them, so that the next open() replays no write-ahead log (at 100 000
  /// subscriptions that replay was a quarter of start-up). Durability does
  /// not need it: every write is in the WAL first. Called on a graceful
  /// stop, after the last write, and by bulk tools (switchyard-seed).
  std::optional<error> flush();
  ~journal();
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  // -- sequence numbers ------------------------------------------------------

  /// Returns the next unused event sequence number (recovered on open).
  /// Numbers start at 1, so read_queue(sub, 0, n) reads a queue from its start.
  uint64_t next_seq() const;
  /// Reserves `n` consecutive sequence numbers for an append and holds
  /// garbage collection off them until the reservation is gone.
  /// Thread-safe; numbers never repeat, also across restarts.
  seq_reservation reserve(uint64_t n);
  /// Reserves `n` numbers and returns the first, without holding garbage
  /// collection off (for tools and tests that collect nothing meanwhile).
  uint64_t reserve_seqs(uint64_t n);
  /// Reserves `n` numbers and returns the first, like reserve_seqs(), and
  /// first makes sure a restart cannot hand them out again although no
  /// event record of them may ever be written here (cluster mode: events
  /// live in partition logs, or nowhere when nothing matched them): the
  /// persisted counter is raised ahead in blocks of 2^20, one synced write
  /// per block. Thread-safe. Fails when the counter cannot be written.
  [[nodiscard]] expected<uint64_t> reserve_durable_seqs(uint64_t n);
  /// Confines the sequence numbers this journal hands out to [first, end)
  /// (cluster mode: the range of the node's number, cluster/node_number.hpp)
  /// and returns next_seq(): from now on it is `first` or one past the
  /// highest seq of that range already written (events, queues, dead
  /// letters, the persisted counter), whichever is higher — never lower than
  /// what this range handed out. Seqs outside the range, which the journal
  /// may also hold (events numbered by other nodes, or before the range was
  /// set), no longer move next_seq() when written. Call once, after open()
  /// and before the first append or reservation. errc::no_space when the
  /// range is used up (next_seq() would be `end`); a read error as such.
  [[nodiscard]] expected<uint64_t> use_seq_range(uint64_t first, uint64_t end);
  /// Returns a fresh subscription number, starting at 1; the counter is
  /// persisted (synced) before it returns, so numbers never repeat. Fails
  /// when the counter cannot be written.
  [[nodiscard]] expected<uint64_t> next_sub_number();
  /// Numbers a new subscription and stores its record in one synced write
  /// (one fsync instead of next_sub_number's and put_subscription's two):
  /// `encode` gets the number and returns the record. Returns the number.
  [[nodiscard]] expected<uint64_t> add_subscription(
    const std::function<std::string(uint64_t)>& encode);
  /// As add_subscription, for `count` new subscriptions in one synced
  /// write: `encode(number, i)` returns the i-th record, numbered
  /// first + i. Returns the first number.
  [[nodiscard]] expected<uint64_t> add_subscriptions(
    std::size_t count, const std::function<std::string(uint64_t, std::size_t)>& encode);

  /// Returns the layout version this journal records (1, or
  /// journal_format_partitions once it holds the partition logs' family).
  uint32_t format_version() const;

  /// Returns true while writes that add data are admitted (the disk keeps
  /// its reserve and no write has failed since the last Resume()).
  bool writable() const;

  // -- events and queues -----------------------------------------------------

  /// Writes every event and its queue keys, plus the dedupe keys of events
  /// carrying a client id, in one WriteBatch (synced when the journal is).
  [[nodiscard]] std::optional<error> append(const std::vector<append_item>& items);
  /// Writes as append() does (the same keys and bytes) from records the
  /// caller encoded: the group commit encodes on the I/O threads, so that
  /// its own thread only writes. One WriteBatch, reused across calls.
  [[nodiscard]] std::optional<error> append_records(std::span<const append_record> records);
  /// As append_records(records), made durable as `sync` says (when the
  /// journal syncs).
  [[nodiscard]] std::optional<error> append_records(std::span<const append_record> records,
                                                    append_sync sync);
  /// As append_records(records, sync), and puts each (name, value) of
  /// `meta` into meta in the same write: cluster mode's apply persists a
  /// partition's applied offset with the events it applied
  /// (actors/cluster_apply.hpp). Writes `meta` alone when `records` is empty.
  [[nodiscard]] std::optional<error> append_records(
    std::span<const append_record> records, append_sync sync,
    std::span<const std::pair<std::string_view, std::string_view>> meta);
  /// Makes every write made so far durable (one fsync of the WAL) when the
  /// journal syncs; returns at once when it does not. May run concurrently
  /// with writes. A failure stops writes as a failed write does.
  [[nodiscard]] std::optional<error> sync_appends();
  /// As sync_appends(), for writers that track their own unsynced writes
  /// (the partition logs' group commit, storage/partition_log.hpp): one
  /// fsync of the WAL, leaving the ingest's accounting of unsynced appends
  /// alone.
  [[nodiscard]] std::optional<error> sync_wal();
  /// Returns how many fsyncs of the WAL this journal asked for since it
  /// opened: synced writes and sync_appends()/sync_wal() calls (a journal
  /// that does not sync asks for none).
  uint64_t syncs() const;

  /// Returns the seq recorded for `client_id` if it was seen within
  /// `window_ms` of `now_ms`; errc::not_found when it was not (or has
  /// expired), another kind when the read failed.
  expected<uint64_t> find_client_id(std::string_view client_id, int64_t now_ms,
                                    int64_t window_ms) const;

  /// Removes the queue keys of (sub, seq) for each of `seqs`: those events
  /// were delivered. One unsynced write: a crash may redeliver, never lose.
  [[nodiscard]] std::optional<error> ack_many(uint64_t sub, const std::vector<uint64_t>& seqs);

  /// Returns up to `limit` queued events of `sub` with seq > `after`, in
  /// sequence order, stopping before the first event of an append written
  /// append_sync::later that sync_appends() has not yet made
  /// durable. A queue key whose event is missing is skipped and
  /// removed. A read that fails part-way returns what came before the
  /// failure (the caller resumes there); one that fails first, the error.
  expected<std::vector<event_ptr>> read_queue(uint64_t sub, uint64_t after,
                                              std::size_t limit) const;

  /// Returns the lowest seq at least `from` queued for `sub` (unsynced
  /// appends included), or nullopt when there is none: one seek, which steps
  /// over every key deleted between `from` and the head (pass the last head
  /// seen). Cluster mode's apply asks it to learn how far a subscription has
  /// delivered.
  expected<std::optional<uint64_t>> queue_head(uint64_t sub, uint64_t from = 0) const;

  /// Returns how many events are queued for `sub` (a scan; for purge and recovery).
  expected<uint64_t> count_queue(uint64_t sub) const;
  /// Returns how many events each subscription with a non-empty queue has
  /// queued, as (sub, count) in sub order: one scan of every queue, for
  /// start-up (one iterator per subscription cost most of it at 100 000).
  expected<std::vector<std::pair<uint64_t, uint64_t>>> count_queues() const;

  /// Drops every queued event and pull file of `sub`; returns how many
  /// events there were.
  [[nodiscard]] expected<uint64_t> purge(uint64_t sub);

  /// Moves (sub, seq) from the queue to the dead letters with `reason`.
  [[nodiscard]] std::optional<error> kill(uint64_t sub, const stored_event& e,
                                          const std::string& reason);
  /// Moves every event of `letters` from the queue of `sub` to its dead
  /// letters in one write (synced when the journal is): one fsync for a
  /// whole page of expired events rather than one each.
  [[nodiscard]] std::optional<error> kill_many(uint64_t sub,
                                               const std::vector<dead_letter>& letters);
  /// Returns up to `limit` dead letters of `sub` whose seq is above
  /// `after_seq`, oldest first (a page: the next one starts after the last
  /// seq of this one).
  expected<std::vector<dead_letter>> dead_letters(uint64_t sub, std::size_t limit,
                                                  uint64_t after_seq = 0) const;
  /// Moves every dead letter of `sub` that `filter` admits back into its
  /// queue, rewriting its event record with `now_ms` as the ingest time (a
  /// replayed event gets a whole retry.max_age again); returns the
  /// requeued events in order.
  [[nodiscard]] expected<std::vector<event_ptr>> replay_dead(uint64_t sub, int64_t now_ms,
                                                             const replay_filter& filter = {});
  /// Deletes every dead letter of `sub` (synced when the journal is) and
  /// returns how many there were.
  [[nodiscard]] expected<uint64_t> drop_dead(uint64_t sub);

  /// Returns the lowest seq any queue still holds, or the next_seq() of
  /// before the scan when no queue holds one (one seek per subscription).
  expected<uint64_t> min_queued_seq() const;

  /// Returns the earliest ingest time (ms) of the events at the head of
  /// every queue, or nullopt when no queue holds an event: the age of the
  /// oldest undelivered event. One seek and one read per non-empty queue.
  /// A failed read is an error, never "none queued".
  expected<std::optional<int64_t>> oldest_queued_ingest_ms() const;

  /// Deletes every event record no queue refers to (below min_queued_seq())
  /// and dedupe keys older than `dedupe_before_ms`. Serialised with
  /// replay_dead, which writes records below the low-water mark again.
  [[nodiscard]] std::optional<error> collect_unreferenced(int64_t dedupe_before_ms);

  /// Deletes event records with seq < `low_water` (no queue refers to them)
  /// and dedupe keys older than `dedupe_before_ms`: one seek and one range
  /// delete on dedupe_by_time, then a point delete per expired client id.
  [[nodiscard]] std::optional<error> collect_garbage(uint64_t low_water, int64_t dedupe_before_ms);

  // -- pull files ------------------------------------------------------------
  // A pull file is a record over queue keys: its events stay queued (and so
  // journaled) until the client deletes the file.

  /// Records `f` as a sealed file of `sub` (synced).
  [[nodiscard]] std::optional<error> seal_pull_file(uint64_t sub, const pull_file& f);
  /// Returns up to `limit` sealed files of `sub`, oldest first.
  expected<std::vector<pull_file>> pull_files(uint64_t sub, std::size_t limit) const;
  /// Returns the sealed file of `sub` whose first event is `first`
  /// (errc::not_found when there is none).
  expected<pull_file> find_pull_file(uint64_t sub, uint64_t first) const;
  /// Deletes the file `f` of `sub` and the queue keys of its events (synced).
  [[nodiscard]] std::optional<error> drop_pull_file(uint64_t sub, const pull_file& f);

  // -- subscriptions and metadata -------------------------------------------

  /// Stores the record of subscription `sub` (synced).
  [[nodiscard]] std::optional<error> put_subscription(uint64_t sub, std::string_view record);
  /// Stores many subscription records in one synced write (bulk seeding).
  [[nodiscard]] std::optional<error> put_subscriptions(
    const std::vector<std::pair<uint64_t, std::string>>& records);
  /// Deletes the record, queue, dead letters and pull files of `sub` (synced).
  [[nodiscard]] std::optional<error> delete_subscription(uint64_t sub);
  /// Returns every stored (number, record), in number order.
  expected<std::vector<std::pair<uint64_t, std::string>>> load_subscriptions() const;
  /// Calls `f(number, record)` for every stored subscription, in number
  /// order, without holding them all (start-up at 100 000: ~50 MB less to
  /// allocate and touch). On a failed read returns the error, after `f`
  /// has seen the records before it.
  [[nodiscard]] std::optional<error> scan_subscriptions(
    const std::function<void(uint64_t, std::string)>& f) const;

  /// Stores `value` under `name` in meta (synced).
  [[nodiscard]] std::optional<error> put_meta(std::string_view name, std::string_view value);
  /// Deletes `name` from meta (synced).
  [[nodiscard]] std::optional<error> delete_meta(std::string_view name);
  /// Returns the meta value under `name` (errc::not_found when there is none).
  expected<std::string> get_meta(std::string_view name) const;
  /// Returns every (name, value) in meta whose name starts with `prefix`.
  expected<std::vector<std::pair<std::string, std::string>>> scan_meta(
    std::string_view prefix) const;

private:
  // partition_log keeps its keys in this journal's RocksDB instance (one
  // WAL, one fsync per write for both), through these four.
  friend class partition_log;
  /// Returns the column family of the partition logs, making it on first
  /// use (a journal that never ran in cluster mode has none).
  expected<rocksdb::ColumnFamilyHandle*> partitions_family();
  /// Returns the RocksDB instance.
  rocksdb::DB* db() const;
  /// Writes `batch` (synced when `sync` and the journal syncs) under the
  /// journal's write admission (a full disk, a failed write); `grows`: it
  /// adds data. `format`: the layout version what it writes needs, recorded
  /// in the same write when the journal records a lower one.
  std::optional<error> write_batch(rocksdb::WriteBatch& batch, bool sync, std::string_view what,
                                   bool grows, uint32_t format = 0);
  /// Returns (and logs) the error a failed read means.
  error read_error(std::string_view what, const rocksdb::Status& s) const;

  struct impl;
  explicit journal(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace sy::storage
