#pragma once
// The keys of the journal's `partitions` family (storage/partition_log.hpp's
// layout). Internal to storage/ (partition_log.cpp writes them, journal.cpp
// reads entries through a log_ref).

#include <rocksdb/slice.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "storage/big_endian.hpp"

namespace sy::storage::detail {

constexpr char entry_tag = 'e';
constexpr char epoch_tag = 'h';
constexpr char start_tag = 's';

/// A key of the partitions family: tag(1) partition(4) number(8).
struct log_key {
  std::array<char, 13> b;
  log_key(char tag, uint32_t partition, uint64_t n) {
    b[0] = tag;
    put_be32(b.data() + 1, partition);
    put_be64(b.data() + 5, n);
  }
  rocksdb::Slice slice() const { return {b.data(), b.size()}; }
  /// Returns true when `k` has this key's tag and partition.
  bool same_prefix(const rocksdb::Slice& k) const {
    return k.size() == b.size() && std::equal(b.begin(), b.begin() + 5, k.data());
  }
  /// Returns the number (offset or epoch) of `k`, a key of the family.
  static uint64_t number_of(const rocksdb::Slice& k) { return get_be64(k.data() + 5); }
};

} // namespace sy::storage::detail
