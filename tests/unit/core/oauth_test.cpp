#include "core/oauth.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace sy::core;

namespace {

template <class T>
input_error error_of(const result<T>& r) {
  EXPECT_FALSE(r);
  return r ? input_error{} : r.error();
}

} // namespace

TEST(oauth, token_request_is_the_refresh_token_grant_form_encoded) {
  egress_auth a;
  a.type = "OAuth";
  a.auth_url = "https://id.test/token";
  a.client_id = "client 1";
  a.client_secret = "s&cret=";
  a.refresh_token = "r/t+";
  EXPECT_EQ(oauth_token_request(a), "grant_type=refresh_token&refresh_token=r%2Ft%2B&client_id="
                                    "client%201&client_secret=s%26cret%3D");
  egress_auth b;
  b.type = "OAuthRefreshTokenOnly";
  b.auth_url = "https://id.test/token";
  b.supplier_key = "sup";
  b.refresh_token = "rt";
  EXPECT_EQ(oauth_token_request(b), "grant_type=refresh_token&refresh_token=rt&supplier_key=sup");
}

TEST(oauth, token_answers_need_an_access_token) {
  auto decode = [](std::string body) { return decode_oauth_token(body); };
  auto t = decode(R"({"access_token":"abc","token_type":"Bearer","expires_in":120})");
  ASSERT_TRUE(t) << t.error().what();
  EXPECT_EQ(t->access_token, "abc");
  EXPECT_EQ(t->expires_in_s, 120);
  t = decode(R"({"access_token":"abc"})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->expires_in_s, 3600) << "an hour when the endpoint names no lifetime";
  t = decode(R"({"access_token":"abc","expires_in":999999999})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->expires_in_s, 86400) << "a day at most";
  EXPECT_EQ(error_of(decode(R"({"token_type":"Bearer"})")).field, "access_token");
  EXPECT_EQ(error_of(decode(R"({"access_token":""})")).field, "access_token");
  EXPECT_EQ(error_of(decode(R"({"access_token":"a\nb"})")).field, "access_token");
  EXPECT_EQ(error_of(decode(R"({"access_token":"a","expires_in":0})")).field, "expires_in");
  EXPECT_EQ(error_of(decode("not json")).status, 400);
}
