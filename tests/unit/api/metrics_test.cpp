#include "api/metrics.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace sy::api;

TEST(http_metrics, method_labels_are_known_verbs_or_other) {
  for (const char* verb : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
    EXPECT_EQ(method_label(verb), verb);
  for (const char* odd : {"get", "X00001", "PROPFIND", "", "GET "})
    EXPECT_EQ(method_label(odd), "OTHER") << odd;
}

TEST(http_metrics, route_and_status_labels_are_bounded) {
  EXPECT_EQ(route_label(""), "unrouted");
  EXPECT_EQ(route_label("/v1/subscriptions/{id}"), "/v1/subscriptions/{id}");
  EXPECT_EQ(status_label(200), "200");
  EXPECT_EQ(status_label(599), "599");
  EXPECT_EQ(status_label(600), "other");
  EXPECT_EQ(status_label(99), "other");
  EXPECT_EQ(status_label(-1), "other");
}

TEST(http_metrics, many_made_up_methods_share_one_series) {
  http_metrics m;
  for (int i = 0; i < 1000; ++i)
    m.observe("X" + std::to_string(i), "", 401, 0.001);
  m.observe("GET", "/metrics", 200, 0.001);
  std::string out;
  m.render(out);
  EXPECT_NE(
    out.find(
      "switchyard_http_requests_total{method=\"OTHER\",route=\"unrouted\",code=\"401\"} 1000\n"),
    std::string::npos)
    << out;
  EXPECT_EQ(out.find("X1"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2 + 2 + 2 + 2 * 15) << out;
}

TEST(process_metrics, reads_proc_self) {
  std::string out;
  render_process_metrics(out);
  for (const char* name :
       {"process_resident_memory_bytes ", "process_open_fds ", "process_cpu_seconds_total "})
    EXPECT_NE(out.find(std::string("\n") + name), std::string::npos) << out;
  render_build_info(out);
  EXPECT_NE(out.find("switchyard_build_info{version=\""), std::string::npos) << out;
}
