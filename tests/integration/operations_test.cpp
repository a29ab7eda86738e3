// Running it in production (docs/api.md §11, docs/operations.md): the log
// lines an operator acts on, in text and JSON, with no secret in them; weak
// tokens refused at start-up; a private data directory; SIGHUP reloads;
// exit codes.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <simdjson.h>
#include <sstream>

#include "../common/child_process.hpp"
#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

const std::string admin_token = "admin-ops-test-token-3f9a0c1e7b";
const std::string publish_token = "publish-ops-test-token-8d2e41a6c9";
const headers_t as_admin = {{"Authorization", "Bearer " + admin_token}};
const headers_t as_publisher = {{"Authorization", "Bearer " + publish_token}};

// One log line: its event name and fields, as either format writes them.
struct log_line {
  std::string raw;
  std::string ts, level, event, msg;
  std::map<std::string, std::string> fields;
};

// Reads a text value at `i` (bare, or quoted with JSON escapes); moves `i` past it.
std::string text_value(const std::string& s, std::size_t& i) {
  std::string out;
  if (i < s.size() && s[i] == '"') {
    for (++i; i < s.size() && s[i] != '"'; ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) {
        ++i;
        out += s[i] == 'n' ? '\n' : s[i] == 't' ? '\t' : s[i];
      } else {
        out += s[i];
      }
    }
    ++i;
  } else {
    while (i < s.size() && s[i] != ' ')
      out += s[i++];
  }
  return out;
}

// Parses one line; nullopt when it is not in the format at all.
std::optional<log_line> parse_line(const std::string& raw, bool json) {
  log_line l;
  l.raw = raw;
  if (json) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(simdjson::padded_string(raw)).get(obj))
      return std::nullopt;
    for (auto [key, value] : obj) {
      std::string_view v;
      if (value.get(v))
        return std::nullopt; // every value is a string
      std::string k(key);
      if (k == "ts")
        l.ts = v;
      else if (k == "level")
        l.level = v;
      else if (k == "event")
        l.event = v;
      else if (k == "msg")
        l.msg = v;
      else
        l.fields[k] = std::string(v);
    }
    return l;
  }
  // <ts> <level> <event>: <message> k=v k="v w"
  static const std::regex head(R"(^(\S+) (\S+) (\S+): (.*)$)");
  std::smatch m;
  if (!std::regex_match(raw, m, head))
    return std::nullopt;
  l.ts = m[1];
  l.level = m[2];
  l.event = m[3];
  std::string rest = m[4];
  // Fields follow the message: find " key=" tokens from the first one on.
  static const std::regex field_start(R"( ([a-z_]+)=)");
  std::smatch f;
  auto first = std::regex_search(rest, f, field_start) ? f.position(0) : rest.size();
  l.msg = rest.substr(0, first);
  std::size_t i = first;
  while (i < rest.size()) {
    auto eq = rest.find('=', i);
    if (rest[i] != ' ' || eq == std::string::npos)
      break;
    std::string key = rest.substr(i + 1, eq - i - 1);
    i = eq + 1;
    l.fields[key] = text_value(rest, i);
  }
  return l;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      out.push_back(line);
  return out;
}

using field_list = std::vector<std::pair<std::string, std::string>>;

bool matches(const log_line& l, const std::string& event, const field_list& want) {
  if (l.event != event)
    return false;
  for (const auto& [k, v] : want) {
    auto it = l.fields.find(k);
    if (it == l.fields.end() || it->second != v)
      return false;
  }
  return true;
}

// Waits until the server's log has a line of `event` with `want`'s fields.
std::optional<log_line> wait_line(const server_process& s, bool json, const std::string& event,
                                  const field_list& want, std::chrono::milliseconds timeout = 15s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    for (const auto& raw : lines_of(s.log()))
      if (auto l = parse_line(raw, json); l && matches(*l, event, want))
        return l;
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < deadline);
  ADD_FAILURE() << "no " << event << " line with the fields wanted; log:\n" << s.log();
  return std::nullopt;
}

std::size_t count_lines(const server_process& s, bool json, const std::string& event,
                        const field_list& want) {
  std::size_t n = 0;
  for (const auto& raw : lines_of(s.log()))
    if (auto l = parse_line(raw, json); l && matches(*l, event, want))
      ++n;
  return n;
}

class log_lines : public ::testing::TestWithParam<std::string> {
protected:
  bool json() const { return GetParam() == "json"; }
  temp_dir dir;
  sink hook;
};

} // namespace

// Everything the brief lists, in one run per format: auth failures,
// subscription changes by token name, verification outcomes, a failure
// streak with the breaker opening and closing, dead letters; then no
// secret of the run appears anywhere in the log.
TEST_P(log_lines, tell_what_happened_without_secrets) {
  const std::string client_secret = "oauth-client-secret-5b7d2f";
  const std::string refresh_token = "oauth-refresh-token-0e4c9a";
  const std::string access_prefix = "oauth-access-token-71f3e8-";
  const std::string api_key = "egress-api-key-c28d4b90";
  const std::string password = "egress-basic-password-a61f07";
  server_process server(dir.path(),
                        "[auth]\nadmin_tokens = [{name = \"ops\", token = \"" + admin_token +
                          "\"}]\npublish_tokens = [\"" + publish_token +
                          "\"]\n[retry]\ninitial_ms = 20\nmax_ms = 200\nmax_age = \"2s\"\n"
                          "breaker_min_attempts = 2\n[log]\nformat = \"" +
                          GetParam() + "\"\nfailure_interval_s = 1\n");
  server.start();
  const bool j = json();

  // An auth failure names the peer, never the token it sent.
  EXPECT_EQ(server.call("GET", "/v1/subscriptions").status, 401);
  EXPECT_EQ(server
              .call("GET", "/v1/subscriptions", "",
                    {{"Authorization", "Bearer " + admin_token + "-near-miss"}})
              .status,
            401);
  wait_line(server, j, "auth.failed", {{"remote", "127.0.0.1"}, {"path", "/v1/subscriptions"}});

  auto create = [&](const std::string& body) {
    auto r = server.call("POST", "/v1/subscriptions", body, as_admin);
    EXPECT_EQ(r.status, 201) << r.body;
    return std::make_pair(json_string(r.body, "id"), json_string(r.body, "privateKey"));
  };
  std::vector<std::string> private_keys;

  // Verification: one that answers the challenge, one that does not.
  auto [verified, verified_key] = create(R"({"service":"s","url":")" + hook.url("/verified") +
                                         R"(","types":["v.*"]})");
  private_keys.push_back(verified_key);
  wait_line(server, j, "subscription.changed",
            {{"change", "created"}, {"subscription", verified}, {"token", "ops"}});
  hook.set_key("/verified", verified_key);
  EXPECT_EQ(server.call("POST", "/v1/subscriptions/" + verified + "/verify", "", as_admin).status,
            200);
  wait_line(server, j, "verification.succeeded",
            {{"subscription", verified}, {"host", "127.0.0.1"}});
  auto [unverified, unverified_key] = create(R"({"service":"s","url":")" + hook.url("/no-key") +
                                             R"(","types":["u.*"]})");
  private_keys.push_back(unverified_key);
  EXPECT_EQ(server.call("POST", "/v1/subscriptions/" + unverified + "/verify", "", as_admin).status,
            422);
  wait_line(server, j, "verification.failed",
            {{"subscription", unverified}, {"reason", "answered HTTP 404 to the challenge"}});

  // A failure streak behind OAuth: starts, the breaker opens and closes, it ends.
  hook.serve_tokens("/token", access_prefix);
  hook.require_bearer("/hook", access_prefix + "1");
  hook.fail_next("/hook", 3, 503);
  auto [streaky, streaky_key] = create(
    R"({"service":"s","url":")" + hook.url("/hook") +
    R"(","types":["o.*"],"verification":"skip","auth":{"authType":"OAuth","authURL":")" +
    hook.url("/token") + R"(","clientID":"client-1","clientSecret":")" + client_secret +
    R"(","refreshToken":")" + refresh_token + R"("}})");
  private_keys.push_back(streaky_key);
  wait_line(server, j, "subscription.changed",
            {{"change", "created"},
             {"subscription", streaky},
             {"token", "ops"},
             {"detail", "host 127.0.0.1"}});
  ASSERT_EQ(server.call("POST", "/v1/events", R"({"type":"o.e","data":{}})", as_publisher).status,
            202);
  ASSERT_TRUE(hook.wait_delivered("/hook", 1)) << server.log();
  wait_line(server, j, "delivery.failing",
            {{"subscription", streaky}, {"host", "127.0.0.1"}, {"error", "HTTP 503"}});
  wait_line(server, j, "breaker.opened", {{"subscription", streaky}, {"host", "127.0.0.1"}});
  wait_line(server, j, "breaker.closed", {{"subscription", streaky}});
  wait_line(server, j, "delivery.recovered", {{"subscription", streaky}, {"failed_attempts", "3"}});
  EXPECT_EQ(count_lines(server, j, "delivery.failing", {{"subscription", streaky}}), 1u)
    << "one start line per streak, however many attempts failed:\n"
    << server.log();

  // Egress API key and Basic auth, delivered with their secrets.
  auto [keyed, keyed_key] = create(
    R"({"service":"s","url":")" + hook.url("/keyed") +
    R"(","types":["k.*"],"verification":"skip","auth":{"authType":"APIKey","APIKey":")" + api_key +
    R"("}})");
  auto [basic, basic_key] = create(
    R"({"service":"s","url":")" + hook.url("/basic") +
    R"(","types":["b.*"],"verification":"skip","auth":{"authType":"Basic","userId":"u","password":")" +
    password + R"("}})");
  private_keys.push_back(keyed_key);
  private_keys.push_back(basic_key);
  ASSERT_EQ(server
              .call("POST", "/v1/events", R"([{"type":"k.e","data":{}},{"type":"b.e","data":{}}])",
                    as_publisher)
              .status,
            202);
  ASSERT_TRUE(hook.wait_delivered("/keyed", 1));
  ASSERT_TRUE(hook.wait_delivered("/basic", 1));

  // Changes, each with what changed and by whom.
  EXPECT_EQ(
    server.call("PATCH", "/v1/subscriptions/" + keyed, R"({"types":["k.*","kk.*"]})", as_admin)
      .status,
    200);
  wait_line(
    server, j, "subscription.changed",
    {{"change", "updated"}, {"subscription", keyed}, {"token", "ops"}, {"detail", "types"}});
  EXPECT_EQ(server.call("POST", "/v1/subscriptions/" + keyed + "/pause", "", as_admin).status, 200);
  wait_line(server, j, "subscription.changed", {{"change", "paused"}, {"subscription", keyed}});
  EXPECT_EQ(server.call("POST", "/v1/subscriptions/" + keyed + "/activate", "", as_admin).status,
            200);
  wait_line(server, j, "subscription.changed", {{"change", "activated"}, {"subscription", keyed}});
  EXPECT_EQ(server.call("DELETE", "/v1/subscriptions/" + basic, "", as_admin).status, 204);
  wait_line(server, j, "subscription.changed",
            {{"change", "deleted"}, {"subscription", basic}, {"token", "ops"}});

  // Dead letters: a receiver that never answers 2xx, past retry.max_age.
  hook.fail_all("/dead", 500);
  auto [dead, dead_key] = create(R"({"service":"s","url":")" + hook.url("/dead") +
                                 R"(","types":["d.*"],"verification":"skip"})");
  private_keys.push_back(dead_key);
  ASSERT_EQ(server.call("POST", "/v1/events", R"({"type":"d.e","data":{}})", as_publisher).status,
            202);
  wait_line(server, j, "delivery.dead_lettered", {{"subscription", dead}, {"events", "1"}});
  EXPECT_LE(count_lines(server, j, "delivery.still_failing", {{"subscription", dead}}) +
              count_lines(server, j, "delivery.failing", {{"subscription", dead}}),
            4u)
    << "failure lines are rate-limited to one a second here:\n"
    << server.log();

  ASSERT_EQ(server.terminate(), 0);
  const auto text = server.log();
  const std::regex iso(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)");
  for (const auto& raw : lines_of(text)) {
    auto l = parse_line(raw, j);
    ASSERT_TRUE(l) << "not a " << GetParam() << " log line: " << raw;
    EXPECT_TRUE(std::regex_match(l->ts, iso)) << raw;
    EXPECT_FALSE(l->event.empty()) << raw;
  }
  std::vector<std::string> secrets = {admin_token,   publish_token, client_secret, refresh_token,
                                      access_prefix, api_key,       password};
  for (const auto& k : private_keys) {
    ASSERT_FALSE(k.empty());
    secrets.push_back(k);
    secrets.push_back(k.substr(6)); // without "whsec_"
  }
  for (const auto& secret : secrets)
    EXPECT_EQ(text.find(secret), std::string::npos) << "the log holds a secret: " << secret << "\n"
                                                    << text;
}

INSTANTIATE_TEST_SUITE_P(formats, log_lines, ::testing::Values("text", "json"));

// The Acoustic registry, the change-notification watcher and push
// associations are changed by a token too: one line each, naming it, and
// never the device token, phone number or address.
TEST_P(log_lines, name_the_token_behind_registry_watcher_and_association_changes) {
  server_process server(dir.path(), "[auth]\nadmin_tokens = [{name = \"ops\", token = \"" +
                                      admin_token + "\"}]\n[log]\nformat = \"" + GetParam() +
                                      "\"\n");
  server.start();
  const bool j = json();
  const std::string type = R"({"code":"cartPurchase","name":"Cart purchase","namespace":"shop"})";
  ASSERT_EQ(server.call("POST", "/v1/eventtype", type, as_admin).status, 201);
  wait_line(server, j, "event_type.changed",
            {{"change", "created"},
             {"code", "cartPurchase"},
             {"type", "shop.cartPurchase"},
             {"token", "ops"}});
  ASSERT_EQ(server.call("POST", "/v1/eventtype", type, as_admin).status, 200);
  wait_line(server, j, "event_type.changed",
            {{"change", "updated"}, {"code", "cartPurchase"}, {"token", "ops"}});
  ASSERT_EQ(server.call("DELETE", "/v1/eventtype/cartPurchase", "", as_admin).body, "true");
  wait_line(server, j, "event_type.changed",
            {{"change", "deleted"}, {"code", "cartPurchase"}, {"token", "ops"}});
  // Deleting what is not there changes nothing, and says nothing.
  ASSERT_EQ(server.call("DELETE", "/v1/eventtype/never", "", as_admin).body, "false");

  const std::string watcher_key = "watcher-notification-key-5e1b";
  ASSERT_EQ(server
              .call("PUT", "/v1/subscription/notification",
                    R"({"notificationKey":")" + watcher_key + R"(","notificationURL":")" +
                      hook.url("/watch?sig=query-secret-77") + R"("})",
                    as_admin)
              .status,
            201);
  wait_line(server, j, "watcher.changed",
            {{"change", "created"}, {"host", "127.0.0.1"}, {"token", "ops"}});
  ASSERT_EQ(server.call("DELETE", "/v1/subscription/notification", "", as_admin).status, 204);
  wait_line(server, j, "watcher.changed", {{"change", "deleted"}, {"token", "ops"}});

  const std::string device = "device-token-3c9e0a7f", phone = "4712345678",
                    email = "someone@example.no";
  ASSERT_EQ(server
              .call("POST", "/v1/association/create",
                    R"({"appId":"app-1","token":")" + device + R"(","association":{"cellphone":")" +
                      phone + R"(","email":")" + email + R"("},"deviceType":"iOS"})",
                    as_admin)
              .status,
            200);
  wait_line(server, j, "association.changed",
            {{"change", "stored"},
             {"app_id", "app-1"},
             {"device_type", "iOS"},
             {"keys", "cellphone,email"},
             {"token", "ops"}});

  ASSERT_EQ(server.terminate(), 0);
  EXPECT_EQ(count_lines(server, j, "event_type.changed", {}), 3u) << server.log();
  for (const auto& secret :
       {admin_token, watcher_key, std::string("query-secret-77"), device, phone, email})
    EXPECT_EQ(server.log().find(secret), std::string::npos) << "the log holds " << secret << ":\n"
                                                            << server.log();
}

namespace {

// Runs `switchyard serve` with `args` until it exits (at most 30 s);
// returns its exit status and fills `output` with what it wrote.
int run_serve(const std::vector<std::string>& args, std::string& output) {
  temp_dir out_dir;
  const std::string out_path = out_dir.path() + "/out";
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv{const_cast<char*>(SWITCHYARD_BIN), const_cast<char*>("serve")};
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    sy::test::close_inherited_descriptors();
    execv(SWITCHYARD_BIN, argv.data());
    _exit(127);
  }
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      std::ifstream f(out_path);
      output.assign(std::istreambuf_iterator<char>(f), {});
      return -1000;
    }
    std::this_thread::sleep_for(20ms);
  }
  std::ifstream f(out_path);
  output.assign(std::istreambuf_iterator<char>(f), {});
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

std::string write_config(const std::string& dir, const std::string& toml) {
  const std::string path = dir + "/serve.toml";
  std::ofstream(path) << "[server]\nlisten = \"127.0.0.1:0\"\nio_threads = 1\nactor_threads = 1\n"
                      << "[storage]\ndata_dir = \"" << dir << "/data\"\n"
                      << toml;
  return path;
}

} // namespace

TEST(start_up, weak_tokens_exit_2_naming_the_key_and_not_the_token) {
  temp_dir dir;
  std::string out;
  auto path = write_config(dir.path(), "[auth]\nadmin_tokens = [\"" + admin_token +
                                         "\"]\npublish_tokens = [\"pub-short-secret\"]\n");
  EXPECT_EQ(run_serve({"--config", path}, out), 2) << out;
  EXPECT_NE(out.find("auth.publish_tokens[0]"), std::string::npos) << out;
  EXPECT_NE(out.find("24"), std::string::npos) << out;
  EXPECT_EQ(out.find("pub-short-secret"), std::string::npos) << out;

  path = write_config(dir.path(), "[auth]\nadmin_tokens = [{name = \"ops\", token = "
                                  "\"change-me-but-quite-long-enough-to-pass\"}]\n");
  EXPECT_EQ(run_serve({"--config", path}, out), 2) << out;
  EXPECT_NE(out.find("auth.admin_tokens[0] (\"ops\")"), std::string::npos) << out;
  EXPECT_NE(out.find("change-me"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data")) << "refused before touching the disk";
}

TEST(start_up, the_shipped_production_file_does_not_start_as_is) {
  temp_dir dir;
  std::string out;
  EXPECT_EQ(run_serve({"--config", SWITCHYARD_SOURCE_DIR "/conf/production.toml", "--data",
                       dir.path() + "/data", "--listen", "127.0.0.1:0"},
                      out),
            2)
    << out;
  EXPECT_NE(out.find("auth.admin_tokens[0]"), std::string::npos) << out;
}

TEST(start_up, bad_configuration_exits_2) {
  temp_dir dir;
  std::string out;
  auto path = write_config(dir.path(), "[log]\nformat = \"xml\"\n");
  EXPECT_EQ(run_serve({"--config", path}, out), 2) << out;
  EXPECT_NE(out.find("log.format"), std::string::npos) << out;
  EXPECT_EQ(run_serve({"--config", dir.path() + "/missing.toml"}, out), 2) << out;
}

TEST(start_up, address_in_use_exits_1) {
  temp_dir dir;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const auto port = std::to_string(ntohs(addr.sin_port));
  std::string out;
  EXPECT_EQ(
    run_serve({"--config", write_config(dir.path(), ""), "--listen", "127.0.0.1:" + port}, out), 1)
    << out;
  EXPECT_NE(out.find("cannot listen on 127.0.0.1:" + port), std::string::npos) << out;
  ::close(fd);
}

TEST(start_up, journal_in_use_exits_1) {
  temp_dir dir;
  server_process first(dir.path());
  first.start();
  std::string out;
  // The same data directory as the running server's.
  EXPECT_EQ(
    run_serve({"--config", write_config(dir.path(), ""), "--data", dir.path() + "/data"}, out), 1)
    << out;
  EXPECT_NE(out.find("storage.error"), std::string::npos) << out;
  EXPECT_EQ(first.call("GET", "/healthz").status, 200) << "the first server is untouched";
}

TEST(start_up, the_data_directory_is_private) {
  temp_dir dir;
  server_process server(dir.path(), "", "");
  server.start();
  sink hook;
  auto r = server.call("POST", "/v1/subscriptions",
                       R"({"service":"s","url":")" + hook.url("/h") +
                         R"(","types":["p.*"],"verification":"skip"})");
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_EQ(
    server.call("POST", "/v1/subscriptions", R"({"service":"p","types":["p.*"],"delivery":"pull"})")
      .status,
    201);
  ASSERT_EQ(server.call("POST", "/v1/events", R"({"type":"p.e","data":{}})").status, 202);
  ASSERT_TRUE(hook.wait_delivered("/h", 1));
  const auto data = dir.path() + "/data";
  struct stat st {};
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data)) {
    ASSERT_EQ(::lstat(entry.path().c_str(), &st), 0);
    if (S_ISDIR(st.st_mode)) {
      EXPECT_EQ(st.st_mode & 0777, 0700u) << entry.path();
    } else {
      ++files;
      EXPECT_EQ(st.st_mode & 0077, 0u)
        << entry.path() << " is readable by others: " << std::oct << (st.st_mode & 0777);
    }
  }
  EXPECT_GT(files, 3u) << "the journal's files were checked";
}

TEST(signals, sighup_reloads_tokens_and_log_level) {
  temp_dir dir;
  const std::string old_token = "old-admin-token-4a1c9e2b7d";
  const std::string new_token = "new-admin-token-9f3b6d0e1a";
  // failure_interval_s = 1: the auth failure below is not held back by the
  // one before it (auth.failed lines are rate-limited per address).
  server_process server(dir.path(), "[auth]\nadmin_tokens = [\"" + old_token +
                                      "\"]\n[log]\nfailure_interval_s = 1\n");
  server.start();
  const headers_t old_h = {{"Authorization", "Bearer " + old_token}};
  const headers_t new_h = {{"Authorization", "Bearer " + new_token}};
  ASSERT_EQ(server.call("GET", "/v1/subscriptions", "", old_h).status, 200);
  ASSERT_EQ(server.call("GET", "/v1/subscriptions", "", new_h).status, 401);

  // Rewrite the file as an operator would, then SIGHUP.
  std::string original;
  {
    std::ifstream f(server.config_path());
    original.assign(std::istreambuf_iterator<char>(f), {});
  }
  auto with_auth = [&](const std::string& auth_and_log) {
    auto text = original;
    text.replace(text.find("[auth]"), std::string::npos, auth_and_log);
    std::ofstream(server.config_path()) << text;
  };
  with_auth("[auth]\nadmin_tokens = [{name = \"rotated\", token = \"" + new_token +
            "\"}]\n[log]\nlevel = \"warn\"\nfailure_interval_s = 1\n");
  server.send_signal(SIGHUP);
  wait_line(server, false, "config.reloaded", {{"admin_tokens", "rotated"}, {"log_level", "warn"}});
  EXPECT_EQ(server.call("GET", "/v1/subscriptions", "", old_h).status, 401);
  EXPECT_EQ(server.call("GET", "/v1/subscriptions", "", new_h).status, 200);
  // warn: a created subscription (info) is no longer logged, an auth failure (warn) is.
  sink hook;
  ASSERT_EQ(server
              .call("POST", "/v1/subscriptions",
                    R"({"service":"s","url":")" + hook.url("/h") +
                      R"(","types":["x.*"],"verification":"skip"})",
                    new_h)
              .status,
            201);
  const auto failures_before = count_lines(server, false, "auth.failed", {});
  // Refused until a line says so (at most one a second per address).
  auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    EXPECT_EQ(server.call("GET", "/v1/subscriptions", "", old_h).status, 401);
    if (count_lines(server, false, "auth.failed", {}) > failures_before)
      break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(count_lines(server, false, "auth.failed", {}), failures_before + 1) << server.log();
  // The auth failure came after the create, in the same log: the create
  // line, had it been written, is there too.
  EXPECT_EQ(count_lines(server, false, "subscription.changed", {}), 0u) << server.log();

  // A bad file on reload: logged, the running configuration stays.
  with_auth("[auth]\nadmin_tokens = [\"short\"]\n");
  server.send_signal(SIGHUP);
  wait_line(server, false, "config.reload_failed", {});
  EXPECT_EQ(server.call("GET", "/v1/subscriptions", "", new_h).status, 200);
  EXPECT_EQ(server.log().find(new_token), std::string::npos);
  EXPECT_EQ(server.log().find("\"short\""), std::string::npos);
  EXPECT_EQ(server.terminate(), 0);
}

// A flood of bad tokens from one address writes one auth.failed line per
// log.failure_interval_s; each line says how many it left out since the
// one before, so lines + left out = requests refused.
TEST(auth_failures, are_logged_once_per_address_per_interval_with_the_count_left_out) {
  temp_dir dir;
  server_process server(dir.path(), "[auth]\nadmin_tokens = [\"" + admin_token +
                                      "\"]\n[log]\nfailure_interval_s = 2\n");
  server.start();
  const headers_t bad = {{"Authorization", "Bearer not-a-token-of-this-server-0000"}};
  auto refused = [&] { EXPECT_EQ(server.call("GET", "/v1/subscriptions", "", bad).status, 401); };
  auto lines = [&] { return count_lines(server, false, "auth.failed", {}); };
  auto accounted = [&] {
    std::size_t n = 0;
    for (const auto& raw : lines_of(server.log()))
      if (auto l = parse_line(raw, false); l && l->event == "auth.failed")
        n += 1 + std::stoul(l->fields.at("suppressed"));
    return n;
  };

  // The line is written before the 401 is sent: counting after the answer
  // needs no wait.
  const auto started = std::chrono::steady_clock::now();
  std::size_t sent = 0;
  for (; sent < 200; ++sent)
    refused();
  const auto took = std::chrono::steady_clock::now() - started;
  const auto burst_lines = lines();
  EXPECT_GE(burst_lines, 1u);
  // One line per started interval at most (a slow machine may see two).
  EXPECT_LE(burst_lines, 1u + static_cast<std::size_t>(took / 2s)) << server.log();

  // Keep knocking until the next interval's line: it counts the rest.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (lines() == burst_lines && std::chrono::steady_clock::now() < deadline) {
    refused();
    ++sent;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(lines(), burst_lines + 1) << server.log();
  EXPECT_EQ(accounted(), sent) << server.log();
  auto last = wait_line(server, false, "auth.failed", {{"remote", "127.0.0.1"}});
  ASSERT_TRUE(last);
  EXPECT_EQ(server.log().find("not-a-token-of-this-server"), std::string::npos);

  // A good token is not held back by the flood.
  EXPECT_EQ(server.call("GET", "/v1/subscriptions", "", as_admin).status, 200);
}

// log.file: lines go to the file (0600), not standard error; after
// logrotate moves it away, SIGHUP opens a new one at the configured path.
TEST(log_file, receives_the_lines_and_is_reopened_on_sighup) {
  temp_dir dir;
  const std::string log_path = dir.path() + "/switchyard.log";
  const std::string config = write_config(
    dir.path(), "[auth]\nadmin_tokens = [{name = \"ops\", token = \"" + admin_token +
                  "\"}]\n[log]\nfile = \"" + log_path + "\"\n");
  const std::string out_path = dir.path() + "/stderr";
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    sy::test::close_inherited_descriptors();
    execl(SWITCHYARD_BIN, SWITCHYARD_BIN, "serve", "--config", config.c_str(), nullptr);
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  auto read = [](const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  // Waits until the file at `path` holds `text`; returns what it holds.
  auto wait_text = [&](const std::string& path, const std::string& text) {
    auto deadline = std::chrono::steady_clock::now() + 15s;
    std::string got;
    while ((got = read(path)).find(text) == std::string::npos &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    return got;
  };
  auto text = wait_text(log_path, "listening on");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(listening on 127\.0\.0\.1:(\d+))")))
    << text << read(out_path);
  const auto port = static_cast<uint16_t>(std::stoi(m[1]));
  struct stat st {};
  ASSERT_EQ(::stat(log_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // logrotate: move the file away, then SIGHUP.
  const std::string rotated = log_path + ".1";
  std::filesystem::rename(log_path, rotated);
  EXPECT_EQ(http_call(port, "POST", "/v1/eventtype", R"({"code":"before","name":"b"})",
                      {{"Authorization", "Bearer " + admin_token}})
              .status,
            201);
  EXPECT_NE(wait_text(rotated, "event_type.changed").find("code=before"), std::string::npos);
  ASSERT_EQ(::kill(pid, SIGHUP), 0);
  auto fresh = wait_text(log_path, "config.reloaded");
  EXPECT_NE(fresh.find("config.reloaded"), std::string::npos) << fresh;
  ASSERT_EQ(::stat(log_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(http_call(port, "POST", "/v1/eventtype", R"({"code":"after","name":"a"})",
                      {{"Authorization", "Bearer " + admin_token}})
              .status,
            201);
  fresh = wait_text(log_path, "code=after");
  EXPECT_NE(fresh.find("code=after"), std::string::npos) << fresh;

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  fresh = read(log_path);
  EXPECT_NE(fresh.find("server.stopped"), std::string::npos) << fresh;
  // Each line went to one file: the old one has nothing from after the move's SIGHUP.
  const auto old_text = read(rotated);
  EXPECT_EQ(old_text.find("code=after"), std::string::npos) << old_text;
  EXPECT_EQ(old_text.find("server.stopped"), std::string::npos) << old_text;
  EXPECT_EQ(read(out_path).find("listening on"), std::string::npos)
    << "lines went to standard error too";
}

TEST(log_file, that_cannot_be_opened_stops_the_start_naming_the_key) {
  temp_dir dir;
  std::string out;
  const auto config = write_config(dir.path(), "[log]\nfile = \"" + dir.path() +
                                                 "/no/such/dir/switchyard.log\"\n");
  EXPECT_EQ(run_serve({"--config", config}, out), 1) << out;
  EXPECT_NE(out.find("log.file"), std::string::npos) << out;
}
