#pragma once
// One entry of a partition's log (storage/partition_log): events as the
// journal encodes them, each with the subscriptions of that partition it is
// queued for. The ingest node builds them (one per request and matched
// partition, closed at max_partition_entry_bytes), the replicas store and
// ship them as opaque bytes, and the partition's primary applies them to its
// journal and delivers them (CLUSTER.md rules 1, 2 and 5).
//
// Bytes (versioned, the same on every node; big-endian integers):
//   version 2 (written since 2026-12-05):
//     u8 version (2)
//     u32 event count (≥ 1), then each event as below
//   version 1 (one event; still read, for logs written before):
//     u8 version (1), then one event as below
//   an event:
//     u32 record length, the record (storage::encode_event's bytes, with the
//         event's cluster-wide id set; its seq is the ingest node's and
//         means nothing elsewhere)
//     u32 subscription count, then each subscription id as u16 length + bytes

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sy::cluster {

/// The entry format version this binary writes; it reads this one and 1.
inline constexpr uint8_t partition_entry_version = 2;

/// Ingest starts a new entry of a partition once its current one holds
/// this many bytes: an entry, the unit of the log's writes, fetches and
/// trims, stays well under a fetch's max_fetch_bytes and a route_request's
/// ~256 KiB (an event larger than this is an entry alone).
inline constexpr std::size_t max_partition_entry_bytes = 64 * 1024;

/// The bytes of a version-2 entry's header: its version and event count.
inline constexpr std::size_t partition_entry_header_bytes = 1 + 4;

/// One event of a decoded entry: views into the bytes it was decoded from.
struct partition_entry_view {
  std::string_view record;
  std::vector<std::string_view> subscriptions;
};

/// Appends the event `record` queued for `subscriptions` to `entry`: to
/// the entry it holds, or, when it is empty, as a new entry's first event.
/// Subscription ids are at most 65 535 bytes (the API's are ~24).
void append_to_partition_entry(std::string& entry, std::string_view record,
                               const std::vector<std::string_view>& subscriptions);

/// Appends the events of `entry` to those of `into` when both are version-2
/// entries with at least one event and together hold at most
/// max_partition_entry_bytes; returns whether it did (when not, `into` is
/// unchanged). Only the headers are read: the router merges the entries
/// its own ingest wrote, so that concurrent requests for one partition
/// cost the replicas one entry (cluster/router.cpp, the flush).
bool merge_partition_entries(std::string& into, std::string_view entry);

/// Returns the entry holding `record` queued for `subscriptions` alone.
std::string encode_partition_entry(std::string_view record,
                                   const std::vector<std::string_view>& subscriptions);

/// Returns the events `bytes` hold, in order (views into them), or nullopt
/// when they are not one whole entry of a version this binary reads
/// (truncated, trailing bytes, no event, another version).
std::optional<std::vector<partition_entry_view>> decode_partition_entry(std::string_view bytes);

} // namespace sy::cluster
