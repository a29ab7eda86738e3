// OAuth egress auth end to end (docs/api.md §3): the refresh-token grant against
// a real token endpoint in the sink, the token cached across deliveries,
// refreshed once on a 401, and token-endpoint failures retried.

#include <gtest/gtest.h>

#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

class oauth : public ::testing::Test {
protected:
  void SetUp() override {
    server = std::make_unique<server_process>(dir.path(),
                                              "[retry]\ninitial_ms = 50\nmax_ms = 400\n");
    server->start();
  }

  std::string oauth_auth() const {
    return R"({"authType":"OAuth","authURL":")" + hook.url("/token") +
           R"(","clientID":"client-1","clientSecret":"s3cret","refreshToken":"rt-1"})";
  }

  // Subscribes `path`, active at once and strictly in order, with `auth`.
  std::string subscribe(const std::string& path, const std::string& auth) {
    auto r = server->call("POST", "/v1/subscriptions",
                          R"({"service":"s","url":")" + hook.url(path) +
                            R"(","types":["o.*"],"verification":"skip","max_in_flight":1,"auth":)" +
                            auth + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.body.find("s3cret"), std::string::npos) << "secrets are redacted: " << r.body;
    return json_string(r.body, "id");
  }

  void publish(int n) {
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(
        server
          ->call("POST", "/v1/events", R"({"type":"o.e","data":{"n":)" + std::to_string(i) + "}}")
          .status,
        202);
  }

  temp_dir dir;
  sink hook;
  std::unique_ptr<server_process> server;
};

} // namespace

TEST_F(oauth, the_token_is_fetched_once_and_sent_as_bearer) {
  hook.serve_tokens("/token", "tok-");
  hook.require_bearer("/hook", "tok-1");
  subscribe("/hook", oauth_auth());
  publish(5);
  ASSERT_TRUE(hook.wait_delivered("/hook", 5)) << server->log();
  for (const auto& d : hook.delivered("/hook"))
    EXPECT_EQ(d.header("authorization"), "Bearer tok-1");
  auto grants = hook.received("/token");
  ASSERT_EQ(grants.size(), 1u) << "the token is cached across deliveries";
  EXPECT_EQ(grants[0].header("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(grants[0].body,
            "grant_type=refresh_token&refresh_token=rt-1&client_id=client-1&client_secret=s3cret");
}

TEST_F(oauth, a_401_refreshes_the_token_once_without_counting_a_failure) {
  hook.serve_tokens("/token", "tok-");
  hook.require_bearer("/hook", "tok-2"); // the first token is already revoked
  auto id = subscribe("/hook", oauth_auth());
  publish(1);
  ASSERT_TRUE(hook.wait_delivered("/hook", 1)) << server->log();
  EXPECT_EQ(hook.delivered("/hook")[0].header("authorization"), "Bearer tok-2");
  EXPECT_EQ(hook.received("/token").size(), 2u);
  EXPECT_EQ(hook.received("/hook").size(), 2u) << "one 401, one 2xx";
  auto sub = server->wait_for_text("/v1/subscriptions/" + id, R"("delivered":1)");
  EXPECT_NE(sub.find(R"("failed_attempts":0)"), std::string::npos) << sub;
}

TEST_F(oauth, a_401_to_a_fresh_token_is_a_failure_and_retried) {
  hook.serve_tokens("/token", "tok-");
  hook.require_bearer("/hook", "tok-4");
  auto id = subscribe("/hook", oauth_auth());
  publish(1);
  // tok-1: 401 → refresh; tok-2: 401 → failure, backoff; tok-3: 401 → refresh; tok-4: 2xx.
  ASSERT_TRUE(hook.wait_delivered("/hook", 1)) << server->log();
  EXPECT_EQ(hook.delivered("/hook")[0].header("authorization"), "Bearer tok-4");
  auto sub = server->wait_for_text("/v1/subscriptions/" + id, R"("delivered":1)");
  EXPECT_NE(sub.find(R"("failed_attempts":1)"), std::string::npos) << sub;
  EXPECT_NE(sub.find(R"("last_error":"HTTP 401")"), std::string::npos) << sub;
}

TEST_F(oauth, a_failing_token_endpoint_is_retried_and_reported) {
  hook.serve_tokens("/token", "tok-");
  hook.fail_all("/token", 500);
  auto id = subscribe("/hook", oauth_auth());
  publish(2);
  auto sub = server->wait_for_text("/v1/subscriptions/" + id, "oauth token endpoint");
  EXPECT_NE(sub.find("oauth token endpoint " + hook.url("/token") + ": HTTP 500"), std::string::npos)
    << sub;
  EXPECT_TRUE(hook.received("/hook").empty()) << "nothing is sent without a token";
  hook.fail_all("/token", 0);
  ASSERT_TRUE(hook.wait_delivered("/hook", 2)) << server->log();
  EXPECT_EQ(hook.delivered("/hook")[0].header("authorization"), "Bearer tok-1");
}

TEST_F(oauth, refresh_token_only_sends_the_supplier_key) {
  hook.serve_tokens("/token", "sup-");
  hook.require_bearer("/hook", "sup-1");
  subscribe("/hook", R"({"authType":"OAuthRefreshTokenOnly","authURL":")" + hook.url("/token") +
                       R"(","supplierKey":"acoustic-7","refreshToken":"rt 2"})");
  publish(1);
  ASSERT_TRUE(hook.wait_delivered("/hook", 1)) << server->log();
  ASSERT_EQ(hook.received("/token").size(), 1u);
  EXPECT_EQ(hook.received("/token")[0].body,
            "grant_type=refresh_token&refresh_token=rt%202&supplier_key=acoustic-7");
}

TEST_F(oauth, the_change_watcher_authenticates_with_oauth_too) {
  hook.serve_tokens("/token", "w-");
  hook.require_bearer("/watch", "w-1");
  auto r = server->call("PUT", "/v1/subscription/notification",
                        R"({"notificationURL":")" + hook.url("/watch") + R"(","authentication":)" +
                          oauth_auth() + "}");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body.find("s3cret"), std::string::npos) << r.body;
  subscribe("/hook", "null");
  ASSERT_TRUE(hook.wait_delivered("/watch", 1)) << server->log();
  EXPECT_EQ(hook.delivered("/watch")[0].header("authorization"), "Bearer w-1");
}

TEST_F(oauth, changing_the_auth_drops_the_cached_token) {
  hook.serve_tokens("/token", "tok-");
  hook.serve_tokens("/token2", "new-");
  auto id = subscribe("/hook", oauth_auth());
  publish(1);
  ASSERT_TRUE(hook.wait_delivered("/hook", 1)) << server->log();
  auto r = server->call("PATCH", "/v1/subscriptions/" + id,
                        R"({"auth":{"authType":"OAuth","authURL":")" + hook.url("/token2") +
                          R"(","clientID":"c2","clientSecret":"s2","refreshToken":"r2"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  publish(1);
  ASSERT_TRUE(hook.wait_delivered("/hook", 2)) << server->log();
  EXPECT_EQ(hook.delivered("/hook")[1].header("authorization"), "Bearer new-1");
}
