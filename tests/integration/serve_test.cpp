// The serve issue end to end: the real binary, a real sink, real sockets.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <set>

#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

struct created {
  std::string id, public_key, private_key;
};

// A server with fast retries, as every test here wants.
constexpr const char* fast_retry = "[retry]\ninitial_ms = 50\nmax_ms = 400\n";

class serve : public ::testing::Test {
protected:
  void SetUp() override {
    server = std::make_unique<server_process>(dir.path(), extra_config());
    server->start();
  }
  virtual std::string extra_config() { return fast_retry; }

  // Creates a native subscription to `path` on the sink and verifies it.
  created subscribe(const std::string& path, const std::string& extra_json = "",
                    bool verify = true) {
    std::string body = R"({"service":"svc )" + path + R"(","url":")" + hook.url(path) + "\"" +
                       (extra_json.empty() ? "" : "," + extra_json) + "}";
    auto r = server->call("POST", "/v1/subscriptions", body);
    EXPECT_EQ(r.status, 201) << r.body;
    created c{json_string(r.body, "id"), json_string(r.body, "publicKey"),
              json_string(r.body, "privateKey")};
    if (verify) {
      hook.set_key(path, c.private_key);
      auto v = server->call("POST", "/v1/subscriptions/" + c.id + "/verify");
      EXPECT_EQ(v.status, 200) << v.body;
      EXPECT_EQ(json_string(v.body, "state"), "active");
    }
    return c;
  }

  http_result publish(const std::string& body) { return server->call("POST", "/v1/events", body); }

  static std::string event(const std::string& type, const std::string& data = "{}",
                           const std::string& extra = "") {
    return R"({"type":")" + type + R"(","data":)" + data + (extra.empty() ? "" : "," + extra) + "}";
  }

  // Returns the event type of each delivery, in arrival order.
  std::vector<std::string> types_of(const std::vector<sink_request>& reqs) {
    std::vector<std::string> out;
    for (const auto& r : reqs)
      out.push_back(json_string(r.body, "type"));
    return out;
  }

  temp_dir dir;
  sink hook;
  std::unique_ptr<server_process> server;
};

} // namespace

TEST_F(serve, publish_is_delivered_once_with_both_signatures) {
  auto sub = subscribe("/a");
  auto r = publish(event("re.notifica.event.custom.Purchase", R"({"total":12.5,"items":["x"]})",
                         R"("country":"NO","timestamp":1421656451382)"));
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_TRUE(hook.wait_delivered("/a", 1));
  auto d = hook.delivered("/a")[0];
  // The body of docs/api.md §3, data byte for byte.
  EXPECT_EQ(json_string(d.body, "type"), "re.notifica.event.custom.Purchase");
  EXPECT_EQ(json_string(d.body, "service"), "svc /a");
  EXPECT_EQ(json_string(d.body, "country"), "NO");
  EXPECT_NE(d.body.find(R"("data":{"total":12.5,"items":["x"]})"), std::string::npos) << d.body;
  EXPECT_NE(d.body.find(R"("timestamp":1421656451382)"), std::string::npos) << d.body;
  // Notificare: HMAC keyed by the private key string's bytes.
  EXPECT_EQ(d.header("x-notificare-public-key"), sub.public_key);
  EXPECT_EQ(d.header("x-notificare-signature"), hmac_b64(sub.private_key, d.body));
  // Standard Webhooks: HMAC keyed by the decoded secret over id.timestamp.body.
  auto secret = unbase64(sub.private_key.substr(6));
  ASSERT_EQ(secret.size(), 32u);
  auto signed_content = d.header("webhook-id") + "." + d.header("webhook-timestamp") + "." + d.body;
  EXPECT_EQ(d.header("webhook-signature"), "v1," + hmac_b64(secret, signed_content));
  EXPECT_EQ(d.header("webhook-id"), json_string(d.body, "id"));
  // Exactly once: nothing else arrives.
  EXPECT_FALSE(hook.wait_delivered("/a", 2, 500ms));
}

TEST_F(serve, custom_star_pattern_receives_only_custom_events) {
  subscribe("/custom", R"("types":["re.notifica.event.custom.*"])");
  subscribe("/all");
  ASSERT_EQ(publish("[" + event("re.notifica.event.custom.Purchase") + "," +
                    event("re.notifica.event.notification.Open") + "," +
                    event("re.notifica.event.custom.a.b") + "," +
                    event("re.notifica.event.custom.Login") + "]")
              .status,
            202);
  ASSERT_TRUE(hook.wait_delivered("/all", 4));
  ASSERT_TRUE(hook.wait_delivered("/custom", 2));
  EXPECT_FALSE(hook.wait_delivered("/custom", 3, 500ms));
  auto got = types_of(hook.delivered("/custom"));
  std::multiset<std::string> set(got.begin(), got.end());
  EXPECT_EQ(set, (std::multiset<std::string>{"re.notifica.event.custom.Purchase",
                                             "re.notifica.event.custom.Login"}));
}

TEST_F(serve, country_filter) {
  subscribe("/no", R"("country":"NO")");
  ASSERT_EQ(publish("[" + event("a.b", "{}", R"("country":"GB")") + "," +
                    event("a.c", "{}", R"("country":"NO")") + "," + event("a.d") + "]")
              .status,
            202);
  ASSERT_TRUE(hook.wait_delivered("/no", 1));
  EXPECT_FALSE(hook.wait_delivered("/no", 2, 500ms));
  EXPECT_EQ(types_of(hook.delivered("/no")), std::vector<std::string>{"a.c"});
}

TEST_F(serve, verification_success_and_failure) {
  auto bad = subscribe("/wrong-key", "", false);
  EXPECT_EQ(server->call("GET", "/v1/subscriptions/" + bad.id).body.find("pending_verification") !=
              std::string::npos,
            true);
  hook.set_key("/wrong-key", "whsec_not-the-key");
  auto r = server->call("POST", "/v1/subscriptions/" + bad.id + "/verify");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("HMAC"), std::string::npos) << r.body;
  EXPECT_EQ(json_string(server->call("GET", "/v1/subscriptions/" + bad.id).body, "state"),
            "pending_verification");
  // The challenge arrived as the SDK expects it: GET ?challenge= with the public key.
  auto got = hook.received("/wrong-key");
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].method, "GET");
  EXPECT_NE(got[0].target.find("?challenge="), std::string::npos);
  EXPECT_EQ(got[0].header("x-notificare-public-key"), bad.public_key);

  // An endpoint that answers 404, and one that refuses connections.
  auto missing = subscribe("/no-key", "", false);
  r = server->call("POST", "/v1/subscriptions/" + missing.id + "/verify");
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("404"), std::string::npos) << r.body;
  auto body = R"({"service":"s","url":"http://127.0.0.1:1/x"})";
  auto refused = server->call("POST", "/v1/subscriptions", body);
  r = server->call("POST", "/v1/subscriptions/" + json_string(refused.body, "id") + "/verify");
  EXPECT_EQ(r.status, 422) << r.body;

  // Events are not queued for an unverified subscription.
  ASSERT_EQ(publish(event("a.b")).status, 202);
  hook.set_key("/wrong-key", bad.private_key);
  r = server->call("POST", "/v1/subscriptions/" + bad.id + "/verify");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_string(r.body, "state"), "active");
  EXPECT_FALSE(hook.wait_delivered("/wrong-key", 1, 500ms));
  ASSERT_EQ(publish(event("a.c")).status, 202);
  ASSERT_TRUE(hook.wait_delivered("/wrong-key", 1));
  EXPECT_EQ(types_of(hook.delivered("/wrong-key")), std::vector<std::string>{"a.c"});
}

TEST_F(serve, pause_queues_and_activate_delivers) {
  auto sub = subscribe("/p");
  auto r = server->call("POST", "/v1/subscriptions/" + sub.id + "/pause");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_string(r.body, "state"), "paused");
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(publish(event("a.n" + std::to_string(i))).status, 202);
  EXPECT_FALSE(hook.wait_delivered("/p", 1, 500ms));
  auto got = server->wait_for_text("/v1/subscriptions/" + sub.id, R"("queued":5)");
  EXPECT_NE(got.find(R"("queued":5)"), std::string::npos) << got;
  r = server->call("POST", "/v1/subscriptions/" + sub.id + "/activate");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(hook.wait_delivered("/p", 5));
}

TEST_F(serve, activate_before_verification_is_409) {
  auto sub = subscribe("/u", "", false);
  EXPECT_EQ(server->call("POST", "/v1/subscriptions/" + sub.id + "/activate").status, 409);
  EXPECT_EQ(server->call("POST", "/v1/subscriptions/" + sub.id + "/pause").status, 409);
}

TEST_F(serve, purge_drops_queued_events) {
  auto sub = subscribe("/q");
  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + sub.id + "/pause").status, 200);
  for (int i = 0; i < 7; ++i)
    ASSERT_EQ(publish(event("a.b")).status, 202);
  auto r = server->call("POST", "/v1/subscriptions/" + sub.id + "/purge");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"purged":7})");
  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + sub.id + "/activate").status, 200);
  ASSERT_EQ(publish(event("a.after")).status, 202);
  ASSERT_TRUE(hook.wait_delivered("/q", 1));
  EXPECT_FALSE(hook.wait_delivered("/q", 2, 500ms));
  EXPECT_EQ(types_of(hook.delivered("/q")), std::vector<std::string>{"a.after"});
}

TEST_F(serve, patch_url_rotates_keys_and_requires_verification) {
  auto sub = subscribe("/old");
  auto r = server->call("PATCH", "/v1/subscriptions/" + sub.id,
                        R"({"url":")" + hook.url("/new") + R"(","service":"renamed"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_string(r.body, "state"), "pending_verification");
  EXPECT_EQ(json_string(r.body, "service"), "renamed");
  auto new_private = json_string(r.body, "privateKey");
  EXPECT_FALSE(new_private.empty());
  EXPECT_NE(new_private, sub.private_key);
  EXPECT_NE(json_string(r.body, "publicKey"), sub.public_key);
  // The old key no longer verifies; the new one does.
  hook.set_key("/new", sub.private_key);
  EXPECT_EQ(server->call("POST", "/v1/subscriptions/" + sub.id + "/verify").status, 422);
  hook.set_key("/new", new_private);
  EXPECT_EQ(server->call("POST", "/v1/subscriptions/" + sub.id + "/verify").status, 200);
  ASSERT_EQ(publish(event("a.b")).status, 202);
  ASSERT_TRUE(hook.wait_delivered("/new", 1));
  EXPECT_EQ(hook.delivered("/new")[0].header("x-notificare-signature"),
            hmac_b64(new_private, hook.delivered("/new")[0].body));
  EXPECT_TRUE(hook.delivered("/old").empty());
}

// docs/api.md §2: a verified subscription keeps queuing while a new url
// waits for verification, and delivers what it queued once verified.
TEST_F(serve, patch_url_keeps_queuing_until_the_new_url_is_verified) {
  auto sub = subscribe("/before");
  auto r = server->call("PATCH", "/v1/subscriptions/" + sub.id,
                        R"({"url":")" + hook.url("/after") + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(json_string(r.body, "state"), "pending_verification");
  ASSERT_EQ(publish(event("a.during")).status, 202);
  auto stats = server->wait_for_text("/v1/subscriptions/" + sub.id, R"("queued":1)");
  EXPECT_NE(stats.find(R"("queued":1)"), std::string::npos) << stats;
  hook.set_key("/after", json_string(r.body, "privateKey"));
  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + sub.id + "/verify").status, 200);
  ASSERT_TRUE(hook.wait_delivered("/after", 1));
  EXPECT_EQ(types_of(hook.delivered("/after")), std::vector<std::string>{"a.during"});
  EXPECT_TRUE(hook.delivered("/before").empty());
  // A restart while pending keeps the queue too (the record says it was verified).
  auto r2 = server->call("PATCH", "/v1/subscriptions/" + sub.id,
                         R"({"url":")" + hook.url("/third") + R"("})");
  ASSERT_EQ(r2.status, 200) << r2.body;
  ASSERT_EQ(publish(event("a.restart")).status, 202);
  ASSERT_EQ(server->terminate(), 0);
  server->start();
  hook.set_key("/third", json_string(r2.body, "privateKey"));
  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + sub.id + "/verify").status, 200);
  ASSERT_TRUE(hook.wait_delivered("/third", 1));
  EXPECT_EQ(types_of(hook.delivered("/third")), std::vector<std::string>{"a.restart"});
}

TEST_F(serve, retry_after_three_failures_delivers) {
  auto sub = subscribe("/r");
  hook.fail_next("/r", 3, 500);
  ASSERT_EQ(publish(event("a.b")).status, 202);
  ASSERT_TRUE(hook.wait_delivered("/r", 1, 20s));
  EXPECT_EQ(hook.received("/r").size(), 1u /* GET challenge */ + 4u);
  auto stats = server->wait_for_text("/v1/subscriptions/" + sub.id, R"("delivered":1)");
  EXPECT_NE(stats.find(R"("failed_attempts":3)"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("delivered":1)"), std::string::npos) << stats;
}

TEST_F(serve, retry_after_header_is_honoured) {
  subscribe("/ra");
  hook.fail_next("/ra", 1, 503, 1);
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(publish(event("a.b")).status, 202);
  ASSERT_TRUE(hook.wait_delivered("/ra", 1, 20s));
  // Backoff alone would retry after ~50 ms; Retry-After: 1 asks for a second.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);
}

TEST_F(serve, fifo_with_max_in_flight_one) {
  subscribe("/fifo", R"("max_in_flight":1)");
  hook.fail_next("/fifo", 2, 503);
  std::string batch = "[";
  for (int i = 0; i < 50; ++i)
    batch += (i ? "," : "") + event("e.n" + std::to_string(i));
  batch += "]";
  ASSERT_EQ(publish(batch).status, 202);
  ASSERT_TRUE(hook.wait_delivered("/fifo", 50, 20s));
  auto got = types_of(hook.delivered("/fifo"));
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(got[static_cast<std::size_t>(i)], "e.n" + std::to_string(i));
}

TEST_F(serve, ten_thousand_events_to_ten_subscribers_arrive_complete) {
  for (int s = 0; s < 10; ++s)
    subscribe("/m" + std::to_string(s));
  std::set<std::string> ids;
  for (int b = 0; b < 100; ++b) {
    std::string batch = "[";
    for (int i = 0; i < 100; ++i)
      batch += (i ? "," : "") + event("load.e", R"({"n":)" + std::to_string(b * 100 + i) + "}");
    batch += "]";
    auto r = publish(batch);
    ASSERT_EQ(r.status, 202) << r.body;
  }
  for (int s = 0; s < 10; ++s) {
    auto path = "/m" + std::to_string(s);
    ASSERT_TRUE(hook.wait_delivered(path, 10000, 120s))
      << path << " got " << hook.delivered(path).size();
    std::set<std::string> seen;
    for (const auto& d : hook.delivered(path))
      seen.insert(json_string(d.body, "id"));
    EXPECT_EQ(seen.size(), 10000u) << path;
  }
}

TEST_F(serve, client_id_is_routed_once) {
  subscribe("/d");
  auto r1 = publish(event("a.b", "{}", R"("id":"order-1")"));
  auto r2 = publish(event("a.b", "{}", R"("id":"order-1")"));
  ASSERT_EQ(r1.status, 202);
  ASSERT_EQ(r2.status, 202);
  EXPECT_EQ(r1.body, r2.body); // the same event id both times
  ASSERT_TRUE(hook.wait_delivered("/d", 1));
  EXPECT_FALSE(hook.wait_delivered("/d", 2, 500ms));
}

TEST_F(serve, delete_is_idempotent_and_stops_delivery) {
  auto sub = subscribe("/del");
  EXPECT_EQ(server->call("DELETE", "/v1/subscriptions/" + sub.id).status, 204);
  EXPECT_EQ(server->call("DELETE", "/v1/subscriptions/" + sub.id).status, 204);
  EXPECT_EQ(server->call("GET", "/v1/subscriptions/" + sub.id).status, 404);
  ASSERT_EQ(publish(event("a.b")).status, 202);
  EXPECT_FALSE(hook.wait_delivered("/del", 1, 500ms));
}

TEST_F(serve, list_and_get_show_stats_but_never_the_private_key) {
  auto sub = subscribe("/l");
  auto list = server->call("GET", "/v1/subscriptions");
  ASSERT_EQ(list.status, 200);
  EXPECT_NE(list.body.find(sub.id), std::string::npos);
  EXPECT_EQ(list.body.find(sub.private_key), std::string::npos);
  auto one = server->call("GET", "/v1/subscriptions/" + sub.id);
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.body.find("privateKey"), std::string::npos);
  for (const char* k : {"queued", "in_flight", "delivered", "failed_attempts", "dead_lettered",
                        "last_success_at", "last_failure_at", "last_error", "latency_ms"})
    EXPECT_NE(one.body.find(std::string("\"") + k + "\""), std::string::npos) << k;
}

TEST_F(serve, dashboard_facade_follows_its_document) {
  auto r = server->call("POST", "/dashboard/v1/notifications",
                        R"({"Url":")" + hook.url("/dash") +
                          R"(","Country":"NO","Event":"REGISTER"})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = json_string(r.body, "id");
  ASSERT_FALSE(id.empty());
  for (char c : id)
    EXPECT_TRUE(c >= '0' && c <= '9') << id;
  auto missing = server->call("POST", "/dashboard/v1/notifications", "{}");
  EXPECT_EQ(missing.status, 422);
  for (const char* f : {"url", "country", "event"})
    EXPECT_NE(missing.body.find(f), std::string::npos) << missing.body;
  EXPECT_EQ(server
              ->call("POST", "/dashboard/v1/notifications",
                     R"({"url":"http://x.test","country":"no","event":"REGISTER"})")
              .status,
            422);
  EXPECT_EQ(server
              ->call("POST", "/dashboard/v1/notifications",
                     R"({"url":"http://x.test","country":"NO","event":"EXPLODE"})")
              .status,
            422);
  auto list = server->call("GET", "/dashboard/v1/notifications");
  ASSERT_EQ(list.status, 200);
  EXPECT_NE(list.body.find(R"("event":"REGISTER")"), std::string::npos) << list.body;
  EXPECT_EQ(server->call("GET", "/dashboard/v1/notifications/" + id).status, 200);
  EXPECT_EQ(server->call("GET", "/dashboard/v1/notifications/999").status, 404);

  // Active at once: REGISTER events of country NO are delivered, others not.
  ASSERT_EQ(publish("[" + event("REGISTER", R"({"config":1})", R"("country":"NO")") + "," +
                    event("REGISTER", "{}", R"("country":"GB")") + "," +
                    event("CHANGE", "{}", R"("country":"NO")") + "]")
              .status,
            202);
  ASSERT_TRUE(hook.wait_delivered("/dash", 1));
  EXPECT_FALSE(hook.wait_delivered("/dash", 2, 500ms));
  EXPECT_NE(hook.delivered("/dash")[0].body.find(R"("config":1)"), std::string::npos);

  EXPECT_EQ(server->call("DELETE", "/dashboard/v1/notifications/" + id).status, 204);
  EXPECT_EQ(server->call("DELETE", "/dashboard/v1/notifications/" + id).status, 204);
  EXPECT_EQ(server->call("GET", "/dashboard/v1/notifications").body, "[]");
}

TEST_F(serve, dead_letters_and_replay) {
  // max_age of 1 s: an event failing longer than that is given up.
  server->terminate();
  server = std::make_unique<server_process>(
    dir.path(), "[retry]\ninitial_ms = 50\nmax_ms = 200\nmax_age = \"1s\"\n");
  server->start();
  auto sub = subscribe("/dl");
  hook.fail_all("/dl", 500);
  ASSERT_EQ(publish(event("a.dead", R"({"k":"v"})")).status, 202);
  auto deadline = std::chrono::steady_clock::now() + 20s;
  std::string letters;
  while (std::chrono::steady_clock::now() < deadline) {
    letters = server->call("GET", "/v1/subscriptions/" + sub.id + "/dead-letters").body;
    if (letters.find("a.dead") != std::string::npos)
      break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_NE(letters.find("a.dead"), std::string::npos) << letters;
  EXPECT_NE(letters.find(R"("data":{"k":"v"})"), std::string::npos) << letters;
  hook.fail_all("/dl", 0);
  auto r = server->call("POST", "/v1/subscriptions/" + sub.id + "/dead-letters/replay");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"replayed":1})");
  ASSERT_TRUE(hook.wait_delivered("/dl", 1, 10s));
  EXPECT_EQ(server->call("GET", "/v1/subscriptions/" + sub.id + "/dead-letters").body, "[]");
}

TEST_F(serve, sigterm_exits_zero) { EXPECT_EQ(server->terminate(), 0); }

TEST_F(serve, sigterm_with_subscriptions_exits_zero) {
  // The registry stops its subscribers as it quits; that once read freed state.
  subscribe("/t1");
  subscribe("/t2", R"("max_in_flight":1)");
  ASSERT_EQ(publish(event("a.b")).status, 202);
  ASSERT_TRUE(hook.wait_delivered("/t1", 1));
  EXPECT_EQ(server->terminate(), 0);
}

TEST_F(serve, ops_endpoints) {
  auto h = server->call("GET", "/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, R"({"status":"ok"})");
  EXPECT_EQ(server->call("GET", "/readyz").status, 200);
  subscribe("/met");
  ASSERT_EQ(publish(event("a.b")).status, 202);
  ASSERT_TRUE(hook.wait_delivered("/met", 1));
  // The sink answered; the subscriber counts the answer a moment later.
  auto m = server->call("GET", "/metrics");
  for (int i = 0; i < 200 && m.body.find("switchyard_deliveries_total 1") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(10ms);
    m = server->call("GET", "/metrics");
  }
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.header("content-type").find("text/plain"), std::string::npos);
  for (const char* name :
       {"switchyard_events_ingested_total 1", "switchyard_events_routed_total 1",
        "switchyard_deliveries_total 1", "switchyard_failed_attempts_total",
        "switchyard_queue_depth{subscription=", "switchyard_http_request_duration_seconds_bucket"})
    EXPECT_NE(m.body.find(name), std::string::npos) << name << "\n" << m.body;
}

TEST_F(serve, rate_limit_spaces_deliveries_without_slowing_others) {
  subscribe("/slow", R"("rate_limit":20)");
  subscribe("/fast");
  std::string batch = "[";
  for (int i = 0; i < 100; ++i)
    batch += (i ? "," : "") + event("rl.e" + std::to_string(i));
  batch += "]";
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(publish(batch).status, 202);
  ASSERT_TRUE(hook.wait_delivered("/fast", 100, 10s));
  // The unlimited subscription does not wait for the limited one.
  auto slow_when_fast_done = hook.delivered("/slow").size();
  EXPECT_LT(slow_when_fast_done, 100u);
  ASSERT_TRUE(hook.wait_delivered("/slow", 100, 30s));
  auto slow_done = std::chrono::steady_clock::now() - start;
  // 100 events at 20/s take ~5 s (a burst of 2 may go at once); none is dropped.
  EXPECT_GE(slow_done, 4500ms);
  EXPECT_FALSE(hook.wait_delivered("/slow", 101, 200ms));
}
