// kill -9 while the sink is failing, restart, and count: every acknowledged
// event arrives; duplicates are counted and reported, never losses.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

TEST(durability, kill9_while_failing_loses_nothing_acknowledged) {
  temp_dir dir;
  sink hook;
  const std::string cfg = "[retry]\ninitial_ms = 50\nmax_ms = 300\n";
  auto server = std::make_unique<server_process>(dir.path(), cfg);
  server->start();
  auto created = server->call("POST", "/v1/subscriptions",
                              R"({"service":"d","url":")" + hook.url("/k") +
                                R"(","verification":"skip"})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto id = json_string(created.body, "id");

  hook.fail_all("/k", 503);
  std::set<std::string> acknowledged;
  for (int b = 0; b < 40; ++b) {
    std::string batch = "[";
    for (int i = 0; i < 25; ++i)
      batch += std::string(i ? "," : "") + R"({"type":"dur.e","data":{"n":)" +
               std::to_string(b * 25 + i) + "}}";
    batch += "]";
    auto r = server->call("POST", "/v1/events", batch);
    ASSERT_EQ(r.status, 202) << r.body;
    // Every id in the 202 is an acknowledged event.
    std::size_t pos = 0;
    while ((pos = r.body.find("evt_", pos)) != std::string::npos) {
      acknowledged.insert(r.body.substr(pos, 20));
      pos += 20;
    }
  }
  ASSERT_EQ(acknowledged.size(), 1000u);
  server->kill9();

  hook.fail_all("/k", 0);
  server = std::make_unique<server_process>(dir.path(), cfg);
  server->start();
  auto deadline = std::chrono::steady_clock::now() + 60s;
  std::map<std::string, int> seen;
  while (std::chrono::steady_clock::now() < deadline) {
    seen.clear();
    for (const auto& d : hook.delivered("/k"))
      ++seen[json_string(d.body, "id")];
    bool all = true;
    for (const auto& a : acknowledged)
      if (!seen.count(a)) {
        all = false;
        break;
      }
    if (all)
      break;
    std::this_thread::sleep_for(50ms);
  }
  std::size_t lost = 0, duplicates = 0;
  for (const auto& a : acknowledged)
    lost += seen.count(a) ? 0 : 1;
  for (const auto& [k, n] : seen)
    duplicates += static_cast<std::size_t>(n - 1);
  std::printf("durability: %zu acknowledged, %zu lost, %zu duplicates\n", acknowledged.size(), lost,
              duplicates);
  EXPECT_EQ(lost, 0u);
  // The subscription survived the crash too.
  EXPECT_EQ(server->call("GET", "/v1/subscriptions/" + id).status, 200);
}

TEST(durability, kill9_during_publishing_keeps_every_202) {
  temp_dir dir;
  sink hook;
  auto server = std::make_unique<server_process>(dir.path());
  server->start();
  auto created = server->call("POST", "/v1/subscriptions",
                              R"({"service":"d","url":")" + hook.url("/p") +
                                R"(","verification":"skip"})");
  ASSERT_EQ(created.status, 201);
  ASSERT_EQ(
    server->call("POST", "/v1/subscriptions/" + json_string(created.body, "id") + "/pause").status,
    200);

  // Publish from a thread while the main thread kills the server mid-stream.
  std::mutex m;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false}, publisher_done{false};
  std::thread publisher([&] {
    for (int i = 0; !stop; ++i) {
      auto r = http_call(server->port(), "POST", "/v1/events",
                         R"({"type":"p.e","data":{"n":)" + std::to_string(i) + "}}");
      if (r.status != 202)
        break;
      std::lock_guard<std::mutex> g(m);
      acknowledged.insert(r.body.substr(r.body.find("evt_"), 20));
    }
    publisher_done = true;
  });
  // A publisher that stops early (the server died) ends the wait too.
  while (!publisher_done) {
    {
      std::lock_guard<std::mutex> g(m);
      if (acknowledged.size() >= 200)
        break;
    }
    std::this_thread::sleep_for(5ms);
  }
  server->kill9();
  stop = true;
  publisher.join();
  ASSERT_GE(acknowledged.size(), 200u)
    << "the publisher stopped before 200 events were acknowledged";

  server = std::make_unique<server_process>(dir.path());
  server->start();
  auto subs = server->call("GET", "/v1/subscriptions");
  auto id = subs.body.substr(subs.body.find("sub_"), 28);
  auto stats = server->call("GET", "/v1/subscriptions/" + id).body;
  // Paused: everything acknowledged is still queued after the crash.
  auto q = stats.find("\"queued\":");
  ASSERT_NE(q, std::string::npos) << stats;
  auto queued = std::stoul(stats.substr(q + 9));
  std::printf("durability: %zu acknowledged before kill -9, %lu queued after restart\n",
              acknowledged.size(), queued);
  EXPECT_GE(queued, acknowledged.size());
  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + id + "/activate").status, 200);
  // More may be queued than was acknowledged (journaled, killed before the
  // 202 left), and deliveries run 16 at a time: wait for the ids, not a count.
  std::set<std::string> delivered;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  auto all_there = [&] {
    for (const auto& a : acknowledged)
      if (!delivered.count(a))
        return false;
    return true;
  };
  while (std::chrono::steady_clock::now() < deadline) {
    delivered.clear();
    for (const auto& d : hook.delivered("/p"))
      delivered.insert(json_string(d.body, "id"));
    if (all_there())
      break;
    std::this_thread::sleep_for(20ms);
  }
  for (const auto& a : acknowledged)
    EXPECT_TRUE(delivered.count(a)) << a << " was acknowledged but not delivered";
}

// Issue 11: a subscription's subscriber actor is spawned on its first need.
// After a crash, one with queued events drains them with no new event; an
// idle one shows empty stats and still gets its first event.
TEST(durability, after_a_restart_queued_subscriptions_drain_and_idle_ones_wake_on_an_event) {
  temp_dir dir;
  sink hook;
  const std::string cfg = "[retry]\ninitial_ms = 50\nmax_ms = 300\n";
  auto server = std::make_unique<server_process>(dir.path(), cfg);
  server->start();
  auto subscribe = [&](const std::string& path, const std::string& types) {
    auto r = server->call("POST", "/v1/subscriptions",
                          R"({"service":"d","url":")" + hook.url(path) + R"(","types":)" + types +
                            R"(,"verification":"skip"})");
    EXPECT_EQ(r.status, 201) << r.body;
    return json_string(r.body, "id");
  };
  auto event_id = [](const std::string& accepted) {
    auto pos = accepted.find("evt_");
    return pos == std::string::npos ? std::string() : accepted.substr(pos, 20);
  };
  const auto queued_id = subscribe("/q", R"(["q.*"])");
  const auto idle_id = subscribe("/idle", R"(["idle.*"])");

  hook.fail_all("/q", 503);
  std::set<std::string> acknowledged;
  for (int i = 0; i < 5; ++i) {
    auto r = server->call("POST", "/v1/events",
                          R"({"type":"q.e","data":{"n":)" + std::to_string(i) + "}}");
    ASSERT_EQ(r.status, 202) << r.body;
    acknowledged.insert(event_id(r.body));
  }
  ASSERT_EQ(acknowledged.size(), 5u);
  server->kill9();

  hook.fail_all("/q", 0);
  server = std::make_unique<server_process>(dir.path(), cfg);
  server->start();
  // Delivered with no new event: recovery spawned its subscriber.
  ASSERT_TRUE(hook.wait_delivered("/q", 5, std::chrono::seconds(60)));
  std::set<std::string> seen;
  for (const auto& d : hook.delivered("/q"))
    seen.insert(json_string(d.body, "id"));
  for (const auto& a : acknowledged)
    EXPECT_TRUE(seen.count(a)) << a;
  server->wait_for_text("/v1/subscriptions/" + queued_id, R"("queued":0)");

  // The idle subscription has no actor yet; its stats are those of no event.
  auto idle = server->call("GET", "/v1/subscriptions/" + idle_id);
  ASSERT_EQ(idle.status, 200) << idle.body;
  EXPECT_NE(idle.body.find(R"("queued":0)"), std::string::npos) << idle.body;
  EXPECT_NE(idle.body.find(R"("delivered":0)"), std::string::npos) << idle.body;
  auto attempts = server->call("GET", "/v1/subscriptions/" + idle_id + "/attempts");
  EXPECT_EQ(attempts.status, 200) << attempts.body;
  EXPECT_TRUE(hook.received("/idle").empty());

  // Its first event spawns it and is delivered.
  auto r = server->call("POST", "/v1/events", R"({"type":"idle.e","data":{}})");
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_TRUE(hook.wait_delivered("/idle", 1));
  EXPECT_EQ(json_string(hook.delivered("/idle")[0].body, "id"), event_id(r.body));
  auto after = server->wait_for_text("/v1/subscriptions/" + idle_id, R"("delivered":1)");
  EXPECT_NE(after.find(R"("delivered":1)"), std::string::npos) << after;
}

// Issue 11: a graceful stop writes the journal's memtables to table files,
// so that the next start replays no write-ahead log; that start has every
// subscription as it was: queued events, pause state, an idle subscription's
// empty stats and a pull subscription's accessKey and queue.
TEST(durability, a_graceful_stop_flushes_the_journal_and_the_next_start_has_everything) {
  temp_dir dir;
  sink hook;
  const std::string cfg = "[retry]\ninitial_ms = 50\nmax_ms = 300\n";
  auto server = std::make_unique<server_process>(dir.path(), cfg);
  server->start();
  auto create = [&](const std::string& body) {
    auto r = server->call("POST", "/v1/subscriptions", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.body;
  };
  auto subscribe = [&](const std::string& path, const std::string& types) {
    return json_string(create(R"({"service":"d","url":")" + hook.url(path) + R"(","types":)" +
                              types + R"(,"verification":"skip"})"),
                       "id");
  };
  const auto failing_id = subscribe("/f", R"(["f.*"])");
  const auto paused_id = subscribe("/p", R"(["p.*"])");
  const auto idle_id = subscribe("/i", R"(["i.*"])");
  const auto pull = create(R"({"service":"puller","types":["f.*"],"delivery":"pull"})");
  const auto pull_id = json_string(pull, "id");
  const auto access_key = json_string(pull, "accessKey");
  ASSERT_FALSE(access_key.empty()) << pull;
  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + paused_id + "/pause").status, 200);

  hook.fail_all("/f", 503);
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(server->call("POST", "/v1/events", R"({"type":"f.e","data":{}})").status, 202);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(server->call("POST", "/v1/events", R"({"type":"p.e","data":{}})").status, 202);
  server->wait_for_text("/v1/subscriptions/" + failing_id, R"("failed_attempts":)");
  const auto paused_before = server->wait_for_text("/v1/subscriptions/" + paused_id,
                                                   R"("queued":3)");
  ASSERT_NE(paused_before.find(R"("queued":3)"), std::string::npos) << paused_before;
  const auto pull_before = server->call("GET", "/v1/subscriptions/" + pull_id).body;

  ASSERT_EQ(server->terminate(), 0);
  // Flushed: the write-ahead log holds nothing the next open must replay.
  uint64_t wal = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir.path() + "/data/journal"))
    if (f.path().extension() == ".log")
      wal += f.file_size();
  EXPECT_EQ(wal, 0u);
  EXPECT_NE(server->log().find("stopped"), std::string::npos);
  EXPECT_EQ(server->log().find("storage.flush_failed"), std::string::npos) << server->log();

  server = std::make_unique<server_process>(dir.path(), cfg);
  server->start();
  auto paused = server->call("GET", "/v1/subscriptions/" + paused_id);
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(json_string(paused.body, "state"), "paused") << paused.body;
  EXPECT_NE(paused.body.find(R"("queued":3)"), std::string::npos) << paused.body;
  auto idle = server->call("GET", "/v1/subscriptions/" + idle_id);
  ASSERT_EQ(idle.status, 200) << idle.body;
  EXPECT_NE(idle.body.find(R"("queued":0)"), std::string::npos) << idle.body;
  EXPECT_NE(idle.body.find(R"("delivered":0)"), std::string::npos) << idle.body;
  auto failing = server->call("GET", "/v1/subscriptions/" + failing_id);
  EXPECT_NE(failing.body.find(R"("queued":4)"), std::string::npos) << failing.body;
  // The pull subscription: its key still opens its files, its queue is as it was.
  EXPECT_EQ(
    server->call("GET", "/v1/eventfiles", "", {{"Authorization", "Bearer " + access_key}}).status,
    200);
  auto pull_after = server->call("GET", "/v1/subscriptions/" + pull_id);
  EXPECT_EQ(pull_after.body.find(R"("queued":4)") != std::string::npos,
            pull_before.find(R"("queued":4)") != std::string::npos)
    << pull_before << "\n"
    << pull_after.body;

  // Every queued event is still there to deliver.
  hook.fail_all("/f", 0);
  ASSERT_TRUE(hook.wait_delivered("/f", 4, std::chrono::seconds(60)));
  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + paused_id + "/activate").status, 200);
  ASSERT_TRUE(hook.wait_delivered("/p", 3, std::chrono::seconds(60)));
  EXPECT_TRUE(hook.received("/i").empty());
}

// Issue 11: an idle subscription's subscriber is spawned from the
// registry's record as it is at that moment (the slot holds no copy of its
// own), and a change after the spawn reaches the running subscriber.
TEST(durability, after_a_restart_a_change_reaches_the_subscriber_spawned_before_or_after_it) {
  temp_dir dir;
  sink hook;
  auto server = std::make_unique<server_process>(dir.path());
  server->start();
  auto r = server->call("POST", "/v1/subscriptions",
                        R"({"service":"d","url":")" + hook.url("/a") +
                          R"(","types":["c.*"],"verification":"skip"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const auto id = json_string(r.body, "id");
  ASSERT_EQ(server->terminate(), 0);
  server = std::make_unique<server_process>(dir.path());
  server->start();

  // Idle since the restart: the change is made before its subscriber runs.
  auto patched = server->call("PATCH", "/v1/subscriptions/" + id,
                              R"({"url":")" + hook.url("/b") + R"("})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  ASSERT_EQ(json_string(patched.body, "state"), "active") << patched.body;
  ASSERT_EQ(server->call("POST", "/v1/events", R"({"type":"c.e","data":{"n":1}})").status, 202);
  ASSERT_TRUE(hook.wait_delivered("/b", 1));

  // Running now: the next change goes to the running subscriber.
  patched = server->call("PATCH", "/v1/subscriptions/" + id,
                         R"({"url":")" + hook.url("/c") + R"("})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  ASSERT_EQ(server->call("POST", "/v1/events", R"({"type":"c.e","data":{"n":2}})").status, 202);
  ASSERT_TRUE(hook.wait_delivered("/c", 1));
  EXPECT_TRUE(hook.received("/a").empty());
  EXPECT_EQ(hook.delivered("/b").size(), 1u);
}
