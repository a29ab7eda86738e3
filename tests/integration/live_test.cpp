// The console's API (docs/api.md "Console and live observation") against
// the real binary: GET /v1/stream (Server-Sent Events), the attempts of a
// subscription, and rotate-keys with its grace period.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "../common/child_process.hpp"
#include "harness.hpp"
#include "stream_client.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

class live : public ::testing::Test {
protected:
  void start(const std::string& toml = "") {
    server = std::make_unique<server_process>(dir.path(), toml);
    server->start();
  }

  // Creates a subscription to the sink's `path` and verifies it; returns
  // the creation's body (id and privateKey).
  std::string subscribe(const std::string& path) {
    auto r = server->call("POST", "/v1/subscriptions",
                          R"({"service":"live test","url":")" + hook.url(path) + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    hook.set_key(path, json_string(r.body, "privateKey"));
    auto v = server->call("POST", "/v1/subscriptions/" + json_string(r.body, "id") + "/verify");
    EXPECT_EQ(v.status, 200) << v.body;
    return r.body;
  }

  std::string publish(const std::string& type) {
    auto r = server->call("POST", "/v1/events", R"({"type":")" + type + R"(","data":{"k":1}})");
    EXPECT_EQ(r.status, 202) << r.body;
    auto at = r.body.find("evt_");
    return at == std::string::npos ? "" : r.body.substr(at, 20);
  }

  temp_dir dir;
  sink hook;
  std::unique_ptr<server_process> server;
};

// Returns the signatures of a webhook-signature value, in order.
std::vector<std::string> signatures(const std::string& header) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto sp = header.find(' ', pos);
    out.push_back(header.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos));
    if (sp == std::string::npos)
      break;
    pos = sp + 1;
  }
  return out;
}

// Returns the Standard Webhooks signature of delivery `r` with key `whsec`.
std::string standard_signature(const sink_request& r, const std::string& whsec) {
  return "v1," +
         hmac_b64(unbase64(whsec.substr(6)),
                  r.header("webhook-id") + "." + r.header("webhook-timestamp") + "." + r.body);
}

// `switchyard <args>` with its output in files; killed if still running.
class cli_run {
public:
  explicit cli_run(const std::vector<std::string>& args) {
    out_ = dir_.path() + "/out";
    err_ = dir_.path() + "/err";
    std::vector<std::string> argv_s{SWITCHYARD_BIN};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    pid_ = fork();
    if (pid_ == 0) {
      int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(out, 1);
      dup2(err, 2);
      ::unsetenv("SWITCHYARD_URL");
      ::unsetenv("SWITCHYARD_TOKEN");
      std::vector<char*> argv;
      for (auto& a : argv_s)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      sy::test::close_inherited_descriptors();
      execv(SWITCHYARD_BIN, argv.data());
      _exit(127);
    }
  }
  ~cli_run() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  cli_run(const cli_run&) = delete;
  cli_run& operator=(const cli_run&) = delete;

  /// Waits for the exit; the status, or -1000 (after SIGKILL) past the deadline.
  int wait(std::chrono::milliseconds timeout = 20s) {
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
  std::string out() const { return read(out_); }
  std::string err() const { return read(err_); }

private:
  static std::string read(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  temp_dir dir_;
  std::string out_, err_;
  int pid_ = -1;
};

} // namespace

TEST_F(live, stream_shows_stats_state_changes_and_attempts) {
  start();
  stream_client stream(server->port());
  ASSERT_TRUE(stream.wait_for("event: stats\ndata: {\"subscriptions\":[")) << stream.received();
  EXPECT_NE(stream.received().find("Content-Type: text/event-stream"), std::string::npos);

  auto id = json_string(subscribe("/s"), "id");
  ASSERT_TRUE(stream.wait_for(R"({"subscription":")" + id + R"(","change":"created")"))
    << stream.received();
  ASSERT_TRUE(stream.wait_for(R"({"subscription":")" + id + R"(","change":"verified")"))
    << stream.received();
  // The stats of the next second list it.
  ASSERT_TRUE(stream.wait_for(R"({"id":")" + id + R"(","state":"active","stats":{)"))
    << stream.received();

  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + id + "/pause").status, 200);
  EXPECT_TRUE(stream.wait_for("event: state\ndata: {\"subscription\":\"" + id +
                              R"(","change":"paused","state":"paused"})"))
    << stream.received();
  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + id + "/activate").status, 200);
  EXPECT_TRUE(stream.wait_for(R"("change":"activated","state":"active"})")) << stream.received();

  auto event = publish("live.test");
  ASSERT_TRUE(hook.wait_delivered("/s", 1));
  EXPECT_TRUE(stream.wait_for("event: attempt\ndata: {\"subscription\":\"" + id +
                              R"(","event_id":")" + event +
                              R"(","type":"live.test","attempt":1,"at":")"))
    << stream.received();
  EXPECT_TRUE(stream.wait_for(R"("status":200,"error":null})")) << stream.received();
}

TEST_F(live, stream_of_one_subscription_shows_only_it) {
  start();
  auto a = json_string(subscribe("/a"), "id");
  auto b = json_string(subscribe("/b"), "id");
  stream_client stream(server->port(), "/v1/stream?subscription=" + b);
  ASSERT_TRUE(stream.wait_for(R"(data: {"subscriptions":[{"id":")" + b + R"(",)"))
    << stream.received();
  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + a + "/pause").status, 200);
  ASSERT_EQ(server->call("POST", "/v1/subscriptions/" + b + "/pause").status, 200);
  ASSERT_TRUE(stream.wait_for(R"("change":"paused")")) << stream.received();
  EXPECT_EQ(stream.received().find(a), std::string::npos) << stream.received();

  auto missing = server->call("GET", "/v1/stream?subscription=sub_nosuch");
  EXPECT_EQ(missing.status, 404) << missing.body;
  auto typo = server->call("GET", "/v1/stream?subscriptions=" + a);
  EXPECT_EQ(typo.status, 400) << typo.body;
  EXPECT_NE(typo.body.find("did you mean \\\"subscription\\\""), std::string::npos) << typo.body;
}

TEST_F(live, streams_beyond_console_max_streams_get_503_with_retry_after) {
  start("[console]\nmax_streams = 2\n");
  auto first = std::make_unique<stream_client>(server->port());
  stream_client second(server->port());
  ASSERT_TRUE(first->wait_for("event: stats"));
  ASSERT_TRUE(second.wait_for("event: stats"));
  auto refused = server->call("GET", "/v1/stream");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.header("Retry-After"), "1");
  EXPECT_NE(refused.body.find("console.max_streams"), std::string::npos) << refused.body;

  // A stream whose client went away gives its place back (seen at its next
  // write, within a second or two).
  first.reset();
  auto deadline = std::chrono::steady_clock::now() + 15s;
  std::unique_ptr<stream_client> third;
  while (std::chrono::steady_clock::now() < deadline) {
    third = std::make_unique<stream_client>(server->port());
    if (third->wait_for("\r\n\r\n", 5s) && third->received().rfind("HTTP/1.1 200", 0) == 0)
      break;
    third.reset();
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(third) << "no stream accepted after one closed";
  EXPECT_TRUE(third->wait_for("event: stats"));
}

TEST_F(live, sigterm_ends_open_streams_and_the_server_exits_promptly) {
  start();
  stream_client a(server->port());
  stream_client b(server->port());
  ASSERT_TRUE(a.wait_for("event: stats"));
  ASSERT_TRUE(b.wait_for("event: stats"));
  auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(server->terminate(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  // Each body ended with the last chunk before the connection closed.
  EXPECT_TRUE(a.wait_closed(5s));
  EXPECT_NE(a.received().find("\r\n0\r\n\r\n"), std::string::npos) << a.received();
  EXPECT_TRUE(b.wait_closed(5s));
}

TEST_F(live, attempts_show_the_status_and_error_of_a_failing_endpoint) {
  start("[retry]\ninitial_ms = 100\nmax_ms = 200\n");
  auto id = json_string(subscribe("/f"), "id");
  hook.fail_all("/f", 500);
  auto event = publish("live.failing");
  auto target = "/v1/subscriptions/" + id + "/attempts";
  // Newest first: the second attempt of the event comes before its first.
  auto body = server->wait_for_text(target, R"("attempt":2,)");
  EXPECT_NE(
    body.find(R"({"attempts":[{"event_id":")" + event + R"(","type":"live.failing","attempt":)"),
    std::string::npos)
    << body;
  EXPECT_NE(body.find(R"("status":500,"error":"HTTP 500","response_excerpt":")"), std::string::npos)
    << body;
  EXPECT_LT(body.find(R"("attempt":2,)"), body.find(R"("attempt":1,)")) << body;

  auto one = server->call("GET", target + "?limit=1");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.body.find("},{"), std::string::npos) << one.body;

  for (const char* bad : {"0", "101", "x", "-1", ""}) {
    auto r = server->call("GET", target + "?limit=" + bad);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
    EXPECT_EQ(json_string(r.body, "field"), "limit") << r.body;
  }
  EXPECT_EQ(server->call("GET", "/v1/subscriptions/sub_nosuch/attempts").status, 404);
}

TEST_F(live, rotated_keys_sign_with_both_during_the_grace_and_survive_kill9) {
  start();
  auto created = subscribe("/r");
  auto id = json_string(created, "id");
  auto old_key = json_string(created, "privateKey");

  auto rotated = server->call("POST", "/v1/subscriptions/" + id + "/rotate-keys",
                              R"({"grace_seconds": 3600})");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  auto new_key = json_string(rotated.body, "privateKey");
  ASSERT_FALSE(new_key.empty()) << rotated.body;
  ASSERT_NE(new_key, old_key);
  EXPECT_NE(json_string(rotated.body, "publicKey"), json_string(created, "publicKey"));
  EXPECT_EQ(json_string(rotated.body, "state"), "active");
  EXPECT_EQ(server->log().find(new_key), std::string::npos) << "a key in the log";
  EXPECT_NE(server->log().find("keys_rotated"), std::string::npos);

  publish("live.rotated");
  ASSERT_TRUE(hook.wait_delivered("/r", 1));
  auto check_both = [&](const sink_request& d) {
    auto sigs = signatures(d.header("webhook-signature"));
    ASSERT_EQ(sigs.size(), 2u) << d.header("webhook-signature");
    EXPECT_EQ(sigs[0], standard_signature(d, new_key));
    EXPECT_EQ(sigs[1], standard_signature(d, old_key));
    EXPECT_EQ(d.header("x-notificare-signature"), hmac_b64(new_key, d.body));
  };
  check_both(hook.delivered("/r").at(0));

  // The grace key is journaled with the subscription.
  server->kill9();
  server = std::make_unique<server_process>(dir.path());
  server->start();
  publish("live.rotated");
  ASSERT_TRUE(hook.wait_delivered("/r", 2));
  check_both(hook.delivered("/r").at(1));

  // A grace of one second: once it is over only the newest key signs.
  auto again = server->call("POST", "/v1/subscriptions/" + id + "/rotate-keys",
                            R"({"Grace_Seconds": 1})");
  ASSERT_EQ(again.status, 200) << again.body;
  auto newest = json_string(again.body, "privateKey");
  // Publishes until a delivery carries one signature: within the grace
  // they carry two, so this waits out the second, on a deadline.
  std::size_t n = 2;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  sink_request d;
  do {
    publish("live.rotated");
    ASSERT_TRUE(hook.wait_delivered("/r", ++n));
    d = hook.delivered("/r").at(n - 1);
  } while (signatures(d.header("webhook-signature")).size() > 1 &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(d.header("webhook-signature"), standard_signature(d, newest));
  EXPECT_EQ(d.header("x-notificare-signature"), hmac_b64(newest, d.body));
}

TEST_F(live, rotate_keys_refuses_bad_bodies_naming_the_field) {
  start();
  auto created = subscribe("/b");
  auto id = json_string(created, "id");
  auto target = "/v1/subscriptions/" + id + "/rotate-keys";
  auto typo = server->call("POST", target, R"({"grace_second": 5})");
  EXPECT_EQ(typo.status, 422) << typo.body;
  EXPECT_NE(typo.body.find("did you mean \\\"grace_seconds\\\""), std::string::npos) << typo.body;
  for (const char* bad : {R"({"grace_seconds": -1})", R"({"grace_seconds": 1.5})",
                          R"({"grace_seconds": "60"})", R"({"grace_seconds": null})"}) {
    auto r = server->call("POST", target, bad);
    EXPECT_TRUE(r.status == 400 || r.status == 422) << bad << " " << r.body;
    EXPECT_EQ(json_string(r.body, "field"), "grace_seconds") << r.body;
  }
  // Nothing was rotated by a refused body; an empty one takes the default.
  auto same = server->call("GET", "/v1/subscriptions/" + id);
  EXPECT_EQ(json_string(same.body, "publicKey"), json_string(created, "publicKey"));
  auto dflt = server->call("POST", target);
  EXPECT_EQ(dflt.status, 200) << dflt.body;
  EXPECT_EQ(server->call("POST", "/v1/subscriptions/sub_nosuch/rotate-keys").status, 404);
}

TEST_F(live, tail_prints_attempts_and_state_changes_and_exits_with_the_server) {
  const std::string token = "adm-live-integration-test-token-0000";
  start("[auth]\nadmin_tokens = [\"" + token + "\"]\n");
  const headers_t auth = {{"Authorization", "Bearer " + token}};
  const auto url = "http://127.0.0.1:" + std::to_string(server->port());
  auto created = server->call(
    "POST", "/v1/subscriptions",
    R"({"service":"tail","url":")" + hook.url("/t") + R"(","verification":"skip"})", auth);
  ASSERT_EQ(created.status, 201) << created.body;
  auto id = json_string(created.body, "id");

  cli_run tail({"tail", "--server", url, "--token", token, "--json"});
  // Pauses and activates until tail shows a change: then it is connected.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (tail.out().find(R"("change":"paused")") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    server->call("POST", "/v1/subscriptions/" + id + "/pause", "", auth);
    server->call("POST", "/v1/subscriptions/" + id + "/activate", "", auth);
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_NE(tail.out().find(R"({"event":"state","data":{"subscription":")" + id +
                            R"(","change":"paused","state":"paused"}})"),
            std::string::npos)
    << tail.out() << tail.err();
  auto r = server->call("POST", "/v1/events", R"({"type":"tail.e"})", auth);
  ASSERT_EQ(r.status, 202) << r.body;
  auto event = r.body.substr(r.body.find("evt_"), 20);
  ASSERT_TRUE(hook.wait_delivered("/t", 1));
  deadline = std::chrono::steady_clock::now() + 10s;
  while (tail.out().find(event) == std::string::npos && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  EXPECT_NE(tail.out().find(R"({"event":"attempt","data":{"subscription":")" + id +
                            R"(","event_id":")" + event + R"(","type":"tail.e","attempt":1,)"),
            std::string::npos)
    << tail.out();
  // Stats are the console's, not tail's.
  EXPECT_EQ(tail.out().find("subscriptions"), std::string::npos) << tail.out();

  cli_run unauthorized({"tail", "--server", url, "--token", "not-the-token"});
  EXPECT_EQ(unauthorized.wait(), 1);
  EXPECT_NE(unauthorized.err().find("401"), std::string::npos) << unauthorized.err();
  cli_run missing({"tail", "--server", url, "--token", token, "--subscription", "sub_nosuch"});
  EXPECT_EQ(missing.wait(), 1);
  EXPECT_NE(missing.err().find("404"), std::string::npos) << missing.err();

  EXPECT_EQ(server->terminate(), 0);
  EXPECT_EQ(tail.wait(), 0) << tail.err();
}

TEST(live_tls, a_stream_over_https_ends_with_its_last_chunk_on_sigterm) {
  temp_dir dir;
  test_pki pki;
  auto leaf = pki.leaf("switchyard", "DNS:localhost,IP:127.0.0.1");
  server_process server(dir.path(), "[console]\nmax_streams = 1\n",
                        "tls_cert = \"" + leaf.first + "\"\ntls_key = \"" + leaf.second + "\"\n");
  server.use_tls(pki.ca_file());
  server.start();
  std::atomic<bool> stop_reading{false};
  http_result streamed;
  std::thread reader([&] {
    // Retried while a probe below holds the one place.
    do
      streamed = https_call(server.port(), pki.ca_file(), "127.0.0.1", "GET", "/v1/stream", "", {},
                            30s);
    while (streamed.status == 503 && !stop_reading);
  });
  // The stream holds the one place once a probe is refused (a probe of an
  // unknown subscription gives its place back at once).
  auto deadline = std::chrono::steady_clock::now() + 20s;
  int probe = 0;
  while (probe != 503 && std::chrono::steady_clock::now() < deadline)
    probe = server.call("GET", "/v1/stream?subscription=sub_nosuch").status;
  stop_reading = true;
  EXPECT_EQ(probe, 503);
  auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(server.terminate(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  reader.join();
  // A whole response: the chunked body ended and TLS closed cleanly.
  EXPECT_EQ(streamed.status, 200) << streamed.body;
  EXPECT_EQ(streamed.header("Content-Type"), "text/event-stream; charset=utf-8");
  EXPECT_EQ(streamed.body.find("event: stats"), streamed.body.empty() ? std::string::npos : 0)
    << streamed.body;
}
