#pragma once
// A node's links to the other members over CAF's middleman (BASP), the
// carrier of the data plane (../shared/CLUSTER.md, docs/cluster.md). One
// `peer_links` actor per node is published on cluster.listen; it reads the
// live members (/sy/members, through `members`) every 250 ms, connects to
// each other member with a non-blocking connect_atom request to the
// middleman's (or, with mutual TLS, the OpenSSL manager's) actor handle,
// exchanges a `peer_hello` (a peer with another wire version or partition
// count is refused), monitors the peer, pings it every second, marks it
// down on its down_msg (the process died, or CAF's heartbeats timed out)
// and reconnects with a bounded backoff while the member is still in etcd.
// A link lost is probed with plain TCP connects: a peer whose port refuses
// them is gone (peer_links_options::peer_gone). It also carries the
// replication requests (cluster/replicator.hpp) and the router's
// route_requests (cluster/router.hpp): a routed request is delegated to the
// peer's links actor, which delegates it to its node's replicator (or
// router), whose answer goes straight back to the asker.
//
// Made and owned by app/server.cpp in cluster mode only; the actor runs on
// CAF's workers and publishes what it sees to a mutex-guarded snapshot that
// links() reads from any thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/etcd_values.hpp"
#include "core/expected.hpp"

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace sy::cluster {

/// A live member as peer_links dials it.
struct peer_address {
  std::string node;
  std::string cluster; ///< HOST:PORT (its cluster.advertise)
  int64_t lease = 0;   ///< the etcd lease its member key is under (0: unknown)
};

/// One member's link as this node sees it.
struct link_view {
  std::string node;
  std::string state = "down"; ///< "self" | "connected" | "connecting" | "down"
  int64_t rtt_us = -1;        ///< the last ping's round trip; -1 before the first pong
  std::string error;          ///< why the last attempt failed or was refused; "" once linked
};

/// What peer_links needs.
struct peer_links_options {
  std::string node;        ///< cluster.node
  uint32_t partitions = 0; ///< cluster.partitions: a peer with another count is refused
  /// The node-to-node wire version this node speaks; 0 = this build's
  /// (protocol.hpp's wire_version). Tests set another to play a node of
  /// another release. A peer speaking another version is refused.
  uint32_t wire = 0;
  bool tls = false; ///< dial through caf::openssl (the system loaded openssl::manager)
  /// Returns the live members (this node included or not); called on a CAF
  /// worker every 250 ms, so it must be thread-safe and quick.
  std::function<std::vector<peer_address>()> members;
  /// Told (on a CAF worker) that `node`, whose link dropped, refuses TCP
  /// connections on its cluster address: nothing listens there, so its
  /// process is gone (its machine answered). Cluster mode revokes `lease`
  /// (membership::revoke_gone), so that its partitions fail over now
  /// rather than when the lease ends. A peer that still accepts
  /// connections (stopped, overloaded) or does not answer at all (its
  /// machine or the network) is left to its lease. Optional.
  std::function<void(const std::string& node, int64_t lease)> peer_gone;
  /// Told (on a CAF worker) the members this node suspects, whenever that
  /// list changes: each whose link broke (not a graceful stop) at least
  /// suspect_after ago and has not come back, with the lease its member
  /// key had then; a member that left etcd, or came back under another
  /// lease, is no longer listed. Cluster mode writes the list to etcd
  /// (membership::suspect), where a member that every other member
  /// suspects has its lease revoked. Optional.
  std::function<void(suspect_list)> suspects;
  /// How long a broken link stays down before its peer is suspected: a
  /// link that flapped is dialled again well within it.
  std::chrono::milliseconds suspect_after{500};
};

/// The node's peer links. Thread-safe: links() may be called from any thread.
class peer_links {
public:
  /// Spawns the links actor in `system` (which must have io::middleman
  /// loaded, and openssl::manager when `options.tls`; it must outlive this).
  peer_links(caf::actor_system& system, peer_links_options options);
  /// Stops (see stop()).
  ~peer_links();
  peer_links(const peer_links&) = delete;
  peer_links& operator=(const peer_links&) = delete;

  /// Publishes the links actor on `host`:`port` (through caf::openssl with
  /// TLS); returns the bound port, or CAF's reason (e.g. the port is in
  /// use). Blocks briefly; call it at start-up, not on an I/O thread.
  core::expected<uint16_t, std::string> listen(const std::string& host, uint16_t port);

  /// Ends the actor (its links close; peers see this node down at once).
  void stop();

  /// Returns the link to each member this node currently dials, by node
  /// name; a member not listed (gone from etcd) is "down".
  std::vector<link_view> links() const;

  /// Returns the links actor (include <caf/actor.hpp> to use it): the
  /// node's replicator attaches to it (`peer_attach_atom`, itself), so that
  /// replication requests from peers are delegated to it (the router
  /// likewise with `router_attach_atom`, for route_requests), and sends it
  /// `(peer_route_atom, node, request)` to reach `node`'s replicator; a
  /// peer not linked fails the request at once (protocol.hpp).
  caf::actor actor() const;

private:
  struct impl; // the actor handle and the snapshot: keeps CAF out of this header
  std::unique_ptr<impl> impl_;
};

} // namespace sy::cluster
