// peer_links' hello, the first message of every link: two nodes in one
// process, each with its own caf::actor_system and middleman, linked over
// loopback (port 0). A peer of another release (another wire version) or
// with another partition count is refused by both sides, and each side's
// link says why. Every wait has a deadline.
#include "cluster/peer_links.hpp"

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/protocol.hpp"

using namespace sy::cluster;
using namespace std::chrono_literals;

namespace {

// The members both nodes read, as etcd's /sy/members would list them.
struct members {
  std::mutex mutex;
  std::vector<peer_address> list;
};

struct node {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  std::unique_ptr<peer_links> links;

  node(const std::string& name, uint32_t partitions, uint32_t wire, members& m) {
    cfg.set("scheduler.max-threads", size_t{2});
    cfg.set("logger.verbosity", caf::atom("quiet"));
    cfg.load<caf::io::middleman>();
    register_cluster_protocol(cfg);
    system = std::make_unique<caf::actor_system>(cfg);
    peer_links_options o;
    o.node = name;
    o.partitions = partitions;
    o.wire = wire;
    o.members = [&m] {
      std::lock_guard<std::mutex> guard(m.mutex);
      return m.list;
    };
    links = std::make_unique<peer_links>(*system, std::move(o));
    auto port = links->listen("127.0.0.1", 0);
    EXPECT_TRUE(port) << port.error();
    std::lock_guard<std::mutex> guard(m.mutex);
    m.list.push_back({name, "127.0.0.1:" + std::to_string(port ? *port : 0)});
  }
  ~node() {
    links.reset();
    system.reset();
  }

  link_view link_to(const std::string& peer) const {
    for (auto& l : links->links())
      if (l.node == peer)
        return l;
    return {peer, "down", -1, ""};
  }
};

// Waits up to 10 s for `done`; returns whether it held.
bool within_10_s(const std::function<bool()>& done) {
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(20ms))
    if (done())
      return true;
  return done();
}

std::string shown(const link_view& l) { return l.state + " (" + l.error + ")"; }

TEST(peer_links, nodes_of_one_release_link_and_show_no_error) {
  members m;
  node a("a", 8, 0, m), b("b", 8, 0, m);
  ASSERT_TRUE(within_10_s(
    [&] { return a.link_to("b").state == "connected" && b.link_to("a").state == "connected"; }))
    << "a→b " << shown(a.link_to("b")) << ", b→a " << shown(b.link_to("a"));
  EXPECT_EQ(a.link_to("b").error, "");
  EXPECT_EQ(b.link_to("a").error, "");
}

TEST(peer_links, a_link_whose_peer_goes_is_down_and_says_why) {
  members m;
  node a("a", 8, 0, m);
  auto b = std::make_unique<node>("b", 8, 0, m);
  ASSERT_TRUE(within_10_s([&] { return a.link_to("b").state == "connected"; }))
    << shown(a.link_to("b"));
  b.reset(); // its process gone: the connection closes, redials are refused
  ASSERT_TRUE(within_10_s([&] {
    auto l = a.link_to("b");
    return l.state == "down" && !l.error.empty();
  }))
    << shown(a.link_to("b"));
}

TEST(peer_links, a_peer_speaking_another_wire_version_is_refused_by_both_sides_saying_why) {
  members m;
  // a dials (its name sorts first); b plays a node of a later release.
  node a("a", 8, 0, m), b("b", 8, wire_version + 1, m);
  const std::string ours = std::to_string(wire_version), theirs = std::to_string(wire_version + 1);
  ASSERT_TRUE(within_10_s([&] {
    return a.link_to("b").error.find("wire version " + theirs + ", this node " + ours) !=
             std::string::npos &&
           b.link_to("a").error.find("wire version " + ours + ", this node " + theirs) !=
             std::string::npos;
  }))
    << "a→b " << shown(a.link_to("b")) << ", b→a " << shown(b.link_to("a"));
  EXPECT_NE(a.link_to("b").state, "connected");
  EXPECT_NE(b.link_to("a").state, "connected");
  EXPECT_NE(a.link_to("b").error.find("upgrade every node to the same release"), std::string::npos)
    << a.link_to("b").error;
}

TEST(peer_links, a_peer_with_another_partition_count_is_refused_by_both_sides_saying_why) {
  members m;
  node a("a", 8, 0, m), b("b", 16, 0, m);
  ASSERT_TRUE(within_10_s([&] {
    return a.link_to("b").error.find("it has 16 partitions, this node 8") != std::string::npos &&
           b.link_to("a").error.find("it has 8 partitions, this node 16") != std::string::npos;
  }))
    << "a→b " << shown(a.link_to("b")) << ", b→a " << shown(b.link_to("a"));
  EXPECT_NE(a.link_to("b").state, "connected");
  EXPECT_NE(b.link_to("a").state, "connected");
}

} // namespace
