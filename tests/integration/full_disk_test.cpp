// A full disk is an answer, not a crash: the data directory on a small
// tmpfs, a paused subscription, events published until the journal's disk
// is full. Writers get 503 with Retry-After, reads and /healthz answer, the
// log says what is full; once a filler file is deleted writes are accepted
// again without a restart, and after kill -9 and a restart every
// acknowledged event reaches the sink.
//
// The tmpfs is mounted in a mount namespace of the test process's own
// (unshare(CLONE_NEWNS), propagation private): it is unmounted by the
// destructor on every path, and even a crashed test cannot leave it behind,
// since the namespace dies with its last process.

#include <gtest/gtest.h>

#include <sched.h>
#include <unistd.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "harness.hpp"
#include "../common/tmpfs_mount.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

/// Adds every event id in a 202 body to `into`; returns how many it held.
std::size_t collect_ids(const std::string& body, std::set<std::string>& into) {
  std::size_t pos = 0, n = 0;
  while ((pos = body.find("evt_", pos)) != std::string::npos) {
    into.insert(body.substr(pos, 20));
    pos += 20;
    ++n;
  }
  return n;
}

/// Returns a batch of `n` events of about 4 KiB each, numbered from `first`.
std::string batch_of(int first, int n) {
  const std::string pad(4000, 'x');
  std::string batch = "[";
  for (int i = 0; i < n; ++i)
    batch += std::string(i ? "," : "") + R"({"type":"disk.e","data":{"n":)" +
             std::to_string(first + i) + R"(,"pad":")" + pad + "\"}}";
  return batch + "]";
}

} // namespace

TEST(full_disk, answers_503_recovers_once_space_returns_and_loses_nothing) {
  temp_dir dir;
  const std::string data = dir.path() + "/data";
  std::filesystem::create_directories(data);
  // Before any thread exists (the sink's): see tmpfs_mount.
  tmpfs_mount fs(data, 40);
  if (!fs.mounted())
    GTEST_SKIP() << "cannot mount a tmpfs for the data directory (" << fs.why()
                 << "); run as root to test a full disk";

  // Half the file system taken by something else: deleting it is how the
  // operator makes room.
  const std::string filler = data + "/filler";
  {
    std::ofstream f(filler, std::ios::binary);
    const std::string mib(1 << 20, 'f');
    for (int i = 0; i < 20; ++i)
      f << mib;
    ASSERT_TRUE(f.good()) << "could not write the filler file";
  }

  sink hook;
  auto server = std::make_unique<server_process>(dir.path());
  server->start();
  auto created = server->call("POST", "/v1/subscriptions",
                              R"({"service":"disk","url":")" + hook.url("/full") +
                                R"(","verification":"skip"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const auto id = json_string(created.body, "id");
  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + id + "/pause").status, 200);

  // Fill the disk: publish until the journal refuses.
  std::set<std::string> acknowledged;
  http_result refused;
  std::size_t first_refused_after = 0;
  int next = 0;
  for (int round = 0; round < 2000; ++round, next += 50) {
    auto r = server->call("POST", "/v1/events", batch_of(next, 50));
    if (r.status == 202) {
      ASSERT_EQ(collect_ids(r.body, acknowledged), 50u) << r.body;
      continue;
    }
    refused = r;
    first_refused_after = acknowledged.size();
    break;
  }
  ASSERT_TRUE(server->running()) << "switchyard died on a full disk:\n" << server->log();
  ASSERT_EQ(refused.status, 503) << "40 MiB never filled up, or the answer was not 503: "
                                 << refused.body;
  EXPECT_EQ(refused.header("Retry-After"), "1");
  EXPECT_NE(refused.body.find("full"), std::string::npos) << refused.body;
  ASSERT_GT(acknowledged.size(), 1000u) << "refused long before the disk was full";

  // Refused again, with no crash; reads and health still answer.
  for (int i = 0; i < 5; ++i) {
    auto again = server->call("POST", "/v1/events", batch_of(next, 50));
    EXPECT_EQ(again.status, 503) << again.body;
    EXPECT_EQ(again.header("Retry-After"), "1");
  }
  EXPECT_EQ(server->call("GET", "/healthz").status, 200);
  auto listed = server->call("GET", "/v1/subscriptions");
  EXPECT_EQ(listed.status, 200);
  EXPECT_NE(listed.body.find(id), std::string::npos) << listed.body;
  EXPECT_EQ(server->call("GET", "/v1/subscriptions/" + id).status, 200);
  // One line says what is full and what to do.
  const auto log = server->log();
  EXPECT_NE(log.find("is full"), std::string::npos) << log;
  EXPECT_NE(log.find("delete files on that disk"), std::string::npos) << log;

  // Make room: writes are accepted again by themselves.
  ASSERT_TRUE(std::filesystem::remove(filler));
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  bool accepted = false;
  while (!accepted && std::chrono::steady_clock::now() < deadline) {
    auto r = server->call("POST", "/v1/events", batch_of(next, 50));
    if (r.status == 202) {
      collect_ids(r.body, acknowledged);
      next += 50;
      accepted = true;
    } else {
      ASSERT_EQ(r.status, 503) << r.body;
      std::this_thread::sleep_for(50ms);
    }
  }
  ASSERT_TRUE(accepted) << "writes were not accepted again after space was freed:\n"
                        << server->log();
  for (int i = 0; i < 5; ++i, next += 50) {
    auto r = server->call("POST", "/v1/events", batch_of(next, 50));
    ASSERT_EQ(r.status, 202) << r.body;
    collect_ids(r.body, acknowledged);
  }
  EXPECT_NE(server->log().find("accepting writes"), std::string::npos) << server->log();

  // Crash, restart, deliver: every acknowledged event arrives.
  server->kill9();
  server = std::make_unique<server_process>(dir.path());
  server->start();
  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + id + "/activate").status, 200);
  std::set<std::string> delivered;
  auto all_there = [&] {
    for (const auto& a : acknowledged)
      if (!delivered.count(a))
        return false;
    return true;
  };
  const auto delivery_deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < delivery_deadline) {
    delivered.clear();
    for (const auto& d : hook.delivered("/full"))
      delivered.insert(json_string(d.body, "id"));
    if (all_there())
      break;
    std::this_thread::sleep_for(100ms);
  }
  std::size_t lost = 0;
  for (const auto& a : acknowledged)
    lost += delivered.count(a) ? 0 : 1;
  std::printf("full_disk: first 503 after %zu events; %zu acknowledged in all, %zu delivered, "
              "%zu lost\n",
              first_refused_after, acknowledged.size(), delivered.size(), lost);
  EXPECT_EQ(lost, 0u);
}
