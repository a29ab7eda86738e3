#include "core/field_names.hpp"

#include <gtest/gtest.h>

using namespace sy::core;

TEST(field_names, edit_distance_counts_edits_ignoring_case) {
  EXPECT_EQ(edit_distance_nocase("type", "types"), 1u);
  EXPECT_EQ(edit_distance_nocase("contry", "country"), 1u);
  EXPECT_EQ(edit_distance_nocase("TYPES", "types"), 0u);
  EXPECT_EQ(edit_distance_nocase("tpye", "type"), 1u); // a swap is one edit
  EXPECT_EQ(edit_distance_nocase("", "url"), 3u);
  EXPECT_EQ(edit_distance_nocase("kitten", "sitting"), 3u);
}

TEST(field_names, nearest_name_hints_only_when_close) {
  EXPECT_EQ(nearest_name("type", {"service", "url", "types", "country"}), "types");
  EXPECT_EQ(nearest_name("contry", {"service", "url", "types", "country"}), "country");
  EXPECT_EQ(nearest_name("maxInFlight", {"max_in_flight", "rate_limit"}), "max_in_flight");
  EXPECT_EQ(nearest_name("inflight", {"max_in_flight", "rate_limit"}), "");
  EXPECT_EQ(nearest_name("max_inflight", {"max_in_flight", "rate_limit"}), "max_in_flight");
  EXPECT_EQ(nearest_name("colour", {"service", "url", "types", "country"}), "");
  EXPECT_EQ(nearest_name("x", {"id", "url"}), "");
  EXPECT_EQ(nearest_name("", {"id"}), "");
  // Equally near: the first listed wins, so hints are stable.
  EXPECT_EQ(nearest_name("ab", {"ax", "ay"}), "ax");
}

TEST(field_names, unknown_field_names_it_with_the_hint) {
  auto e = unknown_field("", "type", {"service", "types"});
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "type");
  EXPECT_EQ(e.what(), "unknown field \"type\" (did you mean \"types\"?)");
  auto nested = unknown_field("auth", "apikee", {"authType", "APIKey"}, 3);
  EXPECT_EQ(nested.field, "auth.apikee");
  EXPECT_EQ(nested.index, 3);
  EXPECT_EQ(nested.what(), "unknown field \"auth.apikee\" (did you mean \"APIKey\"?)");
  auto far = unknown_field("", "zzz", {"service", "types"});
  EXPECT_EQ(far.what(), "unknown field \"zzz\"");
}

TEST(field_names, a_huge_key_is_cut_in_the_answer) {
  std::string key(100000, 'k');
  auto e = unknown_field("", key, {"type"});
  EXPECT_LT(e.what().size(), 300u);
  EXPECT_NE(e.what().find("...\""), std::string::npos);
}
