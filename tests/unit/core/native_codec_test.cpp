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
