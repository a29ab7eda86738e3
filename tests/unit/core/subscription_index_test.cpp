#include "core/subscription_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
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

namespace {

// The ids an index matches, sorted; checks the ordinals come ascending and
// unique and name live entries.
std::vector<std::string> matched_ids(const subscription_index& idx, std::string_view type,
                                     std::string_view country) {
  auto ords = match(idx, type, country);
  EXPECT_TRUE(std::is_sorted(ords.begin(), ords.end()));
  EXPECT_EQ(std::adjacent_find(ords.begin(), ords.end()), ords.end());
  std::vector<std::string> ids;
  for (auto o : ords) {
    EXPECT_LT(o, idx.size());
    EXPECT_FALSE(idx.entry(o).id.empty()) << "ordinal " << o << " is free";
    ids.push_back(idx.entry(o).id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

} // namespace

TEST(subscription_index, incremental_changes_match_what_a_full_rebuild_matches) {
  std::mt19937 rng(20261202); // fixed seed: a failure reproduces
  // A small alphabet, so that changes share and then abandon trie paths.
  const std::vector<std::string> alphabet = {"a", "b", "c", "t1", "t2", "E"};
  const std::vector<std::string> countries = {"", "", "NO", "GB"};
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  auto random_type = [&] {
    std::string t;
    std::size_t n = 1 + pick(4);
    for (std::size_t i = 0; i < n; ++i)
      t += (i ? "." : "") + alphabet[pick(alphabet.size())];
    return t;
  };
  auto random_pattern = [&] {
    std::string p;
    std::size_t n = 1 + pick(4);
    for (std::size_t i = 0; i < n; ++i) {
      auto r = pick(10);
      std::string seg = r < 2 ? "*" : r == 2 && i == n - 1 ? "**" : alphabet[pick(alphabet.size())];
      p += (i ? "." : "") + seg;
    }
    return p;
  };
  auto random_entry = [&](std::string id) {
    index_entry e{std::move(id), {}, countries[pick(countries.size())]};
    for (std::size_t j = 0, n = 1 + pick(3); j < n; ++j)
      e.patterns.push_back(random_pattern());
    if (pick(10) == 0)
      e.patterns.push_back(e.patterns.front()); // a repeated pattern matches once
    return e;
  };

  index_builder builder;
  std::map<std::string, std::pair<uint32_t, index_entry>> live; // id → (ordinal, entry)
  int next_id = 0;
  // An old version and what it matched then: later changes must not touch it.
  std::optional<subscription_index> old;
  std::vector<std::pair<std::pair<std::string, std::string>, std::vector<std::string>>> old_answers;
  std::size_t total_matches = 0, creates = 0, updates = 0, deletes = 0;

  for (int round = 0; round < 60; ++round) {
    for (int op = 0; op < 50; ++op) {
      auto r = pick(10);
      if (live.empty() || r < 5) {
        auto id = "s" + std::to_string(next_id++);
        auto e = random_entry(id);
        live[id] = {builder.add(e), e};
        ++creates;
      } else {
        auto it = std::next(live.begin(), static_cast<long>(pick(live.size())));
        builder.remove(it->second.first);
        if (r < 8) { // an update: out, then in again as the record now says
          auto e = random_entry(it->first);
          it->second = {builder.add(e), e};
          ++updates;
        } else {
          live.erase(it);
          ++deletes;
        }
      }
    }
    auto incremental = builder.snapshot();
    std::vector<index_entry> all;
    for (const auto& [id, v] : live)
      all.push_back(v.second);
    subscription_index rebuilt(all);
    for (int i = 0; i < 200; ++i) {
      auto type = random_type();
      auto country = countries[pick(countries.size())];
      auto want = matched_ids(rebuilt, type, country);
      ASSERT_EQ(matched_ids(incremental, type, country), want)
        << "round " << round << ": " << type << " " << country;
      total_matches += want.size();
      if (round == 10 && i < 50)
        old_answers.push_back({{type, country}, want});
    }
    if (round == 10)
      old.emplace(incremental);
  }
  ASSERT_TRUE(old);
  for (const auto& [q, want] : old_answers)
    EXPECT_EQ(matched_ids(*old, q.first, q.second), want) << "a published version changed";
  EXPECT_GT(total_matches, 10000u); // the generator must actually produce matches
  EXPECT_GT(creates, 100u);
  EXPECT_GT(updates, 100u);
  EXPECT_GT(deletes, 100u);
}

TEST(subscription_index, a_removed_entry_frees_its_ordinal_and_path) {
  index_builder b;
  auto a = b.add({"a", {"x.y.z"}, ""});
  auto c = b.add({"c", {"x.*"}, "NO"});
  b.remove(a);
  auto idx = b.snapshot();
  EXPECT_TRUE(match(idx, "x.y.z").empty());
  EXPECT_EQ(match(idx, "x.y", "NO"), std::vector<uint32_t>{c});
  EXPECT_TRUE(idx.entry(a).id.empty());
  auto d = b.add({"d", {"x.y.z"}, ""});
  EXPECT_EQ(d, a); // the freed ordinal is reused
  EXPECT_EQ(match(b.snapshot(), "x.y.z"), std::vector<uint32_t>{d});
  EXPECT_TRUE(match(idx, "x.y.z").empty()); // the earlier version is unchanged
}
