#pragma once
// What the tests of cluster mode share: one real etcd (Debian etcd-server)
// and switchyard nodes on free loopback ports, and GET /v1/cluster as a
// test reads it. Used by cluster_test.cpp and cluster_kill_test.cpp; each
// test binary makes its own fixture, so ctest runs them in parallel.

#include <gtest/gtest.h>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../common/free_port.hpp"
#include "harness.hpp"

namespace sy::test {

/// One partition's configuration in GET /v1/cluster.
struct cluster_partition {
  int64_t epoch = 0;
  std::string primary;
  std::vector<std::string> replicas;
  std::vector<std::string> in_sync;
};

/// GET /v1/cluster as the tests read it.
struct cluster_state {
  bool ok = false; ///< the node answered 200 with the expected shape
  std::string controller;
  std::map<std::string, std::string> members; ///< node → "up" | "down"
  std::map<std::string, std::string> links; ///< node → "self" | "connected" | "connecting" | "down"
  std::map<std::string, int64_t> rtt_us;    ///< node → the last ping's round trip; -1: none
  std::map<std::string, std::string> link_errors; ///< node → why its link is not up; "": null
  std::vector<cluster_partition> parts;
  std::string body;
};

/// Returns what `node` answers to GET /v1/cluster.
cluster_state read_cluster(const server_process& node);

/// Returns "" when `c` shows every node of `peers` linked and pinged (a pong
/// came back: the rtt is known) and `self` as "self", else what is missing.
std::string check_links(const cluster_state& c, const std::string& self,
                        const std::vector<std::string>& peers);

/// Returns the names of `names` other than `self`.
std::vector<std::string> others_of(const std::vector<std::string>& names, const std::string& self);

/// Returns true when `c` shows every partition settled: a primary, exactly
/// `replicas` replicas, every one of them in sync (no catch-up or move
/// under way; a publisher started now sees no planned hand-over).
bool settled(const cluster_state& c, std::size_t replicas);

/// Returns true when `c` shows every partition led by its preferred replica
/// (placement's first among `members`), as the rebalancing passes leave it.
bool led_by_preferred(const cluster_state& c, const std::vector<std::string>& members,
                      std::size_t replicas);

/// Returns the link state `c` shows for `node`, "" when none.
std::string link_of(const cluster_state& c, const std::string& node);

/// Waits (at most `timeout`) until `done(read_cluster(node))` holds; returns
/// the last state read.
template <class Pred>
cluster_state wait_until(const server_process& node, Pred done,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  cluster_state c;
  while (std::chrono::steady_clock::now() < deadline) {
    c = read_cluster(node);
    if (c.ok && done(c))
      return c;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return c;
}

/// A fixture with one etcd on free loopback ports, started in SetUp (the
/// test is skipped when etcd is not installed) and killed in TearDown after
/// every node it made was stopped with SIGTERM (each must exit 0). Touched
/// by the test's thread only.
class cluster_fixture : public ::testing::Test {
public:
  /// The partition count every node is given unless a test says otherwise.
  static constexpr int partitions = 16;
  /// The replica count (R) every node is given.
  static constexpr int replicas = 2;

protected:
  void SetUp() override;
  void TearDown() override;

  /// Returns the [cluster] table of `node`: `extra` is more [cluster] lines;
  /// `listen` replaces a free port's address; `etcd` (URLs), the fixture's
  /// etcd.
  std::string cluster_toml(const std::string& node, int parts = partitions,
                           const std::string& extra = "", const std::string& listen = "",
                           const std::vector<std::string>& etcd = {}) const;

  /// Makes (does not start) a node with its own temporary data directory.
  server_process& add_node(const std::string& name, int parts = partitions,
                           const std::string& extra = "", const std::string& listen = "",
                           const std::vector<std::string>& etcd = {});

  /// Waits until every node (named `names`, in the order they were added)
  /// sees every other up, linked and pinged.
  void all_linked(const std::vector<std::string>& names);

  temp_dir etcd_dir_;
  std::string etcd_url_;
  pid_t etcd_pid_ = -1;
  std::vector<std::unique_ptr<temp_dir>> dirs_;
  std::vector<std::unique_ptr<server_process>> nodes_;
};

} // namespace sy::test
