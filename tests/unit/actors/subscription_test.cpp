#include "actors/subscription.hpp"

#include <gtest/gtest.h>

namespace sy::actors {
namespace {

subscription pending_after_url_change() {
  subscription s;
  s.number = 3;
  s.id = "sub_abc";
  s.url = "http://127.0.0.1:9/new";
  s.types = {"**"};
  s.state = core::subscription_state::pending_verification;
  s.verified = true;
  return s;
}

TEST(subscription_record, verified_survives_the_record_and_keeps_queuing) {
  auto s = pending_after_url_change();
  EXPECT_TRUE(s.receives_events());
  auto back = decode_subscription(encode_subscription(s));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->verified);
  EXPECT_TRUE(back->receives_events());
  EXPECT_EQ(*back, s);
}

TEST(subscription_record, a_never_verified_subscription_queues_nothing) {
  auto s = pending_after_url_change();
  s.verified = false;
  EXPECT_FALSE(s.receives_events());
  auto back = decode_subscription(encode_subscription(s));
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->receives_events());
}

TEST(subscription_record, records_from_before_verified_existed_derive_it_from_the_state) {
  auto active = R"({"number":1,"id":"sub_a","kind":"native","service":"s","url":"http://x.test/",)"
                R"("types":["**"],"country":"","delivery":"push","verification_required":true,)"
                R"("state":"active","public_key":"p","private_key":"k","created_at":1,)"
                R"("max_in_flight":16,"rate_limit":0})";
  auto a = decode_subscription(active);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->verified);
  std::string pending = active;
  pending.replace(pending.find("\"active\""), 8, "\"pending_verification\"");
  auto p = decode_subscription(pending);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->verified);
}

} // namespace
} // namespace sy::actors
