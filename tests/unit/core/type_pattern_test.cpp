#include "core/type_pattern.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

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

// validate_event_type accepts in one pass over 8-byte words and words a
// refusal with the segment walk: these cases put each rule's byte at every
// position of the first three words, across the word boundaries.
TEST(type_pattern, event_type_bytes_at_every_position) {
  const std::string control = "must not contain spaces or control characters";
  const std::string wildcard = "must not contain '*' (wildcards belong in subscription patterns)";
  const std::string empty = "must not contain an empty segment (leading, trailing or double '.')";
  for (std::size_t size : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 24u}) {
    for (std::size_t at = 0; at < size; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::string type(size, 'a');
        type[at] = static_cast<char>(b);
        std::optional<std::string> want;
        if (b < 0x21 || b == 0x7f)
          want = control;
        else if (b == '*')
          want = wildcard;
        else if (b == '.' && (at == 0 || at + 1 == size))
          want = empty;
        ASSERT_EQ(validate_event_type(type), want)
          << "size " << size << " byte " << b << " at " << at;
      }
    }
  }
}

TEST(type_pattern, event_type_double_dots_at_every_position) {
  const std::string empty = "must not contain an empty segment (leading, trailing or double '.')";
  for (std::size_t size : {3u, 9u, 16u, 17u, 33u}) {
    for (std::size_t at = 1; at + 2 < size; ++at) {
      std::string type(size, 'b');
      type[at] = type[at + 1] = '.';
      EXPECT_EQ(validate_event_type(type), empty) << "size " << size << " at " << at;
      // Dots one apart are two one-byte segments apart: valid.
      type[at + 1] = 'c';
      if (at + 2 < size - 1)
        type[at + 2] = '.';
      EXPECT_EQ(validate_event_type(type), std::nullopt) << type;
    }
  }
}

TEST(type_pattern, event_type_refusals_keep_their_order) {
  // The first bad segment decides the message, as the segment walk words it.
  EXPECT_EQ(validate_event_type("a b..c"), "must not contain spaces or control characters");
  EXPECT_EQ(validate_event_type("a..b c"),
            "must not contain an empty segment (leading, trailing or double '.')");
  EXPECT_EQ(validate_event_type("a*.b c"),
            "must not contain '*' (wildcards belong in subscription patterns)");
  EXPECT_EQ(validate_event_type("a.b\x7f.*"), "must not contain spaces or control characters");
  EXPECT_EQ(validate_event_type(""), "must not be empty");
  EXPECT_EQ(validate_event_type(std::string(256, 'a')), "must be at most 255 bytes");
  EXPECT_EQ(validate_event_type(std::string(300, '.')), "must be at most 255 bytes");
  EXPECT_EQ(validate_event_type(std::string(255, '.')),
            "must not contain an empty segment (leading, trailing or double '.')");
  EXPECT_EQ(validate_event_type("."),
            "must not contain an empty segment (leading, trailing or double '.')");
  // Bytes from 0x80 up (UTF-8) are plain segment bytes.
  EXPECT_EQ(validate_event_type("re.bl\xc3\xa5"
                                "b\xc3\xa6r.\xff\x80"),
            std::nullopt);
  std::string longest(255, 'x');
  longest[127] = '.';
  EXPECT_EQ(validate_event_type(longest), std::nullopt);
}
