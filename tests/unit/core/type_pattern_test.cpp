#include "core/type_pattern.hpp"

#include <gtest/gtest.h>

using namespace sy::core;

TEST(type_pattern, star_matches_exactly_one_segment) {
  EXPECT_TRUE(pattern_matches("re.notifica.event.custom.*", "re.notifica.event.custom.Purchase"));
  EXPECT_FALSE(pattern_matches("re.notifica.event.custom.*", "re.notifica.event.custom.a.b"));
  EXPECT_FALSE(pattern_matches("re.notifica.event.custom.*", "re.notifica.event.custom"));
  EXPECT_TRUE(pattern_matches("*.b", "a.b"));
  EXPECT_FALSE(pattern_matches("*", "a.b"));
  EXPECT_TRUE(pattern_matches("*", "a"));
}

TEST(type_pattern, trailing_double_star_matches_one_or_more) {
  EXPECT_TRUE(pattern_matches("re.**", "re.a"));
  EXPECT_TRUE(pattern_matches("re.**", "re.a.b.c"));
  EXPECT_FALSE(pattern_matches("re.**", "re"));
  EXPECT_TRUE(pattern_matches("**", "a"));
  EXPECT_TRUE(pattern_matches("**", "a.b"));
}

TEST(type_pattern, literals_are_case_sensitive) {
  EXPECT_TRUE(pattern_matches("a.B", "a.B"));
  EXPECT_FALSE(pattern_matches("a.B", "a.b"));
  EXPECT_FALSE(pattern_matches("a.b", "a.b.c"));
  EXPECT_FALSE(pattern_matches("a.b.c", "a.b"));
}

TEST(type_pattern, event_type_rules) {
  EXPECT_FALSE(validate_event_type("re.notifica.event.custom.Purchase"));
  EXPECT_TRUE(validate_event_type(""));
  EXPECT_TRUE(validate_event_type(".a"));
  EXPECT_TRUE(validate_event_type("a."));
  EXPECT_TRUE(validate_event_type("a..b"));
  EXPECT_TRUE(validate_event_type("a.*"));
  EXPECT_TRUE(validate_event_type("a.b*"));
  EXPECT_TRUE(validate_event_type("a b"));
  EXPECT_FALSE(validate_event_type(std::string(255, 'a')));
  EXPECT_TRUE(validate_event_type(std::string(256, 'a')));
}

TEST(type_pattern, pattern_rules) {
  EXPECT_FALSE(validate_type_pattern("a.*.c"));
  EXPECT_FALSE(validate_type_pattern("a.**"));
  EXPECT_FALSE(validate_type_pattern("**"));
  EXPECT_TRUE(validate_type_pattern("**.a"));
  EXPECT_TRUE(validate_type_pattern("a.**.b"));
  EXPECT_TRUE(validate_type_pattern("a.b*"));
  EXPECT_TRUE(validate_type_pattern("a.***"));
  EXPECT_TRUE(validate_type_pattern("a..*"));
  EXPECT_TRUE(validate_type_pattern(""));
}
