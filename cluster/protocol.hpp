#pragma once
// The messages nodes send each other over CAF's middleman — `peer_links`'
// hello and pings, and the replication messages of cluster/replication.hpp
// (../shared/CLUSTER.md, "CAF wire rules"): plain structs of strings and
// integers with 0.17-form `inspect` overloads, declared in the
// type-ID block `switchyard_cluster` and registered at run time by
// register_cluster_protocol(). Every node must declare the same names.
//
// The block starts at first_custom_type_id + 500, well after the
// `switchyard` block of actors/messages.hpp (about 50 types): the two are
// made apart, and app/server.cpp checks at compile time that they do not
// overlap.

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/replication.hpp"

namespace sy::cluster {

/// The version of the node-to-node messages this build speaks. Raised
/// whenever a message in this file or cluster/replication.hpp changes shape
/// or meaning; nodes of different versions refuse to link (docs/cluster.md
/// "Rolling restart"), so that a rolling upgrade across a change stops at
/// a clear log line instead of at a message one side cannot read. 1: the
/// first versioned wire (2026-12-03). 2: partition entries of version 2,
/// several events each (cluster/partition_entry.hpp, 2026-12-05), which a
/// node of wire 1 cannot apply.
inline constexpr uint32_t wire_version = 2;

/// Introduces a node to a peer it connected to; the peer answers with its
/// own. A peer with another wire version or partition count is refused.
/// `wire` comes first so that later versions can keep it where it is.
struct peer_hello {
  uint32_t wire = wire_version;
  std::string node;
  uint32_t partitions = 0;
};

/// Asks a peer for a `peer_pong` carrying the same sequence number: proves a
/// message round-trips and measures the link's round-trip time.
struct peer_ping {
  std::string node; ///< the sender
  uint64_t seq = 0;
};

/// Answers a `peer_ping`.
struct peer_pong {
  std::string node; ///< the answering node
  uint64_t seq = 0;
};

/// Attaches the node's replicator to its peer_links actor (local only):
/// `(peer_attach_atom, replicator)`; replication requests from peers are
/// delegated to it.
using peer_attach_atom = caf::atom_constant<caf::atom("peerattach")>;
/// Routes a replication request to a peer's replicator (local only):
/// `(peer_route_atom, node, request)` to the peer_links actor, answered by
/// the peer's replicator, or with an error at once when `node` is not linked.
using peer_route_atom = caf::atom_constant<caf::atom("peerroute")>;

/// Attaches the node's router to its peer_links actor (local only):
/// `(router_attach_atom, router)`; route_requests from peers are delegated to it.
using router_attach_atom = caf::atom_constant<caf::atom("rtrattach")>;
/// Tells the attached router and replicator that the link to a peer dropped
/// (local only): `(peer_down_atom, node)`; a request in flight to it can get
/// no answer.
using peer_down_atom = caf::atom_constant<caf::atom("peerdown")>;

/// One partition's part of a routed batch: the entries (cluster/partition_entry
/// bytes) the ingest node asks the partition's primary to append.
struct route_part {
  uint32_t partition = 0;
  std::vector<std::string> entries;
};

/// A batch's parts for one peer (cluster/router.hpp): sent as
/// `(peer_route_atom, node, route_request)` to the local peer_links actor,
/// delegated to the peer's router, answered with a `route_response`.
struct route_request {
  std::string node;   ///< the ingest node
  uint64_t batch = 0; ///< the ingest node's number of the first batch it carries (logs)
  std::vector<route_part> parts;
};

/// One partition's outcome in a route_response.
struct route_result {
  uint32_t partition = 0;
  uint8_t outcome = 0; ///< a cluster::route_outcome
};

/// Answers a route_request: an outcome per part, in the request's order.
struct route_response {
  std::string node; ///< the answering node
  std::vector<route_result> results;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_hello& x) {
  return f(caf::meta::type_name("peer_hello"), x.wire, x.node, x.partitions);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_ping& x) {
  return f(caf::meta::type_name("peer_ping"), x.node, x.seq);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_pong& x) {
  return f(caf::meta::type_name("peer_pong"), x.node, x.seq);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, route_part& x) {
  return f(caf::meta::type_name("route_part"), x.partition, x.entries);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, route_request& x) {
  return f(caf::meta::type_name("route_request"), x.node, x.batch, x.parts);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, route_result& x) {
  return f(caf::meta::type_name("route_result"), x.partition, x.outcome);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, route_response& x) {
  return f(caf::meta::type_name("route_response"), x.node, x.results);
}

// The replication messages are declared CAF-free in cluster/replication.hpp
// (its state machines take and return them); their wire form is here.

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, epoch_start& x) {
  return f(caf::meta::type_name("epoch_start"), x.epoch, x.start_offset);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fetch_request& x) {
  return f(caf::meta::type_name("fetch_request"), x.partition, x.epoch, x.node, x.from_offset);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fetch_response& x) {
  return f(caf::meta::type_name("fetch_response"), x.partition, x.epoch, x.status, x.from_offset,
           x.commit_offset, x.log_end, x.log_start, x.epochs, x.entries);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, epoch_end_request& x) {
  return f(caf::meta::type_name("epoch_end_request"), x.partition, x.epoch, x.node, x.last_epoch);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, epoch_end_response& x) {
  return f(caf::meta::type_name("epoch_end_response"), x.partition, x.epoch, x.status,
           x.found_epoch, x.end_offset);
}

} // namespace sy::cluster

CAF_BEGIN_TYPE_ID_BLOCK(switchyard_cluster, caf::first_custom_type_id + 500)
CAF_ADD_TYPE_ID(switchyard_cluster, (sy::cluster::peer_hello))
CAF_ADD_TYPE_ID(switchyard_cluster, (sy::cluster::peer_ping))
CAF_ADD_TYPE_ID(switchyard_cluster, (sy::cluster::peer_pong))
CAF_ADD_TYPE_ID(switchyard_cluster, (sy::cluster::epoch_start))
CAF_ADD_TYPE_ID(switchyard_cluster, (sy::cluster::fetch_request))
CAF_ADD_TYPE_ID(switchyard_cluster, (sy::cluster::fetch_response))
CAF_ADD_TYPE_ID(switchyard_cluster, (sy::cluster::epoch_end_request))
CAF_ADD_TYPE_ID(switchyard_cluster, (sy::cluster::epoch_end_response))
CAF_ADD_TYPE_ID(switchyard_cluster, (sy::cluster::route_part))
CAF_ADD_TYPE_ID(switchyard_cluster, (sy::cluster::route_request))
CAF_ADD_TYPE_ID(switchyard_cluster, (sy::cluster::route_result))
CAF_ADD_TYPE_ID(switchyard_cluster, (sy::cluster::route_response))
CAF_END_TYPE_ID_BLOCK(switchyard_cluster)

namespace sy::cluster {

/// Registers the node-to-node messages with `cfg` (cluster mode only): a
/// type not registered fails only at run time, "cannot serialize message".
inline void register_cluster_protocol(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::switchyard_cluster>();
}

} // namespace sy::cluster
