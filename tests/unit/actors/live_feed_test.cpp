#include "actors/live_feed.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace sy::actors;

TEST(live_feed, calls_each_listener_until_it_is_forgotten) {
  live_feed feed;
  EXPECT_FALSE(feed.active());
  std::vector<std::string> a, b;
  auto ia = feed.listen([&a](const live_event& e) { a.emplace_back(e.json); });
  auto ib = feed.listen([&b](const live_event& e) { b.emplace_back(e.subscription); });
  EXPECT_TRUE(feed.active());
  feed.publish({"attempt", "sub_1", "{}"});
  feed.forget(ia);
  feed.publish({"state", "sub_2", "[]"});
  feed.forget(ib);
  EXPECT_FALSE(feed.active());
  feed.publish({"state", "sub_3", "{}"});
  EXPECT_EQ(a, (std::vector<std::string>{"{}"}));
  EXPECT_EQ(b, (std::vector<std::string>{"sub_1", "sub_2"}));
}

TEST(attempt_ring, keeps_the_last_hundred_newest_first) {
  attempt_ring ring;
  EXPECT_TRUE(ring.newest(20).empty());
  for (int i = 1; i <= 250; ++i) {
    attempt_record a;
    a.event_id = "evt_" + std::to_string(i);
    ring.add(a);
  }
  auto all = ring.newest(1000);
  ASSERT_EQ(all.size(), max_kept_attempts);
  EXPECT_EQ(all.front().event_id, "evt_250");
  EXPECT_EQ(all.back().event_id, "evt_151");
  auto three = ring.newest(3);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[2].event_id, "evt_248");
}

TEST(attempt_ring, shows_a_partly_filled_ring_newest_first) {
  attempt_ring ring;
  for (int i = 1; i <= 3; ++i) {
    attempt_record a;
    a.attempt = i;
    ring.add(a);
  }
  auto got = ring.newest(20);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].attempt, 3);
  EXPECT_EQ(got[2].attempt, 1);
}

TEST(utf8_excerpt, cuts_at_the_limit_without_splitting_a_character) {
  EXPECT_EQ(utf8_excerpt("hello", 3), "hel");
  // "é" is two bytes: a limit inside it leaves it out.
  EXPECT_EQ(utf8_excerpt("ab\xc3\xa9", 3), "ab");
  EXPECT_EQ(utf8_excerpt("ab\xc3\xa9", 4), "ab\xc3\xa9");
  EXPECT_EQ(utf8_excerpt(std::string(1000, 'x')).size(), max_excerpt_bytes);
}

TEST(utf8_excerpt, replaces_invalid_bytes) {
  EXPECT_EQ(utf8_excerpt("a\xff"
                         "b"),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(utf8_excerpt("\xc3("), "\xef\xbf\xbd("); // a lead byte alone
  EXPECT_EQ(utf8_excerpt("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); // a surrogate
  EXPECT_EQ(utf8_excerpt("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");                 // overlong
  EXPECT_EQ(utf8_excerpt("ab\xe2\x82"), "ab\xef\xbf\xbd\xef\xbf\xbd");             // truncated
}

TEST(attempt_event_json, names_the_subscription_and_leaves_the_excerpt_out) {
  attempt_record a;
  a.event_id = "evt_1";
  a.type = "t.x";
  a.attempt = 2;
  a.at = 1764633600000; // 2025-12-02T00:00:00Z
  a.duration_ms = 7;
  a.status = 500;
  a.error = "HTTP 500";
  a.response_excerpt = "oops";
  EXPECT_EQ(attempt_event_json("sub_1", a),
            R"({"subscription":"sub_1","event_id":"evt_1","type":"t.x","attempt":2,)"
            R"("at":"2025-12-02T00:00:00.000Z","duration_ms":7,"status":500,"error":"HTTP 500"})");
  a.error.clear();
  a.status = 204;
  EXPECT_NE(attempt_event_json("sub_1", a).find(R"("status":204,"error":null})"),
            std::string::npos);
}
