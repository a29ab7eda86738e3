#include "core/subscription_index.hpp"

#include <gtest/gtest.h>

#include <random>

#include "core/type_pattern.hpp"

using namespace sy::core;

namespace {

std::vector<uint32_t> match(const subscription_index& idx, std::string_view type,
                            std::string_view country = {}) {
  std::vector<uint32_t> out;
  idx.match(type, country, out);
  return out;
}

// What the index must agree with: every entry, every pattern, one by one.
std::vector<uint32_t> brute_force(const std::vector<index_entry>& entries, std::string_view type,
                                  std::string_view country) {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].country.empty() && entries[i].country != country)
      continue;
    for (const auto& p : entries[i].patterns)
      if (pattern_matches(p, type)) {
        out.push_back(i);
        break;
      }
  }
  return out;
}

} // namespace

TEST(subscription_index, custom_star_receives_only_custom_events) {
  subscription_index idx({{"s1", {"re.notifica.event.custom.*"}, ""},
                          {"s2", {"re.notifica.event.notification.Open"}, ""}});
  EXPECT_EQ(match(idx, "re.notifica.event.custom.Purchase"), std::vector<uint32_t>{0});
  EXPECT_EQ(match(idx, "re.notifica.event.notification.Open"), std::vector<uint32_t>{1});
  EXPECT_TRUE(match(idx, "re.notifica.event.custom.a.b").empty());
}

TEST(subscription_index, country_filter) {
  subscription_index idx({{"no", {"**"}, "NO"}, {"gb", {"**"}, "GB"}, {"all", {"**"}, ""}});
  EXPECT_EQ(match(idx, "a", "NO"), (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(match(idx, "a", "GB"), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(match(idx, "a"), (std::vector<uint32_t>{2}));
}

TEST(subscription_index, overlapping_patterns_report_a_subscription_once) {
  subscription_index idx({{"s", {"a.*", "a.b", "**", "a.**"}, ""}});
  EXPECT_EQ(match(idx, "a.b"), std::vector<uint32_t>{0});
}

TEST(subscription_index, empty_index_matches_nothing) {
  subscription_index idx({});
  EXPECT_TRUE(match(idx, "a.b").empty());
}

TEST(subscription_index, very_deep_types) {
  std::string type = "a";
  for (int i = 0; i < 100; ++i)
    type += ".a";
  subscription_index idx({{"s", {"a.**"}, ""}, {"t", {type}, ""}, {"u", {"*.**"}, ""}});
  EXPECT_EQ(match(idx, type), (std::vector<uint32_t>{0, 1, 2}));
}

TEST(subscription_index, agrees_with_brute_force_on_random_patterns) {
  std::mt19937 rng(20261125); // fixed seed: a failure reproduces
  const std::vector<std::string> alphabet = {"a", "b", "c", "re", "notifica", "X"};
  const std::vector<std::string> countries = {"", "", "NO", "GB"};
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  auto random_type = [&] {
    std::string t;
    std::size_t n = 1 + pick(5);
    for (std::size_t i = 0; i < n; ++i)
      t += (i ? "." : "") + alphabet[pick(alphabet.size())];
    return t;
  };
  auto random_pattern = [&] {
    std::string p;
    std::size_t n = 1 + pick(5);
    for (std::size_t i = 0; i < n; ++i) {
      std::string seg;
      auto r = pick(10);
      if (r < 2)
        seg = "*";
      else if (r == 2 && i == n - 1)
        seg = "**";
      else
        seg = alphabet[pick(alphabet.size())];
      p += (i ? "." : "") + seg;
    }
    return p;
  };
  std::vector<index_entry> entries;
  for (int i = 0; i < 3000; ++i) {
    index_entry e{"s" + std::to_string(i), {}, countries[pick(countries.size())]};
    std::size_t np = 1 + pick(3);
    for (std::size_t j = 0; j < np; ++j) {
      auto p = random_pattern();
      ASSERT_FALSE(validate_type_pattern(p)) << p;
      e.patterns.push_back(p);
    }
    entries.push_back(e);
  }
  subscription_index idx(entries);
  std::size_t total_matches = 0;
  for (int i = 0; i < 5000; ++i) {
    auto type = random_type();
    auto country = countries[pick(countries.size())];
    auto expected = brute_force(entries, type, country);
    ASSERT_EQ(match(idx, type, country), expected) << type << " " << country;
    total_matches += expected.size();
  }
  EXPECT_GT(total_matches, 5000u); // the generator must actually produce matches
}
