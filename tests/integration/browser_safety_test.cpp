// Browser safety of the API (docs/api.md §9), with plain HTTP requests to
// the real binary: a web page the operator visits must not act on a
// switchyard it can reach, and a refused request changes nothing.

#include <gtest/gtest.h>

#include "harness.hpp"

using namespace sy::test;

namespace {

const std::string subscription =
  R"({"service":"evil","url":"http://127.0.0.1:9/hook","verification":"skip"})";

class browser_safety : public ::testing::Test {
protected:
  void SetUp() override { server_.start(); }

  std::string own_origin() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

  temp_dir dir_;
  server_process server_{dir_.path()};
};

} // namespace

TEST_F(browser_safety, cross_site_writes_are_refused_and_change_nothing) {
  for (const char* site : {"cross-site", "same-site"}) {
    auto r = server_.call("POST", "/v1/subscriptions", subscription, {{"Sec-Fetch-Site", site}});
    EXPECT_EQ(r.status, 403) << site;
    EXPECT_EQ(r.body, R"({"error":"cross-origin request refused"})");
  }
  auto r = server_.call("POST", "/v1/events", R"({"type":"a.b"})",
                        {{"Origin", "http://evil.test"}});
  EXPECT_EQ(r.status, 403);
  // What a browser's form or fetch(no-cors) sends: no Content-Type, a foreign Origin.
  auto raw = raw_call(
    server_.port(),
    "POST /v1/subscriptions HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(server_.port()) +
      "\r\nOrigin: http://evil.test\r\nContent-Length: " + std::to_string(subscription.size()) +
      "\r\nConnection: close\r\n\r\n" + subscription);
  EXPECT_EQ(raw.rfind("HTTP/1.1 403", 0), 0u) << raw;
  EXPECT_EQ(server_.call("GET", "/v1/subscriptions").body, "[]");
  EXPECT_EQ(
    server_.call("DELETE", "/v1/subscription/notification", "", {{"Sec-Fetch-Site", "cross-site"}})
      .status,
    403);
}

TEST_F(browser_safety, same_origin_and_plain_clients_pass) {
  EXPECT_EQ(
    server_.call("POST", "/v1/subscriptions", subscription, {{"Sec-Fetch-Site", "same-origin"}})
      .status,
    201);
  EXPECT_EQ(
    server_.call("POST", "/v1/subscriptions", subscription, {{"Sec-Fetch-Site", "none"}}).status,
    201);
  EXPECT_EQ(
    server_.call("POST", "/v1/subscriptions", subscription, {{"Origin", own_origin()}}).status,
    201);
  EXPECT_EQ(server_.call("POST", "/v1/subscriptions", subscription).status, 201);
  // A cross-site read is not a write: the response is the browser's to withhold.
  EXPECT_EQ(server_.call("GET", "/v1/subscriptions", "", {{"Sec-Fetch-Site", "cross-site"}}).status,
            200);
}

TEST_F(browser_safety, without_tokens_only_loopback_hosts_are_served) {
  auto r = server_.call("GET", "/v1/subscriptions", "", {{"Host", "evil.test:8080"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, R"({"error":"host not allowed"})");
  EXPECT_EQ(
    server_.call("POST", "/v1/subscriptions", subscription, {{"Host", "rebound.test"}}).status,
    403);
  EXPECT_EQ(server_.call("GET", "/v1/subscriptions").body, "[]");
  const auto port = std::to_string(server_.port());
  for (const std::string& host : {"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port})
    EXPECT_EQ(server_.call("GET", "/v1/subscriptions", "", {{"Host", host}}).status, 200) << host;
  // Health checks come from probes that name the node's address.
  EXPECT_EQ(server_.call("GET", "/healthz", "", {{"Host", "10.1.2.3:8080"}}).status, 200);
}

TEST(browser_safety_config, allowed_hosts_extend_the_loopback_names) {
  temp_dir dir;
  server_process server(dir.path(), "", "allowed_hosts = [\"switchyard.internal\"]");
  server.start();
  EXPECT_EQ(
    server.call("GET", "/v1/subscriptions", "", {{"Host", "switchyard.internal:8080"}}).status,
    200);
  EXPECT_EQ(server.call("GET", "/v1/subscriptions", "", {{"Host", "other.internal"}}).status, 403);
}

TEST(browser_safety_config, with_tokens_the_token_is_the_credential) {
  temp_dir dir;
  const std::string token = "adm-0123456789abcdefghijklmnop";
  server_process server(dir.path(), "[auth]\nadmin_tokens = [\"" + token + "\"]\n");
  server.start();
  const headers_t admin = {{"Authorization", "Bearer " + token},
                           {"Host", "switchyard.example:443"}};
  EXPECT_EQ(server.call("GET", "/v1/subscriptions", "", admin).status, 200);
  // A cross-site write is refused even with a token: a browser never sends one unasked.
  auto cross = admin;
  cross.emplace_back("Sec-Fetch-Site", "cross-site");
  EXPECT_EQ(server.call("POST", "/v1/subscriptions", subscription, cross).status, 403);
}
