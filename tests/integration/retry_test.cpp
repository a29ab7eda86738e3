// The two-level retry contract of docs/api.md "Retries", end to end: a
// failed event waits out its own delay while the others flow; the whole
// subscription backs off (circuit breaker, then one probe) only on
// Retry-After/429, a connection failure, or a failure ratio over a window.

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <set>

#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

class retry : public ::testing::Test {
protected:
  void start(const std::string& toml) {
    server = std::make_unique<server_process>(dir.path(), toml);
    server->start();
  }

  // Creates a subscription to `url` (verified through the sink when `path`
  // is given) and returns its id.
  std::string subscribe(const std::string& url, const std::string& extra_json,
                        const std::string& path = "") {
    std::string body = R"({"service":"retry test","url":")" + url + "\"" +
                       (extra_json.empty() ? "" : "," + extra_json) + "}";
    auto r = server->call("POST", "/v1/subscriptions", body);
    EXPECT_EQ(r.status, 201) << r.body;
    auto id = json_string(r.body, "id");
    if (!path.empty()) {
      hook.set_key(path, json_string(r.body, "privateKey"));
      auto v = server->call("POST", "/v1/subscriptions/" + id + "/verify");
      EXPECT_EQ(v.status, 200) << v.body;
    }
    return id;
  }

  // Publishes `n` events e.n0 … e.n<n-1> with ids "<prefix><i>" in one batch.
  void publish_batch(int n, const std::string& prefix, int first = 0) {
    std::string batch = "[";
    for (int i = first; i < first + n; ++i)
      batch += std::string(i > first ? "," : "") + R"({"type":"e.n)" + std::to_string(i) +
               R"(","data":{"tag":")" + prefix + std::to_string(i) + R"("}})";
    batch += "]";
    auto r = server->call("POST", "/v1/events", batch);
    ASSERT_EQ(r.status, 202) << r.body;
  }

  // Returns the POSTs `path` received (the verification GET left out).
  std::vector<sink_request> posts(const std::string& path) const {
    std::vector<sink_request> out;
    for (auto& r : hook.received(path))
      if (r.method == "POST")
        out.push_back(r);
    return out;
  }

  // Waits until `path` received at least `n` POSTs; false after `timeout`.
  bool wait_posts(const std::string& path, std::size_t n, std::chrono::milliseconds timeout) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (posts(path).size() < n) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  // Returns the number after `"key":` in `json` (-1 when absent).
  static long long number(const std::string& json, const std::string& key) {
    auto pos = json.find("\"" + key + "\":");
    if (pos == std::string::npos)
      return -1;
    return std::atoll(json.c_str() + pos + key.size() + 3);
  }

  // Returns the body's webhook id ("id" of the envelope).
  // Returns the tag publish_batch gave the event ("<prefix><i>").
  static std::string id_of(const sink_request& r) {
    const std::string key = R"("tag":")";
    auto at = r.body.find(key);
    if (at == std::string::npos)
      return "";
    at += key.size();
    return r.body.substr(at, r.body.find('"', at) - at);
  }

  temp_dir dir;
  sink hook;
  std::unique_ptr<server_process> server;
};

// Returns the ms since epoch in `"state_detail":"backing_off until <ISO>"`, or 0.
int64_t backing_off_until(const std::string& body) {
  const std::string marker = "backing_off until ";
  auto pos = body.find(marker);
  if (pos == std::string::npos)
    return 0;
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(body.c_str() + pos + marker.size(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year,
                  &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

// Returns a loopback port nobody listens on (bound, then closed).
uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

} // namespace

TEST_F(retry, thirty_percent_random_failures_do_not_hold_up_the_healthy_events) {
  // A failed event's first retry is 8–12 s away: every event's first attempt
  // arriving well before that proves the failures held nothing up.
  start("[retry]\ninitial_ms = 10000\nmax_ms = 10000\n");
  auto id = subscribe(hook.url("/r30"), "", "/r30");
  // Seed 15 fails 59 of the first 200 answers and never half of a prefix of
  // 12 or more, so the breaker (ratio 0.5 from 20 attempts) stays closed.
  hook.fail_randomly("/r30", 0.3, 15);
  publish_batch(200, "r30-");
  ASSERT_TRUE(wait_posts("/r30", 200, 7s)) << posts("/r30").size() << " of 200 first attempts";
  auto first = posts("/r30");
  std::set<std::string> tried;
  std::size_t failed = 0;
  for (const auto& r : first) {
    tried.insert(id_of(r));
    failed += r.status != 200;
  }
  EXPECT_EQ(tried.size(), first.size()) << "an event was retried before its own delay";
  EXPECT_EQ(failed, 59u);
  EXPECT_EQ(hook.delivered("/r30").size(), 141u);
  auto stats = server->wait_for_text("/v1/subscriptions/" + id, R"("failed_attempts":59)");
  EXPECT_NE(stats.find(R"("state_detail":null)"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("next_attempt_at":"20)"), std::string::npos) << stats;

  // The receiver recovers: the failed events arrive on their own retry.
  hook.fail_randomly("/r30", 0, 0);
  ASSERT_TRUE(hook.wait_delivered("/r30", 200, 30s)) << hook.delivered("/r30").size();
  std::set<std::string> delivered;
  for (const auto& r : hook.delivered("/r30"))
    delivered.insert(id_of(r));
  EXPECT_EQ(delivered.size(), 200u);
  EXPECT_EQ(posts("/r30").size(), 259u); // each failed event tried exactly once more
  stats = server->wait_for_text("/v1/subscriptions/" + id, R"("delivered":200)");
  EXPECT_NE(stats.find(R"("queued":0)"), std::string::npos) << stats;
}

TEST_F(retry, retry_after_leaves_the_receiver_alone_that_long) {
  start("[retry]\ninitial_ms = 50\nmax_ms = 400\n");
  auto id = subscribe(hook.url("/ra"), "", "/ra");
  hook.fail_next("/ra", 1, 503, 2);
  publish_batch(1, "ra-");
  ASSERT_TRUE(wait_posts("/ra", 1, 10s));
  const auto answered = posts("/ra")[0].at;
  ASSERT_EQ(posts("/ra")[0].status, 503);
  auto stats = server->wait_for_text("/v1/subscriptions/" + id, "backing_off until ");
  EXPECT_NE(stats.find(R"("state_detail":"backing_off until 20)"), std::string::npos) << stats;
  // More events while it waits: none may go before the 2 s are up.
  publish_batch(5, "ra-", 1);
  ASSERT_TRUE(hook.wait_delivered("/ra", 6, 20s));
  auto all = posts("/ra");
  ASSERT_EQ(all.size(), 7u);
  for (std::size_t i = 1; i < all.size(); ++i)
    EXPECT_GE(all[i].at - answered, 2000ms) << "attempt " << i << " came early";
  stats = server->wait_for_text("/v1/subscriptions/" + id, R"("delivered":6)");
  EXPECT_NE(stats.find(R"("state_detail":null)"), std::string::npos) << stats;
}

TEST_F(retry, a_refused_connection_opens_the_breaker_and_its_probes_slow_down) {
  start("[retry]\ninitial_ms = 300\nmax_ms = 10000\n");
  auto id = subscribe("http://127.0.0.1:" + std::to_string(closed_port()) + "/gone",
                      R"("verification":"skip")");
  publish_batch(20, "cf-");
  const std::string target = "/v1/subscriptions/" + id;
  // All 16 of the window go out and are refused; the first opens the breaker.
  auto first = server->wait_for_text(target, R"("failed_attempts":16)");
  ASSERT_NE(first.find(R"("failed_attempts":16)"), std::string::npos) << first;
  ASSERT_NE(first.find("backing_off until "), std::string::npos) << first;
  // After ~300 ms one probe goes, is refused, and the breaker opens for
  // about twice as long; nothing else was sent meanwhile.
  auto second = server->wait_for_text(target, R"("failed_attempts":17)");
  ASSERT_NE(second.find(R"("failed_attempts":17)"), std::string::npos) << second;
  EXPECT_EQ(number(second, "in_flight"), 0) << second;
  EXPECT_NE(second.find(R"("queued":20)"), std::string::npos) << second;
  const int64_t until1 = backing_off_until(first), until2 = backing_off_until(second);
  ASSERT_GT(until1, 0) << first;
  ASSERT_GT(until2, 0) << second;
  // The probe went at until1 or later, and waits 600 ms ± 20 % after it.
  EXPECT_GE(until2 - until1, 480) << first << "\n" << second;
}

TEST_F(retry, fifo_keeps_its_order_under_random_failures) {
  start("[retry]\ninitial_ms = 20\nmax_ms = 100\n");
  subscribe(hook.url("/fifo"), R"("max_in_flight":1)", "/fifo");
  hook.fail_randomly("/fifo", 0.3, 15);
  publish_batch(60, "fifo-");
  ASSERT_TRUE(hook.wait_delivered("/fifo", 60, 60s)) << hook.delivered("/fifo").size();
  auto delivered = hook.delivered("/fifo");
  for (int i = 0; i < 60; ++i)
    EXPECT_EQ(id_of(delivered[static_cast<std::size_t>(i)]), "fifo-" + std::to_string(i));
  // Attempts, failed ones included, never go back: a failing head is retried
  // before any later event is sent.
  auto all = posts("/fifo");
  EXPECT_GT(all.size(), 60u); // some did fail
  int last = -1;
  for (const auto& r : all) {
    int n = std::atoi(id_of(r).c_str() + 5);
    EXPECT_GE(n, last) << "event " << n << " went after " << last;
    EXPECT_LE(n, last + 1) << "event " << n << " overtook a failing head";
    last = std::max(last, n);
  }
}
