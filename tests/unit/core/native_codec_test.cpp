#include "core/native_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/json_input.hpp"

using namespace sy::core;

namespace {

result<event_batch> decode(std::string& body) { return decode_native_events(body, 1000); }

input_error error_of(std::string body) {
  auto r = decode(body);
  EXPECT_FALSE(r) << body;
  return r ? input_error{} : r.error();
}

} // namespace

TEST(native_codec, single_event_keeps_data_bytes) {
  std::string body =
    R"({"type":"re.notifica.event.custom.Purchase","data":{ "a" : [1, 2.5e3, "x\"y"], "b":{} } ,"country":"NO","timestamp":1421656451382,"id":"c-1"})";
  auto r = decode(body);
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_EQ(r->events.size(), 1u);
  auto& e = r->events[0];
  EXPECT_EQ(e.type, "re.notifica.event.custom.Purchase");
  EXPECT_EQ(e.data, R"({ "a" : [1, 2.5e3, "x\"y"], "b":{} })");
  EXPECT_EQ(e.country, "NO");
  EXPECT_EQ(e.timestamp_ms, 1421656451382);
  EXPECT_EQ(e.client_id, "c-1");
}

TEST(native_codec, defaults_data_and_timestamp) {
  std::string body = R"({"type":"a.b"})";
  auto r = decode(body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->events[0].data, "{}");
  EXPECT_EQ(r->events[0].timestamp_ms, 1000);
  EXPECT_TRUE(r->events[0].country.empty());
}

TEST(native_codec, field_names_are_case_insensitive) {
  std::string body = R"({"TYPE":"a.b","Data":{"x":1},"Country":"GB"})";
  auto r = decode(body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->events[0].type, "a.b");
  EXPECT_EQ(r->events[0].data, R"({"x":1})");
  EXPECT_EQ(r->events[0].country, "GB");
}

TEST(native_codec, batch_of_events) {
  std::string body = R"([{"type":"a"},{"type":"b.c","data":{"k":"v"}}])";
  auto r = decode(body);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->events.size(), 2u);
  EXPECT_EQ(r->events[1].data, R"({"k":"v"})");
}

TEST(native_codec, batch_error_names_index) {
  auto e = error_of(R"([{"type":"a"},{"type":"a"},{"type":"a.*"}])");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.index, 2);
  EXPECT_EQ(e.field, "type");
}

TEST(native_codec, missing_type_is_422) {
  auto e = error_of(R"({"data":{}})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "type");
}

TEST(native_codec, wrong_types_are_400) {
  EXPECT_EQ(error_of(R"({"type":5})").field, "type");
  EXPECT_EQ(error_of(R"({"type":5})").status, 400);
  EXPECT_EQ(error_of(R"({"type":"a","data":[1]})").field, "data");
  EXPECT_EQ(error_of(R"({"type":"a","data":"x"})").status, 400);
  EXPECT_EQ(error_of(R"({"type":"a","timestamp":"now"})").field, "timestamp");
  EXPECT_EQ(error_of(R"({"type":"a","country":1})").status, 400);
  EXPECT_EQ(error_of(R"({"type":"a","id":{}})").field, "id");
  EXPECT_EQ(error_of(R"("text")").status, 400);
  EXPECT_EQ(error_of(R"([1])").index, 0);
}

TEST(native_codec, invalid_values_are_422) {
  EXPECT_EQ(error_of(R"({"type":"a..b"})").status, 422);
  EXPECT_EQ(error_of(R"({"type":""})").status, 422);
  EXPECT_EQ(error_of(R"({"type":")" + std::string(256, 'a') + R"("})").status, 422);
  EXPECT_EQ(error_of(R"({"type":"a","country":"no"})").field, "country");
  EXPECT_EQ(error_of(R"({"type":"a","country":"NOR"})").status, 422);
  EXPECT_EQ(error_of(R"({"type":"a","country":"QQ"})").status, 422);
  EXPECT_EQ(error_of(R"({"type":"a","timestamp":-1})").status, 422);
  EXPECT_EQ(error_of(R"({"type":"a","timestamp":1.5})").status, 422);
  EXPECT_EQ(error_of(R"({"type":"a","timestamp":99999999999999999999999})").status, 422);
  EXPECT_EQ(error_of(R"({"type":"a","id":""})").field, "id");
  EXPECT_EQ(error_of(R"({"type":"a","id":")" + std::string(129, 'x') + R"("})").status, 422);
  EXPECT_EQ(error_of("[]").status, 422);
}

TEST(native_codec, duplicate_field_is_400) {
  auto e = error_of(R"({"type":"a","Type":"b"})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "type");
}

TEST(native_codec, malformed_json_is_400) {
  for (std::string bad :
       {"", "{", "[", "[1,", "not json", "nul", "tru", "-", "\"unterminated", R"({"type":"a",})",
        R"({"type":"a"} x)", R"({"type":"a","data":{"x":tru}})", R"({"type":"a","data":{"x":1,}})",
        R"({"type":"a","data":{"x":01}})", "{\"type\":\"a\",\"data\":{\"x\":\"\xff\"}}",
        R"({"type":"a\q"})", R"({"type":"a","data":{"x":"\ud800"}})"}) {
    auto e = error_of(bad);
    EXPECT_EQ(e.status, 400) << bad << " → " << e.what();
  }
}

TEST(native_codec, malformed_json_gives_the_byte_offset) {
  struct offset_case {
    std::string body;
    const char* starts;
  };
  for (const auto& c :
       {offset_case{R"({"type":"a"} x)", "invalid JSON at byte 13"},
        offset_case{R"({"type":"a","data":{"x":tru}})", "invalid JSON at byte 24"},
        offset_case{"{\"type\":\"a\",\"data\":{\"x\":\"\xff\"}}", "invalid JSON at byte 25"},
        offset_case{R"({"type":"a","data":"x)", "invalid JSON at byte 19"},
        offset_case{"", "invalid JSON at byte 0"}}) {
    auto e = error_of(c.body);
    EXPECT_EQ(e.status, 400) << c.body;
    EXPECT_EQ(e.message.rfind(c.starts, 0), 0u) << c.body << " → " << e.message;
    EXPECT_EQ(e.index, -1);
  }
}

TEST(native_codec, unknown_members_are_422_with_the_index) {
  auto e = error_of(R"({"type":"a","contry":"NO"})");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.what(), R"(unknown field "contry" (did you mean "country"?))");
  e = error_of(R"([{"type":"a"},{"type":"a","service":"s"}])");
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.field, "service");
  EXPECT_EQ(e.index, 1);
  // data is free-form.
  std::string body = R"({"type":"a","data":{"contry":"NO"}})";
  EXPECT_TRUE(decode(body));
}

TEST(native_codec, a_batch_over_max_events_is_413) {
  std::string body = R"([{"type":"a"},{"type":"a"},{"type":"a"}])";
  auto r = decode_native_events(body, 1000, 2);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 413);
  EXPECT_NE(r.error().message.find("http.max_batch_events"), std::string::npos);
  std::string ok = R"([{"type":"a"},{"type":"a"}])";
  EXPECT_TRUE(decode_native_events(ok, 1000, 2));
}

TEST(native_codec, huge_numbers_in_data_pass_through) {
  std::string body = R"({"type":"a","data":{"n":123456789012345678901234567890,"f":1e300}})";
  auto r = decode(body);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->events[0].data, R"({"n":123456789012345678901234567890,"f":1e300})");
}

TEST(native_codec, deep_nesting_is_400_not_a_crash) {
  std::string deep = R"({"type":"a","data":)";
  for (int i = 0; i < 5000; ++i)
    deep += R"({"a":)";
  deep += "1";
  for (int i = 0; i < 5000; ++i)
    deep += "}";
  deep += "}";
  EXPECT_EQ(error_of(deep).status, 400);
  std::string arrays(100000, '[');
  EXPECT_EQ(error_of(arrays).status, 400);
}

namespace {

// Returns the answer for `data` as a string: the kept bytes, or the refusal.
std::string answer_for(const std::string& data) {
  std::string body = R"([{"type":"a"},{"type":"a","data":)" + data + "}]";
  auto r = decode(body);
  if (!r)
    return "refused " + std::to_string(r.error().status) + " [" + r.error().field + "] " +
           std::to_string(r.error().index) + " " + r.error().message;
  return "kept " + std::string(r->events[1].data);
}

std::string nested(int levels) {
  std::string s;
  for (int i = 0; i < levels; ++i)
    s += R"({"a":)";
  s += "1";
  for (int i = 0; i < levels; ++i)
    s += "}";
  return s;
}

} // namespace

// `data` is checked by a byte scanner; when it refuses, the body is read
// again walking every token through On Demand, which words the error. The
// two must agree on every value: the walk's answer is the reference.
TEST(native_codec, data_scanner_gives_the_answer_of_the_token_walk) {
  std::vector<std::string> valid = {
    "{}",
    "{ }",
    R"({"":""})",
    R"({"a":[]})",
    R"({"a":[ ]})",
    R"({"a":{}})",
    R"({"a":[1,-0,0.5,-1.5e3,2E+10,3e-7,123456789012345678901234567890]})",
    R"({"t":true,"f":false,"n":null,"s":"x"})",
    " {\t\"a\" :\r\n1 } ",
    R"({"e":"\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00 \uffff"})",
    "{\"u\":\"\xc3\xa5\xf0\x9f\x98\x80 long enough to cross several 8-byte words\"}",
    R"({"k\u0065y":1,"k\"":2})",
    R"({"dup":1,"dup":2})",
    nested(127)};
  std::vector<std::string> invalid = {R"({"x":tru})",
                                      R"({"x":nul})",
                                      R"({"x":falsey})",
                                      R"({"x":1,})",
                                      R"({"x":01})",
                                      R"({"x":1.})",
                                      R"({"x":.5})",
                                      R"({"x":-})",
                                      R"({"x":1e})",
                                      R"({"x":+1})",
                                      R"({"x":[1,]})",
                                      R"({"x":[1 2]})",
                                      R"({"x" 1})",
                                      R"({"x":1 "y":2})",
                                      R"({x:1})",
                                      R"({"x":[1}})",
                                      R"({"x":{"y":1]})",
                                      R"({"x":"\q"})",
                                      R"({"x":"\u12"})",
                                      R"({"x":"\u12g4"})",
                                      R"({"x":"\ud800"})",
                                      R"({"x":"\ud800\u0041"})",
                                      R"({"x":"\udc00"})",
                                      R"({"x":"\ud800x"})",
                                      "{\"x\":\"a\tb\"}",
                                      "{\"x\":1\f}",
                                      R"({"x":1}})",
                                      R"({"x":'s'})",
                                      R"({,})",
                                      R"({"x":"a"x})",
                                      R"({"x":truefalse})",
                                      nested(128),
                                      nested(200)};
  for (const auto& data : valid) {
    auto scanned = answer_for(data);
    EXPECT_EQ(scanned.rfind("kept ", 0), 0u) << data << " → " << scanned;
    json::walk_raw_values walk;
    EXPECT_EQ(scanned, answer_for(data)) << data;
  }
  for (const auto& data : invalid) {
    auto scanned = answer_for(data);
    EXPECT_EQ(scanned.rfind("refused 400 ", 0), 0u) << data << " → " << scanned;
    json::walk_raw_values walk;
    EXPECT_EQ(scanned, answer_for(data)) << data;
  }
  // The nesting limit names data with its index.
  EXPECT_EQ(answer_for(nested(128)), "refused 400 [data] 1 JSON nests deeper than 128 levels");
}

// A body that ends right after data, its event left open, is refused as the
// walk refuses it (found by fuzzing the two against each other).
TEST(native_codec, a_body_ending_after_data_is_refused_as_the_walk_refuses_it) {
  for (std::string body : {R"({"type":"a","data":{"x":1})", R"([{"type":"a","data":{"x":{"y":1}})",
                           R"({"type":"a","data":{"a":[]})"}) {
    std::string copy = body;
    auto scanned = decode(body);
    ASSERT_FALSE(scanned) << body;
    json::walk_raw_values walk;
    auto walked = decode(copy);
    ASSERT_FALSE(walked) << copy;
    EXPECT_EQ(scanned.error().message, walked.error().message) << body;
    EXPECT_EQ(scanned.error().status, 400);
  }
}

namespace {

// Returns the answer for `body` in one line: the refusal's status, [field],
// index, names_field and message, or each event as {type|country|id|data|ts}.
std::string answer_line(std::string body) {
  auto r = decode(body);
  std::string out;
  if (!r) {
    const auto& e = r.error();
    return std::to_string(e.status) + " [" + e.field + "] " + std::to_string(e.index) + " " +
           (e.names_field ? "1" : "0") + " " + e.message;
  }
  for (const auto& e : r->events)
    out += "{" + std::string(e.type) + "|" + std::string(e.country) + "|" +
           std::string(e.client_id) + "|" + std::string(e.data) + "|" +
           std::to_string(e.timestamp_ms) + "}";
  return out;
}

} // namespace

// The answers of the member loop before its fast paths (keys matched in
// place, get_int64 and get_string tried first, the type check in one pass,
// the country table), recorded from that build: each field's refusal keeps
// its status, field, index and words, and escaped keys and values read the
// same.
TEST(native_codec, members_are_answered_as_before_the_fast_paths) {
  struct known_answer {
    const char* body;
    const char* answer;
  };
  const known_answer cases[] = {
    {R"_({"type":5})_", R"_(400 [type] -1 0 must be a string, got a number)_"},
    {R"_({"type":null})_", R"_(400 [type] -1 0 must be a string, got null)_"},
    {R"_({"type":true})_", R"_(400 [type] -1 0 must be a string, got a boolean)_"},
    {R"_({"type":[]})_", R"_(400 [type] -1 0 must be a string, got an array)_"},
    {R"_({"type":{}})_", R"_(400 [type] -1 0 must be a string, got an object)_"},
    {R"_({"type":"a\q"})_",
     R"_(400 [] -1 0 invalid JSON at byte 13: Problem while parsing a string (in type))_"},
    {R"_({"type":"a\u0000b"})_",
     R"_(422 [type] -1 0 must not contain spaces or control characters)_"},
    {R"_({"type":"a\u0020b"})_",
     R"_(422 [type] -1 0 must not contain spaces or control characters)_"},
    {R"_({"type":"a\u002eb"})_", R"_({a.b|||{}|1000})_"},
    {R"_({"type":"a\u002e"})_",
     R"_(422 [type] -1 0 must not contain an empty segment (leading, trailing or double '.'))_"},
    {R"_({"type":"a b"})_", R"_(422 [type] -1 0 must not contain spaces or control characters)_"},
    {R"_({"type":"a*"})_",
     R"_(422 [type] -1 0 must not contain '*' (wildcards belong in subscription patterns))_"},
    {R"_({"type":"a.*"})_",
     R"_(422 [type] -1 0 must not contain '*' (wildcards belong in subscription patterns))_"},
    {R"_({"type":".a"})_",
     R"_(422 [type] -1 0 must not contain an empty segment (leading, trailing or double '.'))_"},
    {R"_({"type":"a..b"})_",
     R"_(422 [type] -1 0 must not contain an empty segment (leading, trailing or double '.'))_"},
    {R"_({"type":""})_", R"_(422 [type] -1 0 must not be empty)_"},
    {R"_({"type":"\ud800"})_",
     R"_(400 [] -1 0 invalid JSON at byte 16: Problem while parsing a string (in type))_"},
    {R"_({"type":"a","country":1})_", R"_(400 [country] -1 0 must be a string, got a number)_"},
    {R"_({"type":"a","country":null})_", R"_({a|||{}|1000})_"},
    {R"_({"type":"a","country":"no"})_",
     R"_(422 [country] -1 0 must be an ISO 3166-1 alpha-2 code in uppercase, such as NO or GB)_"},
    {R"_({"type":"a","country":"N\u004f"})_", R"_({a|NO||{}|1000})_"},
    {R"_({"type":"a","country":"\u004e"})_",
     R"_(422 [country] -1 0 must be an ISO 3166-1 alpha-2 code in uppercase, such as NO or GB)_"},
    {R"_({"type":"a","country":[]})_", R"_(400 [country] -1 0 must be a string, got an array)_"},
    {R"_({"type":"a","country":"NO\u0000"})_",
     R"_(422 [country] -1 0 must be an ISO 3166-1 alpha-2 code in uppercase, such as NO or GB)_"},
    {R"_({"type":"a","country":"QQ"})_",
     R"_(422 [country] -1 0 must be an ISO 3166-1 alpha-2 code in uppercase, such as NO or GB)_"},
    {R"_({"type":"a","country":"ZZ"})_",
     R"_(422 [country] -1 0 must be an ISO 3166-1 alpha-2 code in uppercase, such as NO or GB)_"},
    {R"_({"type":"a","country":"XK"})_", R"_({a|XK||{}|1000})_"},
    {R"_({"type":"a","id":1})_", R"_(400 [id] -1 0 must be a string, got a number)_"},
    {R"_({"type":"a","id":""})_", R"_(422 [id] -1 0 must be 1 to 128 bytes)_"},
    {R"_({"type":"a","id":{}})_", R"_(400 [id] -1 0 must be a string, got an object)_"},
    {R"_({"type":"a","id":null})_", R"_({a|||{}|1000})_"},
    {R"_({"type":"a","id":"\u00e9"})_", R"_({a||é|{}|1000})_"},
    {R"_({"type":"a","id":"x\"y"})_", R"_({a||x"y|{}|1000})_"},
    {R"_({"type":"a","timestamp":"now"})_",
     R"_(400 [timestamp] -1 0 must be an integer, got a string)_"},
    {R"_({"type":"a","timestamp":-1})_",
     R"_(422 [timestamp] -1 0 must be an integer between 0 and 9223372036854775)_"},
    {R"_({"type":"a","timestamp":1.5})_",
     R"_(422 [timestamp] -1 0 must be an integer, got a fraction or exponent)_"},
    {R"_({"type":"a","timestamp":1e3})_",
     R"_(422 [timestamp] -1 0 must be an integer, got a fraction or exponent)_"},
    {R"_({"type":"a","timestamp":1E3})_",
     R"_(422 [timestamp] -1 0 must be an integer, got a fraction or exponent)_"},
    {R"_({"type":"a","timestamp":01})_",
     R"_(400 [] -1 0 invalid JSON at byte 24: Problem while parsing a number (in timestamp))_"},
    {R"_({"type":"a","timestamp":-0})_", R"_({a|||{}|0})_"},
    {R"_({"type":"a","timestamp":0})_", R"_({a|||{}|0})_"},
    {R"_({"type":"a","timestamp":-})_",
     R"_(400 [] -1 0 invalid JSON at byte 24: Problem while parsing a number (in timestamp))_"},
    {R"_({"type":"a","timestamp":1.0})_",
     R"_(422 [timestamp] -1 0 must be an integer, got a fraction or exponent)_"},
    {R"_({"type":"a","timestamp":9223372036854775})_", R"_({a|||{}|9223372036854775})_"},
    {R"_({"type":"a","timestamp":9223372036854776})_",
     R"_(422 [timestamp] -1 0 must be an integer between 0 and 9223372036854775)_"},
    {R"_({"type":"a","timestamp":9223372036854775807})_",
     R"_(422 [timestamp] -1 0 must be an integer between 0 and 9223372036854775)_"},
    {R"_({"type":"a","timestamp":9223372036854775808})_",
     R"_(422 [timestamp] -1 0 must be an integer between 0 and 9223372036854775)_"},
    {R"_({"type":"a","timestamp":-9223372036854775808})_",
     R"_(422 [timestamp] -1 0 must be an integer between 0 and 9223372036854775)_"},
    {R"_({"type":"a","timestamp":-9223372036854775809})_",
     R"_(422 [timestamp] -1 0 must be an integer between 0 and 9223372036854775)_"},
    {R"_({"type":"a","timestamp":99999999999999999999999})_",
     R"_(422 [timestamp] -1 0 must be an integer between 0 and 9223372036854775)_"},
    {R"_({"type":"a","timestamp":true})_",
     R"_(400 [timestamp] -1 0 must be an integer, got a boolean)_"},
    {R"_({"type":"a","timestamp":null})_", R"_({a|||{}|1000})_"},
    {R"_({"type":"a","timestamp":[1]})_",
     R"_(400 [timestamp] -1 0 must be an integer, got an array)_"},
    {R"_({"type":"a","timestamp":1x})_",
     R"_(400 [] -1 0 invalid JSON at byte 24: Problem while parsing a number (in timestamp))_"},
    {R"_({"type":"a","timestamp":12 })_", R"_({a|||{}|12})_"},
    {R"_({"type":"a","timestamp": 12 ,"id":"q"})_", R"_({a||q|{}|12})_"},
    {R"_({"type":"a","data":[1]})_", R"_(400 [data] -1 0 must be an object, got an array)_"},
    {R"_({"type":"a","data":"x"})_", R"_(400 [data] -1 0 must be an object, got a string)_"},
    {R"_({"type":"a","data":5})_", R"_(400 [data] -1 0 must be an object, got a number)_"},
    {R"_({"type":"a","data":true})_", R"_(400 [data] -1 0 must be an object, got a boolean)_"},
    {R"_({"type":"a","data":nul})_", R"_(400 [data] -1 0 must be an object, got null)_"},
    {R"_({"type":"a","data":null})_", R"_({a|||{}|1000})_"},
    {R"_({"type":"a","data":{}})_", R"_({a|||{}|1000})_"},
    {R"_({"type":"a","data":{"a":[1,{"b":null}]} })_", R"_({a|||{"a":[1,{"b":null}]}|1000})_"},
    {R"_({"type":"a","data":{"a":tru}})_",
     R"_(400 [] -1 0 invalid JSON at byte 24: The JSON element does not have the requested type. (in data))_"},
    {R"_({"Type":"a"})_", R"_({a|||{}|1000})_"},
    {R"_({"tYpE":"a"})_", R"_({a|||{}|1000})_"},
    {R"_({"typ\u0065":"a"})_", R"_({a|||{}|1000})_"},
    {R"_({"types":"a"})_", R"_(422 [types] -1 1 unknown field "types" (did you mean "type"?))_"},
    {R"_({"t":"a"})_", R"_(422 [t] -1 1 unknown field "t")_"},
    {R"_({"":"a"})_", R"_(422 [] -1 1 unknown field "")_"},
    {R"_({"type":"a","\u0074imestamp":5})_", R"_({a|||{}|5})_"},
    {R"_({"type":"a","TIMESTAMP":5})_", R"_({a|||{}|5})_"},
    {R"_({"type":"a","Type":"b"})_", R"_(400 [type] -1 0 appears more than once)_"},
    {R"_({"type":"a","data":{},"d\u0061ta":{}})_", R"_(400 [data] -1 0 appears more than once)_"},
    {R"_({"type":"a","contr\u0079":"NO"})_",
     R"_(422 [contry] -1 1 unknown field "contry" (did you mean "country"?))_"},
    {R"_({"type":"a","c":"NO"})_", R"_(422 [c] -1 1 unknown field "c")_"},
    {R"_({"type":"a","countryx":"NO"})_",
     R"_(422 [countryx] -1 1 unknown field "countryx" (did you mean "country"?))_"},
    {R"_({"type":"a","idx":"NO"})_",
     R"_(422 [idx] -1 1 unknown field "idx" (did you mean "id"?))_"},
    {R"_({"type":"a","i":"NO"})_", R"_(422 [i] -1 1 unknown field "i" (did you mean "id"?))_"},
    {R"_({"type":"a","d":"NO"})_", R"_(422 [d] -1 1 unknown field "d" (did you mean "id"?))_"},
    {R"_({"type":"a","DATA":{"x":1},"COUNTRY":"NO","ID":"z","TimeStamp":7})_",
     R"_({a|NO|z|{"x":1}|7})_"},
    {R"_([{"type":"a"},{"type":"a","timestamp":-5}])_",
     R"_(422 [timestamp] 1 0 must be an integer between 0 and 9223372036854775)_"},
    {R"_([{"type":"a"},{"type":"a","country":"gb"}])_",
     R"_(422 [country] 1 0 must be an ISO 3166-1 alpha-2 code in uppercase, such as NO or GB)_"},
    {R"_([{"type":"a"},{"type":5}])_", R"_(400 [type] 1 0 must be a string, got a number)_"},
    {R"_([{"type":"a"},{"type":"x y"}])_",
     R"_(422 [type] 1 0 must not contain spaces or control characters)_"},
    {R"_([{"type":"a"},{"type":"a","data":[]}])_",
     R"_(400 [data] 1 0 must be an object, got an array)_"},
    {R"_([{"type":"a"},"x"])_", R"_(400 [event] 1 0 must be an object, got a string)_"},
    {R"_({"type":"a","timestamp":1421656451382,"data":{"x":"\u00e9\n"},"country":"NO","id":"c-1"})_",
     R"_({a|NO|c-1|{"x":"\u00e9\n"}|1421656451382})_"},
    {R"_({"type":"a\u00e9.b","id":"\ud83d\ude00"})_", R"_({aé.b||😀|{}|1000})_"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(answer_line(c.body), c.answer) << c.body;
}
