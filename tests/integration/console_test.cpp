// The web console's files (docs/console.md, docs/api.md §8) as a browser
// gets them from the real binary: public, with the CSP and its companions,
// no inline script or style, and no way around the token for the API.
// tests/browser/console.mjs drives the page itself in chromium.

#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "harness.hpp"

using namespace sy::test;

namespace {

const std::string token = "adm-console-integration-token-0000";
const std::string csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "
                        "data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                        "frame-ancestors 'none'";

class console_files : public ::testing::Test {
protected:
  void SetUp() override { server_.start(); }

  temp_dir dir_;
  server_process server_{dir_.path(), "[auth]\nadmin_tokens = [\"" + token + "\"]\n"};
};

void expect_console_headers(const http_result& r, const std::string& what) {
  EXPECT_EQ(r.header("content-security-policy"), csp) << what;
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff") << what;
  EXPECT_EQ(r.header("referrer-policy"), "no-referrer") << what;
}

} // namespace

TEST_F(console_files, are_served_without_a_token_with_the_csp) {
  auto index = server_.call("GET", "/console/");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
  expect_console_headers(index, "index");
  for (const char* testid :
       {"login-token", "login-submit", "login-error", "new-subscription", "sub-service", "sub-url",
        "sub-types", "sub-country", "sub-create", "secret-private-key", "secret-public-key",
        "event-type", "event-country", "event-data", "event-send", "confirm-yes", "toast"})
    EXPECT_NE(index.body.find(std::string("data-testid=\"") + testid + "\""), std::string::npos)
      << testid;
  // Every script is a file of the console: no inline code, no inline style.
  const std::regex script("<script[^>]*>");
  for (auto it = std::sregex_iterator(index.body.begin(), index.body.end(), script);
       it != std::sregex_iterator(); ++it)
    EXPECT_NE(it->str().find("src=\""), std::string::npos) << it->str();
  EXPECT_EQ(index.body.find("style="), std::string::npos);
  EXPECT_EQ(index.body.find("<style"), std::string::npos);
  EXPECT_FALSE(std::regex_search(index.body, std::regex("\\son[a-z]+\\s*=")))
    << "no inline event handler";

  for (const auto& [file, type] :
       std::vector<std::pair<std::string, std::string>>{{"app.js", "text/javascript"},
                                                        {"api.js", "text/javascript"},
                                                        {"console.css", "text/css"}}) {
    auto r = server_.call("GET", "/console/" + file);
    EXPECT_EQ(r.status, 200) << file;
    EXPECT_EQ(r.header("content-type").rfind(type, 0), 0u) << file;
    EXPECT_FALSE(r.body.empty()) << file;
    expect_console_headers(r, file);
  }
  auto missing = server_.call("GET", "/console/other.js");
  EXPECT_EQ(missing.status, 404);
  expect_console_headers(missing, "404");
  auto bare = server_.call("GET", "/console");
  EXPECT_EQ(bare.status, 308);
  EXPECT_EQ(bare.header("location"), "/console/");
}

TEST_F(console_files, open_no_door_to_the_api) {
  // The console's paths are public; nothing else becomes public through them.
  EXPECT_EQ(server_.call("GET", "/v1/subscriptions").status, 401);
  for (const char* target : {"/console/../v1/subscriptions", "/console/%2e%2e/v1/subscriptions",
                             "/console/x/../../v1/subscriptions"}) {
    auto r = server_.call("GET", target);
    EXPECT_NE(r.status, 200) << target << ": " << r.body;
    EXPECT_EQ(r.body.find("\"service\""), std::string::npos) << target;
  }
  auto post = server_.call("POST", "/console/", "{}");
  EXPECT_NE(post.status, 200);
  EXPECT_LT(post.status, 500);
  // With the token, the page's API calls work as any client's.
  EXPECT_EQ(
    server_.call("GET", "/v1/subscriptions", "", {{"Authorization", "Bearer " + token}}).status,
    200);
}

TEST(console_dir, serves_the_files_from_disk_while_developing) {
  temp_dir web;
  {
    std::ofstream(web.path() + "/index.html") << "<!doctype html><p>edited on disk</p>";
    std::ofstream(web.path() + "/app.js") << "export const edited = true;";
  }
  temp_dir dir;
  server_process server(dir.path(), "[console]\ndir = \"" + web.path() + "\"\n");
  server.start();
  auto index = server.call("GET", "/console/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<!doctype html><p>edited on disk</p>");
  expect_console_headers(index, "from disk");
  EXPECT_EQ(server.call("GET", "/console/app.js").body, "export const edited = true;");
  // A file the directory lacks is a 404 naming it, not a crash.
  auto css = server.call("GET", "/console/console.css");
  EXPECT_EQ(css.status, 404);
  EXPECT_NE(css.body.find("console.css"), std::string::npos);
}
