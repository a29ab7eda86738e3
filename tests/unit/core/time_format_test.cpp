#include "core/time_format.hpp"

#include <gtest/gtest.h>

using namespace sy::core;

TEST(time_format, parse_iso8601_known_answers) {
  EXPECT_EQ(parse_iso8601_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_iso8601_ms("2015-02-28T20:16:12Z"), 1425154572000);
  EXPECT_EQ(parse_iso8601_ms("2015-02-28T20:16:12.1Z"), 1425154572100);
  EXPECT_EQ(parse_iso8601_ms("2015-02-28T20:16:12.12Z"), 1425154572120);
  EXPECT_EQ(parse_iso8601_ms("2015-02-28T20:16:12.999999999Z"), 1425154572999);
  EXPECT_EQ(parse_iso8601_ms("2015-02-28T21:16:12+01:00"), 1425154572000);
  EXPECT_EQ(parse_iso8601_ms("2015-02-28T20:16:12+00:00"), 1425154572000);
  EXPECT_EQ(parse_iso8601_ms("2015-02-28T20:16:12-00:00"), 1425154572000);
  EXPECT_EQ(parse_iso8601_ms("2015-02-28T10:16:12-10:00"), 1425154572000);
  EXPECT_EQ(parse_iso8601_ms("2015-03-01T05:46:12+09:30"), 1425154572000);
  EXPECT_EQ(parse_iso8601_ms("2000-01-01T00:00:00Z"), 946684800000);
  EXPECT_EQ(parse_iso8601_ms("2016-02-29T00:00:00Z"), 1456704000000);
  EXPECT_EQ(parse_iso8601_ms("2000-02-29T12:00:00Z"), 951825600000);
  EXPECT_EQ(parse_iso8601_ms("2038-01-19T03:14:08Z"), 2147483648000);
  EXPECT_EQ(parse_iso8601_ms("9999-12-31T23:59:59.999Z"), 253402300799999);
  EXPECT_EQ(parse_iso8601_ms("1969-12-31T23:59:59Z"), -1000);
  EXPECT_EQ(parse_iso8601_ms("0000-03-01T00:00:00Z"), -62162035200000);
}

TEST(time_format, parse_iso8601_rejects_impossible_or_other_forms) {
  for (const char* s : {"2015-02-29T00:00:00Z",
                        "1900-02-29T00:00:00Z",
                        "2015-04-31T00:00:00Z",
                        "2015-00-10T00:00:00Z",
                        "2015-01-00T00:00:00Z",
                        "2015-01-32T00:00:00Z",
                        "2015-02-28T23:60:00Z",
                        "2015-02-28T23:59:60Z",
                        "2015-02-28T24:00:00Z",
                        "2015-02-28T20:16:12+24:00",
                        "2015-02-28T20:16:12+01:60",
                        "2015-02-28T20:16:12+0100",
                        "2015-02-28T20:16:12+01",
                        "2015-02-28T20:16:12z",
                        "2015-02-28t20:16:12Z",
                        "2015-2-28T20:16:12Z",
                        "20150228T201612Z",
                        "2015-02-28T20:16Z",
                        " 2015-02-28T20:16:12Z",
                        "2015-02-28T20:16:12Z ",
                        "+2015-02-28T20:16:12Z",
                        "2015-02-28T20:16:12.+01:00",
                        "2015-02-28T2O:16:12Z",
                        "yesterday",
                        ""}) {
    EXPECT_FALSE(parse_iso8601_ms(s)) << s;
  }
}

// -- attributes ---------------------------------------------------------------

TEST(time_format, formatted_times_parse_back) {
  for (int64_t ms : {int64_t{0}, int64_t{1425154572123}, int64_t{253402300799999}}) {
    EXPECT_EQ(parse_iso8601_ms(format_iso8601_ms(ms)), ms);
    EXPECT_EQ(parse_iso8601_ms(format_iso8601_ms(ms, "+00:00")), ms);
  }
}
