#include "core/acoustic_codec.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace sy::core;

namespace {

constexpr int64_t now = 1'700'000'000'000;

// The registry the tests publish against: a namespaced type with declared
// attributes, and a type without namespace that accepts any attribute.
const std::map<std::string, event_type_def, std::less<>>& registry() {
  static const auto types = [] {
    std::map<std::string, event_type_def, std::less<>> m;
    event_type_def order;
    order.code = "orderPlaced";
    order.name = "Order placed";
    order.ns = "shop";
    order.attributes = {{"orderTotal", "number"},
                        {"giftWrap", "boolean"},
                        {"deliveredAt", "date"},
                        {"note", "string"}};
    m.emplace(order.code, order);
    event_type_def view;
    view.code = "pageView";
    view.name = "Page view";
    m.emplace(view.code, view);
    return m;
  }();
  return types;
}

const event_type_lookup lookup = [](std::string_view code) -> const event_type_def* {
  auto it = registry().find(code);
  return it == registry().end() ? nullptr : &it->second;
};

result<event_batch> decode(std::string body) { return decode_acoustic_events(body, lookup, now); }

input_error error_of(std::string body) {
  auto r = decode(body);
  EXPECT_FALSE(r) << body;
  return r ? input_error{} : r.error();
}

// Expects a 400 naming `field` and `index`.
void expect_400(const std::string& body, const std::string& field, long index) {
  auto e = error_of(body);
  EXPECT_EQ(e.status, 400) << body;
  EXPECT_EQ(e.field, field) << body << " -> " << e.what();
  EXPECT_EQ(e.index, index) << body << " -> " << e.what();
}

// Returns an individual-form body holding one pageView event whose members
// are `event_members` (without braces).
std::string individual(const std::string& event_members) {
  return R"({"channel":"web","identifiers":[{"name":"email","value":"a@b.c"}],"events":[{)" +
         event_members + "}]}";
}

// Returns an individual-form body with one orderPlaced event carrying `attributes`.
std::string order_with(const std::string& attributes) {
  return individual(R"("code":"orderPlaced","timestamp":"2015-02-28T20:16:12Z","attributes":)" +
                    attributes);
}

} // namespace

// -- the three forms ----------------------------------------------------------

TEST(acoustic_codec, individual_form_synthesises_data) {
  auto r = decode(R"({
    "channel": "mobile",
    "identifiers": [{"name": "email", "value": "ann@example.com"},
                    {"name": "mobile_login", "value": "ann"}],
    "events": [{"code": "orderPlaced", "timestamp": "2015-02-28T20:16:12Z",
                "attributes": [{"name": "orderTotal", "value": "125.53"},
                               {"name": "note", "value": "gift", "type": "string"}]}]
  })");
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_EQ(r->events.size(), 1u);
  const auto& e = r->events[0];
  EXPECT_EQ(e.type, "shop.orderPlaced");
  EXPECT_EQ(e.timestamp_ms, 1425154572000);
  EXPECT_TRUE(e.country.empty());
  EXPECT_TRUE(e.client_id.empty());
  EXPECT_EQ(e.data,
            R"({"channel":"mobile","identifiers":[{"name":"email","value":"ann@example.com"},)"
            R"({"name":"mobile_login","value":"ann"}],)"
            R"("attributes":{"orderTotal":"125.53","note":"gift"}})");
}

TEST(acoustic_codec, simple_batch_form_takes_channel_and_identifiers_per_event) {
  auto r = decode(R"({"events": [
    {"code": "pageView", "timestamp": "2015-02-28T20:16:12Z", "channel": "web",
     "identifiers": [{"name": "cookie", "value": "c1"}],
     "attributes": [{"name": "url", "value": "/a"}]},
    {"code": "orderPlaced", "timestamp": "2015-02-28T20:16:13.250Z", "channel": "mobile",
     "identifiers": [{"name": "email", "value": "b@c.d"}, {"name": "cookie", "value": "c2"}]}
  ]})");
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_EQ(r->events.size(), 2u);
  EXPECT_EQ(r->events[0].type, "pageView");
  EXPECT_EQ(r->events[0].timestamp_ms, 1425154572000);
  EXPECT_EQ(r->events[0].data, R"({"channel":"web","identifiers":[{"name":"cookie","value":"c1"}],)"
                               R"("attributes":{"url":"/a"}})");
  EXPECT_EQ(r->events[1].type, "shop.orderPlaced");
  EXPECT_EQ(r->events[1].timestamp_ms, 1425154573250);
  EXPECT_EQ(r->events[1].data,
            R"({"channel":"mobile","identifiers":[{"name":"email","value":"b@c.d"},)"
            R"({"name":"cookie","value":"c2"}],"attributes":{}})");
}

TEST(acoustic_codec, compound_batch_form_with_batch_channel) {
  auto r = decode(R"({"provider": "Acoustic", "channel": "mobile", "eventbatch": [
    {"identifiers": [{"name": "email", "value": "a@b.c"}],
     "events": [{"code": "pageView", "attributes": [{"name": "url", "value": "/x"}]},
                {"code": "orderPlaced", "timestamp": "2015-02-28T20:16:12Z"}]},
    {"identifiers": [{"name": "email", "value": "z@y.x", "channel": "web", "provider": "Acoustic"}],
     "events": [{"code": "pageView"}]}
  ]})");
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_EQ(r->events.size(), 3u);
  EXPECT_EQ(r->events[0].type, "pageView");
  EXPECT_EQ(r->events[0].timestamp_ms, now);
  EXPECT_EQ(r->events[0].data,
            R"({"channel":"mobile","identifiers":[{"name":"email","value":"a@b.c"}],)"
            R"("attributes":{"url":"/x"}})");
  EXPECT_EQ(r->events[1].type, "shop.orderPlaced");
  EXPECT_EQ(r->events[1].timestamp_ms, 1425154572000);
  EXPECT_EQ(r->events[1].data,
            R"({"channel":"mobile","identifiers":[{"name":"email","value":"a@b.c"}],)"
            R"("attributes":{}})");
  EXPECT_EQ(r->events[2].timestamp_ms, now);
  EXPECT_EQ(r->events[2].data,
            R"({"channel":"mobile","identifiers":[{"name":"email","value":"z@y.x"}],)"
            R"("attributes":{}})");
}

TEST(acoustic_codec, compound_batch_form_with_event_channels) {
  auto r = decode(R"({"provider": "Acoustic", "eventbatch": [
    {"events": [{"code": "pageView", "channel": "web"}],
     "identifiers": [{"name": "email", "value": "a@b.c"}]},
    {"events": [{"code": "pageView", "channel": "kiosk",
                 "identifiers": [{"name": "badge", "value": "7"}]}]}
  ]})");
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_EQ(r->events.size(), 2u);
  EXPECT_EQ(r->events[0].data,
            R"({"channel":"web","identifiers":[{"name":"email","value":"a@b.c"}],)"
            R"("attributes":{}})");
  EXPECT_EQ(r->events[1].data, R"({"channel":"kiosk","identifiers":[{"name":"badge","value":"7"}],)"
                               R"("attributes":{}})");
}

TEST(acoustic_codec, compound_batch_element_may_give_the_channel) {
  auto r = decode(R"({"eventbatch": [
    {"channel": "pos", "identifiers": [{"name": "card", "value": "42"}],
     "events": [{"code": "pageView"}]}]})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->events[0].data,
            R"({"channel":"pos","identifiers":[{"name":"card","value":"42"}],"attributes":{}})");
}

TEST(acoustic_codec, batch_level_fields_may_follow_the_events) {
  auto r = decode(R"({"events": [{"code": "pageView", "timestamp": "2015-02-28T20:16:12Z"}],
                      "identifiers": [{"name": "email", "value": "a@b.c"}], "channel": "web"})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->events[0].data,
            R"({"channel":"web","identifiers":[{"name":"email","value":"a@b.c"}],)"
            R"("attributes":{}})");
}

TEST(acoustic_codec, field_names_are_case_insensitive) {
  auto r = decode(R"({"Channel":"web","IDENTIFIERS":[{"Name":"email","VALUE":"a@b.c"}],
    "Events":[{"CODE":"orderPlaced","TimeStamp":"2015-02-28T20:16:12Z",
               "Attributes":[{"NAME":"orderTotal","Value":"3","TYPE":"Number"}]}]})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->events[0].type, "shop.orderPlaced");
  EXPECT_EQ(r->events[0].data,
            R"({"channel":"web","identifiers":[{"name":"email","value":"a@b.c"}],)"
            R"("attributes":{"orderTotal":"3"}})");
}

TEST(acoustic_codec, unknown_fields_are_422_naming_them) {
  auto r = decode(individual(R"("code":"pageView","timestamp":"2015-02-28T20:16:12Z",
                                "extra":{"deep":[1,2,{"x":null}]},"attributes":[])"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 422);
  EXPECT_EQ(r.error().field, "events[0].extra");
  EXPECT_EQ(r.error().index, 0);
  EXPECT_EQ(r.error().what(), R"(unknown field "events[0].extra")");
  r = decode(R"({"channel":"web","provider":"p","eventbatch":[{"identifiers":[],"event":[]}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 422);
  EXPECT_EQ(r.error().what(), R"(unknown field "eventbatch[0].event" (did you mean "events"?))");
  r = decode(R"({"chanel":"web","events":[]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), R"(unknown field "chanel" (did you mean "channel"?))");
}

TEST(acoustic_codec, attributes_are_free_form_and_identifiers_may_carry_channel) {
  auto r = decode(
    R"({"channel":"web","identifiers":[{"name":"email","value":"a@b.c","channel":"x","provider":"y"}],
    "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z",
               "attributes":[{"name":"q","value":"1","note":{"any":[1]}}]}]})");
  ASSERT_TRUE(r) << r.error().what();
  auto e = decode(R"({"channel":"web","identifiers":[{"name":"email","valeu":"a@b.c"}],
    "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}]})");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().what(), R"(unknown field "identifiers[0].valeu" (did you mean "value"?))");
}

TEST(acoustic_codec, synthesised_data_escapes_strings) {
  auto r = decode(R"({"channel":"w\"eb","identifiers":[{"name":"e\\m","value":"\u00e6\n"}],
    "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z",
               "attributes":[{"name":"q\"k","value":"a\tb"}]}]})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(
    r->events[0].data,
    "{\"channel\":\"w\\\"eb\",\"identifiers\":[{\"name\":\"e\\\\m\",\"value\":\"\xc3\xa6\\n\"}],"
    "\"attributes\":{\"q\\\"k\":\"a\\tb\"}}");
}

TEST(acoustic_codec, views_outlive_the_body) {
  std::string body = individual(R"("code":"orderPlaced","timestamp":"2015-02-28T20:16:12Z")");
  auto r = decode_acoustic_events(body, lookup, now);
  ASSERT_TRUE(r);
  std::string(body.size(), 'x').swap(body);
  body.clear();
  body.shrink_to_fit();
  EXPECT_EQ(r->events[0].type, "shop.orderPlaced");
  EXPECT_EQ(r->events[0].data.substr(0, 16), R"({"channel":"web")");
}

// -- channel ------------------------------------------------------------------

TEST(acoustic_codec, channel_is_required) {
  expect_400(R"({"identifiers":[{"name":"e","value":"v"}],
                 "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}]})",
             "events[0].channel", 0);
  expect_400(R"({"eventbatch":[{"identifiers":[{"name":"e","value":"v"}],
                 "events":[{"code":"pageView","channel":"web"},{"code":"pageView"}]}]})",
             "eventbatch[0].events[1].channel", 1);
}

TEST(acoustic_codec, channel_must_be_a_nonempty_string) {
  expect_400(individual(R"("code":"pageView","timestamp":"2015-02-28T20:16:12Z","channel":5)"),
             "events[0].channel", 0);
  expect_400(R"({"channel":"","identifiers":[{"name":"e","value":"v"}],
                 "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}]})",
             "channel", -1);
}

TEST(acoustic_codec, channel_at_both_levels_names_the_event_level) {
  expect_400(R"({"channel":"web","identifiers":[{"name":"e","value":"v"}],"events":[
                 {"code":"pageView","timestamp":"2015-02-28T20:16:12Z"},
                 {"code":"pageView","timestamp":"2015-02-28T20:16:12Z","channel":"web"}]})",
             "events[1].channel", 1);
  expect_400(R"({"channel":"web","eventbatch":[{"identifiers":[{"name":"e","value":"v"}],
                 "events":[{"code":"pageView","channel":"mobile"}]}]})",
             "eventbatch[0].events[0].channel", 0);
  expect_400(R"({"eventbatch":[{"channel":"pos","identifiers":[{"name":"e","value":"v"}],
                 "events":[{"code":"pageView","channel":"mobile"}]}]})",
             "eventbatch[0].events[0].channel", 0);
  expect_400(R"({"channel":"web","eventbatch":[{"channel":"pos",
                 "identifiers":[{"name":"e","value":"v"}],"events":[{"code":"pageView"}]}]})",
             "eventbatch[0].channel", -1);
}

// -- identifiers --------------------------------------------------------------

TEST(acoustic_codec, identifiers_at_both_levels_is_an_error) {
  expect_400(individual(R"("code":"pageView","timestamp":"2015-02-28T20:16:12Z",
                           "identifiers":[{"name":"x","value":"y"}])"),
             "events[0].identifiers", 0);
  expect_400(R"({"channel":"web","eventbatch":[
                 {"identifiers":[{"name":"e","value":"v"}],"events":[{"code":"pageView"}]},
                 {"identifiers":[{"name":"e","value":"v"}],"events":[{"code":"pageView",
                  "identifiers":[{"name":"e","value":"w"}]}]}]})",
             "eventbatch[1].events[0].identifiers", 1);
}

TEST(acoustic_codec, identifiers_are_required) {
  expect_400(R"({"channel":"web",
                 "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}]})",
             "events[0].identifiers", 0);
  expect_400(R"({"channel":"web","identifiers":[],
                 "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}]})",
             "events[0].identifiers", 0);
  auto e = error_of(R"({"channel":"web","eventbatch":[{"events":[{"code":"pageView"}]}]})");
  EXPECT_EQ(e.field, "eventbatch[0].events[0].identifiers");
  EXPECT_NE(e.message.find("required"), std::string::npos);
}

TEST(acoustic_codec, identifier_needs_name_and_value) {
  expect_400(R"({"channel":"web","identifiers":[{"name":"e","value":"v"},{"value":"v"}],
                 "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}]})",
             "identifiers[1].name", -1);
  expect_400(R"({"channel":"web","identifiers":[{"name":"e"}],
                 "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}]})",
             "identifiers[0].value", -1);
}

TEST(acoustic_codec, identifier_fields_must_be_nonempty_strings) {
  expect_400(R"({"channel":"web","identifiers":[{"name":"e","value":7}],
                 "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}]})",
             "identifiers[0].value", -1);
  expect_400(R"({"channel":"web","identifiers":[{"name":"","value":"v"}],
                 "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}]})",
             "identifiers[0].name", -1);
  expect_400(R"({"channel":"web","identifiers":["e"],
                 "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}]})",
             "identifiers[0]", -1);
  expect_400(R"({"channel":"web","identifiers":{"name":"e","value":"v"},
                 "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}]})",
             "identifiers", -1);
  expect_400(R"({"channel":"web","events":[{"code":"pageView",
                 "timestamp":"2015-02-28T20:16:12Z","identifiers":[{"name":"e"}]}]})",
             "events[0].identifiers[0].value", 0);
}

// -- code ---------------------------------------------------------------------

TEST(acoustic_codec, event_needs_a_code) {
  expect_400(individual(R"("timestamp":"2015-02-28T20:16:12Z")"), "events[0].code", 0);
  expect_400(individual(R"("code":"","timestamp":"2015-02-28T20:16:12Z")"), "events[0].code", 0);
  expect_400(individual(R"("code":12,"timestamp":"2015-02-28T20:16:12Z")"), "events[0].code", 0);
}

TEST(acoustic_codec, code_must_be_registered) {
  auto e = error_of(individual(R"("code":"signup","timestamp":"2015-02-28T20:16:12Z")"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "events[0].code");
  EXPECT_NE(e.message.find("POST /v1/eventtype"), std::string::npos) << e.message;
  // Codes are matched exactly, as Acoustic issues them.
  expect_400(individual(R"("code":"PAGEVIEW","timestamp":"2015-02-28T20:16:12Z")"),
             "events[0].code", 0);
}

// -- timestamp ----------------------------------------------------------------

TEST(acoustic_codec, timestamp_is_required_in_individual_and_simple_forms) {
  expect_400(individual(R"("code":"pageView")"), "events[0].timestamp", 0);
  expect_400(individual(R"("code":"pageView","timestamp":null)"), "events[0].timestamp", 0);
  expect_400(R"({"events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z","channel":"w",
                 "identifiers":[{"name":"e","value":"v"}]},
                {"code":"pageView","channel":"w","identifiers":[{"name":"e","value":"v"}]}]})",
             "events[1].timestamp", 1);
}

TEST(acoustic_codec, timestamp_is_optional_in_compound_form) {
  auto r = decode(R"({"channel":"w","eventbatch":[{"identifiers":[{"name":"e","value":"v"}],
                      "events":[{"code":"pageView"},{"code":"pageView","timestamp":null}]}]})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->events[0].timestamp_ms, now);
  EXPECT_EQ(r->events[1].timestamp_ms, now);
}

TEST(acoustic_codec, bad_timestamps_are_400) {
  for (const char* ts : {"2015-02-30T00:00:00Z", "yesterday", "", "2015-02-28",
                         "2015-02-28T20:16:12", "2015-02-28 20:16:12Z", "2015-13-01T00:00:00Z",
                         "2015-02-28T24:00:00Z", "2015-02-28T20:16:12.Z",
                         "2015-02-28T20:16:12+1:00", "1425154572000", "2015-02-28T20:16:12Zjunk"}) {
    SCOPED_TRACE(ts);
    auto e = error_of(individual(std::string(R"("code":"pageView","timestamp":")") + ts + "\""));
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.field, "events[0].timestamp");
    EXPECT_EQ(e.index, 0);
  }
  expect_400(individual(R"("code":"pageView","timestamp":1425154572000)"), "events[0].timestamp",
             0);
  expect_400(individual(R"("code":"pageView","timestamp":"1969-12-31T23:59:59Z")"),
             "events[0].timestamp", 0);
  expect_400(R"({"channel":"w","eventbatch":[{"identifiers":[{"name":"e","value":"v"}],
                 "events":[{"code":"pageView"},{"code":"pageView","timestamp":"soon"}]}]})",
             "eventbatch[0].events[1].timestamp", 1);
}

TEST(acoustic_codec, timestamp_offsets_and_fractions_convert) {
  auto ts_of = [](const std::string& ts) {
    auto r = decode(individual(R"("code":"pageView","timestamp":")" + ts + "\""));
    EXPECT_TRUE(r) << ts;
    return r ? r->events[0].timestamp_ms : -1;
  };
  EXPECT_EQ(ts_of("2015-02-28T20:16:12Z"), 1425154572000);
  EXPECT_EQ(ts_of("2015-02-28T21:16:12.5+01:00"), 1425154572500);
  EXPECT_EQ(ts_of("2015-02-28T14:46:12.123456-05:30"), 1425154572123);
}

TEST(acoustic_codec, attribute_needs_name_and_value) {
  expect_400(order_with(R"([{"name":"note"}])"), "events[0].attributes[0].value", 0);
  expect_400(order_with(R"([{"name":"note","value":"x"},{"value":"x"}])"),
             "events[0].attributes[1].name", 0);
  expect_400(order_with(R"([{"name":"","value":"x"}])"), "events[0].attributes[0].name", 0);
  // Acoustic's compound example writes name and value as one string.
  expect_400(R"({"channel":"w","eventbatch":[{"identifiers":[{"name":"e","value":"v"}],
                 "events":[{"code":"pageView","attributes":[{"name":"url, /a"}]}]}]})",
             "eventbatch[0].events[0].attributes[0].value", 0);
}

TEST(acoustic_codec, attribute_value_must_be_a_string) {
  for (const char* value : {"125.53", "true", "null", "[]", "{}"}) {
    SCOPED_TRACE(value);
    auto e = error_of(order_with(std::string(R"([{"name":"orderTotal","value":)") + value + "}]"));
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.field, "events[0].attributes[0].value");
    EXPECT_NE(e.message.find("must be a string"), std::string::npos) << e.message;
  }
  expect_400(order_with(R"({"name":"orderTotal","value":"1"})"), "events[0].attributes", 0);
  expect_400(order_with(R"(["orderTotal"])"), "events[0].attributes[0]", 0);
}

TEST(acoustic_codec, number_attribute_is_checked) {
  for (const char* ok : {"125.53", "-3", "0", "1e5", "2.5E-3", "-0.0"})
    EXPECT_TRUE(decode(order_with(std::string(R"([{"name":"orderTotal","value":")") + ok + "\"}]")))
      << ok;
  for (const char* bad :
       {"", "abc", "12,5", "+3", ".5", "5.", "0x10", "1e", " 1", "1 ", "NaN", "01"}) {
    SCOPED_TRACE(bad);
    expect_400(order_with(std::string(R"([{"name":"orderTotal","value":")") + bad + "\"}]"),
               "events[0].attributes[0].value", 0);
  }
}

TEST(acoustic_codec, boolean_attribute_is_checked) {
  for (const char* ok : {"true", "false", "TRUE", "False"})
    EXPECT_TRUE(decode(order_with(std::string(R"([{"name":"giftWrap","value":")") + ok + "\"}]")))
      << ok;
  for (const char* bad : {"yes", "1", "", "truee"}) {
    SCOPED_TRACE(bad);
    expect_400(order_with(std::string(R"([{"name":"giftWrap","value":")") + bad + "\"}]"),
               "events[0].attributes[0].value", 0);
  }
}

TEST(acoustic_codec, date_attribute_is_checked) {
  EXPECT_TRUE(
    decode(order_with(R"([{"name":"deliveredAt","value":"2015-03-02T08:00:00+01:00"}])")));
  expect_400(order_with(R"([{"name":"deliveredAt","value":"2015-02-30T08:00:00Z"}])"),
             "events[0].attributes[0].value", 0);
  expect_400(order_with(R"([{"name":"deliveredAt","value":"tomorrow"}])"),
             "events[0].attributes[0].value", 0);
}

TEST(acoustic_codec, attribute_own_type_is_checked_and_wins) {
  // pageView registers no attributes, so only the attribute's own type counts.
  auto with = [](const std::string& attrs) {
    return individual(R"("code":"pageView","timestamp":"2015-02-28T20:16:12Z","attributes":)" +
                      attrs);
  };
  EXPECT_TRUE(decode(with(R"([{"name":"n","value":"abc"}])")));
  expect_400(with(R"([{"name":"n","value":"abc","type":"number"}])"),
             "events[0].attributes[0].value", 0);
  expect_400(with(R"([{"name":"b","value":"abc","type":"Boolean"}])"),
             "events[0].attributes[0].value", 0);
  expect_400(with(R"([{"name":"d","value":"abc","type":"TIME"}])"), "events[0].attributes[0].value",
             0);
  EXPECT_TRUE(decode(with(R"([{"name":"d","value":"2015-02-28T20:16:12Z","type":"date"}])")));
  expect_400(with(R"([{"name":"n","value":"abc","type":"currency"}])"),
             "events[0].attributes[0].type", 0);
  expect_400(with(R"([{"name":"n","value":"abc","type":1}])"), "events[0].attributes[0].type", 0);
  // orderTotal is registered as a number; its own type "string" is what counts.
  EXPECT_TRUE(decode(order_with(R"([{"name":"orderTotal","value":"n/a","type":"string"}])")));
}

TEST(acoustic_codec, unregistered_attribute_name_is_an_error) {
  auto e = error_of(
    order_with(R"([{"name":"orderTotal","value":"1"},{"name":"coupon","value":"X"}])"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "events[0].attributes[1].name");
  EXPECT_EQ(e.index, 0);
  // A type with no registered attribute list takes any name.
  EXPECT_TRUE(decode(individual(R"("code":"pageView","timestamp":"2015-02-28T20:16:12Z",
                                   "attributes":[{"name":"coupon","value":"X"}])")));
}

TEST(acoustic_codec, attributes_are_checked_when_code_comes_last) {
  expect_400(individual(R"("attributes":[{"name":"orderTotal","value":"lots"}],
                           "timestamp":"2015-02-28T20:16:12Z","code":"orderPlaced")"),
             "events[0].attributes[0].value", 0);
}

TEST(acoustic_codec, duplicate_attribute_name_is_an_error) {
  expect_400(order_with(R"([{"name":"note","value":"a"},{"name":"orderTotal","value":"1"},
                            {"name":"note","value":"b"}])"),
             "events[0].attributes[2].name", 0);
}

// -- batch shape --------------------------------------------------------------

TEST(acoustic_codec, error_index_is_flat_across_the_compound_batch) {
  expect_400(R"({"channel":"w","eventbatch":[
                 {"identifiers":[{"name":"e","value":"v"}],
                  "events":[{"code":"pageView"},{"code":"pageView"}]},
                 {"identifiers":[{"name":"e","value":"v"}],
                  "events":[{"code":"pageView"},{"code":"nope"}]}]})",
             "eventbatch[1].events[1].code", 3);
}

TEST(acoustic_codec, empty_events_or_eventbatch_is_an_error) {
  expect_400(R"({"channel":"w","identifiers":[{"name":"e","value":"v"}],"events":[]})", "events",
             -1);
  expect_400(R"({"channel":"w","eventbatch":[]})", "eventbatch", -1);
  expect_400(R"({"channel":"w","eventbatch":[{"identifiers":[{"name":"e","value":"v"}],
                 "events":[]}]})",
             "eventbatch[0].events", -1);
  expect_400(R"({"channel":"w","eventbatch":[{"identifiers":[{"name":"e","value":"v"}]}]})",
             "eventbatch[0].events", -1);
  expect_400(R"({"channel":"w","identifiers":[{"name":"e","value":"v"}]})", "events", -1);
  expect_400(R"({})", "events", -1);
}

TEST(acoustic_codec, events_and_eventbatch_together_is_an_error) {
  expect_400(R"({"channel":"w","identifiers":[{"name":"e","value":"v"}],
                 "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}],
                 "eventbatch":[{"events":[{"code":"pageView"}]}]})",
             "eventbatch", -1);
}

TEST(acoustic_codec, top_level_identifiers_beside_eventbatch_is_an_error) {
  expect_400(R"({"channel":"w","identifiers":[{"name":"e","value":"v"}],
                 "eventbatch":[{"events":[{"code":"pageView"}]}]})",
             "identifiers", -1);
}

TEST(acoustic_codec, duplicate_fields_are_400) {
  expect_400(R"({"channel":"w","channel":"x","identifiers":[{"name":"e","value":"v"}],
                 "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}]})",
             "channel", -1);
  expect_400(
    individual(R"("code":"pageView","CODE":"pageView","timestamp":"2015-02-28T20:16:12Z")"),
    "events[0].code", 0);
  expect_400(R"({"channel":"w","identifiers":[{"name":"e","Name":"f","value":"v"}],
                 "events":[{"code":"pageView","timestamp":"2015-02-28T20:16:12Z"}]})",
             "identifiers[0].name", -1);
  expect_400(order_with(R"([{"name":"note","value":"a","value":"b"}])"),
             "events[0].attributes[0].value", 0);
  expect_400(R"({"channel":"w","eventbatch":[{"identifiers":[],"identifiers":[],
                 "events":[{"code":"pageView"}]}]})",
             "eventbatch[0].identifiers", -1);
}

TEST(acoustic_codec, wrong_types_are_400) {
  expect_400(R"([{"code":"pageView"}])", "", -1);
  expect_400(R"("event")", "", -1);
  expect_400(R"({"events":{"code":"pageView"}})", "events", -1);
  expect_400(R"({"events":["pageView"]})", "events[0]", 0);
  expect_400(R"({"eventbatch":[7]})", "eventbatch[0]", -1);
  expect_400(R"({"eventbatch":{"events":[]}})", "eventbatch", -1);
  expect_400(R"({"provider":1,"eventbatch":[{"events":[{"code":"pageView"}]}]})", "provider", -1);
  expect_400(individual(R"("code":"pageView","timestamp":"2015-02-28T20:16:12Z","attributes":"x")"),
             "events[0].attributes", 0);
}

TEST(acoustic_codec, malformed_json_is_400) {
  for (const char* body : {"", "{", "{\"events\":[", "{\"events\":[}", "{\"channel\":\"w}", "{} {}",
                           "{\"events\":[{\"code\":\"pageView\",}]}", "nul",
                           "{\"channel\":\"w\",\"identifiers\":[{\"name\":\"e\",\"value\":\"v\"}],"
                           "\"events\":[{\"code\":\"pageView\",\"timestamp\":"
                           "\"2015-02-28T20:16:12Z\"}]}]"}) {
    SCOPED_TRACE(body);
    auto e = error_of(body);
    EXPECT_EQ(e.status, 400);
  }
}

TEST(acoustic_codec, every_truncation_of_a_body_is_refused_without_crashing) {
  const std::string full = R"({"provider":"Acoustic","channel":"w","eventbatch":[
    {"identifiers":[{"name":"e","value":"v"}],"events":[{"code":"orderPlaced",
     "timestamp":"2015-02-28T20:16:12.5+01:00","attributes":[{"name":"orderTotal","value":"1"},
     {"name":"giftWrap","value":"true","type":"boolean"}]}]}]})";
  ASSERT_TRUE(decode(full));
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto r = decode(full.substr(0, n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error().status, 400) << full.substr(0, n);
  }
}
