// Push notifications end to end (docs/api.md §5, Masiv's contract): associations,
// sendToList by tokens and by association, what the push gateway receives,
// retries, restarts, and errors in the contract's shape.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <thread>

#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* association_path = "/v1/association/create";
constexpr const char* send_path = "/v1/notification/sendToList";
constexpr const char* association_ok =
  R"({"status":"OK","data":"Successful association","error":null})";
constexpr const char* send_ok =
  R"({"status":"OK","data":"Notification has been sent","error":null})";

class push : public ::testing::Test {
protected:
  void SetUp() override { start(); }

  virtual std::string extra_config() {
    return "[push]\ngateway_url = \"" + hook.url("/push") +
           "\"\n[retry]\ninitial_ms = 50\nmax_ms = 400\n";
  }

  void start() {
    server = std::make_unique<server_process>(dir.path(), extra_config());
    server->start();
  }

  void restart() {
    ASSERT_EQ(server->terminate(), 0);
    start();
  }

  http_result associate(const std::string& body) {
    return server->call("POST", association_path, body);
  }

  // Associates `token` and expects the contract's 200.
  void associate_ok(const std::string& body) {
    auto r = associate(body);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, association_ok);
  }

  http_result send(const std::string& body) { return server->call("POST", send_path, body); }

  // Returns the bodies the gateway accepted, sorted (deliveries run concurrently).
  std::vector<std::string> gateway_bodies() const {
    std::vector<std::string> out;
    for (const auto& d : hook.delivered("/push"))
      out.push_back(d.body);
    std::sort(out.begin(), out.end());
    return out;
  }

  // Returns the tokens the gateway accepted, sorted.
  std::vector<std::string> gateway_tokens() const {
    std::vector<std::string> out;
    for (const auto& d : hook.delivered("/push"))
      out.push_back(json_string(d.body, "token"));
    std::sort(out.begin(), out.end());
    return out;
  }

  temp_dir dir;
  sink hook;
  std::unique_ptr<server_process> server;
};

// Checks a 400 in the contract's shape: {timestamp, status, error, message, path}.
void expect_contract_error(const http_result& r, int status, const std::string& path,
                           const std::string& message_part) {
  EXPECT_EQ(r.status, status) << r.body;
  simdjson::dom::parser p;
  simdjson::dom::object obj;
  ASSERT_FALSE(p.parse(r.body).get(obj)) << r.body;
  int64_t body_status = 0;
  EXPECT_FALSE(obj["status"].get(body_status)) << r.body;
  EXPECT_EQ(body_status, status) << r.body;
  std::string_view error, message, body_path, timestamp;
  EXPECT_FALSE(obj["error"].get(error)) << r.body;
  EXPECT_EQ(error, status == 400 ? "Bad Request" : "Service Unavailable") << r.body;
  EXPECT_FALSE(obj["message"].get(message)) << r.body;
  EXPECT_NE(message.find(message_part), std::string_view::npos) << r.body;
  EXPECT_FALSE(obj["path"].get(body_path)) << r.body;
  EXPECT_EQ(body_path, path) << r.body;
  // ISO-8601 as the contract's example writes it: 2020-07-16T00:00:56.522+00:00.
  EXPECT_FALSE(obj["timestamp"].get(timestamp)) << r.body;
  EXPECT_EQ(timestamp.size(), 29u) << r.body;
  EXPECT_EQ(timestamp.substr(10, 1), "T") << r.body;
  EXPECT_EQ(timestamp.substr(23), "+00:00") << r.body;
}

} // namespace

TEST_F(push, association_create_and_its_400_rules) {
  associate_ok(R"({"appId":"com.empresa.miapp","token":"tok-1",
    "association":{"cellphone":"573141234567","email":"usuario@empresa.com"},"deviceType":"Android"})");
  associate_ok(R"({"token":"tok-2","association":{"email":"only@mail.com"}})");
  associate_ok(R"({"token":"tok-3","association":{"cellphone":"573141234567"}})");

  expect_contract_error(associate(R"({"association":{"cellphone":"573141234567"}})"), 400,
                        association_path, "token");
  expect_contract_error(associate(R"({"token":"t","association":{"cellphone":"57-314"}})"), 400,
                        association_path, "association.cellphone");
  expect_contract_error(associate(R"({"token":"t","association":{"email":"not-an-email"}})"), 400,
                        association_path, "association.email");
  expect_contract_error(associate(R"({"token":"t","association":{}})"), 400, association_path,
                        "association");
  expect_contract_error(associate(R"({"token":"t"})"), 400, association_path, "association");
  expect_contract_error(associate(R"({"token":)"), 400, association_path, "");
}

TEST_F(push, send_to_list_by_tokens_delivers_once_per_distinct_token) {
  // An ordinary subscription on everything must not see push events.
  auto r = server->call("POST", "/v1/subscriptions",
                        R"({"service":"all","url":")" + hook.url("/all") +
                          R"(","types":["**"],"verification":"skip"})");
  ASSERT_EQ(r.status, 201) << r.body;

  r = send(R"({"tokens":["t1","t2","t1"],
    "notification":{"title":"Hola","message":"Créditos nuevos","imageUrl":"https://dominio.com/a.png"},
    "data":{"Campaña":"Créditos nuevos","k":"v"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, send_ok);
  ASSERT_TRUE(hook.wait_delivered("/push", 2));
  std::this_thread::sleep_for(300ms); // a duplicate would arrive meanwhile
  auto body = [](const std::string& token) {
    return R"({"token":")" + token +
           R"(","notification":{"title":"Hola","message":"Créditos nuevos",)"
           R"("imageUrl":"https://dominio.com/a.png"},"data":{"Campaña":"Créditos nuevos","k":"v"}})";
  };
  EXPECT_EQ(gateway_bodies(), (std::vector<std::string>{body("t1"), body("t2")}));
  EXPECT_EQ(hook.delivered("/push")[0].header("content-type"), "application/json");
  EXPECT_TRUE(hook.delivered("/all").empty());

  // No imageUrl and no data: neither is invented, data is {}.
  r = send(R"({"tokens":["t3"],"notification":{"title":"a","message":"b"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(hook.wait_delivered("/push", 3));
  EXPECT_EQ(gateway_bodies().back(),
            R"({"token":"t3","notification":{"title":"a","message":"b"},"data":{}})");

  // Ordinary events go to ordinary subscriptions only, never to the gateway.
  ASSERT_EQ(server->call("POST", "/v1/events", R"({"type":"a.b","data":{"x":1}})").status, 202);
  ASSERT_TRUE(hook.wait_delivered("/all", 1));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(hook.delivered("/push").size(), 3u);

  // The gateway is internal: not listed with the subscriptions.
  r = server->call("GET", "/v1/subscriptions");
  EXPECT_EQ(r.body.find("push_gateway"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find(hook.url("/push")), std::string::npos) << r.body;
}

TEST_F(push, send_to_list_by_association_applies_app_and_device_filters) {
  associate_ok(
    R"({"appId":"app.a","token":"android-a","association":{"cellphone":"573141234567"},"deviceType":"Android"})");
  associate_ok(
    R"({"appId":"app.a","token":"ios-a","association":{"cellphone":"573141234567"},"deviceType":"iOS"})");
  associate_ok(
    R"({"appId":"app.b","token":"android-b","association":{"cellphone":"573141234567"},"deviceType":"android"})");
  associate_ok(
    R"({"appId":"app.a","token":"web-a","association":{"email":"Ann@Example.com"},"deviceType":"WEB"})");
  associate_ok(R"({"token":"untyped","association":{"email":"ann@example.com"}})");

  // appId and deviceTypesToSend (any case) filter the look-ups only: the
  // explicit ios-a is sent although iOS is not requested.
  auto r = send(R"({"tokens":["ios-a"],"tokensByAssociation":{"appId":"app.a",
    "deviceTypesToSend":["ANDROID","web"],"cellphones":["573141234567"],"emails":["ANN@example.com"]},
    "notification":{"title":"t","message":"m"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, send_ok);
  ASSERT_TRUE(hook.wait_delivered("/push", 3));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(gateway_tokens(), (std::vector<std::string>{"android-a", "ios-a", "web-a"}));

  // No filters: every device of the cellphone and the email, each once.
  r = send(R"({"tokensByAssociation":{"cellphones":["573141234567"],"emails":["ann@example.com"]},
    "notification":{"title":"t","message":"m"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(hook.wait_delivered("/push", 8));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(gateway_tokens(),
            (std::vector<std::string>{"android-a", "android-a", "android-b", "ios-a", "ios-a",
                                      "untyped", "web-a", "web-a"}));

  // Nobody matches: 200, nothing sent.
  r = send(R"({"tokensByAssociation":{"emails":["nobody@example.com"]},
    "notification":{"title":"t","message":"m"}})");
  EXPECT_EQ(r.status, 200) << r.body;
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(hook.delivered("/push").size(), 8u);
}

TEST_F(push, send_to_list_refuses_reserved_data_keys_in_the_contract_shape) {
  for (const char* key : {"from", "message_type", "google.x", "gcm.y"}) {
    auto r = send(R"({"tokens":["t1"],"notification":{"title":"t","message":"m"},"data":{")" +
                  std::string(key) + R"(":"v"}})");
    expect_contract_error(r, 400, send_path, key);
  }
  expect_contract_error(send(R"({"notification":{"title":"t","message":"m"}})"), 400, send_path,
                        "tokens");
  expect_contract_error(send(R"({"tokens":["t1"],"notification":{"message":"m"}})"), 400, send_path,
                        "notification.title");
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(hook.received("/push").empty());
}

TEST_F(push, gateway_failures_are_retried) {
  hook.fail_next("/push", 2, 503);
  auto r = send(R"({"tokens":["t1"],"notification":{"title":"t","message":"m"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(hook.wait_delivered("/push", 1, 20s));
  EXPECT_EQ(hook.received("/push").size(), 3u);
  EXPECT_EQ(json_string(hook.delivered("/push")[0].body, "token"), "t1");
}

TEST_F(push, associations_and_queued_notifications_survive_a_restart) {
  associate_ok(R"({"token":"moved","association":{"cellphone":"573140000001"}})");
  // Associated again: only the new cellphone finds it.
  associate_ok(R"({"token":"moved","association":{"cellphone":"573140000002"}})");
  associate_ok(R"({"token":"kept","association":{"email":"kept@example.com"}})");

  // Queued while the gateway refuses, delivered after the restart.
  hook.fail_all("/push", 503);
  ASSERT_EQ(send(R"({"tokens":["queued"],"notification":{"title":"t","message":"m"}})").status,
            200);
  restart();
  hook.fail_all("/push", 0);
  ASSERT_TRUE(hook.wait_delivered("/push", 1, 20s));
  EXPECT_EQ(gateway_tokens(), (std::vector<std::string>{"queued"}));

  auto r = send(R"({"tokensByAssociation":{"cellphones":["573140000001","573140000002"],
    "emails":["kept@example.com"]},"notification":{"title":"t","message":"m"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(hook.wait_delivered("/push", 3));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(gateway_tokens(), (std::vector<std::string>{"kept", "moved", "queued"}));
}

class push_without_gateway : public push {
protected:
  std::string extra_config() override { return ""; }
};

TEST_F(push_without_gateway, send_to_list_answers_503) {
  auto r = send(R"({"tokens":["t1"],"notification":{"title":"t","message":"m"}})");
  expect_contract_error(r, 503, send_path, "push.gateway_url");
  EXPECT_EQ(r.header("retry-after"), "1");
  // Associations need no gateway.
  associate_ok(R"({"token":"t1","association":{"email":"a@b.co"}})");
}
