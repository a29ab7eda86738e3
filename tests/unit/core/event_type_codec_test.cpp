#include "core/event_type_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace sy::core;

namespace {

input_error type_error_of(std::string body) {
  auto r = decode_event_type(body);
  EXPECT_FALSE(r) << body;
  return r ? input_error{} : r.error();
}

// A namespaced type with declared attributes (as the Acoustic codec's tests
// register it).
event_type_def order_placed() {
  event_type_def order;
  order.code = "orderPlaced";
  order.name = "Order placed";
  order.ns = "shop";
  order.attributes = {
    {"orderTotal", "number"}, {"giftWrap", "boolean"}, {"deliveredAt", "date"}, {"note", "string"}};
  return order;
}

// A type without namespace that accepts any attribute.
event_type_def page_view() {
  event_type_def view;
  view.code = "pageView";
  view.name = "Page view";
  return view;
}

} // namespace

TEST(event_type_codec, minimal_takes_defaults) {
  std::string body = R"({"code":"orderPlaced","name":"Order placed"})";
  auto r = decode_event_type(body);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->code, "orderPlaced");
  EXPECT_EQ(r->name, "Order placed");
  EXPECT_EQ(r->description, "");
  EXPECT_EQ(r->ns, "");
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->registration_type, "PUBLISH");
  EXPECT_TRUE(r->attributes.empty());
  EXPECT_EQ(r->routed_type(), "orderPlaced");
}

TEST(event_type_codec, unknown_members_are_422_with_a_hint) {
  std::string body = R"({"code":"c","name":"n","extra":[1]})";
  auto r = decode_event_type(body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 422);
  EXPECT_EQ(r.error().what(), R"(unknown field "extra")");
  body = R"({"code":"c","name":"n","namespce":"shop"})";
  r = decode_event_type(body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), R"(unknown field "namespce" (did you mean "namespace"?))");
  body = R"({"code":"c","name":"n","attributes":[{"name":"a","type":"string","typ":"x"}]})";
  r = decode_event_type(body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "attributes[0].typ");
}

TEST(event_type_codec, full) {
  std::string body = R"({"Code":"orderPlaced","NAME":"Order placed","description":"An order",
    "namespace":"shop.eu","version":2.5,"registrationType":"subscribe",
    "attributes":[{"name":"orderTotal","type":"Number"},{"name":"at","type":"Time"},
                  {"name":"gift","type":"BOOLEAN"},{"name":"note","type":"string"},
                  {"name":"day","type":"date"}]})";
  auto r = decode_event_type(body);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->description, "An order");
  EXPECT_EQ(r->ns, "shop.eu");
  EXPECT_EQ(r->version, 2.5);
  EXPECT_EQ(r->registration_type, "SUBSCRIBE");
  EXPECT_EQ(r->attributes, (std::vector<attribute_def>{{"orderTotal", "number"},
                                                       {"at", "date"},
                                                       {"gift", "boolean"},
                                                       {"note", "string"},
                                                       {"day", "date"}}));
  EXPECT_EQ(r->routed_type(), "shop.eu.orderPlaced");
}

TEST(event_type_codec, requires_code_and_name) {
  struct {
    const char* body;
    const char* field;
  } cases[] = {
    {R"({"name":"n"})", "code"},
    {R"({"code":"","name":"n"})", "code"},
    {R"({"code":null,"name":"n"})", "code"},
    {R"({"code":"c"})", "name"},
    {R"({"code":"c","name":""})", "name"},
  };
  for (const auto& c : cases) {
    auto e = type_error_of(c.body);
    EXPECT_EQ(e.status, 422) << c.body;
    EXPECT_EQ(e.field, c.field) << c.body;
  }
}

TEST(event_type_codec, wrong_types_are_400) {
  struct {
    const char* body;
    const char* field;
  } cases[] = {
    {R"({"code":1,"name":"n"})", "code"},
    {R"({"code":"c","name":["n"]})", "name"},
    {R"({"code":"c","name":"n","description":5})", "description"},
    {R"({"code":"c","name":"n","namespace":{}})", "namespace"},
    {R"({"code":"c","name":"n","version":"1"})", "version"},
    {R"({"code":"c","name":"n","registrationType":true})", "registrationType"},
    {R"({"code":"c","name":"n","attributes":{}})", "attributes"},
    {R"({"code":"c","name":"n","attributes":["x"]})", "attributes[0]"},
    {R"({"code":"c","name":"n","attributes":[{"name":1,"type":"string"}]})", "attributes[0].name"},
    {R"({"code":"c","code":"d","name":"n"})", "code"},
    {R"({"code":"c","name":"n","attributes":[{"name":"a","type":"string","TYPE":"number"}]})",
     "attributes[0].type"},
    {R"([{"code":"c","name":"n"}])", ""},
    {R"({"code":"c","name":"n")", ""},
    {R"({"code":"c","name":"n"} x)", ""},
    {"", ""},
  };
  for (const auto& c : cases) {
    auto e = type_error_of(c.body);
    EXPECT_EQ(e.status, 400) << c.body;
    EXPECT_EQ(e.field, c.field) << c.body;
  }
}

TEST(event_type_codec, version_must_be_positive) {
  for (const char* v : {"0", "-1", "-0.5"}) {
    auto e = type_error_of(std::string(R"({"code":"c","name":"n","version":)") + v + "}");
    EXPECT_EQ(e.status, 422) << v;
    EXPECT_EQ(e.field, "version") << v;
  }
  std::string body = R"({"code":"c","name":"n","version":null})";
  auto r = decode_event_type(body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->version, 1);
}

TEST(event_type_codec, registration_type_is_publish_or_subscribe) {
  std::string body = R"({"code":"c","name":"n","registrationType":"Publish"})";
  auto r = decode_event_type(body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->registration_type, "PUBLISH");
  auto e = type_error_of(R"({"code":"c","name":"n","registrationType":"BOTH"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "registrationType");
}

TEST(event_type_codec, attribute_rules) {
  struct {
    const char* attributes;
    const char* field;
  } cases[] = {
    {R"([{"type":"string"}])", "attributes[0].name"},
    {R"([{"name":"","type":"string"}])", "attributes[0].name"},
    {R"([{"name":"a"}])", "attributes[0].type"},
    {R"([{"name":"a","type":"money"}])", "attributes[0].type"},
    {R"([{"name":"a","type":"string"},{"name":"a","type":"number"}])", "attributes[1].name"},
  };
  for (const auto& c : cases) {
    auto e = type_error_of(std::string(R"({"code":"c","name":"n","attributes":)") + c.attributes +
                           "}");
    EXPECT_EQ(e.status, 422) << c.attributes;
    EXPECT_EQ(e.field, c.field) << c.attributes;
  }
}

TEST(event_type_codec, routed_type_must_be_valid) {
  struct {
    const char* body;
    const char* field;
  } cases[] = {
    {R"({"code":"order placed","name":"n"})", "code"},
    {R"({"code":"order.*","name":"n"})", "code"},
    {R"({"code":".x","name":"n"})", "code"},
    {R"({"code":"x","name":"n","namespace":"shop."})", "namespace"},
    {R"({"code":"x","name":"n","namespace":"my shop"})", "namespace"},
    {R"({"code":"*","name":"n","namespace":"shop"})", "code"},
  };
  for (const auto& c : cases) {
    auto e = type_error_of(c.body);
    EXPECT_EQ(e.status, 422) << c.body;
    EXPECT_EQ(e.field, c.field) << c.body;
  }
  auto e = type_error_of(R"({"code":")" + std::string(250, 'c') +
                         R"(","name":"n","namespace":"shop.eu"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "code");
}

TEST(event_type_codec, routed_type_joins_namespace_and_code) {
  event_type_def t;
  t.code = "orderPlaced";
  EXPECT_EQ(t.routed_type(), "orderPlaced");
  t.ns = "shop";
  EXPECT_EQ(t.routed_type(), "shop.orderPlaced");
}

TEST(event_type_codec, write_event_type_output) {
  const auto t = order_placed();
  json_writer w;
  write_event_type(w, t);
  EXPECT_EQ(w.str(),
            R"({"code":"orderPlaced","version":1,"namespace":"shop","name":"Order placed",)"
            R"("description":"","attributes":[{"name":"orderTotal","type":"number"},)"
            R"({"name":"giftWrap","type":"boolean"},{"name":"deliveredAt","type":"date"},)"
            R"({"name":"note","type":"string"}],"registrationType":"PUBLISH"})");
}

TEST(event_type_codec, write_event_type_round_trips) {
  event_type_def t;
  t.code = "cart\"Abandoned";
  t.ns = "shop.eu";
  t.name = "Cart abandoned";
  t.description = "line\nbreak";
  t.version = 1.25;
  t.registration_type = "SUBSCRIBE";
  t.attributes = {{"items", "number"}, {"when", "date"}};
  const event_type_def order = order_placed(), view = page_view();
  const std::vector<const event_type_def*> defs = {&t, &order, &view};
  for (const auto* def : defs) {
    json_writer w;
    write_event_type(w, *def);
    std::string body = w.str();
    auto r = decode_event_type(body);
    ASSERT_TRUE(r) << body << " -> " << r.error().what();
    EXPECT_EQ(*r, *def) << body;
  }
}

TEST(event_type_codec, every_truncation_of_an_event_type_is_refused_without_crashing) {
  const std::string full = R"({"code":"c","name":"n","version":1.5,
    "attributes":[{"name":"a","type":"time"}],"registrationType":"SUBSCRIBE"})";
  std::string copy = full;
  ASSERT_TRUE(decode_event_type(copy));
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto e = type_error_of(full.substr(0, n));
    EXPECT_EQ(e.status, 400) << full.substr(0, n);
  }
}

TEST(event_type_codec, attribute_types_parse_in_any_case_and_print_lowercase) {
  EXPECT_EQ(parse_attribute_type("String"), attribute_type::string);
  EXPECT_EQ(parse_attribute_type("NUMBER"), attribute_type::number);
  EXPECT_EQ(parse_attribute_type("boolean"), attribute_type::boolean);
  EXPECT_EQ(parse_attribute_type("Date"), attribute_type::date);
  EXPECT_EQ(parse_attribute_type("time"), attribute_type::date) << "Acoustic's word for a date";
  EXPECT_FALSE(parse_attribute_type("integer"));
  EXPECT_FALSE(parse_attribute_type(""));
  for (auto t : {attribute_type::string, attribute_type::number, attribute_type::boolean,
                 attribute_type::date})
    EXPECT_EQ(parse_attribute_type(to_string(t)), t);
  EXPECT_STREQ(to_string(attribute_type::date), "date");
}
