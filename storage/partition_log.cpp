#include "storage/partition_log.hpp"

#include "storage/big_endian.hpp"
#include "storage/log_key.hpp"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <limits>

namespace sy::storage {

namespace {

constexpr uint64_t max_u64 = std::numeric_limits<uint64_t>::max();

using detail::entry_tag;
using detail::epoch_tag;
using detail::get_be64;
using detail::log_key;
using detail::put_be64;
using detail::start_tag;

} // namespace

expected<std::unique_ptr<partition_log>> partition_log::open(journal& j, uint32_t partition) {
  auto cf = j.partitions_family();
  if (!cf)
    return cf.error();
  std::unique_ptr<partition_log> log(new partition_log(j, *cf, partition));
  auto* db = j.db();

  // The start (absent: 0, a log never trimmed).
  {
    std::string v;
    auto s = db->Get(rocksdb::ReadOptions(), *cf, log_key(start_tag, partition, 0).slice(), &v);
    if (s.ok() && v.size() == 8)
      log->start_ = get_be64(v.data());
    else if (s.ok())
      return error{errc::corruption,
                   "malformed start record in partition log " + std::to_string(partition)};
    else if (!s.IsNotFound())
      return j.read_error("read the start of partition log " + std::to_string(partition), s);
  }
  // The end: one past the last entry key of this partition.
  {
    const log_key last(entry_tag, partition, max_u64);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), *cf));
    it->SeekForPrev(last.slice());
    if (it->Valid() && last.same_prefix(it->key()))
      log->end_ = log_key::number_of(it->key()) + 1;
    else if (!it->status().ok())
      return j.read_error("read the end of partition log " + std::to_string(partition),
                          it->status());
    log->end_ = std::max(log->end_, log->start_);
  }
  // The epoch history, in epoch order.
  {
    const log_key first(epoch_tag, partition, 0);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), *cf));
    for (it->Seek(first.slice()); it->Valid() && first.same_prefix(it->key()); it->Next()) {
      if (it->value().size() != 8)
        return error{errc::corruption,
                     "malformed epoch record in partition log " + std::to_string(partition)};
      log->epochs_.push_back({log_key::number_of(it->key()), get_be64(it->value().data())});
    }
    if (!it->status().ok())
      return j.read_error("read the epochs of partition log " + std::to_string(partition),
                          it->status());
  }
  return log;
}

std::optional<error> partition_log::append(uint64_t at, std::span<const std::string> entries,
                                           std::span<const partition_epoch> epochs) {
  std::vector<std::string_view> views(entries.begin(), entries.end());
  return append(at, std::span<const std::string_view>(views), epochs);
}

std::optional<error> partition_log::append_unsynced(uint64_t at,
                                                    std::span<const std::string> entries,
                                                    std::span<const partition_epoch> epochs) {
  std::vector<std::string_view> views(entries.begin(), entries.end());
  return write_entries(at, views, epochs, false);
}

std::optional<error> partition_log::append(uint64_t at, std::span<const std::string_view> entries,
                                           std::span<const partition_epoch> epochs) {
  return write_entries(at, entries, epochs, true);
}

std::optional<error> partition_log::write_entries(uint64_t at,
                                                  std::span<const std::string_view> entries,
                                                  std::span<const partition_epoch> epochs,
                                                  bool sync) {
  const auto name = "partition log " + std::to_string(partition_);
  if (at != end_)
    return error{errc::io_error, "append to " + name + " at " + std::to_string(at) +
                                   " but it ends at " + std::to_string(end_)};
  uint64_t last_epoch = epochs_.empty() ? 0 : epochs_.back().epoch;
  uint64_t last_start = epochs_.empty() ? 0 : epochs_.back().start_offset;
  rocksdb::WriteBatch batch;
  for (const auto& e : epochs) {
    if (e.epoch <= last_epoch || e.start_offset < last_start ||
        e.start_offset > at + entries.size())
      return error{errc::io_error, "epoch " + std::to_string(e.epoch) + " at " +
                                     std::to_string(e.start_offset) + " out of order in " + name};
    last_epoch = e.epoch;
    last_start = e.start_offset;
    char v[8];
    put_be64(v, e.start_offset);
    batch.Put(cf_, log_key(epoch_tag, partition_, e.epoch).slice(), rocksdb::Slice(v, sizeof v));
  }
  uint64_t offset = at;
  for (const auto& entry : entries)
    batch.Put(cf_, log_key(entry_tag, partition_, offset++).slice(),
              rocksdb::Slice(entry.data(), entry.size()));
  // Entries of several events (cluster/partition_entry.hpp version 2):
  // binaries of format 3 cannot open the journal once it holds them.
  if (auto err = journal_.write_batch(batch, sync, "append to " + name, true,
                                      entries.empty() ? 0 : journal_format_entry_batches))
    return err;
  end_ = offset;
  epochs_.insert(epochs_.end(), epochs.begin(), epochs.end());
  return std::nullopt;
}

std::optional<error> partition_log::put_epoch(uint64_t epoch, uint64_t start_offset) {
  const partition_epoch e{epoch, start_offset};
  return append(end_, std::span<const std::string_view>(), std::span(&e, 1));
}

expected<std::vector<std::string>> partition_log::read(uint64_t from, uint64_t to,
                                                       std::size_t max_bytes,
                                                       std::size_t max_entries) const {
  std::vector<std::string> out;
  to = std::min(to, end_);
  if (from >= to)
    return out;
  if (from < start_)
    return error{errc::not_found, "partition log " + std::to_string(partition_) + " starts at " +
                                    std::to_string(start_) + ", not " + std::to_string(from) +
                                    " (trimmed)"};
  const log_key first(entry_tag, partition_, from), bound(entry_tag, partition_, to);
  rocksdb::ReadOptions ro;
  const auto upper = bound.slice();
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(journal_.db()->NewIterator(ro, cf_));
  std::size_t bytes = 0;
  uint64_t expect = from;
  for (it->Seek(first.slice()); it->Valid(); it->Next()) {
    if (!first.same_prefix(it->key()))
      break;
    const uint64_t offset = log_key::number_of(it->key());
    if (offset != expect)
      return error{errc::corruption, "partition log " + std::to_string(partition_) +
                                       " has no entry at " + std::to_string(expect)};
    const auto v = it->value();
    // The first entry goes whatever its size: a budget smaller than one
    // entry must not stall the reader for ever.
    if (!out.empty() && (bytes + v.size() > max_bytes || out.size() >= max_entries))
      break;
    bytes += v.size();
    out.emplace_back(v.data(), v.size());
    ++expect;
  }
  if (!it->status().ok())
    return journal_.read_error("read partition log " + std::to_string(partition_), it->status());
  if (out.empty())
    return error{errc::corruption, "partition log " + std::to_string(partition_) +
                                     " has no entry at " + std::to_string(from)};
  return out;
}

std::optional<error> partition_log::truncate(uint64_t from) {
  std::size_t keep = epochs_.size();
  while (keep > 0 && epochs_[keep - 1].start_offset >= from)
    --keep;
  if (from >= end_ && keep == epochs_.size())
    return std::nullopt;
  rocksdb::WriteBatch batch;
  if (from < end_) {
    const log_key first(entry_tag, partition_, from), last(entry_tag, partition_, max_u64);
    batch.DeleteRange(cf_, first.slice(), last.slice());
    batch.Delete(cf_, last.slice());
  }
  for (std::size_t i = keep; i < epochs_.size(); ++i)
    batch.Delete(cf_, log_key(epoch_tag, partition_, epochs_[i].epoch).slice());
  // Below the start the log is empty and starts (and ends) at `from`.
  const uint64_t start = std::min(start_, from);
  if (start != start_)
    put_start(batch, start);
  if (auto err = journal_.write_batch(
        batch, true, "truncate partition log " + std::to_string(partition_), false))
    return err;
  start_ = start;
  end_ = std::min(end_, from);
  epochs_.resize(keep);
  return std::nullopt;
}

void partition_log::put_start(rocksdb::WriteBatch& batch, uint64_t start) {
  char v[8];
  put_be64(v, start);
  batch.Put(cf_, log_key(start_tag, partition_, 0).slice(), rocksdb::Slice(v, sizeof v));
}

std::optional<error> partition_log::trim(uint64_t to) {
  to = std::min(to, end_);
  if (to <= start_)
    return std::nullopt;
  rocksdb::WriteBatch batch;
  for (uint64_t offset = start_; offset < to; ++offset)
    batch.Delete(cf_, log_key(entry_tag, partition_, offset).slice());
  put_start(batch, to);
  if (auto err = journal_.write_batch(batch, false,
                                      "trim partition log " + std::to_string(partition_), false))
    return err;
  start_ = to;
  return std::nullopt;
}

std::optional<error> partition_log::reset(uint64_t start) {
  rocksdb::WriteBatch batch;
  const log_key first(entry_tag, partition_, 0), last(entry_tag, partition_, max_u64);
  batch.DeleteRange(cf_, first.slice(), last.slice());
  batch.Delete(cf_, last.slice());
  for (const auto& e : epochs_)
    batch.Delete(cf_, log_key(epoch_tag, partition_, e.epoch).slice());
  put_start(batch, start);
  if (auto err = journal_.write_batch(batch, true,
                                      "reset partition log " + std::to_string(partition_), false))
    return err;
  start_ = end_ = start;
  epochs_.clear();
  return std::nullopt;
}

} // namespace sy::storage
