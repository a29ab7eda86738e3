#include "log/log.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "tests/unit/capture_stderr.hpp"

using namespace sy;
using sy::test_support::capture_stderr;

TEST(log, json_quote_escapes_what_could_forge_a_line) {
  EXPECT_EQ(log::json_quote("plain"), "\"plain\"");
  EXPECT_EQ(log::json_quote("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(log::json_quote("line\nnext\r\t"), R"("line\nnext\r\t")");
  EXPECT_EQ(log::json_quote(std::string("\x01\x1f\x7f", 3)), R"("\u0001\u001f\u007f")");
  EXPECT_EQ(log::json_quote("caf\xc3\xa9 \xe2\x82\xac"), "\"caf\xc3\xa9 \xe2\x82\xac\"")
    << "valid UTF-8 stays";
  EXPECT_EQ(log::json_quote("\xff\xc3"), R"("\ufffd\ufffd")") << "invalid UTF-8 is replaced";
  EXPECT_EQ(log::json_quote("\xc0\xaf"), R"("\ufffd\ufffd")") << "an overlong form is invalid";
  EXPECT_EQ(log::json_quote("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")") << "a surrogate is invalid";
}

TEST(log, text_lines_quote_values_and_json_lines_are_objects) {
  auto text = capture_stderr([] {
    log::configure(log::format::text, log::level::info);
    log::write(log::level::warn, "delivery.failing", "started failing",
               {{"host", "example.com"}, {"error", "HTTP 503"}, {"detail", ""}, {"evil", "a\nb"}});
  });
  EXPECT_NE(text.find(" warn delivery.failing: started failing host=example.com error=\"HTTP 503\" "
                      "detail=\"\" evil=\"a\\nb\"\n"),
            std::string::npos)
    << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_EQ(text[4], '-');
  EXPECT_EQ(text[10], 'T');
  EXPECT_EQ(text[23], 'Z') << "ISO-8601 UTC with milliseconds: " << text;

  auto json = capture_stderr([] {
    log::configure(log::format::json, log::level::info);
    log::write(log::level::info, "config.reloaded", "say \"hi\"", {{"k", "v\x01"}});
  });
  EXPECT_EQ(json.substr(0, 7), "{\"ts\":\"") << json;
  EXPECT_NE(
    json.find("Z\",\"level\":\"info\",\"event\":\"config.reloaded\",\"msg\":\"say \\\"hi\\\"\","
              "\"k\":\"v\\u0001\"}\n"),
    std::string::npos)
    << json;
  log::configure(log::format::text, log::level::info);
}

TEST(log, lines_below_the_level_are_not_written) {
  auto out = capture_stderr([] {
    log::configure(log::format::text, log::level::warn);
    EXPECT_FALSE(log::enabled(log::level::info));
    EXPECT_TRUE(log::enabled(log::level::error));
    log::write(log::level::info, "quiet", "not written");
    log::set_level(log::level::off);
    log::write(log::level::error, "quiet", "not written either");
    log::set_level(log::level::debug);
    log::write(log::level::debug, "loud", "written");
  });
  EXPECT_EQ(out.find("quiet"), std::string::npos) << out;
  EXPECT_NE(out.find("loud: written"), std::string::npos) << out;
  EXPECT_EQ(log::parse_level("warn"), log::level::warn);
  EXPECT_EQ(log::parse_level("off"), log::level::off);
  log::configure(log::format::text, log::level::info);
}
