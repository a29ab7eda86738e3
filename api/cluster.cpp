// GET /v1/cluster (docs/api.md §10): the cluster as this node last saw it in
// etcd. A single node (no [cluster] table) has no cluster: 404 saying so.

#include "api/common.hpp"
#include "cluster/membership.hpp"
#include "core/json_writer.hpp"

namespace sy::api {

namespace {

void write_names(core::json_writer& w, const char* key, const std::vector<std::string>& names) {
  w.key(key).begin_array();
  for (const auto& n : names)
    w.value(n);
  w.end_array();
}

std::string cluster_json(const cluster::cluster_view& v) {
  core::json_writer w;
  w.begin_object().key("node").value(v.node).key("controller");
  if (v.controller.empty())
    w.null();
  else
    w.value(v.controller);
  w.key("members").begin_array();
  for (const auto& m : v.members)
    w.begin_object()
      .key("node")
      .value(m.node)
      .key("http")
      .value(m.http)
      .key("cluster")
      .value(m.cluster)
      .key("state")
      .value(m.up ? "up" : "down")
      .end_object();
  w.end_array().key("partitions").begin_array();
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
    write_names(w, "replicas", p.replicas);
    write_names(w, "in_sync", p.in_sync);
    w.end_object();
  }
  w.end_array().end_object();
  return std::move(w).str();
}

} // namespace

void install_cluster(transport::http_server& server, const api_context& ctx) {
  server.route("GET", "/v1/cluster",
               [membership = ctx.cluster](transport::http_request&&, transport::responder respond) {
                 if (!membership)
                   return respond(error_response(
                     404, "not in cluster mode: this node runs alone (no [cluster] table in its "
                          "configuration; docs/cluster.md)"));
                 respond(json_response(200, cluster_json(membership->view())));
               });
}

} // namespace sy::api
