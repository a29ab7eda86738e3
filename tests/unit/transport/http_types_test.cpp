#include "transport/http_types.hpp"

#include <gtest/gtest.h>

namespace sy::transport {
namespace {

TEST(http_types, finds_headers_case_insensitively) {
  header_list headers{{"Content-Type", "application/json"}, {"X-Trace", "a"}, {"x-trace", "b"}};
  EXPECT_EQ(find_header(headers, "content-type"), "application/json");
  EXPECT_EQ(find_header(headers, "X-TRACE"), "a");
  EXPECT_EQ(find_header(headers, "missing"), "");
  http_request req;
  req.headers = headers;
  EXPECT_EQ(req.header("CONTENT-TYPE"), "application/json");
}

TEST(http_types, decodes_query_parameters) {
  http_request req;
  req.query = "a=1&b=hello+world&c=%41%62%2F&d&e=%zz&k%20ey=v&empty=&a=2&pct=100%";
  EXPECT_EQ(req.query_param("a"), "1");
  EXPECT_EQ(req.query_param("b"), "hello world");
  EXPECT_EQ(req.query_param("c"), "Ab/");
  EXPECT_EQ(req.query_param("d"), "");
  EXPECT_EQ(req.query_param("e"), "%zz");
  EXPECT_EQ(req.query_param("k ey"), "v");
  EXPECT_EQ(req.query_param("empty"), "");
  EXPECT_EQ(req.query_param("pct"), "100%");
  EXPECT_EQ(req.query_param("missing"), "");
}

TEST(http_types, query_param_on_empty_query_is_empty) {
  http_request req;
  EXPECT_EQ(req.query_param("a"), "");
  req.query = "&&=x&";
  EXPECT_EQ(req.query_param(""), "x");
  EXPECT_EQ(req.query_param("a"), "");
}

} // namespace
} // namespace sy::transport
