// Every bad input of docs/api.md gets its status code and a clear error naming
// the field, and the server keeps answering.

#include <gtest/gtest.h>

#include "harness.hpp"

using namespace sy::test;

namespace {

struct bad_case {
  const char* method;
  std::string target;
  std::string body;
  int status;
  const char* names; ///< text the error must contain ("" = any)
};

class bad_input : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir = new temp_dir();
    server = new server_process(dir->path(), "[http]\nmax_body_bytes = 4096\n");
    server->start();
  }
  static void TearDownTestSuite() {
    delete server;
    delete dir;
  }
  static temp_dir* dir;
  static server_process* server;
};

temp_dir* bad_input::dir = nullptr;
server_process* bad_input::server = nullptr;

void check(server_process& s, const bad_case& c) {
  auto r = s.call(c.method, c.target, c.body);
  EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << " " << c.body.substr(0, 200)
                                << " → " << r.body;
  if (r.status >= 400) {
    EXPECT_FALSE(json_string(r.body, "error").empty()) << "no {\"error\"} body: " << r.body;
    EXPECT_NE(r.body.find(c.names), std::string::npos)
      << "error does not name '" << c.names << "': " << r.body;
  }
  ASSERT_EQ(s.call("GET", "/healthz").status, 200)
    << "server stopped answering after " << c.target << " " << c.body.substr(0, 200);
}

} // namespace

TEST_F(bad_input, events) {
  std::string deep = R"({"type":"a","data":)";
  for (int i = 0; i < 1500; ++i)
    deep += "[";
  for (int i = 0; i < 1500; ++i)
    deep += "]";
  deep += "}";
  const bad_case cases[] = {
    {"POST", "/v1/events", "", 400, "empty"},
    {"POST", "/v1/events", "{", 400, "invalid JSON at byte "},
    {"POST", "/v1/events", "not json", 400, "invalid JSON at byte 0"},
    {"POST", "/v1/events", R"({"type":"a"} trailing)", 400, "invalid JSON at byte 13"},
    {"POST", "/v1/events", "\"just a string\"", 400, "object"},
    {"POST", "/v1/events", R"({"data":{}})", 422, "type"},
    {"POST", "/v1/events", R"({"type":7})", 400, "type"},
    {"POST", "/v1/events", R"({"type":"a..b"})", 422, "type"},
    {"POST", "/v1/events", R"({"type":"a.*"})", 422, "type"},
    {"POST", "/v1/events", R"({"type":")" + std::string(300, 'x') + "\"}", 422, "type"},
    {"POST", "/v1/events", R"({"type":"a","data":[1]})", 400, "data"},
    {"POST", "/v1/events", R"({"type":"a","data":{"x":tru}})", 400, "data"},
    {"POST", "/v1/events", R"({"type":"a","timestamp":"yesterday"})", 400, "timestamp"},
    {"POST", "/v1/events", R"({"type":"a","timestamp":1e400})", 422, "timestamp"},
    {"POST", "/v1/events", R"({"type":"a","timestamp":123456789012345678901234567890})", 422,
     "timestamp"},
    {"POST", "/v1/events", R"({"type":"a","country":"no"})", 422, "country"},
    {"POST", "/v1/events", R"({"type":"a","country":"NOR"})", 422, "country"},
    {"POST", "/v1/events", R"({"type":"a","id":")" + std::string(200, 'i') + "\"}", 422, "id"},
    {"POST", "/v1/events", R"([{"type":"ok"},{"type":"a","country":"xx"}])", 422, "\"index\":1"},
    {"POST", "/v1/events", "[]", 422, "batch"},
    {"POST", "/v1/events", "{\"type\":\"a\",\"data\":{\"s\":\"\xff\xfe\"}}", 400, "UTF-8"},
    {"POST", "/v1/events", deep, 400, "data"},
    {"POST", "/v1/events", R"({"type":"a","data":{"s":")" + std::string(5000, 'x') + "\"}}", 413,
     "max_body_bytes"},
  };
  for (const auto& c : cases)
    check(*server, c);
  // A refused batch journals nothing.
  auto m = server->call("GET", "/metrics").body;
  EXPECT_NE(m.find("switchyard_events_ingested_total 0"), std::string::npos) << m;
}

TEST_F(bad_input, subscriptions) {
  const bad_case cases[] = {
    {"POST", "/v1/subscriptions", "{}", 422, "service"},
    {"POST", "/v1/subscriptions", R"({"service":"s"})", 422, "url"},
    {"POST", "/v1/subscriptions", R"({"service":"s","url":"ftp://x"})", 422, "url"},
    {"POST", "/v1/subscriptions", R"({"service":"s","url":"not a url"})", 422, "url"},
    {"POST", "/v1/subscriptions", R"({"service":5,"url":"http://x.test"})", 400, "service"},
    {"POST", "/v1/subscriptions", R"({"service":"s","url":"http://x.test","types":["a.**.b"]})",
     422, "types"},
    {"POST", "/v1/subscriptions", R"({"service":"s","url":"http://x.test","types":"a"})", 400,
     "types"},
    {"POST", "/v1/subscriptions", R"({"service":"s","url":"http://x.test","country":"Norway"})",
     422, "country"},
    {"POST", "/v1/subscriptions", R"({"service":"s","url":"http://x.test","max_in_flight":0})", 422,
     "max_in_flight"},
    {"POST", "/v1/subscriptions", R"({"service":"s","url":"http://x.test","verification":"maybe"})",
     422, "verification"},
    {"POST", "/v1/subscriptions",
     R"({"service":"s","url":"http://x.test","auth":{"authType":"OAuth"}})", 422, "auth"},
    {"POST", "/v1/subscriptions",
     R"({"service":"s","url":"http://x.test","auth":{"authType":"OAuthRefreshTokenOnly","authURL":"http://a.test","refreshToken":"r"}})",
     422, "supplierKey"},
    {"POST", "/v1/subscriptions",
     R"({"service":"s","url":"http://x.test","auth":{"authType":"OAuth","authURL":"mailto:x","clientID":"c","clientSecret":"s","refreshToken":"r"}})",
     422, "authURL"},
    {"POST", "/v1/subscriptions", R"({"service":"s","delivery":"sideways"})", 422, "delivery"},
    {"POST", "/v1/subscriptions", R"({"service":"s"})", 422, "url"},
    {"GET", "/v1/subscriptions/sub_nope", "", 404, "sub_nope"},
    {"PATCH", "/v1/subscriptions/sub_nope", "{}", 404, "sub_nope"},
    {"POST", "/v1/subscriptions/sub_nope/verify", "", 404, "sub_nope"},
    {"POST", "/v1/subscriptions/sub_nope/pause", "", 404, "sub_nope"},
    {"POST", "/v1/subscriptions/sub_nope/purge", "", 404, "sub_nope"},
    {"GET", "/v1/subscriptions/sub_nope/dead-letters", "", 404, "sub_nope"},
    {"POST", "/dashboard/v1/notifications", R"({"url":"http://x.test"})", 422, "country"},
    {"POST", "/dashboard/v1/notifications", "[", 400, "invalid JSON at byte "},
    {"GET", "/dashboard/v1/notifications/123", "", 404, ""},
  };
  for (const auto& c : cases)
    check(*server, c);
  auto created = server->call("POST", "/v1/subscriptions",
                              R"({"service":"s","url":"http://x.test"})");
  ASSERT_EQ(created.status, 201);
  auto id = json_string(created.body, "id");
  const bad_case patches[] = {
    {"PATCH", "/v1/subscriptions/" + id, R"({"url":null})", 422, "url"},
    {"PATCH", "/v1/subscriptions/" + id, R"({"delivery":"pull"})", 422, "delivery"},
    {"PATCH", "/v1/subscriptions/" + id, R"({"types":[]})", 422, "types"},
  };
  for (const auto& c : patches)
    check(*server, c);
}

TEST_F(bad_input, http_level) {
  check(*server, {"GET", "/nope", "", 404, "/nope"});
  check(*server, {"DELETE", "/v1/events", "", 405, "allowed"});
  auto r = server->call("PUT", "/v1/subscriptions", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.header("allow").find("POST"), std::string::npos);
  r = server->call("POST", "/v1/events", R"({"type":"a"})", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 415) << r.body;
  r = server->call("POST", "/v1/events", R"({"type":"a"})",
                   {{"Content-Type", "application/json; charset=utf-8"}});
  EXPECT_EQ(r.status, 202) << r.body;
  // Garbage instead of HTTP gets a 400 and the connection closes, nothing worse.
  auto raw = raw_call(server->port(), "BLAH\r\n\r\n");
  EXPECT_NE(raw.find("400"), std::string::npos) << raw;
  EXPECT_EQ(server->call("GET", "/healthz").status, 200);
}
