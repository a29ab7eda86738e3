// The client commands of API.md §7 against a served instance: the real
// binary as a child process; exit codes, --json output and what the server
// holds afterwards.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "../common/child_process.hpp"
#include "harness.hpp"

#ifndef SWITCHYARD_BIN
#error "SWITCHYARD_BIN must name the switchyard binary"
#endif

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// The switchyard binary running a client command, its standard input
/// from a file and its output into files; killed if still running at the end.
class cli_process {
public:
  cli_process(const std::vector<std::string>& args, const std::string& stdin_text,
              const std::vector<std::pair<std::string, std::string>>& env = {}) {
    static int counter = 0;
    auto base = dir_.path() + "/run" + std::to_string(++counter);
    in_ = base + ".in";
    out_ = base + ".out";
    err_ = base + ".err";
    std::ofstream(in_) << stdin_text;
    std::vector<std::string> argv_s{SWITCHYARD_BIN};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    pid_ = fork();
    if (pid_ == 0) {
      int in = ::open(in_.c_str(), O_RDONLY);
      int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(in, 0);
      dup2(out, 1);
      dup2(err, 2);
      ::unsetenv("SWITCHYARD_URL");
      ::unsetenv("SWITCHYARD_TOKEN");
      for (const auto& [k, v] : env)
        ::setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> argv;
      for (auto& a : argv_s)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      sy::test::close_inherited_descriptors();
      execv(SWITCHYARD_BIN, argv.data());
      _exit(127);
    }
  }
  ~cli_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  /// Waits for the exit; returns the status, or -1000 (after SIGKILL) past the deadline.
  int wait(std::chrono::milliseconds timeout = 30s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        pid_ = -1;
        return -1000;
      }
      std::this_thread::sleep_for(5ms);
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  void signal(int sig) { ::kill(pid_, sig); }
  std::string out() const { return read_file(out_); }
  std::string err() const { return read_file(err_); }

  /// Waits until `stream()` matches `re`; returns the match, empty past the deadline.
  std::smatch wait_for(std::string (cli_process::*stream)() const, const std::regex& re,
                       std::string& text, std::chrono::milliseconds timeout = 30s) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::smatch m;
    while (std::chrono::steady_clock::now() < deadline) {
      text = (this->*stream)();
      if (std::regex_search(text, m, re))
        return m;
      std::this_thread::sleep_for(10ms);
    }
    return {};
  }

private:
  temp_dir dir_;
  std::string in_, out_, err_;
  int pid_ = -1;
};

struct cli_result {
  int status = -1;
  std::string out, err;
};

cli_result run_cli(const std::vector<std::string>& args, const std::string& stdin_text = "",
                   const std::vector<std::pair<std::string, std::string>>& env = {}) {
  cli_process p(args, stdin_text, env);
  cli_result r;
  r.status = p.wait();
  r.out = p.out();
  r.err = p.err();
  return r;
}

std::string describe(const cli_result& r) {
  return "exit " + std::to_string(r.status) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

// Returns how many elements the JSON array `json` (or its `key` member) has; -1 if none.
int64_t array_size(const std::string& json, const char* key = nullptr) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  simdjson::dom::array a;
  if (p.parse(json).get(doc))
    return -1;
  if ((key ? doc[key] : doc).get_array().get(a))
    return -1;
  return static_cast<int64_t>(a.size());
}

class cli_client : public ::testing::Test {
protected:
  void SetUp() override {
    server = std::make_unique<server_process>(dir.path(),
                                              "[retry]\ninitial_ms = 50\nmax_ms = 400\n");
    server->start();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }

  // Runs a client command against the test server with --json.
  cli_result client(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.push_back("--server");
    args.push_back(url());
    args.push_back("--json");
    return run_cli(args, stdin_text);
  }

  temp_dir dir;
  sink hook;
  std::unique_ptr<server_process> server;
};

} // namespace

TEST_F(cli_client, subscription_lifecycle_with_exit_codes) {
  auto created = client({"subscriptions", "create", "--service", "shop", "--url", hook.url("/a"),
                         "--types", "a.*", "b.**", "--country", "NO"});
  ASSERT_EQ(created.status, 0) << describe(created);
  auto id = json_string(created.out, "id");
  auto key = json_string(created.out, "privateKey");
  ASSERT_FALSE(id.empty()) << created.out;
  EXPECT_EQ(json_string(created.out, "state"), "pending_verification");
  EXPECT_EQ(key.rfind("whsec_", 0), 0u) << created.out;

  auto ls = client({"subscriptions", "ls"});
  ASSERT_EQ(ls.status, 0) << describe(ls);
  EXPECT_EQ(array_size(ls.out), 1) << ls.out;
  EXPECT_NE(ls.out.find(id), std::string::npos);

  auto got = client({"subscriptions", "get", id});
  ASSERT_EQ(got.status, 0) << describe(got);
  EXPECT_EQ(json_string(got.out, "country"), "NO");
  EXPECT_NE(got.out.find(R"("types":["a.*","b.**"])"), std::string::npos) << got.out;

  // Pausing before verification is a state conflict: the server's 409, exit 1.
  auto early = client({"subscriptions", "pause", id});
  EXPECT_EQ(early.status, 1) << describe(early);
  EXPECT_NE(early.err.find("409"), std::string::npos) << early.err;
  EXPECT_EQ(json_string(server->call("GET", "/v1/subscriptions/" + id).body, "state"),
            "pending_verification");

  // Verification fails while the endpoint cannot answer the challenge.
  auto refused = client({"subscriptions", "verify", id});
  EXPECT_EQ(refused.status, 1) << describe(refused);
  EXPECT_NE(refused.err.find("422"), std::string::npos) << refused.err;

  hook.set_key("/a", key);
  auto verified = client({"subscriptions", "verify", id});
  ASSERT_EQ(verified.status, 0) << describe(verified);
  EXPECT_EQ(json_string(verified.out, "state"), "active");
  auto paused = client({"subscriptions", "pause", id});
  ASSERT_EQ(paused.status, 0) << describe(paused);
  EXPECT_EQ(json_string(paused.out, "state"), "paused");
  auto active = client({"subscriptions", "activate", id});
  ASSERT_EQ(active.status, 0) << describe(active);
  EXPECT_EQ(json_string(active.out, "state"), "active");
  auto purged = client({"subscriptions", "purge", id});
  ASSERT_EQ(purged.status, 0) << describe(purged);
  EXPECT_NE(purged.out.find(R"("purged":0)"), std::string::npos) << purged.out;

  auto dead = client({"dead-letters", "ls", id});
  ASSERT_EQ(dead.status, 0) << describe(dead);
  EXPECT_EQ(array_size(dead.out), 0) << dead.out;
  auto replay = client({"dead-letters", "replay", id});
  ASSERT_EQ(replay.status, 0) << describe(replay);
  EXPECT_NE(replay.out.find(R"("replayed":0)"), std::string::npos) << replay.out;
  // Bounds go to the server as the replay body; a bad one is the server's 422.
  auto bounded = client({"dead-letters", "replay", id, "--since", "2026-01-01T00:00:00Z", "--until",
                         "2026-01-02T00:00:00Z"});
  ASSERT_EQ(bounded.status, 0) << describe(bounded);
  EXPECT_NE(bounded.out.find(R"("replayed":0)"), std::string::npos) << bounded.out;
  auto bad_bound = client({"dead-letters", "replay", id, "--since", "yesterday"});
  EXPECT_EQ(bad_bound.status, 1) << describe(bad_bound);
  EXPECT_NE(bad_bound.err.find("since"), std::string::npos) << bad_bound.err;
  auto paged = client(
    {"dead-letters", "ls", id, "--limit", "5", "--after", "evt_0000000000000001"});
  ASSERT_EQ(paged.status, 0) << describe(paged);
  EXPECT_EQ(array_size(paged.out), 0) << paged.out;

  auto rm = client({"subscriptions", "rm", id});
  ASSERT_EQ(rm.status, 0) << describe(rm);
  EXPECT_EQ(server->call("GET", "/v1/subscriptions/" + id).status, 404);
  auto gone = client({"subscriptions", "get", id});
  EXPECT_EQ(gone.status, 1) << describe(gone);
  EXPECT_NE(gone.err.find("404"), std::string::npos) << gone.err;
}

TEST_F(cli_client, server_error_is_printed_with_its_status) {
  auto r = client(
    {"subscriptions", "create", "--service", "shop", "--url", hook.url("/a"), "--country", "no"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("422"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("country"), std::string::npos) << r.err;
  EXPECT_EQ(array_size(server->call("GET", "/v1/subscriptions").body), 0);
}

TEST_F(cli_client, publish_one_event_and_ndjson_batches) {
  auto sub = client({"subscriptions", "create", "--service", "s", "--url", hook.url("/p"),
                     "--types", "shop.*", "--skip-verification"});
  ASSERT_EQ(sub.status, 0) << describe(sub);

  auto one = client(
    {"publish", "--type", "shop.Purchase", "--country", "NO", "--data", R"({"total":12.5})"});
  ASSERT_EQ(one.status, 0) << describe(one);
  ASSERT_EQ(array_size(one.out, "ids"), 1) << one.out;
  ASSERT_TRUE(hook.wait_delivered("/p", 1));
  auto d = hook.delivered("/p")[0];
  EXPECT_EQ(json_string(d.body, "type"), "shop.Purchase");
  EXPECT_EQ(json_string(d.body, "country"), "NO");
  EXPECT_NE(d.body.find(R"("data":{"total":12.5})"), std::string::npos) << d.body;

  // Three events and a blank line on stdin: one batch, three ids, three deliveries.
  auto few = client({"publish"},
                    "{\"type\":\"shop.a\"}\n\n{\"type\":\"shop.b\",\"data\":{\"k\":1}}\n"
                    "{\"type\":\"shop.c\",\"country\":\"GB\"}\n");
  ASSERT_EQ(few.status, 0) << describe(few);
  EXPECT_EQ(array_size(few.out, "ids"), 3) << few.out;
  ASSERT_TRUE(hook.wait_delivered("/p", 4));

  // More events than one batch holds: every one accepted, ids in order.
  std::string many;
  const int n = 1234;
  for (int i = 0; i < n; ++i)
    many += R"({"type":"bulk.x","id":"bulk-)" + std::to_string(i) + "\"}\n";
  auto bulk = client({"publish"}, many);
  ASSERT_EQ(bulk.status, 0) << describe(bulk);
  EXPECT_EQ(array_size(bulk.out, "ids"), n) << bulk.out.substr(0, 200);
  std::string metrics = server->call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("switchyard_events_ingested_total " + std::to_string(n + 4)),
            std::string::npos)
    << metrics.substr(0, 2000);

  // A line that is not JSON is refused before anything is sent.
  auto bad = client({"publish"}, "{\"type\":\"shop.z\"}\n{nope\n");
  EXPECT_EQ(bad.status, 2) << describe(bad);
  EXPECT_NE(bad.err.find("line 2"), std::string::npos) << bad.err;
  // An event the server refuses is traced back to its input line.
  auto refused = client({"publish"}, "{\"type\":\"shop.z\"}\n\n{\"type\":\"shop..z\"}\n");
  EXPECT_EQ(refused.status, 1) << describe(refused);
  EXPECT_NE(refused.err.find("line 3"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("422"), std::string::npos) << refused.err;
  auto bad_data = client({"publish", "--type", "shop.a", "--data", "[1]"});
  EXPECT_EQ(bad_data.status, 2) << describe(bad_data);
  EXPECT_NE(bad_data.err.find("--data"), std::string::npos) << bad_data.err;
  // Nothing from the refused runs was delivered.
  metrics = server->call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("switchyard_events_ingested_total " + std::to_string(n + 4)),
            std::string::npos);
}

TEST_F(cli_client, listen_receives_checks_both_signatures_and_unsubscribes_on_sigterm) {
  cli_process listen({"listen", "--port", "0", "--types", "live.*", "--json", "--server", url()},
                     "");
  std::string err;
  auto active = listen.wait_for(&cli_process::err, std::regex(R"(subscription (\S+) is active)"),
                                err);
  ASSERT_FALSE(active.empty()) << err;
  const std::string id = active[1];
  std::smatch port;
  ASSERT_TRUE(std::regex_search(err, port, std::regex(R"(port (\d+))"))) << err;
  EXPECT_GT(std::stoi(port[1]), 0);
  EXPECT_EQ(json_string(server->call("GET", "/v1/subscriptions/" + id).body, "state"), "active");

  auto r = server->call("POST", "/v1/events",
                        R"({"type":"live.hello","country":"NO","data":{"n":7}})");
  ASSERT_EQ(r.status, 202) << r.body;
  simdjson::dom::parser p;
  std::string_view event_id = p.parse(r.body)["ids"].at(0).get_string().value();
  const std::string eid(event_id);

  std::string out;
  auto line = listen.wait_for(&cli_process::out, std::regex("[^\n]*" + eid + "[^\n]*\n"), out);
  ASSERT_FALSE(line.empty()) << out << listen.err();
  simdjson::dom::parser lp;
  auto doc = lp.parse(line[0].str());
  EXPECT_EQ(doc["signatures"]["notificare"].get_bool().value(), true) << line[0];
  EXPECT_EQ(doc["signatures"]["standard_webhooks"].get_bool().value(), true) << line[0];
  EXPECT_EQ(doc["event"]["type"].get_string().value(), "live.hello");
  EXPECT_EQ(doc["event"]["id"].get_string().value(), eid);
  EXPECT_EQ(simdjson::minify(doc["event"]["data"]), R"({"n":7})");
  // The delivery was answered 2xx.
  auto stats = server->wait_for_text("/v1/subscriptions/" + id, R"("delivered":1)");
  EXPECT_NE(stats.find(R"("delivered":1)"), std::string::npos) << stats;

  listen.signal(SIGTERM);
  EXPECT_EQ(listen.wait(20s), 0) << listen.err();
  EXPECT_EQ(server->call("GET", "/v1/subscriptions/" + id).status, 404);
  EXPECT_NE(listen.err().find("deleted subscription " + id), std::string::npos) << listen.err();
}

TEST_F(cli_client, listen_stops_on_sigint_too) {
  cli_process listen({"listen", "--port", "0", "--server", url()}, "");
  std::string err;
  auto active = listen.wait_for(&cli_process::err, std::regex(R"(subscription (\S+) is active)"),
                                err);
  ASSERT_FALSE(active.empty()) << err;
  listen.signal(SIGINT);
  EXPECT_EQ(listen.wait(20s), 0) << listen.err();
  EXPECT_EQ(server->call("GET", "/v1/subscriptions/" + std::string(active[1])).status, 404);
}

TEST_F(cli_client, listen_without_a_server_fails_with_exit_1) {
  auto port = server->port();
  server->terminate();
  auto r = run_cli(
    {"listen", "--port", "0", "--server", "http://127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(r.status, 1) << describe(r);
}

TEST_F(cli_client, health_and_the_environment_variables) {
  auto ok = run_cli({"health", "--json"}, "", {{"SWITCHYARD_URL", url()}});
  ASSERT_EQ(ok.status, 0) << describe(ok);
  simdjson::dom::parser p;
  auto doc = p.parse(ok.out);
  EXPECT_EQ(doc["healthz"]["status"].get_int64().value(), 200) << ok.out;
  EXPECT_EQ(doc["readyz"]["status"].get_int64().value(), 200) << ok.out;

  auto port = server->port();
  server->terminate();
  auto down = run_cli({"health", "--json", "--server", "http://127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(down.status, 1) << describe(down);
}

TEST(cli_client_auth, token_from_flag_or_environment) {
  temp_dir dir;
  server_process server(dir.path(),
                        "[auth]\nadmin_tokens = [\"t0ken-cli-client-test-0123456789\"]\n");
  server.start();
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  auto none = run_cli({"subscriptions", "ls", "--json", "--server", url});
  EXPECT_EQ(none.status, 1) << describe(none);
  EXPECT_NE(none.err.find("401"), std::string::npos) << none.err;
  auto flag = run_cli({"subscriptions", "ls", "--json", "--server", url, "--token",
                       "t0ken-cli-client-test-0123456789"});
  EXPECT_EQ(flag.status, 0) << describe(flag);
  EXPECT_EQ(flag.out, "[]\n");
  auto env = run_cli(
    {"subscriptions", "ls", "--json"}, "",
    {{"SWITCHYARD_URL", url}, {"SWITCHYARD_TOKEN", "t0ken-cli-client-test-0123456789"}});
  EXPECT_EQ(env.status, 0) << describe(env);
}

// The Standard Webhooks specification's example: secret, id, timestamp,
// payload and the signature its reference libraries compute.
TEST(cli_signatures, sign_and_verify_known_answer) {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  const std::string ts = "1614265330";
  const std::string body = R"({"test": 2432232314})";
  const std::string standard = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  // Cross-checked with OpenSSL directly, independently of switchyard's code.
  ASSERT_EQ(standard, "v1," + hmac_b64(unbase64(secret.substr(6)), id + "." + ts + "." + body));
  const std::string notificare = hmac_b64(secret, body);

  auto signed_ = run_cli({"sign", "--secret", secret, "--id", id, "--timestamp", ts, "--json"},
                         body);
  ASSERT_EQ(signed_.status, 0) << describe(signed_);
  EXPECT_EQ(json_string(signed_.out, "webhook-signature"), standard) << signed_.out;
  EXPECT_EQ(json_string(signed_.out, "x-notificare-signature"), notificare) << signed_.out;

  auto check = [&](std::vector<std::string> flags, const std::string& input) {
    std::vector<std::string> args{"verify-signature", "--secret", secret, "--id", id,
                                  "--timestamp",      ts};
    args.insert(args.end(), flags.begin(), flags.end());
    return run_cli(args, input);
  };
  EXPECT_EQ(check({"--signature", standard}, body).status, 0);
  EXPECT_EQ(check({"--signature", "v1,AAAA " + standard}, body).status, 0);
  EXPECT_EQ(check({"--notificare-signature", notificare}, body).status, 0);
  auto tampered = R"({"test": 2432232315})";
  auto bad = check({"--signature", standard}, tampered);
  EXPECT_EQ(bad.status, 1) << describe(bad);
  EXPECT_EQ(bad.out, "{\"valid\":false}\n");
  EXPECT_EQ(check({"--notificare-signature", notificare}, tampered).status, 1);
  EXPECT_EQ(check({"--signature", "v1,AAAA"}, body).status, 1);
  // Another timestamp is another signature.
  EXPECT_EQ(run_cli({"verify-signature", "--secret", secret, "--id", id, "--timestamp",
                     "1614265331", "--signature", standard},
                    body)
              .status,
            1);
  // Usage errors: no signature, both, a secret that is not whsec_.
  EXPECT_EQ(check({}, body).status, 2);
  EXPECT_EQ(check({"--signature", standard, "--notificare-signature", notificare}, body).status, 2);
  EXPECT_EQ(run_cli({"sign", "--secret", "hunter2", "--id", id, "--timestamp", ts}, body).status,
            2);
  EXPECT_EQ(run_cli({"sign", "--secret", secret, "--id", id, "--timestamp", "soon"}, body).status,
            2);
}

TEST(cli_config, check_names_the_bad_key) {
  temp_dir dir;
  auto good = dir.path() + "/good.toml";
  std::ofstream(good) << "[retry]\ninitial_ms = 5\n[delivery]\ntimeout_ms = 2000\n";
  auto r = run_cli({"config", "check", good});
  EXPECT_EQ(r.status, 0) << describe(r);

  auto unknown = dir.path() + "/unknown.toml";
  std::ofstream(unknown) << "[retry]\ninitial_msec = 5\n";
  r = run_cli({"config", "check", unknown});
  EXPECT_EQ(r.status, 2) << describe(r);
  EXPECT_NE(r.err.find("retry.initial_msec"), std::string::npos) << r.err;

  auto open = dir.path() + "/open.toml";
  std::ofstream(open) << "[server]\nlisten = \"0.0.0.0:8080\"\n";
  r = run_cli({"config", "check", open});
  EXPECT_EQ(r.status, 2) << describe(r);

  r = run_cli({"config", "check", dir.path() + "/missing.toml"});
  EXPECT_EQ(r.status, 2) << describe(r);
}

TEST(cli_usage, errors_exit_2) {
  EXPECT_EQ(run_cli({}).status, 2);
  EXPECT_EQ(run_cli({"subscriptions"}).status, 2);
  EXPECT_EQ(run_cli({"subscriptions", "get"}).status, 2);
  EXPECT_EQ(run_cli({"subscriptions", "create", "--service", "x"}).status, 2);
  EXPECT_EQ(run_cli({"subscriptions", "frobnicate"}).status, 2);
  EXPECT_EQ(run_cli({"listen"}).status, 2);
  EXPECT_EQ(run_cli({"listen", "--port", "70000"}).status, 2);
  auto bad_url = run_cli({"health", "--server", "ftp://example.com"});
  EXPECT_EQ(bad_url.status, 2) << describe(bad_url);
  EXPECT_NE(bad_url.err.find("--server"), std::string::npos) << bad_url.err;
  // publish with no --type and nothing on stdin.
  EXPECT_EQ(run_cli({"publish", "--server", "http://127.0.0.1:9"}).status, 2);
  EXPECT_EQ(run_cli({"--help"}).status, 0);
}

TEST(cli_client_tls, https_server_trusted_through_cacert) {
  temp_dir dir;
  test_pki pki;
  auto leaf = pki.leaf("switchyard", "IP:127.0.0.1");
  server_process server(dir.path(), "",
                        "tls_cert = \"" + leaf.first + "\"\ntls_key = \"" + leaf.second + "\"\n");
  server.use_tls(pki.ca_file());
  server.start();
  std::string url = "https://127.0.0.1:" + std::to_string(server.port());

  auto trusted = run_cli({"health", "--json", "--server", url, "--cacert", pki.ca_file()});
  EXPECT_EQ(trusted.status, 0) << describe(trusted);
  auto from_env = run_cli({"subscriptions", "ls", "--json", "--server", url}, "",
                          {{"SWITCHYARD_CACERT", pki.ca_file()}});
  EXPECT_EQ(from_env.status, 0) << describe(from_env);
  EXPECT_EQ(from_env.out, "[]\n") << describe(from_env);
  // Without the CA the certificate is not trusted.
  auto untrusted = run_cli({"subscriptions", "ls", "--json", "--server", url});
  EXPECT_EQ(untrusted.status, 1) << describe(untrusted);
  EXPECT_NE(untrusted.err.find("certificate verify failed"), std::string::npos)
    << describe(untrusted);
  // A --cacert that does not exist is a usage error naming the option.
  auto missing = run_cli(
    {"subscriptions", "ls", "--server", url, "--cacert", dir.path() + "/nope.pem"});
  EXPECT_EQ(missing.status, 2) << describe(missing);
  EXPECT_NE(missing.err.find("--cacert"), std::string::npos) << describe(missing);
}

TEST_F(cli_client, backup_writes_a_data_directory_that_a_server_serves) {
  auto created = client(
    {"subscriptions", "create", "--service", "b", "--url", hook.url("/a"), "--skip-verification"});
  ASSERT_EQ(created.status, 0) << describe(created);
  auto id = json_string(created.out, "id");
  temp_dir restore;
  auto r = client({"backup", restore.path() + "/data"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(json_string(r.out, "path"), restore.path() + "/data");
  // Into an existing directory: refused, exit 1, the reason on stderr.
  auto again = client({"backup", restore.path() + "/data"});
  EXPECT_EQ(again.status, 1) << describe(again);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << describe(again);

  server_process restored(restore.path());
  restored.start();
  EXPECT_EQ(restored.call("GET", "/v1/subscriptions/" + id).status, 200);
}
