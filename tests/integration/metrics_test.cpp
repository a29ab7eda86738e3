// /metrics for an operator (API.md §11 "Metrics"): bounded label values, a
// cap on per-subscription series, the delivery latency histogram, the age
// of the oldest undelivered event, build and process metrics, and a
// scraper's access without admin rights (auth.metrics_tokens,
// server.metrics_listen).

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* admin_token = "adm-metrics-test-token-0123456789";
constexpr const char* scrape_token = "scrape-metrics-test-token-0123456789";

std::size_t line_count(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// GETs /metrics on `port` until `done(body)` or `timeout`; returns the last body.
std::string scrape_until(uint16_t port, const std::function<bool(const std::string&)>& done,
                         const headers_t& headers = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string body;
  for (;;) {
    auto r = http_call(port, "GET", "/metrics", "", headers);
    body = r.body;
    if ((r.status == 200 && done(body)) || std::chrono::steady_clock::now() > deadline)
      return body;
    std::this_thread::sleep_for(20ms);
  }
}

std::string scrape(uint16_t port, const headers_t& headers = {}) {
  auto r = http_call(port, "GET", "/metrics", "", headers);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.body;
}

// Creates an active subscription of `types_json` to `url`; returns its id.
std::string subscribe(const server_process& server, const std::string& url,
                      const std::string& types_json, const headers_t& headers = {}) {
  auto r = server.call("POST", "/v1/subscriptions",
                       R"({"service":"m","url":")" + url + R"(","types":)" + types_json +
                         R"(,"verification":"skip"})",
                       headers);
  EXPECT_EQ(r.status, 201) << r.body;
  return json_string(r.body, "id");
}

std::string raw_request(const std::string& method, const std::string& target) {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
}

} // namespace

TEST(metrics, made_up_methods_and_unknown_paths_add_no_series) {
  temp_dir dir;
  server_process server(dir.path(),
                        std::string("[auth]\nadmin_tokens = [\"") + admin_token + "\"]\n");
  server.start();
  const headers_t admin = {{"Authorization", std::string("Bearer ") + admin_token}};

  // Each shape of request seen once, so that its series exists.
  ASSERT_NE(raw_call(server.port(), raw_request("XWARM", "/v1/events")).find(" 401 "),
            std::string::npos);
  ASSERT_NE(raw_call(server.port(), "YWARM /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                    "Authorization: Bearer " +
                                      std::string(admin_token) + "\r\nConnection: close\r\n\r\n")
              .find(" 405 "),
            std::string::npos);
  EXPECT_EQ(server.call("GET", "/no/such/path/warm", "", admin).status, 404);
  // A request is counted once its answer is written, which may be after the
  // client read it: wait for the three, then for two scrapes in a row of the
  // same length (the scrape's own series exist too).
  const std::string s401 =
    R"(switchyard_http_requests_total{method="OTHER",route="/v1/events",code="401"})";
  const std::string s405 =
    R"(switchyard_http_requests_total{method="OTHER",route="/v1/events",code="405"})";
  const std::string s404 =
    R"(switchyard_http_requests_total{method="GET",route="unrouted",code="404"})";
  auto counted = [&](double n401, double n405, double n404) {
    return [=](const std::string& m) {
      return sample(m, s401).value_or(0) >= n401 && sample(m, s405).value_or(0) >= n405 &&
             sample(m, s404).value_or(0) >= n404;
    };
  };
  const std::string scrapes =
    R"(switchyard_http_requests_total{method="GET",route="/metrics",code="200"})";
  std::string before = scrape_until(
    server.port(),
    [&](const std::string& m) { return counted(1, 1, 1)(m) && sample(m, scrapes).has_value(); },
    admin);
  for (auto deadline = std::chrono::steady_clock::now() + 15s;
       std::chrono::steady_clock::now() < deadline;) {
    auto next = scrape(server.port(), admin);
    const bool stable = line_count(next) == line_count(before);
    before = std::move(next);
    if (stable)
      break;
  }

  // Without a token (401), as the operator found, and with one (405, 404).
  for (int i = 0; i < 50; ++i) {
    auto answer = raw_call(server.port(),
                           raw_request("X" + std::to_string(10000 + i), "/v1/events"));
    ASSERT_NE(answer.find(" 401 "), std::string::npos) << answer;
  }
  for (int i = 0; i < 20; ++i) {
    auto answer = raw_call(server.port(), "Y" + std::to_string(i) +
                                            " /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                            "Authorization: Bearer " +
                                            admin_token + "\r\nConnection: close\r\n\r\n");
    ASSERT_NE(answer.find(" 405 "), std::string::npos) << answer;
    EXPECT_EQ(server.call("GET", "/no/such/path/" + std::to_string(i), "", admin).status, 404);
  }
  const auto after = scrape_until(server.port(), counted(51, 21, 21), admin);

  EXPECT_EQ(line_count(after), line_count(before)) << after;
  EXPECT_EQ(after.find("X100"), std::string::npos) << after;
  EXPECT_EQ(after.find("/no/such/path"), std::string::npos) << after;
  // A refused request is counted under the route its path matched.
  EXPECT_GE(
    sample(after, R"(switchyard_http_requests_total{method="OTHER",route="/v1/events",code="401"})")
      .value_or(0),
    51)
    << after;
  EXPECT_GE(
    sample(after, R"(switchyard_http_requests_total{method="OTHER",route="/v1/events",code="405"})")
      .value_or(0),
    20)
    << after;
  EXPECT_GE(
    sample(after, R"(switchyard_http_requests_total{method="GET",route="unrouted",code="404"})")
      .value_or(0),
    21)
    << after;
  // Every method label is a known verb or OTHER.
  for (const auto& line : lines_starting(after, "switchyard_http_requests_total{")) {
    auto m = line.substr(line.find("method=\"") + 8);
    m = m.substr(0, m.find('"'));
    static const std::vector<std::string> allowed = {"GET",   "HEAD",   "POST",    "PUT",
                                                     "PATCH", "DELETE", "OPTIONS", "OTHER"};
    EXPECT_NE(std::find(allowed.begin(), allowed.end(), m), allowed.end()) << line;
  }
}

TEST(metrics, per_subscription_series_cover_only_the_deepest_queues) {
  temp_dir dir;
  sink hook;
  server_process server(dir.path(), "[metrics]\nmax_subscription_series = 3\n"
                                    "[retry]\ninitial_ms = 50\nmax_ms = 400\n");
  server.start();
  // Five paused subscriptions with 1..5 events queued.
  std::vector<std::string> ids;
  for (int i = 1; i <= 5; ++i) {
    ids.push_back(
      subscribe(server, hook.url("/q" + std::to_string(i)), "[\"t" + std::to_string(i) + ".*\"]"));
    ASSERT_EQ(server.call("POST", "/v1/subscriptions/" + ids.back() + "/pause").status, 200);
  }
  for (int i = 1; i <= 5; ++i)
    for (int n = 0; n < i; ++n)
      ASSERT_EQ(
        server.call("POST", "/v1/events", "{\"type\":\"t" + std::to_string(i) + ".e\"}").status,
        202);
  auto body = scrape_until(server.port(), [](const std::string& b) {
    return sample(b, "switchyard_queued_events") == 15.0;
  });
  ASSERT_EQ(sample(body, "switchyard_queued_events"), 15.0) << body;
  EXPECT_EQ(sample(body, "switchyard_subscriptions"), 5.0) << body;
  EXPECT_EQ(sample(body, "switchyard_events_routed_total"), 15.0) << body;

  auto depth = lines_starting(body, "switchyard_queue_depth{");
  auto in_flight = lines_starting(body, "switchyard_in_flight{");
  EXPECT_EQ(depth.size(), 3u) << body;
  EXPECT_EQ(in_flight.size(), 3u) << body;
  for (int i = 3; i <= 5; ++i) {
    const auto label = "{subscription=\"" + ids[static_cast<std::size_t>(i - 1)] + "\"}";
    EXPECT_EQ(sample(body, "switchyard_queue_depth" + label), double(i)) << body;
    EXPECT_TRUE(sample(body, "switchyard_in_flight" + label)) << body;
  }
  for (int i = 1; i <= 2; ++i)
    EXPECT_EQ(body.find(ids[static_cast<std::size_t>(i - 1)]), std::string::npos) << body;

  // The aggregates count the subscriptions without series too.
  for (const auto& id : ids)
    ASSERT_EQ(server.call("POST", "/v1/subscriptions/" + id + "/activate").status, 200);
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE(hook.wait_delivered("/q" + std::to_string(i), static_cast<std::size_t>(i)));
  body = scrape_until(server.port(), [](const std::string& b) {
    return sample(b, "switchyard_deliveries_total") == 15.0;
  });
  EXPECT_EQ(sample(body, "switchyard_deliveries_total"), 15.0) << body;
  EXPECT_EQ(sample(body, "switchyard_delivery_latency_seconds_count"), 15.0) << body;
  EXPECT_EQ(lines_starting(body, "switchyard_queue_depth{").size(), 3u) << body;
}

TEST(metrics, delivery_latency_oldest_age_build_and_process) {
  temp_dir dir;
  sink hook;
  server_process server(dir.path());
  server.start();
  auto id = subscribe(server, hook.url("/lat"), "[\"l.*\"]");

  // Nothing queued: the oldest undelivered event is 0 s old.
  auto body = scrape(server.port());
  EXPECT_EQ(sample(body, "switchyard_oldest_undelivered_age_seconds"), 0.0) << body;
  EXPECT_EQ(sample(body, "switchyard_delivery_latency_seconds_count"), 0.0) << body;

  // A paused subscription's event ages until it is delivered.
  ASSERT_EQ(server.call("POST", "/v1/subscriptions/" + id + "/pause").status, 200);
  ASSERT_EQ(server.call("POST", "/v1/events", R"({"type":"l.old"})").status, 202);
  body = scrape_until(server.port(), [](const std::string& b) {
    return sample(b, "switchyard_oldest_undelivered_age_seconds").value_or(0) >= 0.5;
  });
  EXPECT_GE(sample(body, "switchyard_oldest_undelivered_age_seconds").value_or(0), 0.5) << body;
  ASSERT_EQ(server.call("POST", "/v1/subscriptions/" + id + "/activate").status, 200);
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(server.call("POST", "/v1/events", R"({"type":"l.new"})").status, 202);
  ASSERT_TRUE(hook.wait_delivered("/lat", 3));

  body = scrape_until(server.port(), [](const std::string& b) {
    return sample(b, "switchyard_delivery_latency_seconds_count") == 3.0 &&
           sample(b, "switchyard_oldest_undelivered_age_seconds") == 0.0;
  });
  EXPECT_EQ(sample(body, "switchyard_oldest_undelivered_age_seconds"), 0.0) << body;
  EXPECT_EQ(sample(body, "switchyard_delivery_latency_seconds_count"), 3.0) << body;
  EXPECT_EQ(sample(body, R"(switchyard_delivery_latency_seconds_bucket{le="+Inf"})"), 3.0) << body;
  // The event held while paused waited at least 0.5 s: it is above the
  // 0.25 s bucket, and the sum counts its wait.
  EXPECT_LE(sample(body, R"(switchyard_delivery_latency_seconds_bucket{le="0.25"})").value_or(99),
            2.0)
    << body;
  EXPECT_GE(sample(body, "switchyard_delivery_latency_seconds_sum").value_or(0), 0.5) << body;
  // Buckets are cumulative.
  double last = 0;
  for (const auto& line : lines_starting(body, "switchyard_delivery_latency_seconds_bucket{")) {
    double v = std::stod(line.substr(line.rfind(' ') + 1));
    EXPECT_GE(v, last) << line;
    last = v;
  }
  EXPECT_EQ(lines_starting(body, "switchyard_delivery_latency_seconds_bucket{").size(), 17u)
    << body;

  EXPECT_EQ(sample(body, R"(switchyard_build_info{version="0.1.0"})"), 1.0) << body;
  EXPECT_GT(sample(body, "process_resident_memory_bytes").value_or(0), 1e6) << body;
  EXPECT_GT(sample(body, "process_open_fds").value_or(0), 3) << body;
  EXPECT_TRUE(sample(body, "process_cpu_seconds_total")) << body;
}

TEST(metrics, a_metrics_token_reads_metrics_only) {
  temp_dir dir;
  server_process server(dir.path(), std::string("[auth]\nadmin_tokens = [\"") + admin_token +
                                      "\"]\nmetrics_tokens = [\"" + scrape_token + "\"]\n");
  server.start();
  const headers_t scraper = {{"Authorization", std::string("Bearer ") + scrape_token}};
  const headers_t admin = {{"Authorization", std::string("Bearer ") + admin_token}};

  auto r = server.call("GET", "/metrics", "", scraper);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("switchyard_events_ingested_total"), std::string::npos);
  EXPECT_EQ(server.call("GET", "/metrics", "", admin).status, 200);
  EXPECT_EQ(server.call("GET", "/metrics").status, 401);

  r = server.call("GET", "/v1/subscriptions", "", scraper);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("metrics token: it may only GET /metrics"), std::string::npos) << r.body;
  r = server.call("POST", "/v1/events", R"({"type":"a.b"})", scraper);
  EXPECT_EQ(r.status, 403) << r.body;
  // Nothing was journaled by the refused publish.
  EXPECT_EQ(sample(scrape(server.port(), scraper), "switchyard_events_ingested_total"), 0.0);
  EXPECT_EQ(server.call("GET", "/v1/subscriptions", "", admin).status, 200);
}

TEST(metrics, metrics_listen_serves_without_a_token) {
  temp_dir dir;
  server_process server(dir.path(),
                        std::string("[auth]\nadmin_tokens = [\"") + admin_token + "\"]\n",
                        "metrics_listen = \"127.0.0.1:0\"\n");
  server.start();
  const uint16_t mport = server.metrics_port();
  ASSERT_NE(mport, 0) << server.log();
  ASSERT_NE(mport, server.port());

  auto r = http_call(mport, "GET", "/metrics");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("switchyard_build_info"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("switchyard_deliveries_total"), std::string::npos) << r.body;
  EXPECT_EQ(http_call(mport, "GET", "/healthz").status, 200);
  EXPECT_EQ(http_call(mport, "GET", "/readyz").status, 200);
  // Only those three: the API is not on the metrics address.
  EXPECT_EQ(http_call(mport, "GET", "/v1/subscriptions").status, 404);
  EXPECT_EQ(http_call(mport, "POST", "/v1/events", R"({"type":"a.b"})").status, 404);

  // The main listener still demands a token.
  EXPECT_EQ(server.call("GET", "/metrics").status, 401);
  EXPECT_EQ(
    server.call("GET", "/metrics", "", {{"Authorization", std::string("Bearer ") + admin_token}})
      .status,
    200);
  EXPECT_EQ(server.terminate(), 0);
}
