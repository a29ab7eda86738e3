#include "core/subscription_codec.hpp"

#include <gtest/gtest.h>

#include "core/json_writer.hpp"

using namespace sy::core;

namespace {

result<subscription_spec> create(std::string body) { return decode_subscription_create(body); }

result<subscription_spec> patch(std::string body) { return decode_subscription_patch(body); }

result<dashboard_spec> dashboard(std::string body) { return decode_dashboard_subscription(body); }

template <class T>
input_error error_of(const result<T>& r) {
  EXPECT_FALSE(r);
  return r ? input_error{} : r.error();
}

input_error create_error(std::string body) { return error_of(create(std::move(body))); }

input_error patch_error(std::string body) { return error_of(patch(std::move(body))); }

input_error dashboard_error(std::string body) { return error_of(dashboard(std::move(body))); }

// Wraps an auth object in a minimal create body.
std::string with_auth(std::string auth) {
  return R"({"service":"s","url":"https://a.test/h","auth":)" + auth + "}";
}

std::string write_auth(const egress_auth& a, bool redact) {
  json_writer w;
  write_egress_auth(w, a, redact);
  return std::move(w).str();
}

} // namespace

// -- subscription create ----------------------------------------------------------

TEST(subscription_codec, create_decodes_every_field) {
  auto r = create(R"({"service":"My Service","url":"https://hooks.test/in?x=1",
    "types":["re.notifica.event.custom.*","a.**"],"country":"NO","delivery":"push",
    "verification":"skip","max_in_flight":4,"rate_limit":250,
    "auth":{"authType":"APIKey","APIKey":"k-123"}})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->service, "My Service");
  EXPECT_EQ(r->url, "https://hooks.test/in?x=1");
  EXPECT_EQ(r->types, (std::vector<std::string>{"re.notifica.event.custom.*", "a.**"}));
  EXPECT_EQ(r->country, "NO");
  EXPECT_EQ(r->delivery, delivery_mode::push);
  EXPECT_EQ(r->verification_required, false);
  EXPECT_EQ(r->max_in_flight, 4);
  EXPECT_EQ(r->rate_limit, 250);
  ASSERT_TRUE(r->auth);
  EXPECT_EQ(r->auth->type, "APIKey");
  EXPECT_EQ(r->auth->api_key, "k-123");
}

TEST(subscription_codec, create_fills_in_defaults) {
  auto r = create(R"({"service":"s","url":"http://127.0.0.1:9000/"})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->service, "s");
  EXPECT_EQ(r->url, "http://127.0.0.1:9000/");
  EXPECT_EQ(r->types, std::vector<std::string>{"**"});
  EXPECT_FALSE(r->country);
  EXPECT_EQ(r->delivery, delivery_mode::push);
  EXPECT_EQ(r->verification_required, true);
  EXPECT_EQ(r->max_in_flight, 16);
  EXPECT_EQ(r->rate_limit, 0);
  EXPECT_FALSE(r->auth);
}

TEST(subscription_codec, create_treats_null_as_absent) {
  auto r = create(R"({"service":"s","url":"http://a.test/","types":null,"country":null,
    "delivery":null,"verification":null,"max_in_flight":null,"rate_limit":null,"auth":null})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->types, std::vector<std::string>{"**"});
  EXPECT_FALSE(r->country);
  EXPECT_EQ(r->delivery, delivery_mode::push);
  EXPECT_EQ(r->verification_required, true);
  EXPECT_EQ(r->max_in_flight, 16);
  EXPECT_EQ(r->rate_limit, 0);
  EXPECT_FALSE(r->auth);
}

TEST(subscription_codec, field_names_are_case_insensitive) {
  auto r = create(R"({"SERVICE":"s","Url":"https://a.test/","TYPES":["a"],"Country":"GB",
    "Delivery":"push","VERIFICATION":"required","Max_In_Flight":2,"RATE_LIMIT":3,
    "AUTH":{"AUTHTYPE":"basic","USERID":"u","PassWord":"p"}})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->service, "s");
  EXPECT_EQ(r->url, "https://a.test/");
  EXPECT_EQ(r->types, std::vector<std::string>{"a"});
  EXPECT_EQ(r->country, "GB");
  EXPECT_EQ(r->verification_required, true);
  EXPECT_EQ(r->max_in_flight, 2);
  EXPECT_EQ(r->rate_limit, 3);
  ASSERT_TRUE(r->auth);
  EXPECT_EQ(r->auth->type, "Basic");
  EXPECT_EQ(r->auth->user_id, "u");
  EXPECT_EQ(r->auth->password, "p");
}

TEST(subscription_codec, camel_case_limits_are_accepted) {
  auto r = create(R"({"service":"s","url":"https://a.test/","maxInFlight":1,"rateLimit":7})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->max_in_flight, 1);
  EXPECT_EQ(r->rate_limit, 7);
  auto e = create_error(
    R"({"service":"s","url":"https://a.test/","maxInFlight":1,"max_in_flight":2})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "max_in_flight");
}

TEST(subscription_codec, unknown_fields_are_422_with_a_hint) {
  auto e = create_error(R"({"service":"s","url":"https://a.test/","type":["billing.*"]})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "type");
  EXPECT_EQ(e.what(), R"(unknown field "type" (did you mean "types"?))");
  e = create_error(R"({"service":"s","url":"https://a.test/","Contry":"NO"})");
  EXPECT_EQ(e.what(), R"(unknown field "Contry" (did you mean "country"?))");
  // What the server shows but does not take is refused too.
  e = create_error(R"({"id":"x","service":"s","url":"https://a.test/"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "id");
  e = patch_error(R"({"service":"t","rate_limt":3})");
  EXPECT_EQ(e.what(), R"(unknown field "rate_limt" (did you mean "rate_limit"?))");
  e = create_error(with_auth(R"({"authType":"Basic","userId":"u","password":"p","pasword":"p"})"));
  EXPECT_EQ(e.field, "auth.pasword");
  EXPECT_EQ(e.what(), R"(unknown field "auth.pasword" (did you mean "password"?))");
  // Malformed JSON anywhere is still a 400, found before any unknown member.
  e = create_error(R"({"zzz":1,"service":"s","url":"https://a.test/","x":[1,}]})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.message.rfind("invalid JSON at byte ", 0), 0u) << e.message;
}

TEST(subscription_codec, private_key_is_whsec_base64_of_24_to_64_bytes) {
  const std::string key32 = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
  auto r = create(R"({"service":"s","url":"https://a.test/","privateKey":")" + key32 + "\"}");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->private_key, key32);
  EXPECT_FALSE(create(R"({"service":"s","url":"https://a.test/"})")->private_key);
  EXPECT_FALSE(validate_private_key("whsec_" + std::string(32, 'A')));        // 24 bytes
  EXPECT_FALSE(validate_private_key("whsec_" + std::string(86, 'A') + "==")); // 64 bytes
}

TEST(subscription_codec, bad_private_keys_are_422_naming_it) {
  for (std::string bad : {std::string("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="),
                          std::string("whsec_"), std::string("whsec_AQIDBAUGBwgJCgsMDQ4PEBE="),
                          std::string("whsec_not base64"), "whsec_" + std::string(92, 'A')}) {
    auto e = create_error(R"({"service":"s","url":"https://a.test/","privateKey":")" + bad + "\"}");
    EXPECT_EQ(e.status, 422) << bad;
    EXPECT_EQ(e.field, "privateKey") << bad;
  }
  auto e = create_error(R"({"service":"s","url":"https://a.test/","privateKey":7})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "privateKey");
  e = patch_error(R"({"privateKey":"whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "privateKey");
}

TEST(subscription_codec, service_is_required) {
  auto e = create_error(R"({"url":"https://a.test/"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "service");
  e = create_error(R"({"service":null,"url":"https://a.test/"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "service");
}

TEST(subscription_codec, service_must_be_1_to_256_bytes) {
  auto e = create_error(R"({"service":"","url":"https://a.test/"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "service");
  std::string ok(256, 's');
  EXPECT_TRUE(create(R"({"service":")" + ok + R"(","url":"https://a.test/"})"));
  e = create_error(R"({"service":")" + ok + R"(s","url":"https://a.test/"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "service");
}

TEST(subscription_codec, push_requires_url) {
  auto e = create_error(R"({"service":"s"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "url");
  e = create_error(R"({"service":"s","delivery":"push","url":null})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "url");
}

TEST(subscription_codec, pull_needs_no_url) {
  auto r = create(R"({"service":"s","delivery":"pull"})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->delivery, delivery_mode::pull);
  EXPECT_FALSE(r->url);
  auto with_url = create(R"({"delivery":"pull","url":"https://a.test/","service":"s"})");
  ASSERT_TRUE(with_url);
  EXPECT_EQ(with_url->url, "https://a.test/");
  auto e = create_error(R"({"service":"s","delivery":"pull","url":"nope"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "url");
}

TEST(subscription_codec, url_must_be_valid) {
  for (auto bad : {"ftp://a.test/", "not a url", "https://u:p@a.test/", "https://", ""}) {
    auto e = create_error(std::string(R"({"service":"s","url":")") + bad + "\"}");
    EXPECT_EQ(e.status, 422) << bad;
    EXPECT_EQ(e.field, "url") << bad;
  }
}

TEST(subscription_codec, types_must_be_a_non_empty_array_of_patterns) {
  auto e = create_error(R"({"service":"s","url":"https://a.test/","types":[]})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "types");
  e = create_error(R"({"service":"s","url":"https://a.test/","types":["a","b","a.*x"]})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "types[2]");
  e = create_error(R"({"service":"s","url":"https://a.test/","types":["**.a"]})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "types[0]");
  e = create_error(R"({"service":"s","url":"https://a.test/","types":["a",""]})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "types[1]");
}

TEST(subscription_codec, types_wrong_json_type_is_400) {
  auto e = create_error(R"({"service":"s","url":"https://a.test/","types":"a.*"})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "types");
  e = create_error(R"({"service":"s","url":"https://a.test/","types":["a",7]})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "types[1]");
}

TEST(subscription_codec, types_hold_at_most_64_patterns) {
  auto body = [](int n) {
    std::string b = R"({"service":"s","url":"https://a.test/","types":[)";
    for (int i = 0; i < n; ++i)
      b += (i ? ",\"t" : "\"t") + std::to_string(i) + "\"";
    return b + "]}";
  };
  auto r = create(body(64));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->types->size(), 64u);
  EXPECT_EQ(r->types->back(), "t63");
  auto e = create_error(body(65));
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "types");
}

TEST(subscription_codec, country_must_be_iso_alpha2_uppercase) {
  for (auto bad : {"no", "NOR", "ZZ", "N", ""}) {
    auto e = create_error(std::string(R"({"service":"s","url":"https://a.test/","country":")") +
                          bad + "\"}");
    EXPECT_EQ(e.status, 422) << bad;
    EXPECT_EQ(e.field, "country") << bad;
  }
  auto e = create_error(R"({"service":"s","url":"https://a.test/","country":47})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "country");
}

TEST(subscription_codec, delivery_is_push_or_pull) {
  auto r = create(R"({"service":"s","delivery":"PULL"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->delivery, delivery_mode::pull);
  auto e = create_error(R"({"service":"s","url":"https://a.test/","delivery":"email"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "delivery");
  e = create_error(R"({"service":"s","url":"https://a.test/","delivery":true})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "delivery");
}

TEST(subscription_codec, verification_is_required_or_skip) {
  auto r = create(R"({"service":"s","url":"https://a.test/","verification":"required"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verification_required, true);
  r = create(R"({"service":"s","url":"https://a.test/","verification":"Skip"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verification_required, false);
  auto e = create_error(R"({"service":"s","url":"https://a.test/","verification":"maybe"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "verification");
  e = create_error(R"({"service":"s","url":"https://a.test/","verification":false})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "verification");
}

TEST(subscription_codec, max_in_flight_is_1_to_1000) {
  auto body = [](std::string v) {
    return R"({"service":"s","url":"https://a.test/","max_in_flight":)" + v + "}";
  };
  ASSERT_TRUE(create(body("1")));
  auto r = create(body("1000"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->max_in_flight, 1000);
  for (auto bad : {"0", "1001", "-1", "1.5", "1e2", "99999999999999999999999"}) {
    auto e = create_error(body(bad));
    EXPECT_EQ(e.status, 422) << bad;
    EXPECT_EQ(e.field, "max_in_flight") << bad;
  }
  auto e = create_error(body("\"16\""));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "max_in_flight");
}

TEST(subscription_codec, rate_limit_is_0_to_100000) {
  auto body = [](std::string v) {
    return R"({"service":"s","url":"https://a.test/","rate_limit":)" + v + "}";
  };
  auto r = create(body("100000"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rate_limit, 100000);
  ASSERT_TRUE(create(body("0")));
  for (auto bad : {"-1", "100001", "0.5"}) {
    auto e = create_error(body(bad));
    EXPECT_EQ(e.status, 422) << bad;
    EXPECT_EQ(e.field, "rate_limit") << bad;
  }
  auto e = create_error(body("[]"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "rate_limit");
}

TEST(subscription_codec, repeated_field_is_400) {
  auto e = create_error(R"({"service":"a","url":"https://a.test/","Service":"b"})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "service");
}

TEST(subscription_codec, malformed_json_and_wrong_root_type_are_400) {
  for (auto bad : {"",
                   "   ",
                   "{",
                   "}",
                   "[]",
                   "\"x\"",
                   "null",
                   "42",
                   R"({"service":})",
                   R"({"service":"s",})",
                   R"({"service":"s","url":"https://a.test/"} x)",
                   R"({"service":"s","url":"https://a.test/"}{})",
                   "{\"service\":\"\xff\"}",
                   R"({"service":"s" "url":"x"})",
                   R"({"service":'s'})",
                   R"({"service":"s","url":"https://a.test/","unknown":[1,}]})",
                   "{} x",
                   R"({"types":[]} {})",
                   R"({"service":"s","x":01})",
                   R"({"service":"s","x":[nul]})",
                   R"({"service":"s","x":"\q"})"}) {
    auto r = create(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().status, 400) << bad;
  }
}

TEST(subscription_codec, deep_nesting_in_unknown_field_does_not_crash) {
  std::string deep = R"({"service":"s","url":"https://a.test/","x":)" + std::string(5000, '[') +
                     std::string(5000, ']') + "}";
  auto r = create(deep);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 400);
}

TEST(subscription_codec, strings_outlive_the_body) {
  std::string body = R"({"service":"esc\"aped","url":"https://a.test/","types":["a\u002eb"]})";
  auto r = decode_subscription_create(body);
  body.assign(body.size(), 'X');
  ASSERT_TRUE(r);
  EXPECT_EQ(r->service, "esc\"aped");
  EXPECT_EQ(r->types, std::vector<std::string>{"a.b"});
}

// -- egress auth ----------------------------------------------------------------------

TEST(subscription_codec, auth_api_key) {
  auto r = create(with_auth(R"({"authType":"APIKey","APIKey":"secret"})"));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->auth->type, "APIKey");
  EXPECT_EQ(r->auth->api_key, "secret");
}

TEST(subscription_codec, auth_basic) {
  auto r = create(with_auth(R"({"authType":"Basic","userId":"u1","password":"pw"})"));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->auth->type, "Basic");
  EXPECT_EQ(r->auth->user_id, "u1");
  EXPECT_EQ(r->auth->password, "pw");
}

TEST(subscription_codec, auth_oauth) {
  auto r = create(with_auth(R"({"authType":"OAuth","authURL":"https://idp.test/token",
    "clientID":"cid","clientSecret":"cs","refreshToken":"rt"})"));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->auth->type, "OAuth");
  EXPECT_EQ(r->auth->auth_url, "https://idp.test/token");
  EXPECT_EQ(r->auth->client_id, "cid");
  EXPECT_EQ(r->auth->client_secret, "cs");
  EXPECT_EQ(r->auth->refresh_token, "rt");
}

TEST(subscription_codec, auth_oauth_refresh_token_only) {
  auto r = create(with_auth(R"({"refreshToken":"rt","supplierKey":"sk",
    "authURL":"http://idp.test:8080/t","authType":"OAuthRefreshTokenOnly"})"));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->auth->type, "OAuthRefreshTokenOnly");
  EXPECT_EQ(r->auth->auth_url, "http://idp.test:8080/t");
  EXPECT_EQ(r->auth->supplier_key, "sk");
  EXPECT_EQ(r->auth->refresh_token, "rt");
  EXPECT_TRUE(r->auth->client_id.empty());
}

TEST(subscription_codec, auth_type_is_case_insensitive_and_stored_canonically) {
  auto r = create(with_auth(R"({"authtype":"oauthrefreshtokenonly","AuthUrl":"https://i.test/",
    "SUPPLIERKEY":"sk","refreshtoken":"rt"})"));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->auth->type, "OAuthRefreshTokenOnly");
  r = create(with_auth(R"({"authType":"APIKEY","apikey":"k"})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->auth->type, "APIKey");
  EXPECT_EQ(r->auth->api_key, "k");
  r = create(with_auth(R"({"authType":"oauth","authURL":"https://i.test/","clientId":"c",
    "clientsecret":"s","RefreshToken":"t"})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->auth->type, "OAuth");
}

TEST(subscription_codec, auth_keeps_only_its_types_members) {
  auto r = create(with_auth(R"({"authType":"Basic","userId":"u","password":"p","APIKey":"k",
    "clientSecret":"cs"})"));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->auth->user_id, "u");
  EXPECT_TRUE(r->auth->api_key.empty());
  EXPECT_TRUE(r->auth->client_secret.empty());
  // A member no auth type has is refused, not ignored.
  auto e = create_error(with_auth(R"({"authType":"Basic","userId":"u","password":"p","extra":1})"));
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "auth.extra");
}

TEST(subscription_codec, auth_missing_member_names_it) {
  auto e = create_error(with_auth(R"({"authType":"OAuth","authURL":"https://i.test/",
    "clientID":"c","refreshToken":"t"})"));
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "auth.clientSecret");
  e = create_error(with_auth(R"({"authType":"Basic","userId":"u"})"));
  EXPECT_EQ(e.field, "auth.password");
  EXPECT_EQ(e.status, 422);
  e = create_error(with_auth(R"({"authType":"APIKey","APIKey":null})"));
  EXPECT_EQ(e.field, "auth.APIKey");
  EXPECT_EQ(e.status, 422);
  e = create_error(with_auth(R"({"authType":"OAuthRefreshTokenOnly","authURL":"https://i.test/",
    "refreshToken":"t"})"));
  EXPECT_EQ(e.field, "auth.supplierKey");
  e = create_error(with_auth(R"({"authType":"OAuth","clientID":"c","clientSecret":"s",
    "refreshToken":"t"})"));
  EXPECT_EQ(e.field, "auth.authURL");
  EXPECT_EQ(e.status, 422);
}

TEST(subscription_codec, auth_members_must_not_be_empty) {
  auto e = create_error(with_auth(R"({"authType":"Basic","userId":"","password":"p"})"));
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "auth.userId");
  e = create_error(with_auth(R"({"authType":"OAuth","authURL":"https://i.test/","clientID":"c",
    "clientSecret":"s","refreshToken":""})"));
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "auth.refreshToken");
}

TEST(subscription_codec, auth_members_refuse_control_characters) {
  auto e = create_error(with_auth(R"({"authType":"APIKey","APIKey":"k\r\nX-Evil: 1"})"));
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "auth.APIKey");
}

TEST(subscription_codec, auth_url_must_be_valid) {
  auto e = create_error(with_auth(R"({"authType":"OAuth","authURL":"idp/token","clientID":"c",
    "clientSecret":"s","refreshToken":"t"})"));
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "auth.authURL");
}

TEST(subscription_codec, auth_type_is_required_and_known) {
  auto e = create_error(with_auth(R"({"APIKey":"k"})"));
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "auth.authType");
  e = create_error(with_auth(R"({"authType":"Bearer","APIKey":"k"})"));
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "auth.authType");
  EXPECT_NE(e.message.find("OAuthRefreshTokenOnly"), std::string::npos);
}

TEST(subscription_codec, auth_wrong_json_types_are_400) {
  auto e = create_error(with_auth(R"("APIKey")"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "auth");
  e = create_error(with_auth(R"({"authType":1})"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "auth.authType");
  e = create_error(with_auth(R"({"authType":"Basic","userId":"u","password":123})"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "auth.password");
  e = create_error(with_auth(R"({"authType":"APIKey","APIKey":"a","apikey":"b"})"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "auth.APIKey");
}

TEST(subscription_codec, auth_body_decodes_with_a_field_prefix) {
  std::string body = R"({"authType":"Basic","userId":"u","password":"p"})";
  auto r = decode_egress_auth_body(body);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->type, "Basic");
  EXPECT_EQ(r->user_id, "u");
  EXPECT_EQ(r->password, "p");

  std::string missing = R"({"authType":"Basic","userId":"u"})";
  auto e = decode_egress_auth_body(missing);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().field, "password");
  EXPECT_EQ(e.error().status, 422);
  std::string again = R"({"authType":"Basic","userId":"u"})";
  auto p = decode_egress_auth_body(again, "authentication");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().field, "authentication.password");

  std::string not_object = "[1]";
  auto n = decode_egress_auth_body(not_object, "authentication");
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().status, 400);
  EXPECT_EQ(n.error().field, "authentication");
  std::string broken = R"({"authType":"Basic",)";
  auto b = decode_egress_auth_body(broken);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().status, 400);
}

TEST(subscription_codec, write_egress_auth_shows_or_redacts_secrets) {
  egress_auth oauth{"OAuth", "", "", "", "https://i.test/t", "cid", "cs", "rt", ""};
  EXPECT_EQ(write_auth(oauth, false),
            R"({"authType":"OAuth","authURL":"https://i.test/t","clientID":"cid",)"
            R"("clientSecret":"cs","refreshToken":"rt"})");
  EXPECT_EQ(write_auth(oauth, true),
            R"({"authType":"OAuth","authURL":"https://i.test/t","clientID":"cid",)"
            R"("clientSecret":"***","refreshToken":"***"})");
  egress_auth basic{"Basic", "", "u", "p", "", "", "", "", ""};
  EXPECT_EQ(write_auth(basic, true), R"({"authType":"Basic","userId":"u","password":"***"})");
  egress_auth key{"APIKey", "k", "", "", "", "", "", "", ""};
  EXPECT_EQ(write_auth(key, false), R"({"authType":"APIKey","APIKey":"k"})");
  EXPECT_EQ(write_auth(key, true), R"({"authType":"APIKey","APIKey":"***"})");
  egress_auth rto{"OAuthRefreshTokenOnly", "", "", "", "https://i.test/", "", "", "rt", "sk"};
  EXPECT_EQ(write_auth(rto, true),
            R"({"authType":"OAuthRefreshTokenOnly","authURL":"https://i.test/",)"
            R"("supplierKey":"***","refreshToken":"***"})");
  EXPECT_EQ(write_auth(egress_auth{}, true), "null");
}

TEST(subscription_codec, written_auth_decodes_back) {
  egress_auth oauth{"OAuth", "", "", "", "https://i.test/t", "cid", "c\"s", "rt", ""};
  auto text = write_auth(oauth, false);
  auto r = decode_egress_auth_body(text);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->client_secret, "c\"s");
  EXPECT_EQ(r->auth_url, "https://i.test/t");
}

// -- subscription PATCH ----------------------------------------------------------------

TEST(subscription_codec, patch_empty_object_sets_nothing) {
  auto r = patch("{}");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_FALSE(r->service);
  EXPECT_FALSE(r->url);
  EXPECT_FALSE(r->types);
  EXPECT_FALSE(r->country);
  EXPECT_FALSE(r->delivery);
  EXPECT_FALSE(r->verification_required);
  EXPECT_FALSE(r->max_in_flight);
  EXPECT_FALSE(r->rate_limit);
  EXPECT_FALSE(r->auth);
}

TEST(subscription_codec, patch_sets_only_given_fields) {
  auto r = patch(R"({"Types":["x.*"],"rate_limit":5})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->types, std::vector<std::string>{"x.*"});
  EXPECT_EQ(r->rate_limit, 5);
  EXPECT_FALSE(r->service);
  EXPECT_FALSE(r->url);
  EXPECT_FALSE(r->max_in_flight);
  EXPECT_FALSE(r->country);
}

TEST(subscription_codec, patch_decodes_every_patchable_field) {
  auto r = patch(R"({"service":"n","url":"https://b.test/","types":["a"],"country":"SE",
    "max_in_flight":1,"rate_limit":9,"auth":{"authType":"APIKey","APIKey":"k"}})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->service, "n");
  EXPECT_EQ(r->url, "https://b.test/");
  EXPECT_EQ(r->types, std::vector<std::string>{"a"});
  EXPECT_EQ(r->country, "SE");
  EXPECT_EQ(r->max_in_flight, 1);
  EXPECT_EQ(r->rate_limit, 9);
  EXPECT_EQ(r->auth->api_key, "k");
  EXPECT_FALSE(r->delivery);
  EXPECT_FALSE(r->verification_required);
}

TEST(subscription_codec, patch_null_clears_country_and_auth) {
  auto r = patch(R"({"country":null,"auth":null})");
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_TRUE(r->country);
  EXPECT_EQ(*r->country, "");
  ASSERT_TRUE(r->auth);
  EXPECT_EQ(r->auth->type, "");
}

TEST(subscription_codec, patch_null_limits_mean_default) {
  auto r = patch(R"({"max_in_flight":null,"rate_limit":null})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->max_in_flight, 16);
  EXPECT_EQ(r->rate_limit, 0);
}

TEST(subscription_codec, patch_refuses_null_service_url_types) {
  for (auto field : {"service", "url", "types"}) {
    auto e = patch_error(std::string("{\"") + field + "\":null}");
    EXPECT_EQ(e.status, 422) << field;
    EXPECT_EQ(e.field, field);
  }
}

TEST(subscription_codec, patch_refuses_delivery_and_verification) {
  auto e = patch_error(R"({"delivery":"pull"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "delivery");
  e = patch_error(R"({"Verification":"skip"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "verification");
  e = patch_error(R"({"verification":null})");
  EXPECT_EQ(e.field, "verification");
}

TEST(subscription_codec, patch_validates_like_create) {
  auto e = patch_error(R"({"url":"gopher://x/"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "url");
  e = patch_error(R"({"service":""})");
  EXPECT_EQ(e.field, "service");
  e = patch_error(R"({"types":[]})");
  EXPECT_EQ(e.field, "types");
  e = patch_error(R"({"country":"xx"})");
  EXPECT_EQ(e.field, "country");
  e = patch_error(R"({"max_in_flight":0})");
  EXPECT_EQ(e.field, "max_in_flight");
  EXPECT_EQ(e.status, 422);
  e = patch_error(R"({"auth":{"authType":"Basic"}})");
  EXPECT_EQ(e.field, "auth.userId");
  EXPECT_EQ(e.status, 422);
  e = patch_error(R"({"types":"a"})");
  EXPECT_EQ(e.status, 400);
  e = patch_error("[]");
  EXPECT_EQ(e.status, 400);
}

// -- states ---------------------------------------------------------------------------

TEST(subscription_codec, state_and_mode_names_round_trip) {
  EXPECT_STREQ(to_string(delivery_mode::push), "push");
  EXPECT_STREQ(to_string(delivery_mode::pull), "pull");
  EXPECT_STREQ(to_string(subscription_state::pending_verification), "pending_verification");
  EXPECT_STREQ(to_string(subscription_state::active), "active");
  EXPECT_STREQ(to_string(subscription_state::paused), "paused");
  for (auto s : {subscription_state::pending_verification, subscription_state::active,
                 subscription_state::paused})
    EXPECT_EQ(parse_state(to_string(s)), s);
  EXPECT_FALSE(parse_state("Active"));
  EXPECT_FALSE(parse_state(""));
  EXPECT_EQ(parse_delivery_mode("pull"), delivery_mode::pull);
  EXPECT_EQ(parse_delivery_mode("push"), delivery_mode::push);
  EXPECT_FALSE(parse_delivery_mode("poll"));
}

// -- dashboard facade ---------------------------------------------------------------------

TEST(dashboard_codec, decodes_lowercase_fields) {
  auto r = dashboard(
    R"({"url":"https://api.my-notifications.test","country":"NO","event":"REGISTER"})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->url, "https://api.my-notifications.test");
  EXPECT_EQ(r->country, "NO");
  EXPECT_EQ(r->event, "REGISTER");
}

TEST(dashboard_codec, decodes_capitalised_fields_as_documented) {
  auto r = dashboard(R"({"Url":"https://your-url.no","Country":"GB","Event":"INVOKE"})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->url, "https://your-url.no");
  EXPECT_EQ(r->country, "GB");
  EXPECT_EQ(r->event, "INVOKE");
}

TEST(dashboard_codec, accepts_every_event) {
  for (auto ev : {"REGISTER", "CHANGE", "DELETE", "INVOKE"}) {
    auto r = dashboard(std::string(R"({"url":"https://a.test","country":"NO","event":")") + ev +
                       "\"}");
    ASSERT_TRUE(r) << ev;
    EXPECT_EQ(r->event, ev);
  }
}

TEST(dashboard_codec, empty_body_names_every_missing_field) {
  auto e = dashboard_error("{}");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "url,country,event");
  EXPECT_EQ(e.message, "missing fields: url, country, event");
}

TEST(dashboard_codec, names_only_the_missing_fields) {
  auto e = dashboard_error(R"({"country":"NO"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "url,event");
  EXPECT_EQ(e.message, "missing fields: url, event");
  e = dashboard_error(R"({"url":"https://a.test","country":"NO"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "event");
  EXPECT_EQ(e.message, "missing field: event");
}

TEST(dashboard_codec, null_and_empty_count_as_missing) {
  auto e = dashboard_error(R"({"url":null,"country":"","event":"REGISTER"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "url,country");
}

TEST(dashboard_codec, missing_is_reported_before_invalid) {
  auto e = dashboard_error(R"({"url":"nope","country":"no"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "event");
}

TEST(dashboard_codec, wrong_json_type_is_400) {
  auto e = dashboard_error(R"({"url":5,"country":"NO","event":"REGISTER"})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "url");
  e = dashboard_error(R"({"url":"https://a.test","country":["NO"],"event":"REGISTER"})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "country");
  e = dashboard_error(R"({"url":"https://a.test","country":"NO","event":{}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "event");
  for (auto bad : {"[]", "\"x\"", "", "{", R"({"url":"https://a.test",})", "{} {}", "{} x",
                   R"({"url":"nope"} {"x":1})", R"({"x":[1,}]})", R"({"x":01})", R"({"x":tru})"})
    EXPECT_EQ(dashboard_error(bad).status, 400) << bad;
}

TEST(dashboard_codec, url_must_be_valid) {
  auto e = dashboard_error(R"({"url":"your-url.no","country":"NO","event":"REGISTER"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "url");
}

TEST(dashboard_codec, country_must_be_two_or_three_uppercase_letters) {
  auto r = dashboard(R"({"url":"https://a.test","country":"NOR","event":"CHANGE"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->country, "NOR");
  for (auto bad : {"no", "No", "N", "NORW", "N1", "COUNTRY-CODE", "Ø"}) {
    auto e = dashboard_error(
      std::string(R"({"url":"https://a.test","event":"DELETE","country":")") + bad + "\"}");
    EXPECT_EQ(e.status, 422) << bad;
    EXPECT_EQ(e.field, "country") << bad;
    EXPECT_NE(e.message.find("uppercase"), std::string::npos);
  }
}

TEST(dashboard_codec, event_must_be_one_of_four_exactly) {
  for (auto bad : {"register", "Invoke", "INVOCATION", "UPDATE", " CHANGE"}) {
    auto e = dashboard_error(std::string(R"({"url":"https://a.test","country":"NO","event":")") +
                             bad + "\"}");
    EXPECT_EQ(e.status, 422) << bad;
    EXPECT_EQ(e.field, "event") << bad;
    EXPECT_NE(e.message.find("REGISTER, CHANGE, DELETE, INVOKE"), std::string::npos);
  }
}

TEST(dashboard_codec, repeated_field_is_400_and_unknown_fields_are_422) {
  auto e = dashboard_error(
    R"({"url":"https://a.test","URL":"https://b.test","country":"NO","event":"CHANGE"})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "url");
  e = dashboard_error(R"({"id":"1","url":"https://a.test","country":"NO","event":"CHANGE"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "id");
  e = dashboard_error(R"({"url":"https://a.test","country":"NO","events":"CHANGE"})");
  EXPECT_EQ(e.what(), R"(unknown field "events" (did you mean "event"?))");
}

TEST(watcher_codec, reads_key_url_and_authentication) {
  std::string body = R"({"NotificationKey":"acct","notificationURL":"http://w.test/in",
    "authentication":{"authType":"OAuthRefreshTokenOnly","authURL":"http://id.test","supplierKey":"s","refreshToken":"r"}})";
  auto w = decode_watcher(body);
  ASSERT_TRUE(w) << w.error().what();
  EXPECT_EQ(w->notification_key, "acct");
  EXPECT_EQ(w->notification_url, "http://w.test/in");
  EXPECT_EQ(w->auth.type, "OAuthRefreshTokenOnly");
  EXPECT_EQ(w->auth.supplier_key, "s");
  std::string repeated = R"({"notificationURL":"http://a.test","notificationurl":"http://b.test"})";
  auto e = error_of(decode_watcher(repeated));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "notificationURL");
}

TEST(dead_letter_replay_codec, reads_optional_iso_bounds_and_an_empty_body) {
  for (std::string body : {std::string(), std::string(" \n"), std::string("{}")}) {
    auto r = decode_dead_letter_replay(body);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_FALSE(r->since_ms);
    EXPECT_FALSE(r->until_ms);
  }
  std::string body = R"({"Since":"2026-01-01T00:00:00Z","until":"2026-01-01T02:00:00+01:00"})";
  auto r = decode_dead_letter_replay(body);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->since_ms, 1767225600000);
  EXPECT_EQ(r->until_ms, 1767225600000 + 3600 * 1000);
}

TEST(dead_letter_replay_codec, refuses_unknown_fields_bad_times_and_empty_ranges) {
  auto error = [](std::string body) { return error_of(decode_dead_letter_replay(body)); };
  auto e = error(R"({"sinc":"2026-01-01T00:00:00Z"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "sinc");
  EXPECT_EQ(e.what(), R"(unknown field "sinc" (did you mean "since"?))");
  e = error(R"({"since":"2026-01-01"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "since");
  e = error(R"({"until":12})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "until");
  e = error(R"({"since":"2026-01-01T00:00:00Z","until":"2026-01-01T00:00:00Z"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "until");
  e = error(R"({"since":"2026-01-01T00:00:00Z","SINCE":"2026-01-02T00:00:00Z"})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "since");
  EXPECT_EQ(error("[]").status, 400);
  EXPECT_EQ(error("{").status, 400);
}
