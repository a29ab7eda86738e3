// Bearer-token auth (docs/api.md conventions): admin tokens reach everything,
// publish tokens only ingest, and health checks stay open.

#include <gtest/gtest.h>

#include "harness.hpp"

using namespace sy::test;

TEST(auth, admin_and_publish_tokens) {
  temp_dir dir;
  server_process server(
    dir.path(), "[auth]\nadmin_tokens = [\"adm-1-integration-test-token-0000\"]\npublish_tokens = "
                "[\"pub-1-integration-test-token-0000\"]\n");
  server.start();
  const headers_t admin = {{"Authorization", "Bearer adm-1-integration-test-token-0000"}};
  const headers_t publish = {{"Authorization", "Bearer pub-1-integration-test-token-0000"}};
  const headers_t wrong = {{"Authorization", "Bearer nope"}};
  const std::string event = R"({"type":"a.b"})";

  auto r = server.call("POST", "/v1/events", event);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("Bearer"), std::string::npos) << r.body;
  EXPECT_EQ(r.header("www-authenticate"), "Bearer");
  EXPECT_EQ(server.call("POST", "/v1/events", event, wrong).status, 401);
  EXPECT_EQ(server
              .call("POST", "/v1/events", event,
                    {{"Authorization", "Basic adm-1-integration-test-token-0000"}})
              .status,
            401);
  EXPECT_EQ(server.call("POST", "/v1/events", event, publish).status, 202);
  EXPECT_EQ(server.call("POST", "/v1/events", event, admin).status, 202);

  // A publish token may not manage subscriptions: a valid token without
  // the scope is 403 saying what it may do (docs/api.md conventions).
  r = server.call("GET", "/v1/subscriptions", "", publish);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("publish"), std::string::npos) << r.body;
  EXPECT_TRUE(r.header("www-authenticate").empty());
  EXPECT_EQ(server.call("GET", "/v1/subscriptions", "", admin).status, 200);
  EXPECT_EQ(server.call("GET", "/v1/subscriptions").status, 401);
  EXPECT_EQ(server.call("GET", "/dashboard/v1/notifications", "", publish).status, 403);
  EXPECT_EQ(server.call("GET", "/metrics").status, 401);
  EXPECT_EQ(server.call("GET", "/metrics", "", admin).status, 200);

  // Probes need no token.
  EXPECT_EQ(server.call("GET", "/healthz").status, 200);
  EXPECT_EQ(server.call("GET", "/readyz").status, 200);
}
