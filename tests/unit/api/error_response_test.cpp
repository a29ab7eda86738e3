// Error answers: every 503 says when to retry (Retry-After), whichever
// helper made it; other statuses do not carry the header.
#include "api/common.hpp"

#include <gtest/gtest.h>

#include <string>

#include "actors/errors.hpp"

namespace sy::api {
namespace {

std::string retry_after(const transport::http_response& r) {
  return std::string(transport::find_header(r.headers, "Retry-After"));
}

TEST(error_response, a_503_says_when_to_retry_and_other_statuses_do_not) {
  const auto busy = error_response(503, "busy");
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(retry_after(busy), retry_after_s);
  EXPECT_NE(busy.body.find("busy"), std::string::npos);
  EXPECT_EQ(retry_after(error_response(400, "bad")), "");
  EXPECT_EQ(retry_after(error_response(404, "gone")), "");
}

TEST(primary_forward, an_answer_shorter_than_its_content_length_was_cut) {
  transport::client_response r;
  r.status = 200;
  r.body = std::string(100, 'x');
  EXPECT_FALSE(answer_was_cut(r)); // no Content-Length (chunked): cannot tell
  r.headers.emplace_back("Content-Length", "100");
  EXPECT_FALSE(answer_was_cut(r));
  r.headers.back().second = "67108965";
  EXPECT_TRUE(answer_was_cut(r));
  r.headers.back().second = "junk";
  EXPECT_FALSE(answer_was_cut(r));
}

TEST(error_response, the_not_ready_answer_says_when_to_retry) {
  const auto r = not_ready_response();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(retry_after(r), retry_after_s);
}

TEST(error_response, an_actor_error_maps_to_its_status_and_a_503_says_when_to_retry) {
  const auto down = error_response(actors::make_error(actors::errc::unavailable, "disk"));
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(retry_after(down), retry_after_s);
  const auto invalid = error_response(actors::make_error(actors::errc::invalid, "bad url", "url"));
  EXPECT_EQ(invalid.status, 422);
  EXPECT_EQ(retry_after(invalid), "");
  EXPECT_NE(invalid.body.find(R"("field":"url")"), std::string::npos);
}

TEST(error_response, a_push_503_says_when_to_retry) {
  const auto r = push_error_response(503, "busy", "/v1/association/create");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(retry_after(r), retry_after_s);
  EXPECT_EQ(retry_after(push_error_response(400, "bad", "/v1/association/create")), "");
}

} // namespace
} // namespace sy::api
