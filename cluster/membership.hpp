#pragma once
// A node's part in the cluster's control plane (../shared/CLUSTER.md,
// docs/cluster.md): it holds a lease (TTL 3 s, renewed every second) with
// /sy/members/<node> = {http, cluster} under it, records itself once in
// /sy/nodes/<node> (so that a dead node is still listed, as down), checks
// /sy/meta's partition count, campaigns for /sy/controller under its lease
// and, while it is the controller, writes each /sy/parts/<p> = {primary,
// replicas, in_sync} by a compare-mod_revision transaction whenever the
// live members change. A partition's epoch is the revision of the
// transaction that wrote it (the key's mod_revision): a fencing token that
// only grows. Every node watches /sy/ and so knows the whole picture.
//
// Not here yet: the data plane. in_sync is the replica set itself (there is
// no log to catch up on), and nothing acts on a partition's primary.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "cluster/etcd_values.hpp"
#include "core/expected.hpp"

namespace boost::asio {
class io_context;
}

namespace sy::transport {
class http_client;
}

namespace sy::cluster {

/// What a node needs to join.
struct membership_options {
  std::string node;              ///< cluster.node
  std::string cluster;           ///< cluster.advertise (or cluster.listen)
  std::vector<std::string> etcd; ///< cluster.etcd; the first that answers is used
  uint32_t partitions = 64;
  uint32_t replicas = 3;
  uint32_t min_insync = 2;
  std::chrono::seconds lease_ttl{3};
  std::chrono::milliseconds keep_alive_every{1000};
  /// cluster.rebalance_every_s: how often the controller moves partitions
  /// back to their preferred replicas (0: never). A partition moves when it
  /// was eligible at the pass before too (its preferred replica in sync
  /// then and now); at most `rebalance_most` per pass.
  std::chrono::milliseconds rebalance_every{10000};
  uint32_t rebalance_most = 8;
  /// A new cluster (no partition configured yet in etcd): how long, at
  /// most, the controller waits after its election for `replicas` members
  /// to be live before it writes the first configurations. Placed on the
  /// members live then, every partition starts on its preferred replicas;
  /// placed on the first member alone, most would move later, one
  /// rebalancing pass at a time. 0: no wait.
  std::chrono::milliseconds form_wait{5000};
  /// How long join() waits for etcd, and for an earlier life of this node
  /// (killed before its lease ran out) to vanish.
  std::chrono::milliseconds join_timeout{15000};
  /// Told (on the strand; after the join, on join()'s thread) how long
  /// this node's lease lasts at least: the send time of the grant or
  /// renewal etcd accepted plus its TTL, after the join and after each
  /// renewal. After the lease expired
  /// and the node joined again under a new one, only from the first renewal
  /// after the watch showed the new member key (the configurations the
  /// controller wrote meanwhile are known by then). Optional; cluster mode
  /// gives it actors::delivery_gate::hold_lease_until.
  std::function<void(std::chrono::steady_clock::time_point)> lease_alive_until;
  /// Told (on the strand) the index in `etcd` of the member the node's
  /// watch of /sy/ reads from: when the watch starts, and each time it
  /// moves because a keep-alive failed over. Optional; cluster mode gives
  /// it app::subscription_sync::follow, so that the watches of /sy/subs/,
  /// /sy/event_types/ and /sy/associations/ leave a dead or cut-off member
  /// with it.
  std::function<void(std::size_t)> watch_moved;
};

/// A member as GET /v1/cluster shows it.
struct member_view {
  std::string node;
  std::string http;
  std::string cluster;
  bool up = false;
  /// Its node number as /sy/node_number/<node> shows it (0: none recorded).
  uint64_t number = 0;
  /// The etcd lease its member key is under (0: not up).
  int64_t lease = 0;
};

/// Where a subscription's delivery state lives, as last seen.
struct primary_route {
  std::string node;       ///< this node
  uint32_t partition = 0; ///< the subscription's partition
  std::string primary;    ///< that partition's primary; empty while it has none
  std::string http;       ///< the primary's API base URL; empty unless it is up
};

/// The cluster as this node last saw it in etcd.
struct cluster_view {
  std::string node;
  uint64_t node_number = 0;               ///< this node's (node_number()); 0 before it is known
  std::string controller;                 ///< "" while none holds /sy/controller
  std::vector<member_view> members;       ///< by node name
  std::vector<partition_view> partitions; ///< 0 … partitions-1
};

/// Why join() failed: `bad_config` when the operator must change the
/// configuration (exit 2), else etcd could not be used (exit 1).
struct join_error {
  bool bad_config = false;
  std::string message;
  std::string key = "cluster.etcd"; ///< the configuration key at fault
  bool interrupted = false;         ///< interrupt() ended it: nothing failed
};

/// One node's membership and, when elected, the controller. Made and owned
/// by app/server.cpp in cluster mode only; its work runs on a strand of
/// the io_context it is given; view() may be called from any thread.
class membership {
public:
  /// Makes the membership of `options.node`, calling etcd through `http`
  /// (both must outlive it) on the threads running `ioc`.
  membership(boost::asio::io_context& ioc, transport::http_client& http,
             membership_options options);
  /// Stops (see stop()).
  ~membership();
  membership(const membership&) = delete;
  membership& operator=(const membership&) = delete;

  /// Finds an etcd of options.etcd that answers and checks /sy/meta's
  /// partition count (creating it when this is the cluster's first node):
  /// before the node listens, so that a node of the wrong shape never
  /// serves. Blocks; must not be called on a thread of `ioc`.
  core::expected<void, join_error> connect();

  /// Returns this node's number (cluster/node_number.hpp), after connect()
  /// and before the node mints an event id: `stored` when its journal holds
  /// one (0: it has none), else a new one — etcd's counter /sy/node_numbers
  /// advanced by a transaction comparing its mod_revision, so that two
  /// nodes never get the same. A kept number also raises the counter to it
  /// when the counter is below (an etcd whose data was lost), so that no
  /// later allocation repeats it. Writes /sy/node_number/<node> = the number
  /// for display. Retries etcd until the join timeout; blocks; must not be
  /// called on a thread of `ioc`.
  core::expected<uint64_t, join_error> node_number(uint64_t stored);

  /// Joins, after connect(), with `http` as this node's API base URL
  /// ("http://127.0.0.1:8080", known once the listener has its port):
  /// grants the lease, writes this node's keys, then starts the
  /// keep-alive, the watch of /sy/ and the controller campaign. Blocks
  /// until joined or failed; must not be called on a thread of `ioc`.
  core::expected<void, join_error> join(std::string http);

  /// Makes a connect() or join() in progress on another thread give up
  /// within one etcd call (at most ~2.5 s) with `interrupted` set: for a
  /// stop signal that comes while etcd is still being retried.
  void interrupt();

  /// Revokes the lease (the node shows down at once, and a controller it
  /// held is freed) and stops every loop; waits at most two seconds for etcd.
  void stop();

  /// Revokes `lease` when it is still the lease of `node`'s member key:
  /// for a peer found gone (its cluster port refuses connections;
  /// peer_links_options::peer_gone), so that it shows down and its
  /// partitions fail over now rather than when the lease ends (up to its
  /// TTL). A node that is in fact alive finds its lease expired at its next
  /// renewal and joins again (safety rests on the epochs, not the lease).
  /// Asynchronous, any thread.
  void revoke_gone(std::string node, int64_t lease);

  /// Records in etcd (/sy/suspects/<node>, under this node's lease) the
  /// members this node lost its link to, each with the lease its member
  /// key had then (peer_links_options::suspects); an empty list deletes
  /// the record. Every node reads every record: a member that every other
  /// member suspects in its current lease, when there are at least two
  /// others, has its lease revoked by each of them, so that its partitions
  /// fail over now rather than when its lease ends (a stopped process or
  /// a cut-off machine, whose lease etcd extends across a leader change).
  /// A node cut off from one peer only is suspected by that peer alone and
  /// keeps its lease. Asynchronous, any thread.
  void suspect(suspect_list peers);

  /// Returns whether this node is a member: joined, its lease renewed
  /// within the lease's TTL, and /sy/ read from etcd at least once. /readyz
  /// answers 503 otherwise.
  bool ready() const;

  /// Returns subscription `id`'s partition and that partition's primary as
  /// last seen (empty when it has none yet).
  std::pair<uint32_t, std::string> placement(std::string_view id) const;

  /// Returns subscription `id`'s primary_route (a request that reads or
  /// changes its queue is passed on there).
  primary_route route(std::string_view id) const;

  /// Returns the cluster as last seen.
  cluster_view view() const;

  /// Returns cluster.replicas: how many replicas each partition should have.
  uint32_t replicas() const;

  /// Writes `partition`'s in-sync proposal (this node its primary in
  /// `epoch`: `nodes` to add, `drop` to remove) for the controller;
  /// asynchronous, any thread, a proposal already in etcd is not written again.
  void propose_in_sync(uint32_t partition, int64_t epoch, std::vector<std::string> nodes,
                       std::vector<std::string> drop = {});

  /// Writes `partition`'s delivery record (/sy/progress/<p>); asynchronous,
  /// any thread, a record already in etcd is not written again, and a
  /// failed write is not retried here (partition_apply makes its record
  /// again when it changes, and every 30 s while the release lags).
  void record_progress(uint32_t partition, const partition_progress& progress);

  /// Returns `partition`'s delivery record as this node's watch last saw
  /// it (nullopt: none, or not one this version reads). Any thread.
  std::optional<partition_progress> progress(uint32_t partition) const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// Returns partition `p`'s next configuration given its current one
/// (`current.epoch` 0 = none yet), the live members and the partition's
/// in-sync proposal (null: none). A new partition: the top `replicas` of
/// placement, all in sync, led by the first. Else in_sync = the live nodes
/// of the current set plus those the current primary proposed in the
/// current epoch, minus the backups it proposed to drop then (Kafka's
/// lag-based shrink: they stopped fetching; never the primary); replicas =
/// placement's top `replicas` plus, while any of those is not in sync yet,
/// the in-sync nodes outside them; the primary is kept while it is in sync,
/// else the first in-sync replica. When no node of the in-sync set is live
/// there is no primary (no unclean election): the set is kept until one of
/// them returns. With `prefer` (the controller's rebalancing pass), a
/// settled partition (every wanted replica in sync) whose preferred
/// replica — placement's first — is in sync but does not lead it moves to
/// it (Kafka's preferred-leader election).
partition_view next_configuration(const partition_view& current,
                                  const std::vector<std::string>& live, uint32_t replicas,
                                  const in_sync_proposal* proposal = nullptr, bool prefer = false);

} // namespace sy::cluster
