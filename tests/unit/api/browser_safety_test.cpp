#include "api/browser_safety.hpp"

#include <gtest/gtest.h>

namespace sy::api {
namespace {

transport::http_request request(std::string method, transport::header_list headers) {
  transport::http_request r;
  r.method = std::move(method);
  r.path = "/v1/subscriptions";
  r.headers = std::move(headers);
  return r;
}

TEST(browser_safety, fetch_metadata_decides_for_writes) {
  EXPECT_TRUE(is_cross_origin_write(request("POST", {{"sec-fetch-site", "cross-site"}})));
  EXPECT_TRUE(is_cross_origin_write(request("DELETE", {{"sec-fetch-site", "same-site"}})));
  EXPECT_FALSE(is_cross_origin_write(request("POST", {{"sec-fetch-site", "same-origin"}})));
  EXPECT_FALSE(is_cross_origin_write(request("PATCH", {{"sec-fetch-site", "none"}})));
  // Fetch metadata wins over Origin.
  EXPECT_TRUE(is_cross_origin_write(request("PUT", {{"sec-fetch-site", "cross-site"},
                                                    {"origin", "http://127.0.0.1:8080"},
                                                    {"host", "127.0.0.1:8080"}})));
}

TEST(browser_safety, reads_are_never_refused_for_their_origin) {
  EXPECT_FALSE(is_cross_origin_write(request("GET", {{"sec-fetch-site", "cross-site"}})));
  EXPECT_FALSE(is_cross_origin_write(request("HEAD", {{"origin", "http://evil.test"}})));
}

TEST(browser_safety, without_fetch_metadata_the_origin_must_be_the_requests_own) {
  EXPECT_FALSE(is_cross_origin_write(
    request("POST", {{"origin", "http://127.0.0.1:8080"}, {"host", "127.0.0.1:8080"}})));
  EXPECT_FALSE(is_cross_origin_write(
    request("POST", {{"origin", "http://LOCALHOST"}, {"host", "localhost:80"}})));
  EXPECT_TRUE(is_cross_origin_write(
    request("POST", {{"origin", "http://evil.test"}, {"host", "127.0.0.1:8080"}})));
  EXPECT_TRUE(is_cross_origin_write(
    request("POST", {{"origin", "http://127.0.0.1:9999"}, {"host", "127.0.0.1:8080"}})));
  EXPECT_TRUE(is_cross_origin_write(request("POST", {{"origin", "null"}, {"host", "a"}})));
  EXPECT_TRUE(
    is_cross_origin_write(request("POST", {{"origin", "file://x"}, {"host", "127.0.0.1:8080"}})));
  // curl, SDKs and servers send neither header.
  EXPECT_FALSE(is_cross_origin_write(request("POST", {{"host", "127.0.0.1:8080"}})));
}

TEST(browser_safety, loopback_hosts_and_listed_hosts_are_allowed) {
  EXPECT_TRUE(is_allowed_host("localhost:8080", {}));
  EXPECT_TRUE(is_allowed_host("LocalHost", {}));
  EXPECT_TRUE(is_allowed_host("127.0.0.1:8080", {}));
  EXPECT_TRUE(is_allowed_host("127.3.2.1", {}));
  EXPECT_TRUE(is_allowed_host("[::1]:8080", {}));
  EXPECT_FALSE(is_allowed_host("evil.test:8080", {}));
  EXPECT_FALSE(is_allowed_host("127.0.0.1.evil.test", {}));
  EXPECT_FALSE(is_allowed_host("localhost.evil.test:8080", {}));
  EXPECT_FALSE(is_allowed_host("", {}));
  EXPECT_TRUE(is_allowed_host("switchyard.internal:8080", {"switchyard.internal"}));
  EXPECT_TRUE(is_allowed_host("Switchyard.Internal", {"switchyard.internal"}));
  EXPECT_FALSE(is_allowed_host("other.internal", {"switchyard.internal"}));
}

} // namespace
} // namespace sy::api
