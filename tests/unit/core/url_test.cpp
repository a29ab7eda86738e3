#include "core/url.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace sy::core;

TEST(url, parses_https_with_default_port) {
  auto u = parse_url("https://hooks.example.com/in/1?x=2");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "hooks.example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/in/1?x=2");
  EXPECT_EQ(u->host_header(), "hooks.example.com");
}

TEST(url, parses_http_with_default_port_and_root_target) {
  auto u = parse_url("http://localhost");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->host_header(), "localhost");
}

TEST(url, explicit_port_is_kept_and_shown_in_host_header) {
  auto u = parse_url("http://127.0.0.1:8081/sink");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8081);
  EXPECT_EQ(u->target, "/sink");
  EXPECT_EQ(u->host_header(), "127.0.0.1:8081");
  auto d = parse_url("https://a.test:443/");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->host_header(), "a.test");
  auto h = parse_url("https://a.test:80/");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->host_header(), "a.test:80");
}

TEST(url, fragment_is_dropped) {
  auto u = parse_url("https://a.test/p?q=1#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->target, "/p?q=1");
  auto v = parse_url("https://a.test#frag");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->target, "/");
}

TEST(url, query_without_path_gets_a_slash) {
  auto u = parse_url("http://a.test?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "a.test");
  EXPECT_EQ(u->target, "/?x=1");
}

TEST(url, scheme_and_host_are_case_insensitive) {
  auto u = parse_url("HTTPS://Hooks.Example.COM/Path");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "hooks.example.com");
  EXPECT_EQ(u->target, "/Path"); // the path stays as given
}

TEST(url, ipv6_literal_in_brackets) {
  auto u = parse_url("http://[::1]:9000/x");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 9000);
  EXPECT_EQ(u->target, "/x");
  EXPECT_EQ(u->host_header(), "[::1]:9000");
  auto d = parse_url("https://[2001:DB8::1]");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->host, "2001:db8::1");
  EXPECT_EQ(d->host_header(), "[2001:db8::1]");
}

TEST(url, accepts_trailing_dot_underscore_and_percent_escapes) {
  EXPECT_FALSE(validate_url("https://a.test./x"));
  EXPECT_FALSE(validate_url("https://my_host.internal/x"));
  EXPECT_FALSE(validate_url("https://a.test/a%20b"));
}

TEST(url, refuses_other_schemes_and_relative_urls) {
  EXPECT_TRUE(validate_url("ftp://a.test/"));
  EXPECT_TRUE(validate_url("/relative/path"));
  EXPECT_TRUE(validate_url("a.test/x"));
  EXPECT_TRUE(validate_url("https:/a.test"));
  EXPECT_TRUE(validate_url("mailto:x@a.test"));
  EXPECT_TRUE(validate_url(""));
  EXPECT_FALSE(parse_url("ftp://a.test/"));
}

TEST(url, refuses_an_empty_host) {
  EXPECT_TRUE(validate_url("https://"));
  EXPECT_TRUE(validate_url("https:///path"));
  EXPECT_TRUE(validate_url("https://:8080/"));
  EXPECT_TRUE(validate_url("https://a..b/"));
  EXPECT_TRUE(validate_url("https://./"));
}

TEST(url, refuses_userinfo) {
  auto why = validate_url("https://user:pw@a.test/");
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("credentials"), std::string::npos);
  EXPECT_TRUE(validate_url("https://user@a.test/"));
}

TEST(url, refuses_whitespace_control_and_non_ascii) {
  EXPECT_TRUE(validate_url(" https://a.test/"));
  EXPECT_TRUE(validate_url("https://a.test/ "));
  EXPECT_TRUE(validate_url("https://a.test/a b"));
  EXPECT_TRUE(validate_url("https://a.test/\r\nX: y"));
  EXPECT_TRUE(validate_url(std::string("https://a.test/\0", 16)));
  EXPECT_TRUE(validate_url("https://a.test/\x7f"));
  EXPECT_TRUE(validate_url("https://bücher.test/"));
}

TEST(url, length_limit_is_2048_bytes) {
  std::string base = "https://a.test/";
  std::string ok = base + std::string(max_url_bytes - base.size(), 'x');
  EXPECT_EQ(ok.size(), 2048u);
  EXPECT_FALSE(validate_url(ok));
  EXPECT_TRUE(validate_url(ok + "x"));
}

TEST(url, port_must_be_1_to_65535) {
  EXPECT_FALSE(validate_url("http://a.test:1/"));
  EXPECT_FALSE(validate_url("http://a.test:65535/"));
  EXPECT_TRUE(validate_url("http://a.test:0/"));
  EXPECT_TRUE(validate_url("http://a.test:65536/"));
  EXPECT_TRUE(validate_url("http://a.test:123456/"));
  EXPECT_TRUE(validate_url("http://a.test:/"));
  EXPECT_TRUE(validate_url("http://a.test:8o/"));
  EXPECT_TRUE(validate_url("http://a.test:-1/"));
}

TEST(url, refuses_bad_ipv6_and_ambiguous_ipv4) {
  EXPECT_TRUE(validate_url("http://[::1/"));
  EXPECT_TRUE(validate_url("http://[]/"));
  EXPECT_TRUE(validate_url("http://[not:an:ip:]/"));
  EXPECT_TRUE(validate_url("http://[::1]x/"));
  EXPECT_TRUE(validate_url("http://[fe80::1%25eth0]/"));
  EXPECT_TRUE(validate_url("http://::1/"));
  EXPECT_TRUE(validate_url("http://256.1.1.1/"));
  EXPECT_TRUE(validate_url("http://127.1/"));
  EXPECT_TRUE(validate_url("http://0x7f.0.0.1/"));
  EXPECT_TRUE(validate_url("http://2130706433/"));
  EXPECT_FALSE(validate_url("http://10.0.0.1/"));
  EXPECT_FALSE(validate_url("http://1password.test/"));
}

TEST(url, refuses_bad_host_characters_and_percent_escapes) {
  EXPECT_TRUE(validate_url("http://a!b.test/"));
  EXPECT_TRUE(validate_url("http://a%41.test/"));
  EXPECT_TRUE(validate_url("http://a\\b.test/"));
  EXPECT_TRUE(validate_url("https://a.test/%zz"));
  EXPECT_TRUE(validate_url("https://a.test/%4"));
  EXPECT_TRUE(validate_url("https://a.test/x%"));
  EXPECT_TRUE(validate_url("https://" + std::string(64, 'a') + ".test/"));
  EXPECT_FALSE(validate_url("https://" + std::string(63, 'a') + ".test/"));
}

TEST(url, append_query_starts_or_extends_the_query) {
  EXPECT_EQ(append_query("/hook", "challenge", "abc"), "/hook?challenge=abc");
  EXPECT_EQ(append_query("/hook?x=1", "challenge", "abc"), "/hook?x=1&challenge=abc");
  EXPECT_EQ(append_query("/hook?", "challenge", "abc"), "/hook?challenge=abc");
  EXPECT_EQ(append_query("/hook?x=1&", "challenge", "abc"), "/hook?x=1&challenge=abc");
  EXPECT_EQ(append_query("", "k", "v"), "/?k=v");
}

TEST(url, append_query_percent_encodes) {
  EXPECT_EQ(append_query("/", "challenge", "a b+/=&?~_.-Z9"),
            "/?challenge=a%20b%2B%2F%3D%26%3F~_.-Z9");
  EXPECT_EQ(append_query("/", "k y", "\xc3\xa9"), "/?k%20y=%C3%A9");
}
