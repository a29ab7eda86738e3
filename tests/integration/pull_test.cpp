// Pull subscribers end to end (docs/api.md §4): "delivery": "pull" subscriptions,
// their accessKey, events grouped into NDJSON files rotated by count and
// age, GET / DELETE /v1/eventfiles, and files that survive kill -9.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <set>
#include <sstream>

#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

// Files rotate at 3 events, or 300 ms after their first event.
const std::string small_files = "[pull]\nfile_max_events = 3\nfile_max_age_ms = 300\n";
// Files that neither fill nor age during a test.
const std::string large_files = "[pull]\nfile_max_events = 1000\nfile_max_age_ms = 600000\n";

struct pull_sub {
  std::string id;
  std::string access_key;
};

headers_t bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

// Returns the file names of a GET /v1/eventfiles answer.
std::vector<std::string> names_of(const std::string& body) {
  simdjson::dom::parser p;
  simdjson::dom::array arr;
  std::vector<std::string> out;
  if (p.parse(body).get_array().get(arr))
    return out;
  for (auto v : arr) {
    std::string_view s;
    if (!v.get_string().get(s))
      out.emplace_back(s);
  }
  return out;
}

// Returns the `data.n` of each NDJSON line, checking that every line is a
// whole delivery envelope.
std::vector<int64_t> numbers_in(const std::string& ndjson) {
  std::vector<int64_t> out;
  std::istringstream lines(ndjson);
  std::string line;
  simdjson::dom::parser p;
  while (std::getline(lines, line)) {
    simdjson::dom::element doc;
    EXPECT_FALSE(p.parse(line).get(doc)) << line;
    std::string_view type, id;
    EXPECT_FALSE(doc["type"].get_string().get(type)) << line;
    EXPECT_EQ(type, "pull.e") << line;
    EXPECT_FALSE(doc["id"].get_string().get(id)) << line;
    int64_t n = -1;
    EXPECT_FALSE(doc["data"]["n"].get_int64().get(n)) << line;
    out.push_back(n);
  }
  return out;
}

class pull : public ::testing::Test {
protected:
  void start(const std::string& toml) {
    server = std::make_unique<server_process>(dir.path(), toml);
    server->start();
  }

  pull_sub subscribe() {
    auto r = server->call("POST", "/v1/subscriptions",
                          R"({"service":"puller","types":["pull.*"],"delivery":"pull"})");
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(json_string(r.body, "state"), "active") << r.body;
    EXPECT_EQ(json_string(r.body, "delivery"), "pull") << r.body;
    return {json_string(r.body, "id"), json_string(r.body, "accessKey")};
  }

  // Publishes events pull.e with data.n = first … first+n-1, one request.
  void publish(int first, int n) {
    std::string batch = "[";
    for (int i = 0; i < n; ++i)
      batch += std::string(i ? "," : "") + R"({"type":"pull.e","data":{"n":)" +
               std::to_string(first + i) + "}}";
    batch += "]";
    auto r = server->call("POST", "/v1/events", batch);
    ASSERT_EQ(r.status, 202) << r.body;
  }

  http_result files(const std::string& key, const std::string& query = "") {
    return server->call("GET", "/v1/eventfiles" + query, "", bearer(key));
  }

  // Waits until GET /v1/eventfiles lists `n` files; returns them.
  std::vector<std::string> wait_files(const std::string& key, std::size_t n) {
    std::vector<std::string> names;
    for (int i = 0; i < 500; ++i) {
      names = names_of(files(key).body);
      if (names.size() >= n)
        break;
      std::this_thread::sleep_for(20ms);
    }
    return names;
  }

  // Reads every listed file; returns the numbers in file order.
  std::vector<int64_t> read_all(const std::string& key) {
    std::vector<int64_t> all;
    for (const auto& name : names_of(files(key).body)) {
      auto r = server->call("GET", "/v1/eventfiles/" + name, "", bearer(key));
      EXPECT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.header("content-type"), "application/octet-stream");
      auto nums = numbers_in(r.body);
      all.insert(all.end(), nums.begin(), nums.end());
    }
    return all;
  }

  temp_dir dir;
  std::unique_ptr<server_process> server;
};

std::vector<int64_t> range(int64_t first, int64_t n) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i)
    out.push_back(first + i);
  return out;
}

} // namespace

TEST_F(pull, events_are_grouped_into_files_by_count_and_age) {
  start(small_files);
  auto sub = subscribe();
  ASSERT_EQ(sub.access_key.rfind("ak_", 0), 0u) << "the 201 carries the accessKey";
  auto shown = server->call("GET", "/v1/subscriptions/" + sub.id);
  EXPECT_EQ(shown.body.find(sub.access_key), std::string::npos) << "shown once, like privateKey";

  publish(0, 7);
  // Two files fill at 3 events at once; the seventh event's file seals by age.
  auto names = wait_files(sub.access_key, 3);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_LT(names[0], names[1]);
  EXPECT_LT(names[1], names[2]);
  EXPECT_EQ(read_all(sub.access_key), range(0, 7));

  auto one = server->call("GET", "/v1/eventfiles/" + names[0], "", bearer(sub.access_key));
  EXPECT_EQ(numbers_in(one.body), range(0, 3));
  EXPECT_EQ(names_of(files(sub.access_key, "?numFiles=2").body),
            (std::vector<std::string>{names[0], names[1]}));

  // Deleting a file removes it from the list, for good.
  EXPECT_EQ(server->call("DELETE", "/v1/eventfiles/" + names[0], "", bearer(sub.access_key)).status,
            204);
  EXPECT_EQ(names_of(files(sub.access_key).body), (std::vector<std::string>{names[1], names[2]}));
  EXPECT_EQ(server->call("GET", "/v1/eventfiles/" + names[0], "", bearer(sub.access_key)).status,
            404);
  EXPECT_EQ(server->call("DELETE", "/v1/eventfiles/" + names[0], "", bearer(sub.access_key)).status,
            404);
  auto stats = server->call("GET", "/v1/subscriptions/" + sub.id).body;
  EXPECT_NE(stats.find(R"("queued":4)"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("delivered":3)"), std::string::npos) << stats;
}

TEST_F(pull, at_most_ten_files_are_listed_oldest_first) {
  start(small_files);
  auto sub = subscribe();
  publish(0, 36); // 12 full files
  auto names = wait_files(sub.access_key, 10);
  ASSERT_EQ(names.size(), 10u); // names[0] below
  EXPECT_EQ(names_of(files(sub.access_key, "?numFiles=50").body), names);
  auto first = server->call("GET", "/v1/eventfiles/" + names[0], "", bearer(sub.access_key));
  EXPECT_EQ(numbers_in(first.body), range(0, 3));
  for (const auto& name : names)
    ASSERT_EQ(server->call("DELETE", "/v1/eventfiles/" + name, "", bearer(sub.access_key)).status,
              204);
  EXPECT_EQ(read_all(sub.access_key), range(30, 6)) << "the two files beyond the first ten";
}

TEST_F(pull, the_access_key_is_required_and_scopes_the_files) {
  start(small_files);
  auto a = subscribe();
  auto b = subscribe();
  publish(0, 3);
  ASSERT_EQ(wait_files(a.access_key, 1).size(), 1u);
  ASSERT_EQ(wait_files(b.access_key, 1).size(), 1u);
  auto name = names_of(files(a.access_key).body).at(0);

  auto r = server->call("GET", "/v1/eventfiles");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("accessKey"), std::string::npos) << r.body;
  EXPECT_EQ(files("ak_wrong").status, 401);
  EXPECT_EQ(server->call("GET", "/v1/eventfiles/" + name, "", bearer("ak_wrong")).status, 401);
  EXPECT_EQ(server->call("DELETE", "/v1/eventfiles/" + name, "", bearer("ak_wrong")).status, 401);

  // Each subscription has its own files: deleting a's leaves b's.
  ASSERT_EQ(server->call("DELETE", "/v1/eventfiles/" + name, "", bearer(a.access_key)).status, 204);
  EXPECT_EQ(read_all(b.access_key), range(0, 3));

  // Bad input names its field; unknown names are 404, never a crash.
  r = files(a.access_key, "?numFiles=abc");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json_string(r.body, "field"), "numFiles") << r.body;
  EXPECT_EQ(files(a.access_key, "?numFiles=0").status, 400);
  EXPECT_EQ(files(a.access_key, "?numFiles=-1").status, 400);
  for (const char* bad :
       {"x", "evf_zzzzzzzzzzzzzzzz.ndjson", "evf_0000000000000000.ndjson", "..%2F..%2Fetc"})
    EXPECT_EQ(
      server->call("GET", std::string("/v1/eventfiles/") + bad, "", bearer(b.access_key)).status,
      404)
      << bad;

  // Deleting the subscription ends its key and its files.
  EXPECT_EQ(server->call("DELETE", "/v1/subscriptions/" + b.id).status, 204);
  EXPECT_EQ(files(b.access_key).status, 401);
}

TEST_F(pull, purge_drops_the_files_and_the_open_events) {
  start(small_files);
  auto sub = subscribe();
  publish(0, 4);
  ASSERT_EQ(wait_files(sub.access_key, 2).size(), 2u);
  auto r = server->call("POST", "/v1/subscriptions/" + sub.id + "/purge");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"purged":4})");
  EXPECT_TRUE(names_of(files(sub.access_key).body).empty());
  publish(10, 3);
  ASSERT_EQ(wait_files(sub.access_key, 1).size(), 1u);
  EXPECT_EQ(read_all(sub.access_key), range(10, 3));
}

TEST_F(pull, files_and_open_events_survive_kill9) {
  // Sealed files (6 events) and an open file (2 events) when the process dies.
  start("[pull]\nfile_max_events = 3\nfile_max_age_ms = 600000\n");
  auto sub = subscribe();
  publish(0, 8);
  ASSERT_EQ(wait_files(sub.access_key, 2).size(), 2u);
  auto before = names_of(files(sub.access_key).body);
  server->kill9();

  // After the restart the open file is recovered and seals by age.
  start(small_files);
  auto after = wait_files(sub.access_key, 3);
  ASSERT_EQ(after.size(), 3u) << server->log();
  EXPECT_EQ(after[0], before[0]);
  EXPECT_EQ(after[1], before[1]);
  EXPECT_EQ(read_all(sub.access_key), range(0, 8));
}

TEST_F(pull, access_keys_work_beside_api_tokens) {
  start(large_files + "[auth]\nadmin_tokens = [\"adm-pull-test-token-0123456789\"]\n");
  auto r = server->call("POST", "/v1/subscriptions",
                        R"({"service":"puller","types":["pull.*"],"delivery":"pull"})",
                        {{"Authorization", "Bearer adm-pull-test-token-0123456789"}});
  ASSERT_EQ(r.status, 201) << r.body;
  auto key = json_string(r.body, "accessKey");
  EXPECT_EQ(files(key).status, 200) << "the accessKey is enough for event files";
  EXPECT_EQ(files("adm-pull-test-token-0123456789").status, 401)
    << "an API token is not an accessKey";
  EXPECT_EQ(server->call("GET", "/v1/subscriptions", "", bearer(key)).status, 401)
    << "an accessKey opens nothing else";
}
