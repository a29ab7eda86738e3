// GET /v1/cluster (docs/api.md §10): the cluster as this node last saw it in
// etcd. A single node (no [cluster] table) has no cluster: 404 saying so.

#include "api/common.hpp"
#include "cluster/membership.hpp"
#include "cluster/peer_links.hpp"
#include "cluster/placement.hpp"
#include "cluster/replicator.hpp"
#include "core/json_writer.hpp"

namespace sy::api {

namespace {

std::string cluster_json(const cluster::cluster_view& v,
                         const std::vector<cluster::link_view>& links,
                         const cluster::replicator* replicator) {
  core::json_writer w;
  w.begin_object()
    .key("node")
    .value(v.node)
    .key("node_number")
    .value(static_cast<int64_t>(v.node_number))
    .key("controller");
  if (v.controller.empty())
    w.null();
  else
    w.value(v.controller);
  w.key("members").begin_array();
  for (const auto& m : v.members) {
    // A member this node does not dial (gone from etcd) has no link.
    cluster::link_view link{m.node, m.node == v.node ? "self" : "down", -1, ""};
    for (const auto& l : links)
      if (l.node == m.node && m.node != v.node)
        link = l;
    w.begin_object()
      .key("node")
      .value(m.node)
      .key("http")
      .value(m.http)
      .key("cluster")
      .value(m.cluster)
      .key("number");
    // The number /sy/node_number/<node> shows; null before the node wrote it.
    if (m.number == 0)
      w.null();
    else
      w.value(static_cast<int64_t>(m.number));
    w.key("state").value(m.up ? "up" : "down").key("link").value(link.state).key("rtt_us");
    if (link.rtt_us < 0)
      w.null();
    else
      w.value(link.rtt_us);
    // Why the link is not up (a failed attempt, or a refusal: another wire
    // version or partition count); null while linked and on itself.
    w.key("link_error");
    if (link.error.empty() || link.state == "connected" || link.state == "self")
      w.null();
    else
      w.value(link.error);
    w.end_object();
  }
  w.end_array().key("partitions").begin_array();
  std::vector<std::string> live;
  for (const auto& m : v.members)
    if (m.up)
      live.push_back(m.node);
  for (const auto& p : v.partitions) {
    w.begin_object()
      .key("partition")
      .value(static_cast<int64_t>(p.partition))
      .key("epoch")
      .value(p.epoch)
      .key("primary");
    if (p.primary.empty())
      w.null();
    else
      w.value(p.primary);
    // The live member placement ranks first: the controller's rebalancing
    // pass moves the partition to it once it is in sync.
    w.key("preferred");
    if (live.empty())
      w.null();
    else
      w.value(cluster::replicas_of(p.partition, live, 1).front());
    w.key("replicas").value(p.replicas);
    w.key("in_sync").value(p.in_sync);
    if (replicator) {
      // This node's replica of the partition, as its replicator last published it.
      auto r = replicator->status(p.partition);
      w.key("local")
        .begin_object()
        .key("role")
        .value(r.role)
        .key("epoch")
        .value(static_cast<int64_t>(r.epoch))
        .key("log_start")
        .value(static_cast<int64_t>(r.log_start))
        .key("log_end")
        .value(static_cast<int64_t>(r.log_end))
        .key("commit")
        .value(static_cast<int64_t>(r.commit))
        .key("replica_offsets")
        .begin_object();
      for (const auto& [node, offset] : r.replica_offsets)
        w.key(node).value(static_cast<int64_t>(offset));
      w.end_object().end_object();
    }
    w.end_object();
  }
  w.end_array().end_object();
  return std::move(w).str();
}

} // namespace

void install_cluster(transport::http_server& server, const api_context& ctx) {
  server.route(
    "GET", "/v1/cluster",
    [membership = ctx.cluster, links = ctx.links,
     replicator = ctx.replicator](transport::http_request&&, transport::responder respond) {
      if (!membership)
        return respond(error_response(
          404, "not in cluster mode: this node runs alone (no [cluster] table in its "
               "configuration; docs/cluster.md)"));
      respond(json_response(
        200, cluster_json(membership->view(),
                          links ? links->links() : std::vector<cluster::link_view>{}, replicator)));
    });
}

} // namespace sy::api
