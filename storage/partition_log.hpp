#pragma once
// One partition's replicated log (cluster mode, ../shared/CLUSTER.md rule 2):
// entries at offsets 0, 1, 2, … and the epoch history that says which
// primary wrote which range (Kafka KIP-101's leader-epoch cache), kept in
// the journal's RocksDB instance so that a group commit pays one WAL fsync.
//
// Layout, in the journal's `partitions` column family (made on first use, so
// a journal that never ran in cluster mode has none; keys big-endian):
//   'e' partition(4) offset(8)  → entry (the journal's encoded record, opaque here)
//   'h' partition(4) epoch(8)   → start_offset(8)
//   's' partition(4) 0(8)       → start_offset(8): the log start (absent: 0)
// The log holds the entries [start, end): below the start they were trimmed
// (delivered, CLUSTER.md rule 5) or never copied (a replica that copied the
// log afresh from a primary's start). Every write (append, truncate, trim,
// reset, epoch) is one WriteBatch: entries, the epochs they start and the
// start land together or not at all. Appends, truncations and resets are
// synced when the journal syncs, so a kill -9 after one returns loses
// nothing; a trim is not synced (see trim()).
//
// Thread-safety: one owner (the partition's replica actor) calls it at a
// time; it caches the end offset and the epoch history. Two partition_log
// objects for one partition must not exist at once.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/error.hpp"
#include "storage/journal.hpp"

namespace sy::storage {

/// One epoch's first offset in a partition log (cluster/replication.hpp's
/// epoch_start, kept here without the cluster's types).
struct partition_epoch {
  uint64_t epoch = 0;
  uint64_t start_offset = 0;
  friend bool operator==(const partition_epoch&, const partition_epoch&) = default;
};

/// A partition's log in the node's journal. Made by the partition's
/// replica actor (not wired yet: see docs/cluster.md); `j` must outlive it.
class partition_log {
public:
  /// Opens partition `partition`'s log in `j` (making the journal's
  /// partitions family on first use) and reads its end and epoch history.
  static expected<std::unique_ptr<partition_log>> open(journal& j, uint32_t partition);

  /// Returns the partition number.
  uint32_t partition() const { return partition_; }
  /// Returns one past the last entry's offset (the start when empty).
  uint64_t end_offset() const { return end_; }
  /// Returns the offset of the first entry the log holds (entries below it
  /// were trimmed or never copied); end_offset() when it holds none.
  uint64_t start_offset() const { return start_; }
  /// Returns the epoch history, oldest first.
  const std::vector<partition_epoch>& epochs() const { return epochs_; }

  /// Appends `entries` at `at`, which must be end_offset(), together with
  /// `epochs` (each above the newest recorded, in order): one write, synced.
  [[nodiscard]] std::optional<error> append(uint64_t at, std::span<const std::string_view> entries,
                                            std::span<const partition_epoch> epochs = {});
  /// Appends `entries` (owned strings) as the other append() does.
  [[nodiscard]] std::optional<error> append(uint64_t at, std::span<const std::string> entries,
                                            std::span<const partition_epoch> epochs = {});
  /// Appends as append() does, unsynced: readable and counted in
  /// end_offset() at once, durable only after journal::sync_wal() (or any
  /// later synced write of the journal). The caller tells nobody of them
  /// before that: the replicator's group commit, one fsync for every
  /// partition written since the last (cluster/replicator.cpp).
  [[nodiscard]] std::optional<error> append_unsynced(uint64_t at,
                                                     std::span<const std::string> entries,
                                                     std::span<const partition_epoch> epochs = {});
  /// Records that `epoch` starts at `start_offset` (a primary beginning its
  /// epoch): one synced write. Refused unless above the newest epoch and not
  /// before its start.
  [[nodiscard]] std::optional<error> put_epoch(uint64_t epoch, uint64_t start_offset);
  /// Returns the entries from `from` (not below start_offset(): an error)
  /// up to `to` (exclusive; clamped to the end) in offset order: at most `max_entries`, and no more than
  /// `max_bytes` of entry bytes except that the first entry is always
  /// returned. Reading the same range twice returns the same entries.
  expected<std::vector<std::string>> read(uint64_t from, uint64_t to, std::size_t max_bytes,
                                          std::size_t max_entries) const;
  /// Deletes every entry at or after `from` and every epoch starting there
  /// or later: one synced write (none when there is nothing to delete). A
  /// `from` below the start empties the log and moves its start (and end)
  /// down to `from`: the next append goes there.
  [[nodiscard]] std::optional<error> truncate(uint64_t from);
  /// Deletes every entry below `to` (clamped to the end) and moves the start
  /// there; nothing when `to` is not above the start. The epoch history is
  /// kept whole (a few keys per configuration). Not synced, and safe so:
  /// the write is one batch (start and deletions together), and RocksDB's
  /// WAL recovers a prefix of the writes in order, so a trim lost in a
  /// crash leaves the log as it was before it (more entries: a primary
  /// redelivers them, rule 5) and never a hole; any later synced write
  /// makes it durable too. A point delete per entry, not a range
  /// tombstone: trims are frequent, and many range tombstones in a
  /// memtable slow every iterator over it.
  [[nodiscard]] std::optional<error> trim(uint64_t to);
  /// Deletes every entry and epoch and makes the log empty at `start`
  /// (start = end = `start`): a replica copying the log afresh from a
  /// primary whose start is past this log's end. One synced write.
  [[nodiscard]] std::optional<error> reset(uint64_t start);

private:
  partition_log(journal& j, rocksdb::ColumnFamilyHandle* cf, uint32_t partition)
      : journal_(j), cf_(cf), partition_(partition) {}
  void put_start(rocksdb::WriteBatch& batch, uint64_t start);
  std::optional<error> write_entries(uint64_t at, std::span<const std::string_view> entries,
                                     std::span<const partition_epoch> epochs, bool sync);

  journal& journal_;
  rocksdb::ColumnFamilyHandle* cf_;
  uint32_t partition_;
  uint64_t start_ = 0;
  uint64_t end_ = 0;
  std::vector<partition_epoch> epochs_;
};

} // namespace sy::storage
