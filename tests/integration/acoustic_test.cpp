// Acoustic Exchange end to end: the event-type registry, the three
// POST /v1/event payload forms, and what subscribers receive.

#include <gtest/gtest.h>
#include <simdjson.h>

#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

// cartPurchase in namespace acme, with typed attributes.
constexpr const char* cart_purchase = R"({"code":"cartPurchase","name":"Cart purchase",
  "description":"A shopper paid","namespace":"acme","version":1,"registrationType":"publish",
  "attributes":[{"name":"orderTotal","type":"Number"},{"name":"giftWrap","type":"boolean"},
                {"name":"paidAt","type":"time"},{"name":"note","type":"string"}]})";

// What GET /v1/eventtype shows for cart_purchase: types and registrationType normalised.
constexpr const char* cart_purchase_listed =
  R"({"code":"cartPurchase","version":1,"namespace":"acme","name":"Cart purchase",)"
  R"("description":"A shopper paid","attributes":[{"name":"orderTotal","type":"number"},)"
  R"({"name":"giftWrap","type":"boolean"},{"name":"paidAt","type":"date"},)"
  R"({"name":"note","type":"string"}],"registrationType":"PUBLISH"})";

// A second event type that no subscription matches.
constexpr const char* page_view = R"({"code":"pageView","name":"Page view","namespace":"web"})";

class acoustic : public ::testing::Test {
protected:
  void SetUp() override { start(); }

  void start() {
    server = std::make_unique<server_process>(dir.path(),
                                              "[retry]\ninitial_ms = 50\nmax_ms = 400\n");
    server->start();
  }

  void restart() {
    ASSERT_EQ(server->terminate(), 0);
    start();
  }

  http_result register_type(const std::string& body) {
    return server->call("POST", "/v1/eventtype", body);
  }

  // Subscribes `path` on the sink to `types`, active at once and strictly in order.
  std::string subscribe(const std::string& path, const std::string& types, bool verify = false) {
    auto r = server->call("POST", "/v1/subscriptions",
                          R"({"service":"s","url":")" + hook.url(path) + R"(","types":)" + types +
                            R"(,"max_in_flight":1,"verification":")" +
                            (verify ? "required" : "skip") + "\"}");
    EXPECT_EQ(r.status, 201) << r.body;
    return json_string(r.body, "id");
  }

  http_result publish(const std::string& body) { return server->call("POST", "/v1/event", body); }

  // Returns the number of ids in a 202 answer.
  static std::size_t id_count(const std::string& body) {
    simdjson::dom::parser p;
    simdjson::dom::array ids;
    if (p.parse(body)["ids"].get_array().get(ids))
      return 0;
    return ids.size();
  }

  temp_dir dir;
  sink hook;
  std::unique_ptr<server_process> server;
};

// Returns the `data` object of a delivery, as its bytes.
std::string data_of(const sink_request& d) {
  simdjson::dom::parser p;
  simdjson::dom::element data;
  if (p.parse(d.body)["data"].get(data))
    return {};
  return simdjson::minify(data);
}

} // namespace

TEST_F(acoustic, registers_lists_and_replaces_event_types) {
  EXPECT_EQ(server->call("GET", "/v1/eventtype").body, "[]");
  auto r = register_type(cart_purchase);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body, cart_purchase_listed);
  r = server->call("GET", "/v1/eventtype");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, std::string("[") + cart_purchase_listed + "]");

  // The same code again replaces the registration: 200, still one entry.
  r = register_type(R"({"code":"cartPurchase","name":"Renamed","namespace":"acme"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_string(r.body, "name"), "Renamed");
  r = server->call("GET", "/v1/eventtype");
  EXPECT_EQ(r.body, R"([{"code":"cartPurchase","version":1,"namespace":"acme","name":"Renamed",)"
                    R"("description":"","attributes":[],"registrationType":"PUBLISH"}])");

  // Invalid registrations name their field.
  r = register_type(R"({"name":"No code"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(json_string(r.body, "field"), "code") << r.body;
  r = register_type(R"({"code":"x","name":"y","attributes":[{"name":"a","type":"colour"}]})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(json_string(r.body, "field"), "attributes[0].type") << r.body;
  r = register_type(R"({"code":"x","name":"y","namespace":"has space"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(json_string(r.body, "field"), "namespace") << r.body;
  EXPECT_EQ(register_type(R"({"code":"x",)").status, 400);
  EXPECT_EQ(server->call("GET", "/v1/eventtype").body.find(R"("code":"x")"), std::string::npos);
}

TEST_F(acoustic, publishes_the_three_payload_forms) {
  ASSERT_EQ(register_type(cart_purchase).status, 201);
  subscribe("/acme", R"(["acme.*"])");

  // Individual: channel and identifiers at the top, one event.
  auto r = publish(R"({"channel":"web",
    "identifiers":[{"name":"email","value":"ann@example.com"},{"name":"crm","value":"c-1"}],
    "events":[{"code":"cartPurchase","timestamp":"2015-02-28T20:16:12Z",
      "attributes":[{"name":"orderTotal","value":"125.53"},{"name":"giftWrap","value":"true"}]}]})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(id_count(r.body), 1u) << r.body;

  // Simple batch: each event with its own channel and identifiers.
  r = publish(R"({"events":[
    {"code":"cartPurchase","timestamp":"2015-02-28T21:00:00.250+01:00","channel":"mobile",
     "identifiers":[{"name":"email","value":"bob@example.com"}],
     "attributes":[{"name":"note","value":"first"}]},
    {"code":"cartPurchase","timestamp":"2015-03-01T00:00:00Z","channel":"store",
     "identifiers":[{"name":"loyalty","value":"L-9"}]}]})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(id_count(r.body), 2u) << r.body;

  // Compound batch: channel at the top, identifiers per eventbatch element,
  // no timestamps (the time of receipt is used).
  r = publish(R"({"provider":"Acoustic","channel":"email","eventbatch":[
    {"identifiers":[{"name":"email","value":"cy@example.com"}],
     "events":[{"code":"cartPurchase","attributes":[{"name":"paidAt","value":"2015-02-28T20:16:12Z"}]}]},
    {"identifiers":[{"name":"email","value":"di@example.com","channel":"ignored"}],
     "events":[{"code":"cartPurchase"}]}]})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(id_count(r.body), 2u) << r.body;

  ASSERT_TRUE(hook.wait_delivered("/acme", 5));
  EXPECT_FALSE(hook.wait_delivered("/acme", 6, 300ms));
  auto got = hook.delivered("/acme");
  for (const auto& d : got)
    EXPECT_EQ(json_string(d.body, "type"), "acme.cartPurchase") << d.body;
  EXPECT_EQ(
    data_of(got[0]),
    R"({"channel":"web","identifiers":[{"name":"email","value":"ann@example.com"},)"
    R"({"name":"crm","value":"c-1"}],"attributes":{"orderTotal":"125.53","giftWrap":"true"}})");
  EXPECT_NE(got[0].body.find(R"("timestamp":1425154572000)"), std::string::npos) << got[0].body;
  EXPECT_EQ(data_of(got[1]), R"({"channel":"mobile","identifiers":[{"name":"email",)"
                             R"("value":"bob@example.com"}],"attributes":{"note":"first"}})");
  // 21:00:00.250+01:00 is 20:00:00.250Z.
  EXPECT_NE(got[1].body.find(R"("timestamp":1425153600250)"), std::string::npos) << got[1].body;
  EXPECT_EQ(data_of(got[2]), R"({"channel":"store","identifiers":[{"name":"loyalty",)"
                             R"("value":"L-9"}],"attributes":{}})");
  EXPECT_EQ(data_of(got[3]),
            R"({"channel":"email","identifiers":[{"name":"email","value":"cy@example.com"}],)"
            R"("attributes":{"paidAt":"2015-02-28T20:16:12Z"}})");
  EXPECT_EQ(data_of(got[4]), R"({"channel":"email","identifiers":[{"name":"email",)"
                             R"("value":"di@example.com"}],"attributes":{}})");
}

TEST_F(acoustic, invalid_events_are_refused_whole_with_400) {
  ASSERT_EQ(register_type(cart_purchase).status, 201);
  subscribe("/acme", R"(["acme.**"])");
  const std::string ids = R"("identifiers":[{"name":"email","value":"a@b.c"}])";
  struct refusal {
    std::string body, field;
  };
  const refusal cases[] = {
    // An unregistered code, after a valid event: the batch is refused whole.
    {R"({"channel":"web",)" + ids +
       R"(,"events":[)"
       R"({"code":"cartPurchase","timestamp":"2015-02-28T20:16:12Z"},)"
       R"({"code":"refund","timestamp":"2015-02-28T20:16:12Z"}]})",
     "events[1].code"},
    // The channel at both levels.
    {R"({"channel":"web",)" + ids +
       R"(,"events":[{"code":"cartPurchase","timestamp":"2015-02-28T20:16:12Z","channel":"web"}]})",
     "events[0].channel"},
    {R"({"channel":"web","eventbatch":[{"channel":"mobile",)" + ids +
       R"(,"events":[{"code":"cartPurchase"}]}]})",
     "eventbatch[0].channel"},
    // No channel at all.
    {"{" + ids + R"(,"events":[{"code":"cartPurchase","timestamp":"2015-02-28T20:16:12Z"}]})",
     "events[0].channel"},
    // Identifiers at both levels.
    {R"({"channel":"web",)" + ids +
       R"(,"events":[{"code":"cartPurchase",)"
       R"("timestamp":"2015-02-28T20:16:12Z",)" +
       ids + "}]}",
     "events[0].identifiers"},
    // A timestamp is required outside a compound batch, and must be ISO-8601.
    {R"({"channel":"web",)" + ids + R"(,"events":[{"code":"cartPurchase"}]})",
     "events[0].timestamp"},
    {R"({"channel":"web",)" + ids +
       R"(,"events":[{"code":"cartPurchase","timestamp":"yesterday"}]})",
     "events[0].timestamp"},
    // Attribute values against their registered types, and unregistered names.
    {R"({"channel":"web",)" + ids +
       R"(,"events":[{"code":"cartPurchase",)"
       R"("timestamp":"2015-02-28T20:16:12Z","attributes":[{"name":"orderTotal","value":"lots"}]}]})",
     "events[0].attributes[0].value"},
    {R"({"channel":"web",)" + ids +
       R"(,"events":[{"code":"cartPurchase",)"
       R"("timestamp":"2015-02-28T20:16:12Z","attributes":[{"name":"colour","value":"red"}]}]})",
     "events[0].attributes[0].name"},
  };
  for (const auto& c : cases) {
    auto r = publish(c.body);
    EXPECT_EQ(r.status, 400) << c.body << "\n" << r.body;
    EXPECT_EQ(json_string(r.body, "field"), c.field) << r.body;
  }
  EXPECT_EQ(publish("[]").status, 400);
  EXPECT_EQ(publish(R"({"channel":)").status, 400);
  EXPECT_FALSE(hook.wait_delivered("/acme", 1, 300ms));
}

TEST_F(acoustic, subscribed_lists_only_event_types_someone_consumes) {
  ASSERT_EQ(register_type(cart_purchase).status, 201);
  ASSERT_EQ(register_type(page_view).status, 201);
  EXPECT_EQ(server->call("GET", "/v1/eventtype/subscribed").body, "[]");
  EXPECT_EQ(server->call("GET", "/v1/eventtype/subscribed/producer").body, "[]");

  // A subscription still waiting for verification receives nothing, so it
  // consumes nothing; one with a country filter still consumes.
  subscribe("/web", R"(["web.*"])", true);
  subscribe("/acme", R"(["other.thing","acme.*"])");
  auto r = server->call(
    "POST", "/v1/subscriptions",
    R"({"service":"s","url":")" + hook.url("/no") +
      R"(","types":["acme.cartPurchase"],"country":"NO","verification":"skip"})");
  ASSERT_EQ(r.status, 201) << r.body;

  r = server->call("GET", "/v1/eventtype/subscribed");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"(["cartPurchase"])");
  r = server->call("GET", "/v1/eventtype/subscribed/producer");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, std::string("[") + cart_purchase_listed + "]");

  // A literal pattern on the routed type counts too.
  subscribe("/pv", R"(["web.pageView"])");
  EXPECT_EQ(server->call("GET", "/v1/eventtype/subscribed").body, R"(["cartPurchase","pageView"])");
}

TEST_F(acoustic, delete_answers_true_then_false_and_unregisters_the_code) {
  ASSERT_EQ(register_type(cart_purchase).status, 201);
  const std::string event =
    R"({"channel":"web","identifiers":[{"name":"e","value":"v"}],)"
    R"("events":[{"code":"cartPurchase","timestamp":"2015-02-28T20:16:12Z"}]})";
  ASSERT_EQ(publish(event).status, 202);

  auto r = server->call("DELETE", "/v1/eventtype/cartPurchase");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "true");
  r = server->call("DELETE", "/v1/eventtype/cartPurchase");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "false");
  EXPECT_EQ(server->call("GET", "/v1/eventtype").body, "[]");
  r = publish(event);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json_string(r.body, "field"), "events[0].code") << r.body;

  // A code holding '/' is deleted through its percent-encoded form.
  ASSERT_EQ(register_type(R"({"code":"odd/code","name":"Odd"})").status, 201);
  EXPECT_EQ(server->call("DELETE", "/v1/eventtype/odd%2Fcode").body, "true");
  EXPECT_EQ(server->call("GET", "/v1/eventtype").body, "[]");
}

TEST_F(acoustic, event_types_survive_a_restart) {
  ASSERT_EQ(register_type(cart_purchase).status, 201);
  ASSERT_EQ(register_type(page_view).status, 201);
  ASSERT_EQ(register_type(R"({"code":"gone","name":"Gone"})").status, 201);
  ASSERT_EQ(server->call("DELETE", "/v1/eventtype/gone").body, "true");
  subscribe("/acme", R"(["acme.*"])");
  auto before = server->call("GET", "/v1/eventtype").body;
  restart();

  auto after = server->call("GET", "/v1/eventtype");
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(after.body, before);
  EXPECT_EQ(after.body.find("gone"), std::string::npos) << after.body;
  EXPECT_EQ(server->call("GET", "/v1/eventtype/subscribed").body, R"(["cartPurchase"])");
  auto r = publish(R"({"channel":"web","identifiers":[{"name":"e","value":"v"}],)"
                   R"("events":[{"code":"cartPurchase","timestamp":"2015-02-28T20:16:12Z",)"
                   R"("attributes":[{"name":"orderTotal","value":"9.5"}]}]})");
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_TRUE(hook.wait_delivered("/acme", 1));
  EXPECT_EQ(json_string(hook.delivered("/acme")[0].body, "type"), "acme.cartPurchase");
}

TEST(acoustic_auth, publish_tokens_may_only_publish) {
  temp_dir dir;
  server_process server(
    dir.path(), "[auth]\nadmin_tokens = [\"adm-1-integration-test-token-0000\"]\npublish_tokens = "
                "[\"pub-1-integration-test-token-0000\"]\n");
  server.start();
  const headers_t admin = {{"Authorization", "Bearer adm-1-integration-test-token-0000"}};
  const headers_t publish = {{"Authorization", "Bearer pub-1-integration-test-token-0000"}};
  // A publish token is valid but lacks the scope: 403 (docs/api.md conventions).
  EXPECT_EQ(server.call("POST", "/v1/eventtype", page_view, publish).status, 403);
  EXPECT_EQ(server.call("POST", "/v1/eventtype", page_view).status, 401);
  ASSERT_EQ(server.call("POST", "/v1/eventtype", page_view, admin).status, 201);
  EXPECT_EQ(server.call("GET", "/v1/eventtype", "", publish).status, 403);
  EXPECT_EQ(server.call("GET", "/v1/eventtype/subscribed", "", publish).status, 403);
  EXPECT_EQ(server.call("DELETE", "/v1/eventtype/pageView", "", publish).status, 403);
  const std::string event = R"({"channel":"web","identifiers":[{"name":"e","value":"v"}],)"
                            R"("events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}]})";
  EXPECT_EQ(server.call("POST", "/v1/event", event).status, 401);
  EXPECT_EQ(server.call("POST", "/v1/event", event, publish).status, 202);
  EXPECT_EQ(server.call("GET", "/v1/eventtype", "", admin).status, 200);
}
