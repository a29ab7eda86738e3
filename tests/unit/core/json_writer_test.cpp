#include "core/json_writer.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

using namespace sy::core;

namespace {

// Parses `json` with simdjson's DOM and returns the string at /k.
std::string read_back(const std::string& json) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  EXPECT_EQ(p.parse(json).get(doc), simdjson::SUCCESS) << json;
  std::string_view s;
  EXPECT_EQ(doc["k"].get_string().get(s), simdjson::SUCCESS) << json;
  return std::string(s);
}

} // namespace

TEST(json_writer, nested_containers_and_commas) {
  json_writer w;
  w.begin_object()
    .key("a")
    .value(1)
    .key("b")
    .begin_array()
    .value("x")
    .value(true)
    .null()
    .begin_object()
    .end_object()
    .end_array()
    .key("c")
    .raw(R"({"z":[]})")
    .end_object();
  EXPECT_EQ(w.str(), R"({"a":1,"b":["x",true,null,{}],"c":{"z":[]}})");
}

TEST(json_writer, escapes_round_trip_through_simdjson) {
  std::string nasty = "q\"b\\s/\n\r\t\b\f";
  nasty.push_back('\0');
  nasty += "\x01\x1f\x7f é 😀";
  json_writer w;
  w.begin_object().key("k").value(nasty).end_object();
  EXPECT_EQ(read_back(w.str()), nasty);
}

TEST(json_writer, a_vector_of_strings_is_an_array_in_place_of_one_value) {
  json_writer w;
  w.begin_object()
    .key("none")
    .value(std::vector<std::string>{})
    .key("some")
    .value(std::vector<std::string>{"a", "b\"c"})
    .key("after")
    .value(1)
    .end_object();
  EXPECT_EQ(w.str(), R"({"none":[],"some":["a","b\"c"],"after":1})");
}

TEST(json_writer, numbers) {
  json_writer w;
  w.begin_array()
    .value(int64_t{-9223372036854775807 - 1})
    .value(uint64_t{18446744073709551615ull})
    .value(0.5)
    .value(1.0 / 0.0)
    .end_array();
  EXPECT_EQ(w.str(), "[-9223372036854775808,18446744073709551615,0.5,null]");
}

TEST(json_writer, error_body) {
  EXPECT_EQ(error_body("type: is \"required\""), R"({"error":"type: is \"required\""})");
}
