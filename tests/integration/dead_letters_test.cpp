// Dead letters (docs/api.md §3): each says how many attempts failed and
// the last failure; the list pages with limit/after like the subscription
// list; a replay may be bounded by the events' timestamps, and its body is
// strict.

#include <gtest/gtest.h>

#include <simdjson.h>

#include <algorithm>
#include <regex>

#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

// 2026-01-01T00:00:00Z in ms: the events of a run are an hour apart from it.
constexpr int64_t base_ms = 1767225600000;
constexpr int64_t hour_ms = 3600 * 1000;

// Retries fast, gives up after a second, never opens the breaker.
const std::string fast_dead_letters = "[retry]\ninitial_ms = 20\nmax_ms = 100\nmax_age = \"1s\"\n"
                                      "breaker_min_attempts = 100000\n";

struct letter {
  std::string id;
  int64_t timestamp = 0;
  std::string reason;
  int64_t attempts = -1;
  std::string last_error; // "<null>" when null
  std::string dead_lettered_at;
};

std::vector<letter> parse_letters(const std::string& body) {
  simdjson::dom::parser p;
  simdjson::dom::array items;
  std::vector<letter> out;
  if (p.parse(body).get(items)) {
    ADD_FAILURE() << "not an array: " << body;
    return out;
  }
  for (auto item : items) {
    letter l;
    std::string_view s;
    if (!item["id"].get(s))
      l.id = s;
    if (!item["reason"].get(s))
      l.reason = s;
    EXPECT_FALSE(item["timestamp"].get(l.timestamp)) << body;
    EXPECT_FALSE(item["attempts"].get(l.attempts)) << body;
    l.last_error = item["last_error"].is_null() ? "<null>"
                   : item["last_error"].get(s)  ? "<missing>"
                                                : std::string(s);
    l.dead_lettered_at = item["dead_lettered_at"].is_null() ? "<null>"
                         : item["dead_lettered_at"].get(s)  ? "<missing>"
                                                            : std::string(s);
    out.push_back(std::move(l));
  }
  return out;
}

// Returns the target of a `Link: <target>; rel="next"` header, or "".
std::string next_target(const http_result& r) {
  static const std::regex link(R"(^<([^>]+)>; rel="next"$)");
  std::smatch m;
  auto h = r.header("link");
  return std::regex_match(h, m, link) ? m[1].str() : "";
}

// A server whose subscription `id` has given up `n` events (timestamps
// base_ms + i hours) against a receiver answering 500.
struct dead_setup {
  temp_dir dir;
  sink hook;
  server_process server{dir.path(), fast_dead_letters};
  std::string id;
  std::vector<std::string> event_ids; // in publishing order

  explicit dead_setup(int n) {
    server.start();
    hook.fail_all("/dead", 500);
    auto r = server.call("POST", "/v1/subscriptions",
                         R"({"service":"s","url":")" + hook.url("/dead") +
                           R"(","types":["d.*"],"verification":"skip"})");
    EXPECT_EQ(r.status, 201) << r.body;
    id = json_string(r.body, "id");
    std::string batch = "[";
    for (int i = 0; i < n; ++i)
      batch += (i ? "," : "") + std::string(R"({"type":"d.e","data":{"i":)") + std::to_string(i) +
               R"(},"timestamp":)" + std::to_string(base_ms + i * hour_ms) + "}";
    batch += "]";
    r = server.call("POST", "/v1/events", batch);
    EXPECT_EQ(r.status, 202) << r.body;
    simdjson::dom::parser p;
    simdjson::dom::array ids;
    EXPECT_FALSE(p.parse(r.body)["ids"].get(ids)) << r.body;
    for (auto v : ids)
      event_ids.emplace_back(std::string_view(v));
  }

  std::string path() const { return "/v1/subscriptions/" + id + "/dead-letters"; }

  // Waits until the list holds `n` dead letters; returns them.
  std::vector<letter> wait_letters(std::size_t n, std::chrono::milliseconds timeout = 20s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<letter> got;
    do {
      auto r = server.call("GET", path());
      EXPECT_EQ(r.status, 200) << r.body;
      got = parse_letters(r.body);
      if (got.size() == n)
        return got;
      std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < deadline);
    ADD_FAILURE() << "wanted " << n << " dead letters, have " << got.size() << "\n" << server.log();
    return got;
  }

  // Returns how many POSTs for event `event_id` the receiver got.
  std::size_t attempts_seen(const std::string& event_id) const {
    auto all = hook.received("/dead");
    return static_cast<std::size_t>(std::count_if(all.begin(), all.end(), [&](const auto& r) {
      return r.method == "POST" && r.body.find("\"" + event_id + "\"") != std::string::npos;
    }));
  }
};

} // namespace

TEST(dead_letters, say_how_many_attempts_failed_and_the_last_error) {
  dead_setup s(3);
  auto letters = s.wait_letters(3);
  ASSERT_EQ(letters.size(), 3u);
  const std::regex iso(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)");
  for (std::size_t i = 0; i < letters.size(); ++i) {
    const auto& l = letters[i];
    EXPECT_EQ(l.id, s.event_ids[i]) << "oldest first";
    EXPECT_EQ(l.timestamp, base_ms + static_cast<int64_t>(i) * hour_ms);
    EXPECT_EQ(l.last_error, "HTTP 500");
    EXPECT_GE(l.attempts, 1);
    // Every failed attempt is counted, and none is made after it is given up.
    EXPECT_EQ(static_cast<std::size_t>(l.attempts), s.attempts_seen(l.id)) << l.id;
    EXPECT_TRUE(std::regex_match(l.dead_lettered_at, iso)) << l.dead_lettered_at;
    EXPECT_NE(l.reason.find("retry.max_age"), std::string::npos) << l.reason;
  }
}

TEST(dead_letters, page_with_limit_and_after_like_the_subscription_list) {
  dead_setup s(5);
  auto all = s.wait_letters(5);
  ASSERT_EQ(all.size(), 5u);

  // Followed by its Link headers: 2 + 2 + 1, in order, the last page without a Link.
  std::vector<std::string> seen;
  std::string target = s.path() + "?limit=2";
  std::vector<std::size_t> sizes;
  for (int page = 0; page < 5 && !target.empty(); ++page) {
    auto r = s.server.call("GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    auto letters = parse_letters(r.body);
    sizes.push_back(letters.size());
    for (const auto& l : letters)
      seen.push_back(l.id);
    target = next_target(r);
    if (!target.empty()) {
      EXPECT_EQ(target, s.path() + "?limit=2&after=" + letters.back().id);
    }
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{2, 2, 1}));
  EXPECT_EQ(seen, s.event_ids);

  // A page that is exactly the rest has no Link.
  auto r = s.server.call("GET", s.path() + "?limit=3&after=" + s.event_ids[1]);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(parse_letters(r.body).size(), 3u);
  EXPECT_EQ(r.header("link"), "");
  // After the last one: empty.
  r = s.server.call("GET", s.path() + "?after=" + s.event_ids[4]);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "[]");

  // Bad paging is refused naming the parameter, as on the subscription list.
  for (const auto& [query, field] :
       std::vector<std::pair<std::string, std::string>>{{"limit=0", "limit"},
                                                        {"limit=1001", "limit"},
                                                        {"limit=two", "limit"},
                                                        {"after=sub_1", "after"},
                                                        {"after=evt_00000000000000zz", "after"},
                                                        {"limit=1&limit=2", "limit"},
                                                        {"limt=2", "limt"}}) {
    r = s.server.call("GET", s.path() + "?" + query);
    EXPECT_EQ(r.status, 400) << query << " " << r.body;
    EXPECT_EQ(json_string(r.body, "field"), field) << query << " " << r.body;
  }
  r = s.server.call("GET", s.path() + "?limt=2");
  EXPECT_NE(r.body.find("did you mean \\\"limit\\\""), std::string::npos) << r.body;
}

TEST(dead_letters, replay_requeues_only_those_within_since_and_until) {
  dead_setup s(5);
  ASSERT_EQ(s.wait_letters(5).size(), 5u);
  auto iso = [](int hours) {
    return "2026-01-01T" + std::string(hours < 10 ? "0" : "") + std::to_string(hours) + ":00:00Z";
  };

  // A strict body: nothing is requeued by a bad one.
  struct bad {
    std::string body;
    int status;
    std::string field;
    std::string hint;
  };
  for (const auto& b : std::vector<bad>{
         {R"({"sinc":")" + iso(1) + R"("})", 422, "sinc", R"(did you mean \"since\")"},
         {R"({"since":")" + iso(1) + R"(","untill":")" + iso(2) + R"("})", 422, "untill",
          R"(did you mean \"until\")"},
         {R"({"since":"yesterday"})", 422, "since", "ISO-8601"},
         {R"({"until":"2026-01-01"})", 422, "until", "ISO-8601"},
         {R"({"since":1767225600000})", 400, "since", "string"},
         {R"({"since":")" + iso(3) + R"(","until":")" + iso(1) + R"("})", 422, "until", "since"},
         {R"({"since":")" + iso(1) + R"(","since":")" + iso(2) + R"("})", 400, "since", ""},
         {R"(["since"])", 400, "", "object"},
         {R"({"since":)", 400, "", "invalid JSON"},
       }) {
    auto r = s.server.call("POST", s.path() + "/replay", b.body);
    EXPECT_EQ(r.status, b.status) << b.body << " " << r.body;
    EXPECT_EQ(json_string(r.body, "field"), b.field) << b.body << " " << r.body;
    EXPECT_NE(r.body.find(b.hint), std::string::npos) << b.body << " " << r.body;
  }
  EXPECT_EQ(s.wait_letters(5).size(), 5u) << "a refused replay requeued something";

  // The receiver recovers; 01:00 ≤ timestamp < 03:00 are events 1 and 2.
  s.hook.fail_all("/dead", 0);
  auto r = s.server.call("POST", s.path() + "/replay",
                         R"({"since":")" + iso(1) + R"(","until":")" + iso(3) + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"replayed":2})");
  ASSERT_TRUE(s.hook.wait_delivered("/dead", 2));
  auto left = s.wait_letters(3);
  ASSERT_EQ(left.size(), 3u);
  EXPECT_EQ(left[0].id, s.event_ids[0]);
  EXPECT_EQ(left[1].id, s.event_ids[3]);
  EXPECT_EQ(left[2].id, s.event_ids[4]);
  // Both are sent at once (max_in_flight): either may arrive first.
  auto delivered = s.hook.delivered("/dead");
  ASSERT_EQ(delivered.size(), 2u);
  std::vector<std::string> got;
  for (const auto& d : delivered)
    got.push_back(json_string(d.body, "id"));
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{s.event_ids[1], s.event_ids[2]}));

  // One bound alone: since 04:00 is event 4 (offsets accepted).
  r = s.server.call("POST", s.path() + "/replay", R"({"since":"2026-01-01T05:00:00+01:00"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"replayed":1})");
  ASSERT_TRUE(s.hook.wait_delivered("/dead", 3));
  // Bounds that hold none: nothing.
  r = s.server.call("POST", s.path() + "/replay", R"({"until":"2025-12-31T00:00:00Z"})");
  EXPECT_EQ(r.body, R"({"replayed":0})");
  // No body (as before): every one left.
  r = s.server.call("POST", s.path() + "/replay");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"replayed":2})");
  ASSERT_TRUE(s.hook.wait_delivered("/dead", 5));
  EXPECT_TRUE(s.wait_letters(0).empty());
}
