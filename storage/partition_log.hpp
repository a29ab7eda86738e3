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
// Every write (append, truncate, epoch) is one WriteBatch, synced when the
// journal syncs: entries and the epochs they start land together or not at
// all, and a kill -9 after it returns loses neither.
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
  /// Returns one past the last entry's offset (0 when empty).
  uint64_t end_offset() const { return end_; }
  /// Returns the epoch history, oldest first.
  const std::vector<partition_epoch>& epochs() const { return epochs_; }

  /// Appends `entries` at `at`, which must be end_offset(), together with
  /// `epochs` (each above the newest recorded, in order): one write, synced.
  [[nodiscard]] std::optional<error> append(uint64_t at, std::span<const std::string_view> entries,
                                            std::span<const partition_epoch> epochs = {});
  /// Appends `entries` (owned strings) as the other append() does.
  [[nodiscard]] std::optional<error> append(uint64_t at, std::span<const std::string> entries,
                                            std::span<const partition_epoch> epochs = {});
  /// Records that `epoch` starts at `start_offset` (a primary beginning its
  /// epoch): one synced write. Refused unless above the newest epoch and not
  /// before its start.
  [[nodiscard]] std::optional<error> put_epoch(uint64_t epoch, uint64_t start_offset);
  /// Returns the entries from `from` up to `to` (exclusive; clamped to the
  /// end) in offset order: at most `max_entries`, and no more than
  /// `max_bytes` of entry bytes except that the first entry is always
  /// returned. Reading the same range twice returns the same entries.
  expected<std::vector<std::string>> read(uint64_t from, uint64_t to, std::size_t max_bytes,
                                          std::size_t max_entries) const;
  /// Deletes every entry at or after `from` and every epoch starting there
  /// or later: one synced write (none when there is nothing to delete).
  [[nodiscard]] std::optional<error> truncate(uint64_t from);

private:
  partition_log(journal& j, rocksdb::ColumnFamilyHandle* cf, uint32_t partition)
      : journal_(j), cf_(cf), partition_(partition) {}

  journal& journal_;
  rocksdb::ColumnFamilyHandle* cf_;
  uint32_t partition_;
  uint64_t end_ = 0;
  std::vector<partition_epoch> epochs_;
};

} // namespace sy::storage
