#pragma once
// One entry of a partition's log (storage/partition_log): an event as the
// journal encodes it and the subscriptions of that partition it is queued
// for. The ingest node builds them (one per event and matched partition),
// the replicas store and ship them as opaque bytes, and the partition's
// primary applies them to its journal and delivers them (CLUSTER.md rules
// 1, 2 and 5).
//
// Bytes (versioned, the same on every node; big-endian integers):
//   u8 version (1)
//   u32 record length, the record (storage::encode_event's bytes, with the
//       event's cluster-wide id set; its seq is the ingest node's and
//       means nothing elsewhere)
//   u32 subscription count, then each subscription id as u16 length + bytes

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sy::cluster {

/// The entry format version this binary writes; it reads only this one.
inline constexpr uint8_t partition_entry_version = 1;

/// A decoded entry: views into the bytes it was decoded from.
struct partition_entry_view {
  std::string_view record;
  std::vector<std::string_view> subscriptions;
};

/// Appends the entry of `record` queued for `subscriptions` to `out`.
/// Subscription ids are at most 65 535 bytes (the API's are ~24).
void encode_partition_entry(std::string& out, std::string_view record,
                            const std::vector<std::string_view>& subscriptions);

/// Returns the entry of `record` queued for `subscriptions`.
std::string encode_partition_entry(std::string_view record,
                                   const std::vector<std::string_view>& subscriptions);

/// Returns the entry `bytes` hold (views into them), or nullopt when they
/// are not one entry of this version (truncated, trailing bytes, another version).
std::optional<partition_entry_view> decode_partition_entry(std::string_view bytes);

} // namespace sy::cluster
