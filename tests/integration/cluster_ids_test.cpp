// Cluster-unique event ids (cluster/node_number.hpp, docs/cluster.md "Event
// ids"): one real etcd and real nodes. Each journal incarnation gets a node
// number from etcd, keeps it across restarts, gets a new one when its data
// directory is wiped, and ids answered 202 by different nodes or
// incarnations never collide.

#include <gtest/gtest.h>

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "cluster_fixture.hpp"

namespace sy::test {
namespace {

using namespace std::chrono_literals;

class cluster_ids_test : public cluster_fixture {};

// Returns the node number `node` shows for itself in GET /v1/cluster (0: none).
uint64_t node_number_of(const server_process& node) {
  auto r = node.call("GET", "/v1/cluster");
  EXPECT_EQ(r.status, 200) << r.body;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  int64_t n = 0;
  if (parser.parse(r.body).get(root) || root["node_number"].get_int64().get(n)) {
    ADD_FAILURE() << "no node_number in " << r.body;
    return 0;
  }
  return static_cast<uint64_t>(n);
}

// Returns the number each member shows in `node`'s GET /v1/cluster, by name.
std::map<std::string, int64_t> member_numbers(const server_process& node) {
  std::map<std::string, int64_t> out;
  auto r = node.call("GET", "/v1/cluster");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (r.status != 200 || parser.parse(r.body).get(root))
    return out;
  for (auto m : root["members"].get_array()) {
    std::string_view name;
    int64_t n = 0;
    if (!m["node"].get_string().get(name) && !m["number"].get_int64().get(n))
      out[std::string(name)] = n;
  }
  return out;
}

// Posts `batches` batches of `per_batch` events to `node` and returns the
// ids its 202s answered, in order.
std::vector<std::string> publish(const server_process& node, int batches, int per_batch) {
  std::vector<std::string> ids;
  for (int b = 0; b < batches; ++b) {
    std::string body = "[";
    for (int i = 0; i < per_batch; ++i)
      body += std::string(i ? "," : "") + R"({"type":"orders.created","data":{"n":)" +
              std::to_string(b * per_batch + i) + "}}";
    body += "]";
    auto r = node.call("POST", "/v1/events", body);
    EXPECT_EQ(r.status, 202) << r.body;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (r.status != 202 || parser.parse(r.body).get(root))
      continue;
    for (auto id : root["ids"].get_array())
      ids.emplace_back(id.get_string().value_unsafe());
  }
  return ids;
}

// Returns the id prefix ("evt_" and 4 hex digits) of node number `n`'s range.
std::string prefix_of(uint64_t n) {
  char hex[8];
  std::snprintf(hex, sizeof hex, "%04llx", static_cast<unsigned long long>(n));
  return std::string("evt_") + hex;
}

// Returns "" when every id of `ids` is 20 characters and in number `n`'s
// range, else the first that is not.
std::string outside_range(const std::vector<std::string>& ids, uint64_t n) {
  for (const auto& id : ids)
    if (id.size() != 20 || id.compare(0, 8, prefix_of(n)) != 0)
      return id;
  return "";
}

// Returns how many ids of `a` are also in `b`.
std::size_t common(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::set<std::string> in_b(b.begin(), b.end());
  return static_cast<std::size_t>(
    std::count_if(a.begin(), a.end(), [&](const std::string& id) { return in_b.count(id) > 0; }));
}

} // namespace

TEST_F(cluster_ids_test, two_nodes_get_distinct_numbers_and_their_ids_never_collide) {
  auto& n1 = add_node("n1");
  auto& n2 = add_node("n2");
  n1.start();
  n2.start();
  const auto a = node_number_of(n1);
  const auto b = node_number_of(n2);
  EXPECT_GE(a, 1u);
  EXPECT_GE(b, 1u);
  EXPECT_NE(a, b);
  EXPECT_NE(
    n1.log().find("node number " + std::to_string(a) + " (new: this data directory had none)"),
    std::string::npos)
    << n1.log();
  EXPECT_NE(n1.log().find("joined the cluster as n1 (node number " + std::to_string(a)),
            std::string::npos);
  // Every member shows every member's number.
  std::map<std::string, int64_t> want{{"n1", static_cast<int64_t>(a)},
                                      {"n2", static_cast<int64_t>(b)}};
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (member_numbers(n2) != want && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(member_numbers(n2), want);

  // Both nodes mint ids at the same time; each from its own range.
  std::vector<std::string> ids1, ids2;
  std::thread other([&] { ids2 = publish(n2, 40, 10); });
  ids1 = publish(n1, 40, 10);
  other.join();
  ASSERT_EQ(ids1.size(), 400u);
  ASSERT_EQ(ids2.size(), 400u);
  EXPECT_EQ(std::set<std::string>(ids1.begin(), ids1.end()).size(), 400u);
  EXPECT_EQ(std::set<std::string>(ids2.begin(), ids2.end()).size(), 400u);
  EXPECT_EQ(common(ids1, ids2), 0u) << "ids handed out by both nodes";
  EXPECT_EQ(outside_range(ids1, a), "");
  EXPECT_EQ(outside_range(ids2, b), "");
}

TEST_F(cluster_ids_test, a_restart_keeps_its_number_and_a_wiped_data_directory_gets_a_new_one) {
  auto& n1 = add_node("n1");
  const auto data = dirs_.back()->path() + "/data";
  n1.start();
  const auto first = node_number_of(n1);
  ASSERT_GE(first, 1u);
  auto before = publish(n1, 5, 10);
  ASSERT_EQ(before.size(), 50u);

  // kill -9 and restart on its data directory: the same number, and ids
  // after the ones it answered before.
  n1.kill9();
  auto log_size = n1.log().size();
  n1.start();
  EXPECT_EQ(node_number_of(n1), first);
  EXPECT_NE(
    n1.log().find("node number " + std::to_string(first) + " (kept from this data directory)",
                  log_size),
    std::string::npos)
    << n1.log().substr(log_size);
  auto after = publish(n1, 5, 10);
  ASSERT_EQ(after.size(), 50u);
  EXPECT_EQ(common(before, after), 0u) << "a restart handed out ids again";
  EXPECT_GT(after.front(), before.back());
  EXPECT_EQ(outside_range(after, first), "");

  // The data directory lost (a machine replaced) and the node started
  // again under the same name: a new number, so none of its ids repeat.
  ASSERT_EQ(n1.terminate(), 0);
  std::filesystem::remove_all(data);
  log_size = n1.log().size();
  n1.start();
  const auto second = node_number_of(n1);
  EXPECT_GT(second, first);
  EXPECT_NE(n1.log().find("(new: this data directory had none)", log_size), std::string::npos)
    << n1.log().substr(log_size);
  auto wiped = publish(n1, 5, 10);
  ASSERT_EQ(wiped.size(), 50u);
  EXPECT_EQ(common(wiped, before), 0u);
  EXPECT_EQ(common(wiped, after), 0u);
  EXPECT_EQ(outside_range(wiped, second), "");

  // A node joining now gets yet another number.
  auto& n2 = add_node("n2");
  n2.start();
  const auto third = node_number_of(n2);
  EXPECT_NE(third, first);
  EXPECT_NE(third, second);
}

} // namespace sy::test
