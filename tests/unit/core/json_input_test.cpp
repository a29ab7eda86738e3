#include "core/json_input.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace sy::core;

namespace {

std::string nested_arrays(int levels) {
  return "{\"a\":" + std::string(static_cast<std::size_t>(levels - 1), '[') +
         std::string(static_cast<std::size_t>(levels - 1), ']') + "}";
}

} // namespace

TEST(json_input, scan_accepts_valid_objects) {
  for (std::string ok :
       {"{}", R"({"a":1})", R"({"a":[1,2.5,-3e+2,0,-0.0E-0],"b":{"c":null},"d":true,"e":false})",
        " {\"a\" : [ ] , \"b\" : { } }\t\r\n", R"({"s":"\"\\\/\b\f\n\r\t\u0041\uD834\uDD1E"})",
        "{\"s\":\"\xe2\x82\xac bytes past 0x7f are UTF-8, checked by simdjson's first stage\"}"}) {
    // The scanner takes the object's bytes without surrounding whitespace.
    auto first = ok.find_first_not_of(" \t\r\n");
    auto last = ok.find_last_not_of(" \t\r\n");
    EXPECT_TRUE(json::scan_json_object(std::string_view(ok).substr(first, last - first + 1))) << ok;
  }
}

TEST(json_input, scan_refuses_what_the_walk_refuses) {
  for (const std::string& bad :
       std::initializer_list<std::string>{"",
                                          "[]",
                                          "1",
                                          "\"s\"",
                                          "{",
                                          "}",
                                          "{} ",
                                          " {}",
                                          "{}{}",
                                          R"({"a"})",
                                          R"({"a":})",
                                          R"({"a" 1})",
                                          R"({"a":1,})",
                                          R"({,"a":1})",
                                          R"({"a":1 "b":2})",
                                          R"({a:1})",
                                          R"({"a":[1,]})",
                                          R"({"a":[,1]})",
                                          R"({"a":[1 2]})",
                                          R"({"a":[}})",
                                          R"({"a":{]})",
                                          R"({"a":01})",
                                          R"({"a":1.})",
                                          R"({"a":.1})",
                                          R"({"a":1e})",
                                          R"({"a":1e+})",
                                          R"({"a":-})",
                                          R"({"a":+1})",
                                          R"({"a":0x1})",
                                          R"({"a":NaN})",
                                          R"({"a":tru})",
                                          R"({"a":True})",
                                          R"({"a":nulls})",
                                          R"({"a":"\x"})",
                                          R"({"a":"\u00g0"})",
                                          R"({"a":"\u00"})",
                                          R"({"a":"\"})",
                                          R"({"a":"\uDC00"})",
                                          R"({"a":"\uD800"})",
                                          R"({"a":"\uD800\n"})",
                                          R"({"a":"\uD800\uD800"})",
                                          "{\"a\":\"\x01\"}",
                                          "{\"a\":\"tab\there\"}",
                                          "{\"a\":1\x0b}",
                                          R"({"a":"unterminated})",
                                          std::string("{\"a\":\"\0\"}", 8)})
    EXPECT_FALSE(json::scan_json_object(bad)) << bad;
}

TEST(json_input, scan_limits_nesting_as_the_walk_does) {
  // The object itself is level 1; a value inside n containers is level n + 1.
  EXPECT_TRUE(json::scan_json_object(nested_arrays(json::max_depth)));
  EXPECT_FALSE(json::scan_json_object(nested_arrays(json::max_depth + 1)));
}

TEST(json_input, scan_finds_specials_in_every_byte_of_a_word) {
  // The string scan reads 16 bytes at a time, then 8, then one: a quote, a
  // backslash or a control byte must be found at every offset of each, and
  // the bytes next to them in value (a space, 0x7f, 0x80, 0xff) are plain.
  for (std::size_t size : {5u, 13u, 24u, 40u, 48u}) {
    for (std::size_t at = 0; at < size; ++at) {
      std::string s(size, 'x');
      std::string quote = s, escape = s, bad_escape = s, control = s, plain = s;
      quote[at] = '"';
      escape.replace(at, 1, "\\n");
      bad_escape.replace(at, 1, "\\q");
      control[at] = '\x1f';
      auto in_object = [](const std::string& text) { return "{\"a\":\"" + text + "\"}"; };
      EXPECT_FALSE(json::scan_json_object(in_object(quote))) << size << " " << at;
      EXPECT_TRUE(json::scan_json_object(in_object(escape))) << size << " " << at;
      EXPECT_FALSE(json::scan_json_object(in_object(bad_escape))) << size << " " << at;
      EXPECT_FALSE(json::scan_json_object(in_object(control))) << size << " " << at;
      for (char byte : {' ', '\x7f', '\x80', '\xff'}) {
        plain[at] = byte;
        EXPECT_TRUE(json::scan_json_object(in_object(plain))) << size << " " << at;
      }
      // An unterminated string, its last byte at every offset.
      EXPECT_FALSE(json::scan_json_object("{\"a\":\"" + s.substr(0, at + 1)));
    }
  }
}
