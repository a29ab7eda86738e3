// Strict request bodies (docs/api.md, "Conventions"): an unknown member is a
// 422 naming it with a did-you-mean hint and changes nothing; malformed JSON
// is a 400 giving the byte offset. Also the body limits and fields of issue
// 13: http.max_batch_events, a client-given privateKey, and the filters and
// pages of GET /v1/subscriptions.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

class strict_body : public ::testing::Test {
protected:
  void SetUp() override {
    server = std::make_unique<server_process>(dir.path(), extra_config());
    server->start();
  }
  virtual std::string extra_config() { return "[retry]\ninitial_ms = 50\nmax_ms = 400\n"; }

  std::string sub_body(const std::string& extra = "") {
    return R"({"service":"s","url":")" + hook.url("/h") + "\"" +
           (extra.empty() ? "" : "," + extra) + "}";
  }

  std::string create(const std::string& extra = "") {
    auto r = server->call("POST", "/v1/subscriptions", sub_body(extra));
    EXPECT_EQ(r.status, 201) << r.body;
    return json_string(r.body, "id");
  }

  // Returns the ids of a JSON array of subscriptions, in order.
  static std::vector<std::string> ids_of(const std::string& body) {
    std::vector<std::string> out;
    simdjson::dom::parser p;
    simdjson::dom::array arr;
    if (p.parse(body).get_array().get(arr))
      return out;
    for (auto e : arr) {
      std::string_view id;
      if (!e["id"].get_string().get(id))
        out.emplace_back(id);
    }
    return out;
  }

  static std::string ingested(const server_process& s) {
    auto m = s.call("GET", "/metrics").body;
    auto at = m.find("\nswitchyard_events_ingested_total ");
    if (at == std::string::npos)
      return "?";
    at += 34;
    return m.substr(at, m.find('\n', at) - at);
  }

  temp_dir dir;
  sink hook;
  std::unique_ptr<server_process> server;
};

} // namespace

// -- unknown members --------------------------------------------------------------

TEST_F(strict_body, a_misspelt_types_is_refused_and_creates_nothing) {
  // Ignored, "type" would have given a subscription to every event (["**"]).
  auto r = server->call("POST", "/v1/subscriptions", sub_body(R"("type":["billing.*"])"));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json_string(r.body, "error"), R"(unknown field "type" (did you mean "types"?))");
  EXPECT_EQ(json_string(r.body, "field"), "type");
  EXPECT_EQ(server->call("GET", "/v1/subscriptions").body, "[]");
}

TEST_F(strict_body, a_misspelt_country_is_refused_and_creates_nothing) {
  // Ignored, "contry" would have dropped the filter.
  auto r = server->call("POST", "/v1/subscriptions", sub_body(R"("contry":"NO")"));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json_string(r.body, "error"), R"(unknown field "contry" (did you mean "country"?))");
  r = server->call("POST", "/v1/subscriptions", sub_body(R"("colour":"blue")"));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json_string(r.body, "error"), R"(unknown field "colour")")
    << "no hint when none is near";
  // Members the server shows but does not take are refused as well.
  r = server->call("POST", "/v1/subscriptions", sub_body(R"("state":"active")"));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(server->call("GET", "/v1/subscriptions").body, "[]");
}

TEST_F(strict_body, field_names_stay_case_insensitive) {
  auto r = server->call("POST", "/v1/subscriptions",
                        R"({"SERVICE":"s","Url":")" + hook.url("/h") +
                          R"(","Types":["billing.*"],"COUNTRY":"NO","Max_In_Flight":2})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_NE(r.body.find(R"("types":["billing.*"])"), std::string::npos) << r.body;
  EXPECT_EQ(json_string(r.body, "country"), "NO");
}

TEST_F(strict_body, a_patch_with_an_unknown_member_changes_nothing) {
  auto id = create(R"("types":["billing.*"],"country":"NO")");
  const std::string before = server->call("GET", "/v1/subscriptions/" + id).body;
  // A valid change beside the typo is not applied either.
  auto r = server->call("PATCH", "/v1/subscriptions/" + id, R"({"service":"t","contry":"GB"})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json_string(r.body, "error"), R"(unknown field "contry" (did you mean "country"?))");
  r = server->call("PATCH", "/v1/subscriptions/" + id,
                   R"({"auth":{"authType":"APIKey","APIKey":"k","apiKye":"k"}})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json_string(r.body, "error"),
            R"(unknown field "auth.apiKye" (did you mean "APIKey"?))");
  auto after = server->call("GET", "/v1/subscriptions/" + id);
  EXPECT_EQ(json_string(after.body, "service"), "s");
  EXPECT_EQ(json_string(after.body, "country"), "NO");
  EXPECT_NE(after.body.find(R"("auth":null)"), std::string::npos) << after.body;
  EXPECT_EQ(ids_of(server->call("GET", "/v1/subscriptions").body), std::vector<std::string>{id});
  (void)before;
}

TEST_F(strict_body, dashboard_and_watcher_bodies_are_strict) {
  auto r = server->call("POST", "/dashboard/v1/notifications",
                        R"({"url":")" + hook.url("/d") + R"(","country":"NO","evnt":"REGISTER"})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json_string(r.body, "error"), R"(unknown field "evnt" (did you mean "event"?))");
  EXPECT_EQ(server->call("GET", "/dashboard/v1/notifications").body, "[]");

  r = server->call("PUT", "/v1/subscription/notification",
                   R"({"notificationURL":")" + hook.url("/w") + R"(","notificationKy":"k"})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json_string(r.body, "error"),
            R"(unknown field "notificationKy" (did you mean "notificationKey"?))");
  EXPECT_EQ(server->call("GET", "/v1/subscription/notification").status, 404);
}

TEST_F(strict_body, native_events_single_and_batch_are_strict) {
  auto r = server->call("POST", "/v1/events", R"({"type":"a.b","contry":"NO"})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json_string(r.body, "error"), R"(unknown field "contry" (did you mean "country"?))");
  r = server->call("POST", "/v1/events", R"([{"type":"a.b"},{"type":"a.c","tipe":"x"}])");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json_string(r.body, "error"),
            R"(event 1: unknown field "tipe" (did you mean "type"?))");
  EXPECT_NE(r.body.find(R"("index":1)"), std::string::npos) << r.body;
  EXPECT_EQ(ingested(*server), "0") << "a refused batch accepts no event";
  // data stays free-form.
  r = server->call("POST", "/v1/events", R"({"type":"a.b","data":{"contry":"NO","x":{"y":1}}})");
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(ingested(*server), "1");
}

TEST_F(strict_body, acoustic_bodies_are_strict_but_attributes_free_form) {
  auto r = server->call("POST", "/v1/eventtype", R"({"code":"buy","nmae":"Buy"})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json_string(r.body, "error"), R"(unknown field "nmae" (did you mean "name"?))");
  EXPECT_EQ(server->call("GET", "/v1/eventtype").body, "[]");
  r = server->call("POST", "/v1/eventtype",
                   R"({"code":"buy","name":"Buy","attributes":[{"name":"sku","typ":"string"}]})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json_string(r.body, "error"),
            R"(unknown field "attributes[0].typ" (did you mean "type"?))");
  EXPECT_EQ(server->call("GET", "/v1/eventtype").body, "[]");
  ASSERT_EQ(server->call("POST", "/v1/eventtype", R"({"code":"buy","name":"Buy"})").status, 201);

  const std::string ids = R"("identifiers":[{"name":"email","value":"a@b.test"}])";
  r = server->call(
    "POST", "/v1/event",
    R"({"channel":"web",)" + ids +
      R"(,"events":[{"code":"buy","timestamp":"2015-02-28T20:16:12Z","atributes":[]}]})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json_string(r.body, "error"),
            R"(event 0: unknown field "events[0].atributes" (did you mean "attributes"?))");
  r = server->call("POST", "/v1/event",
                   R"({"chanel":"web",)" + ids +
                     R"(,"events":[{"code":"buy","timestamp":"2015-02-28T20:16:12Z"}]})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json_string(r.body, "error"), R"(unknown field "chanel" (did you mean "channel"?))");
  EXPECT_EQ(ingested(*server), "0");
  // An attribute's members are the event's own business.
  r = server->call("POST", "/v1/event",
                   R"({"channel":"web",)" + ids +
                     R"(,"events":[{"code":"buy","timestamp":"2015-02-28T20:16:12Z",)"
                     R"("attributes":[{"name":"sku","value":"1","note":"free"}]}]})");
  EXPECT_EQ(r.status, 202) << r.body;
}

TEST_F(strict_body, push_bodies_are_strict_in_the_push_shape) {
  auto r = server->call(
    "POST", "/v1/association/create",
    R"({"token":"t1","association":{"email":"a@b.test","cellfone":"4790000000"}})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json_string(r.body, "message"),
            R"(unknown field "association.cellfone" (did you mean "cellphone"?))");
  r = server->call("POST", "/v1/notification/sendToList",
                   R"({"tokens":["t1"],"notification":{"title":"a","message":"b"},"dta":{}})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json_string(r.body, "message"), R"(unknown field "dta" (did you mean "data"?))");
  EXPECT_EQ(ingested(*server), "0");
}

// -- malformed JSON ---------------------------------------------------------------

TEST_F(strict_body, malformed_json_is_a_400_giving_the_byte_offset) {
  struct bad {
    const char* target;
    std::string body;
    const char* error_starts;
  };
  const bad cases[] = {
    {"/v1/events", R"({"type":"a"} trailing)", "invalid JSON at byte 13: "},
    {"/v1/events", R"({"type":"a","data":{"x":tru}})", "invalid JSON at byte 24: "},
    {"/v1/events", R"({"type":"a","data":"unclosed})", "invalid JSON at byte 19: "},
    {"/v1/subscriptions", R"({"service":"s" "url":"x"})", "invalid JSON at byte 15: "},
    {"/v1/subscriptions", R"({"service":"s",})", "invalid JSON at byte 15: "},
    {"/v1/subscriptions", "{\"service\":\"\xff\"}", "invalid JSON at byte 12: "},
    {"/dashboard/v1/notifications", "[", "invalid JSON at byte "},
  };
  for (const auto& c : cases) {
    auto r = server->call("POST", c.target, c.body);
    EXPECT_EQ(r.status, 400) << c.target << " " << c.body << " → " << r.body;
    auto error = json_string(r.body, "error");
    EXPECT_EQ(error.rfind(c.error_starts, 0), 0u) << c.body << " → " << error;
  }
  EXPECT_EQ(server->call("GET", "/v1/subscriptions").body, "[]");
  EXPECT_EQ(ingested(*server), "0");
}

// -- http.max_batch_events ----------------------------------------------------------

class batch_limit : public strict_body {
protected:
  std::string extra_config() override { return "[http]\nmax_batch_events = 3\n"; }
};

TEST_F(batch_limit, a_batch_over_the_limit_is_413_naming_the_key) {
  auto r = server->call("POST", "/v1/events",
                        R"([{"type":"a"},{"type":"a"},{"type":"a"},{"type":"a"}])");
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_NE(json_string(r.body, "error").find("http.max_batch_events"), std::string::npos)
    << r.body;
  EXPECT_EQ(ingested(*server), "0");
  // The limit itself is accepted.
  r = server->call("POST", "/v1/events", R"([{"type":"a"},{"type":"a"},{"type":"a"}])");
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(ingested(*server), "3");

  ASSERT_EQ(server->call("POST", "/v1/eventtype", R"({"code":"buy","name":"Buy"})").status, 201);
  std::string events;
  for (int i = 0; i < 4; ++i)
    events += std::string(i ? "," : "") + R"({"code":"buy","timestamp":"2015-02-28T20:16:12Z"})";
  r = server->call("POST", "/v1/event",
                   R"({"channel":"web","identifiers":[{"name":"e","value":"v"}],"events":[)" +
                     events + "]}");
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_NE(json_string(r.body, "error").find("http.max_batch_events"), std::string::npos)
    << r.body;
  EXPECT_EQ(ingested(*server), "3");
}

// -- privateKey ---------------------------------------------------------------------

TEST_F(strict_body, a_given_private_key_signs_deliveries) {
  // 32 bytes 0x01..0x20, base64.
  const std::string key = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
  auto r = server->call("POST", "/v1/subscriptions", sub_body(R"("privateKey":")" + key + "\""));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json_string(r.body, "privateKey"), key) << "echoed once";
  auto id = json_string(r.body, "id");
  auto public_key = json_string(r.body, "publicKey");
  EXPECT_FALSE(public_key.empty());
  EXPECT_EQ(server->call("GET", "/v1/subscriptions/" + id).body.find(key), std::string::npos);

  // Verification proves the receiver holds the key it brought.
  hook.set_key("/h", key);
  auto v = server->call("POST", "/v1/subscriptions/" + id + "/verify");
  ASSERT_EQ(v.status, 200) << v.body;
  ASSERT_EQ(server->call("POST", "/v1/events", R"({"type":"a.b"})").status, 202);
  ASSERT_TRUE(hook.wait_delivered("/h", 1));
  auto d = hook.delivered("/h")[0];
  EXPECT_EQ(d.header("x-notificare-signature"), hmac_b64(key, d.body));
  auto secret = unbase64(key.substr(6));
  ASSERT_EQ(secret.size(), 32u);
  EXPECT_EQ(secret[0], '\x01');
  auto content = d.header("webhook-id") + "." + d.header("webhook-timestamp") + "." + d.body;
  EXPECT_EQ(d.header("webhook-signature"), "v1," + hmac_b64(secret, content));
}

TEST_F(strict_body, an_invalid_private_key_is_422_naming_it) {
  const std::string bad[] = {
    R"("privateKey":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")", // no whsec_
    R"("privateKey":"whsec_AQIDBAUGBwgJCgsMDQ4PEBE=")",               // 16 bytes
    R"("privateKey":"whsec_not base64!")",
    R"("privateKey":"whsec_)" + std::string(88, 'A') + "\"", // 66 bytes
    R"("privateKey":42)",
  };
  for (const auto& extra : bad) {
    auto r = server->call("POST", "/v1/subscriptions", sub_body(extra));
    EXPECT_TRUE(r.status == 422 || r.status == 400) << extra << " → " << r.status;
    EXPECT_EQ(json_string(r.body, "field"), "privateKey") << extra << " → " << r.body;
  }
  EXPECT_EQ(server->call("GET", "/v1/subscriptions").body, "[]");
  auto id = create();
  auto r = server->call("PATCH", "/v1/subscriptions/" + id,
                        R"({"privateKey":"whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json_string(r.body, "field"), "privateKey");
}

// -- GET /v1/subscriptions filters and pages -------------------------------------------

TEST_F(strict_body, list_filters_and_pages_with_a_next_link) {
  std::vector<std::string> all;
  for (int i = 0; i < 5; ++i)
    all.push_back(create(R"("types":[")" + std::string(i % 2 ? "billing.*" : "shop.**") +
                         R"("],"verification":")" + (i < 2 ? "skip" : "required") + "\""));
  std::sort(all.begin(), all.end());
  ASSERT_EQ(server->call("PATCH", "/v1/subscriptions/" + all[4], R"({"service":"other"})").status,
            200);

  // Pages of 2 in id order, following Link until it is gone.
  std::vector<std::string> paged;
  std::string target = "/v1/subscriptions?limit=2";
  int pages = 0;
  while (!target.empty() && pages < 10) {
    auto r = server->call("GET", target);
    ASSERT_EQ(r.status, 200) << target << " " << r.body;
    auto ids = ids_of(r.body);
    EXPECT_LE(ids.size(), 2u);
    paged.insert(paged.end(), ids.begin(), ids.end());
    ++pages;
    auto link = r.header("link");
    target.clear();
    if (!link.empty()) {
      ASSERT_EQ(link.front(), '<') << link;
      auto close = link.find(">; rel=\"next\"");
      ASSERT_NE(close, std::string::npos) << link;
      target = link.substr(1, close - 1);
    }
  }
  EXPECT_EQ(paged, all);
  EXPECT_EQ(pages, 3);
  // Exactly one full page: no Link.
  auto r = server->call("GET", "/v1/subscriptions?limit=5");
  EXPECT_EQ(ids_of(r.body), all);
  EXPECT_EQ(r.header("link"), "");
  r = server->call("GET", "/v1/subscriptions?limit=2&after=" + all[2]);
  EXPECT_EQ(ids_of(r.body), (std::vector<std::string>{all[3], all[4]}));

  // Filters; their Link keeps them.
  r = server->call("GET", "/v1/subscriptions?state=active");
  EXPECT_EQ(ids_of(r.body).size(), 2u) << r.body;
  r = server->call("GET", "/v1/subscriptions?service=other");
  EXPECT_EQ(ids_of(r.body), std::vector<std::string>{all[4]});
  r = server->call("GET", "/v1/subscriptions?type=billing.paid");
  auto billing = ids_of(r.body);
  EXPECT_EQ(billing.size(), 2u) << r.body;
  r = server->call("GET", "/v1/subscriptions?type=shop.a.b&limit=1");
  EXPECT_EQ(ids_of(r.body).size(), 1u);
  EXPECT_NE(r.header("link").find("type=shop.a.b"), std::string::npos) << r.header("link");

  // Bad parameters name themselves.
  struct bad {
    const char* query;
    const char* field;
  };
  for (auto [query, field] :
       {bad{"state=sleeping", "state"}, bad{"limit=0", "limit"}, bad{"limit=x", "limit"},
        bad{"type=a.*", "type"}, bad{"limt=2", "limt"}}) {
    r = server->call("GET", std::string("/v1/subscriptions?") + query);
    EXPECT_EQ(r.status, 400) << query << " → " << r.body;
    EXPECT_EQ(json_string(r.body, "field"), field) << query << " → " << r.body;
  }
  r = server->call("GET", "/v1/subscriptions?limt=2");
  EXPECT_EQ(json_string(r.body, "error"),
            R"(unknown query parameter "limt" (did you mean "limit"?))");
}

// -- dead letters: replay one, drop all ------------------------------------------------

class dead_letters : public strict_body {
protected:
  // An event failing for longer than 1 s is given up.
  std::string extra_config() override {
    return "[retry]\ninitial_ms = 50\nmax_ms = 200\nmax_age = \"1s\"\n";
  }

  // Waits until the dead letters of `id` list `n` events; returns the list.
  std::vector<std::string> wait_letters(const std::string& id, std::size_t n) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    std::vector<std::string> ids;
    while (std::chrono::steady_clock::now() < deadline) {
      ids = ids_of(server->call("GET", "/v1/subscriptions/" + id + "/dead-letters").body);
      if (ids.size() >= n)
        break;
      std::this_thread::sleep_for(50ms);
    }
    return ids;
  }
};

TEST_F(dead_letters, one_is_replayed_by_id_and_the_rest_dropped) {
  auto r = server->call("POST", "/v1/subscriptions", sub_body(R"("verification":"skip")"));
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = json_string(r.body, "id");
  hook.fail_all("/h", 500);
  ASSERT_EQ(
    server->call("POST", "/v1/events", R"([{"type":"a.one"},{"type":"a.two"},{"type":"a.three"}])")
      .status,
    202);
  auto letters = wait_letters(id, 3);
  ASSERT_EQ(letters.size(), 3u);
  hook.fail_all("/h", 0);

  // Replay the second one only: it alone is delivered.
  r = server->call("POST", "/v1/subscriptions/" + id + "/dead-letters/" + letters[1] + "/replay");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"replayed":1})");
  ASSERT_TRUE(hook.wait_delivered("/h", 1, 10s));
  EXPECT_EQ(json_string(hook.delivered("/h")[0].body, "id"), letters[1]);
  EXPECT_EQ(ids_of(server->call("GET", "/v1/subscriptions/" + id + "/dead-letters").body),
            (std::vector<std::string>{letters[0], letters[2]}));
  // Replayed already, or never dead: 404 naming it.
  r = server->call("POST", "/v1/subscriptions/" + id + "/dead-letters/" + letters[1] + "/replay");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(json_string(r.body, "error").find(letters[1]), std::string::npos) << r.body;
  r = server->call("POST", "/v1/subscriptions/sub_nope/dead-letters/" + letters[0] + "/replay");
  EXPECT_EQ(r.status, 404) << r.body;

  // Drop the rest: gone, and a replay of all finds nothing.
  r = server->call("DELETE", "/v1/subscriptions/" + id + "/dead-letters");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"dropped":2})");
  EXPECT_EQ(server->call("GET", "/v1/subscriptions/" + id + "/dead-letters").body, "[]");
  r = server->call("POST", "/v1/subscriptions/" + id + "/dead-letters/replay");
  EXPECT_EQ(r.body, R"({"replayed":0})");
  r = server->call("DELETE", "/v1/subscriptions/" + id + "/dead-letters");
  EXPECT_EQ(r.body, R"({"dropped":0})");
  EXPECT_EQ(server->call("DELETE", "/v1/subscriptions/sub_nope/dead-letters").status, 404);
  // Only the replayed one was ever delivered.
  EXPECT_EQ(hook.delivered("/h").size(), 1u);
}
