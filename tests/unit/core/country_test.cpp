#include "core/country.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

using namespace sy::core;

namespace {

// The known answer: the assigned ISO 3166-1 alpha-2 codes plus XK, written
// out again here so that the lookup table is checked against the list and
// not against itself.
constexpr std::array<std::string_view, 250> assigned = {
  "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
  "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
  "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
  "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
  "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
  "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
  "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
  "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
  "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
  "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
  "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
  "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
  "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
  "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
  "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
  "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
};

bool listed(std::string_view code) {
  return std::find(assigned.begin(), assigned.end(), code) != assigned.end();
}

} // namespace

TEST(country, accepts_every_assigned_code) {
  for (auto code : assigned)
    EXPECT_TRUE(is_iso_country(code)) << code;
}

TEST(country, accepts_exactly_the_listed_two_byte_strings) {
  // Every one of the 65 536 two-byte strings: lowercase, digits, punctuation,
  // NUL, bytes above 0x7f and unassigned pairs such as QQ are refused.
  for (int a = 0; a < 256; ++a)
    for (int b = 0; b < 256; ++b) {
      std::string code{static_cast<char>(a), static_cast<char>(b)};
      ASSERT_EQ(is_iso_country(code), listed(code)) << a << "," << b;
    }
}

TEST(country, refuses_other_lengths) {
  EXPECT_FALSE(is_iso_country(""));
  EXPECT_FALSE(is_iso_country("N"));
  EXPECT_FALSE(is_iso_country("NOR"));
  EXPECT_FALSE(is_iso_country("NO "));
  EXPECT_FALSE(is_iso_country(std::string_view("NO\0", 3)));
  EXPECT_FALSE(is_iso_country("GBR"));
}

TEST(country, refuses_neighbours_of_the_table_bounds) {
  // '@' and '[' sit just below 'A' and just above 'Z'; 'a' and 'z' are the
  // lowercase letters the codes are not.
  for (std::string_view code : {"@A", "A@", "[A", "A[", "Z[", "aa", "no", "gb", "nO", "No", "zw"})
    EXPECT_FALSE(is_iso_country(code)) << code;
  EXPECT_TRUE(is_iso_country("AD"));
  EXPECT_TRUE(is_iso_country("ZW"));
  EXPECT_TRUE(is_iso_country("XK"));
}
