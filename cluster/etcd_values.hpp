#pragma once
// The values the nodes write under /sy/ in etcd (docs/cluster.md "What works
// now"), as JSON, and back: a member's addresses, the cluster's partition
// count, a partition's configuration, a primary's in-sync proposal and its
// delivery record. No Beast or CAF, so the fuzz build has them
// (tests/fuzz/etcd_values.cpp). A reader returns nullopt for a value that is
// not JSON of its shape: a node then skips that member, sees the partition
// unassigned, ignores the proposal or record, and refuses to start on an
// unreadable /sy/meta.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sy::cluster {

/// A partition's configuration as GET /v1/cluster shows it.
struct partition_view {
  uint32_t partition = 0;
  int64_t epoch = 0; ///< the revision of the transaction that wrote it; 0 = not assigned yet
  std::string primary;
  std::vector<std::string> replicas;
  std::vector<std::string> in_sync;

  friend bool operator==(const partition_view&, const partition_view&) = default;
};

/// A primary's proposal to add caught-up backups to its partition's
/// in-sync set (/sy/proposals/<p>); the controller takes it only in the
/// epoch it was made in, from that epoch's primary.
struct in_sync_proposal {
  std::string primary;
  int64_t epoch = 0;
  std::vector<std::string> nodes; ///< backups that caught up: into the in-sync set
  std::vector<std::string> drop;  ///< in-sync backups that stopped fetching: out of it

  friend bool operator==(const in_sync_proposal&, const in_sync_proposal&) = default;
};

/// A primary's record of delivery in one of its partitions (the value of
/// /sy/progress/<p>): each listed subscription has had every entry of the
/// partition below its offset delivered (or dead-lettered, or purged). A new
/// primary does not queue those entries for it again (docs/cluster.md
/// "Per-subscription release points"). Written only while the partition's
/// release lags by 2 s or more; a record never says more than was
/// delivered, so an old or missing one costs duplicates at most.
struct partition_progress {
  std::string node; ///< the primary that wrote it
  int64_t epoch = 0;
  std::vector<std::pair<std::string, uint64_t>> offsets; ///< subscription id → offset

  friend bool operator==(const partition_progress&, const partition_progress&) = default;
};

/// A member's addresses (/sy/members/<node>): its API base URL and its
/// cluster listen address.
struct member_address {
  std::string http;
  std::string cluster;

  friend bool operator==(const member_address&, const member_address&) = default;
};

std::string encode_member(const member_address& m);
std::optional<member_address> decode_member(const std::string& value);

/// /sy/meta: the cluster's partition count, fixed when the first node
/// started (a node started with another cluster.partitions exits 2).
std::string encode_meta(uint32_t partitions);
std::optional<int64_t> decode_meta_partitions(const std::string& value);

/// /sy/parts/<p>: primary, replicas and in_sync. The partition is the
/// key's and the epoch its mod_revision (known only once the transaction
/// committed): neither is in the value, and the reader leaves them 0.
std::string encode_part(const partition_view& p);
std::optional<partition_view> decode_part(const std::string& value);

/// /sy/proposals/<p>.
std::string encode_proposal(const in_sync_proposal& p);
std::optional<in_sync_proposal> decode_proposal(const std::string& value);

/// /sy/progress/<p>. A negative or non-integer offset makes the whole
/// record unreadable.
std::string encode_progress(const partition_progress& p);
std::optional<partition_progress> decode_progress(const std::string& value);

/// /sy/suspects/<node> (under that node's lease): the members whose link
/// to `node` dropped and has not come back, each with the etcd lease its
/// member key had then. A member that every other member suspects in its
/// current lease, when there are at least two others, has its lease
/// revoked (docs/cluster.md "A node every other member lost").
using suspect_list = std::vector<std::pair<std::string, int64_t>>;
std::string encode_suspects(const suspect_list& s);
/// A lease that is not a positive integer makes the whole value unreadable.
std::optional<suspect_list> decode_suspects(const std::string& value);

} // namespace sy::cluster
