#include "cluster_fixture.hpp"

#include <algorithm>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "../common/etcd_process.hpp"
#include "cluster/placement.hpp"

namespace sy::test {

using namespace std::chrono_literals;

cluster_state read_cluster(const server_process& node) {
  cluster_state out;
  auto r = node.call("GET", "/v1/cluster");
  out.body = r.body;
  if (r.status != 200)
    return out;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(r.body).get(root))
    return out;
  std::string_view s;
  if (!root["controller"].get_string().get(s))
    out.controller = s;
  for (auto m : root["members"].get_array()) {
    std::string_view name, state;
    if (m["node"].get_string().get(name) || m["state"].get_string().get(state))
      return out;
    out.members[std::string(name)] = std::string(state);
    std::string_view link;
    if (!m["link"].get_string().get(link))
      out.links[std::string(name)] = std::string(link);
    int64_t rtt = -1;
    if (m["rtt_us"].get_int64().get(rtt))
      rtt = -1;
    out.rtt_us[std::string(name)] = rtt;
    // Every member carries link_error: null, or why its link is not up.
    simdjson::dom::element why;
    if (m["link_error"].get(why))
      return out;
    std::string_view text;
    out.link_errors[std::string(name)] = why.is_null() || why.get_string().get(text) ? "" : text;
  }
  for (auto p : root["partitions"].get_array()) {
    cluster_partition part;
    part.epoch = p["epoch"].get_int64().value_unsafe();
    if (!p["primary"].get_string().get(s))
      part.primary = s;
    for (auto r : p["replicas"].get_array())
      part.replicas.emplace_back(r.get_string().value_unsafe());
    for (auto r : p["in_sync"].get_array())
      part.in_sync.emplace_back(r.get_string().value_unsafe());
    out.parts.push_back(std::move(part));
  }
  out.ok = true;
  return out;
}

std::string check_links(const cluster_state& c, const std::string& self,
                        const std::vector<std::string>& peers) {
  if (!c.ok)
    return "no cluster view";
  if (c.links.count(self) == 0 || c.links.at(self) != "self")
    return self + " is not shown as self";
  for (const auto& p : peers) {
    if (c.links.count(p) == 0 || c.links.at(p) != "connected")
      return p + " is not connected";
    if (c.rtt_us.at(p) < 0)
      return p + " has not answered a ping yet";
    if (!c.link_errors.at(p).empty())
      return p + " is connected but shows link_error " + c.link_errors.at(p);
  }
  return "";
}

bool settled(const cluster_state& c, std::size_t replicas) {
  if (!c.ok || c.parts.empty())
    return false;
  for (const auto& p : c.parts) {
    if (p.primary.empty() || p.replicas.size() != replicas || p.in_sync.size() != replicas)
      return false;
    for (const auto& n : p.replicas)
      if (std::find(p.in_sync.begin(), p.in_sync.end(), n) == p.in_sync.end())
        return false;
  }
  return true;
}

bool led_by_preferred(const cluster_state& c, const std::vector<std::string>& members,
                      std::size_t replicas) {
  if (!c.ok || c.parts.empty())
    return false;
  for (std::size_t p = 0; p < c.parts.size(); ++p)
    if (c.parts[p].primary !=
        sy::cluster::replicas_of(static_cast<uint32_t>(p), members, replicas).front())
      return false;
  return true;
}

std::vector<std::string> others_of(const std::vector<std::string>& names, const std::string& self) {
  std::vector<std::string> others;
  for (const auto& n : names)
    if (n != self)
      others.push_back(n);
  return others;
}

std::string link_of(const cluster_state& c, const std::string& node) {
  return c.links.count(node) ? c.links.at(node) : "";
}

void cluster_fixture::SetUp() {
  if (access(etcd_binary, X_OK) != 0)
    GTEST_SKIP() << "no " << etcd_binary << ": scripts/setup installs Debian's etcd-server";
  const auto client_port = free_port();
  etcd_url_ = "http://127.0.0.1:" + std::to_string(client_port);
  const auto peer = "http://127.0.0.1:" + std::to_string(free_port());
  etcd_pid_ = spawn_etcd(etcd_dir_.path(), etcd_url_, etcd_url_, peer);
  ASSERT_GT(etcd_pid_, 0);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (http_call(static_cast<uint16_t>(client_port), "POST", "/v3/kv/range",
                   R"({"key":"L3JlYWR5"})", {}, 2s)
           .status != 200) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "etcd did not start";
    std::this_thread::sleep_for(50ms);
  }
}

void cluster_fixture::TearDown() {
  nodes_.clear(); // SIGTERM, each must exit 0
  if (etcd_pid_ > 0) {
    kill(etcd_pid_, SIGKILL);
    waitpid(etcd_pid_, nullptr, 0);
  }
}

std::string cluster_fixture::cluster_toml(const std::string& node, int parts,
                                          const std::string& extra, const std::string& listen,
                                          const std::vector<std::string>& etcd) const {
  std::string urls;
  for (const auto& url : etcd.empty() ? std::vector<std::string>{etcd_url_} : etcd)
    urls += (urls.empty() ? "\"" : ", \"") + url + "\"";
  return "[cluster]\nnode = \"" + node + "\"\nlisten = \"" +
         (listen.empty() ? "127.0.0.1:" + std::to_string(free_port()) : listen) + "\"\netcd = [" +
         urls + "]\npartitions = " + std::to_string(parts) +
         "\nreplicas = " + std::to_string(replicas) + "\npreview = true\n" + extra;
}

server_process& cluster_fixture::add_node(const std::string& name, int parts,
                                          const std::string& extra, const std::string& listen,
                                          const std::vector<std::string>& etcd) {
  dirs_.push_back(std::make_unique<temp_dir>());
  nodes_.push_back(std::make_unique<server_process>(
    dirs_.back()->path(), cluster_toml(name, parts, extra, listen, etcd)));
  return *nodes_.back();
}

void cluster_fixture::all_linked(const std::vector<std::string>& names) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto c = wait_until(*nodes_[i], [&](const cluster_state& c) {
      for (const auto& [n, state] : c.members)
        if (state != "up")
          return false;
      return c.members.size() == names.size() &&
             check_links(c, names[i], others_of(names, names[i])).empty();
    });
    ASSERT_EQ(check_links(c, names[i], others_of(names, names[i])), "")
      << names[i] << " sees " << c.body;
  }
}

} // namespace sy::test
