// Subscription change notifications end to end (docs/api.md §4): PUT / GET /
// DELETE /v1/subscription/notification, and what the watcher receives on
// every subscription create, change, state change and delete.

#include <gtest/gtest.h>
#include <simdjson.h>

#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

class notifications : public ::testing::Test {
protected:
  void SetUp() override { start(); }

  void start() {
    server = std::make_unique<server_process>(dir.path(),
                                              "[retry]\ninitial_ms = 50\nmax_ms = 400\n");
    server->start();
  }

  http_result put_watcher(const std::string& body) {
    return server->call("PUT", "/v1/subscription/notification", body);
  }

  // Registers the sink's `path` as the watcher, with an API key.
  void watch(const std::string& path, const std::string& key = "acct-7") {
    auto r = put_watcher(R"({"notificationKey":")" + key + R"(","notificationURL":")" +
                         hook.url(path) +
                         R"(","authentication":{"authType":"APIKey","APIKey":"k-123"}})");
    ASSERT_TRUE(r.status == 201 || r.status == 200) << r.body;
  }

  std::string subscribe(const std::string& path, const std::string& auth = "null") {
    auto r = server->call("POST", "/v1/subscriptions",
                          R"({"service":"s","url":")" + hook.url(path) +
                            R"(","types":["a.*"],"verification":"skip","auth":)" + auth + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return json_string(r.body, "id");
  }

  temp_dir dir;
  sink hook;
  std::unique_ptr<server_process> server;
};

// One received notification, parsed.
struct note {
  std::string key;    ///< notificationKey ("" when null)
  std::string change; ///< REGISTER, CHANGE, DELETE
  std::string id;     ///< subscription.id
  std::string state;  ///< subscription.state ("" for the dashboard shape)
  bool has_private_key = false;
};

note parse(const sink_request& r) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  note n;
  if (p.parse(r.body).get(doc))
    return n;
  std::string_view v;
  if (!doc["notificationKey"].get_string().get(v))
    n.key = std::string(v);
  if (!doc["change"].get_string().get(v))
    n.change = std::string(v);
  if (!doc["subscription"]["id"].get_string().get(v))
    n.id = std::string(v);
  if (!doc["subscription"]["state"].get_string().get(v))
    n.state = std::string(v);
  simdjson::dom::element ignored;
  n.has_private_key = !doc["subscription"]["privateKey"].get(ignored);
  return n;
}

} // namespace

TEST_F(notifications, every_change_of_a_subscription_reaches_the_watcher_in_order) {
  auto r = put_watcher(R"({"notificationKey":"acct-7","notificationURL":")" + hook.url("/watch") +
                       R"(","authentication":{"authType":"APIKey","APIKey":"k-123"}})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json_string(r.body, "notificationURL"), hook.url("/watch"));
  EXPECT_EQ(r.body.find("k-123"), std::string::npos) << "the API key is shown redacted: " << r.body;
  r = server->call("GET", "/v1/subscription/notification");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_string(r.body, "notificationKey"), "acct-7");

  auto id = subscribe("/hook");
  ASSERT_EQ(server->call("PATCH", "/v1/subscriptions/" + id, R"({"service":"renamed"})").status,
            200);
  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + id + "/pause").status, 200);
  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + id + "/activate").status, 200);
  ASSERT_EQ(server->call("DELETE", "/v1/subscriptions/" + id).status, 204);
  auto dash = server->call("POST", "/dashboard/v1/notifications",
                           R"({"url":")" + hook.url("/d") +
                             R"(","country":"NO","event":"REGISTER"})");
  ASSERT_EQ(dash.status, 201) << dash.body;

  ASSERT_TRUE(hook.wait_delivered("/watch", 6)) << server->log();
  auto got = hook.delivered("/watch");
  ASSERT_EQ(got.size(), 6u);
  const std::vector<std::pair<std::string, std::string>> expected = {
    {"REGISTER", "active"}, {"CHANGE", "active"}, {"CHANGE", "paused"},
    {"CHANGE", "active"},   {"DELETE", "active"},
  };
  for (std::size_t i = 0; i < expected.size(); ++i) {
    auto n = parse(got[i]);
    EXPECT_EQ(n.change, expected[i].first) << i << ": " << got[i].body;
    EXPECT_EQ(n.state, expected[i].second) << i << ": " << got[i].body;
    EXPECT_EQ(n.id, id) << got[i].body;
    EXPECT_EQ(n.key, "acct-7");
    EXPECT_FALSE(n.has_private_key) << "a notification never carries the private key";
    EXPECT_EQ(got[i].header("x-api-key"), "k-123");
    EXPECT_EQ(got[i].header("content-type"), "application/json");
    EXPECT_FALSE(got[i].header("webhook-id").empty());
  }
  auto d = parse(got[5]);
  EXPECT_EQ(d.change, "REGISTER");
  EXPECT_EQ(d.id, json_string(dash.body, "id"));
}

TEST_F(notifications, failed_notifications_are_retried_and_survive_a_restart) {
  watch("/watch");
  hook.fail_next("/watch", 2, 503);
  auto first = subscribe("/a");
  ASSERT_TRUE(hook.wait_delivered("/watch", 1)) << server->log();
  EXPECT_GE(hook.received("/watch").size(), 3u) << "two 503s, then the delivery";
  EXPECT_EQ(parse(hook.delivered("/watch")[0]).id, first);

  // The watcher is down across a restart: the notification waits in the journal.
  hook.fail_all("/watch", 500);
  // With egress auth: records holding auth once failed to load after a restart.
  auto second = subscribe("/b", R"({"authType":"Basic","userId":"u","password":"p"})");
  ASSERT_EQ(server->terminate(), 0);
  start();
  EXPECT_EQ(server->call("GET", "/v1/subscription/notification").status, 200);
  auto kept = server->call("GET", "/v1/subscriptions/" + second);
  ASSERT_EQ(kept.status, 200) << server->log();
  EXPECT_NE(kept.body.find(R"("authType":"Basic")"), std::string::npos) << kept.body;
  hook.fail_all("/watch", 0);
  ASSERT_TRUE(hook.wait_delivered("/watch", 2)) << server->log();
  auto n = parse(hook.delivered("/watch")[1]);
  EXPECT_EQ(n.change, "REGISTER");
  EXPECT_EQ(n.id, second);
}

TEST_F(notifications, put_replaces_the_watcher_and_delete_removes_it) {
  watch("/old", "first");
  subscribe("/a");
  ASSERT_TRUE(hook.wait_delivered("/old", 1));

  auto r = put_watcher(R"({"notificationURL":")" + hook.url("/new") + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto id = subscribe("/b");
  ASSERT_TRUE(hook.wait_delivered("/new", 1)) << server->log();
  auto n = parse(hook.delivered("/new")[0]);
  EXPECT_EQ(n.id, id);
  EXPECT_EQ(n.key, "") << "the replacement has no notificationKey";
  EXPECT_TRUE(hook.delivered("/new")[0].header("x-api-key").empty()) << "nor any auth";
  EXPECT_EQ(hook.delivered("/old").size(), 1u);

  EXPECT_EQ(server->call("DELETE", "/v1/subscription/notification").status, 204);
  EXPECT_EQ(server->call("DELETE", "/v1/subscription/notification").status, 204);
  EXPECT_EQ(server->call("GET", "/v1/subscription/notification").status, 404);
  subscribe("/c");
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(hook.received("/new").size(), 1u) << "no watcher, no notification";
  EXPECT_EQ(hook.received("/old").size(), 1u);
}

TEST_F(notifications, bad_watcher_bodies_name_their_field) {
  struct bad {
    std::string body;
    int status;
    std::string field;
  };
  const std::vector<bad> cases = {
    {R"({"notificationKey":"k"})", 422, "notificationURL"},
    {R"({"notificationURL":"ftp://x"})", 422, "notificationURL"},
    {R"({"notificationURL":42})", 400, "notificationURL"},
    {R"({"notificationURL":"http://x","notificationKey":7})", 400, "notificationKey"},
    {R"({"notificationURL":"http://x","authentication":"APIKey"})", 400, "authentication"},
    {R"({"notificationURL":"http://x","authentication":{"authType":"Kerberos"}})", 422,
     "authentication.authType"},
    {R"({"notificationURL":"http://x","authentication":{"authType":"OAuth","authURL":"http://t",)"
     R"("clientID":"c","refreshToken":"r"}})",
     422, "authentication.clientSecret"},
    {R"({"notificationURL":"http://x","authentication":{"authType":"Basic","userId":"u"}})", 422,
     "authentication.password"},
  };
  for (const auto& c : cases) {
    auto r = put_watcher(c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " → " << r.body;
    EXPECT_EQ(json_string(r.body, "field"), c.field) << c.body << " → " << r.body;
  }
  EXPECT_EQ(put_watcher(R"({"notificationURL":)").status, 400);
  EXPECT_EQ(put_watcher("[]").status, 400);
  EXPECT_EQ(server->call("GET", "/v1/subscription/notification").status, 404)
    << "nothing was registered by a bad body";
  EXPECT_EQ(server->call("POST", "/v1/subscription/notification", "{}").status, 405);
}
