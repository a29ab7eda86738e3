// TLS egress and the private-address guard end to end: the real binary
// delivering to a TLS sink whose certificate the test made, and refusing
// loopback sinks when egress.allow_private is false.

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

struct created {
  std::string id, public_key, private_key;
};

// A server with fast retries, so that a failing delivery shows its error soon.
constexpr const char* fast_retry = "[retry]\ninitial_ms = 50\nmax_ms = 400\n";

class tls : public ::testing::Test {
protected:
  // Starts switchyard with `egress`, the body of its [egress] table.
  void start(const std::string& egress) {
    server = std::make_unique<server_process>(dir.path(),
                                              std::string(fast_retry) + "[egress]\n" + egress);
    server->start();
  }

  // Creates a native subscription for every event to `url`, active at once.
  created subscribe(const std::string& url) {
    auto r = server->call("POST", "/v1/subscriptions",
                          R"({"service":"tls","url":")" + url + R"(","verification":"skip"})");
    EXPECT_EQ(r.status, 201) << r.body;
    return {json_string(r.body, "id"), json_string(r.body, "publicKey"),
            json_string(r.body, "privateKey")};
  }

  http_result publish(const std::string& type) {
    return server->call("POST", "/v1/events", R"({"type":")" + type + R"(","data":{"n":1}})");
  }

  temp_dir dir;
  test_pki pki;
  std::pair<std::string, std::string> leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1");
  std::unique_ptr<server_process> server;
};

} // namespace

TEST_F(tls, https_sink_trusted_through_ca_file_receives_signed_events_and_verifies) {
  sink hook(leaf.first, leaf.second);
  ASSERT_EQ(hook.url("/a").rfind("https://localhost:", 0), 0u);
  start("ca_file = \"" + pki.ca_file() + "\"\n");

  // The verification challenge goes over TLS too.
  auto r = server->call("POST", "/v1/subscriptions",
                        R"({"service":"tls","url":")" + hook.url("/a") + R"("})");
  ASSERT_EQ(r.status, 201) << r.body;
  created sub{json_string(r.body, "id"), json_string(r.body, "publicKey"),
              json_string(r.body, "privateKey")};
  hook.set_key("/a", sub.private_key);
  auto v = server->call("POST", "/v1/subscriptions/" + sub.id + "/verify");
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(json_string(v.body, "state"), "active");

  ASSERT_EQ(publish("re.notifica.event.custom.Purchase").status, 202);
  ASSERT_TRUE(hook.wait_delivered("/a", 1));
  auto d = hook.delivered("/a")[0];
  EXPECT_EQ(json_string(d.body, "type"), "re.notifica.event.custom.Purchase");
  EXPECT_EQ(d.header("host"), "localhost:" + std::to_string(hook.port()));
  EXPECT_EQ(d.header("x-notificare-signature"), hmac_b64(sub.private_key, d.body));
  auto secret = unbase64(sub.private_key.substr(6));
  EXPECT_EQ(d.header("webhook-signature"),
            "v1," + hmac_b64(secret, d.header("webhook-id") + "." + d.header("webhook-timestamp") +
                                       "." + d.body));
  EXPECT_EQ(hook.failed_handshakes(), 0u);
  EXPECT_NE(server->wait_for_text("/v1/subscriptions/" + sub.id, R"("delivered":1)")
              .find(R"("delivered":1)"),
            std::string::npos);
}

TEST_F(tls, https_sink_with_an_unknown_ca_fails_verification_and_receives_nothing) {
  sink hook(leaf.first, leaf.second);
  start("ca_file = \"\"\n");
  auto sub = subscribe(hook.url("/a"));
  ASSERT_EQ(publish("a.b").status, 202);
  auto body = server->wait_for_text("/v1/subscriptions/" + sub.id, "certificate verify failed");
  EXPECT_NE(body.find(R"("last_error":"tls handshake: certificate verify failed)"),
            std::string::npos)
    << body;
  EXPECT_NE(body.find(R"("delivered":0)"), std::string::npos) << body;
  // The sink counts its side of the handshake a moment after switchyard
  // gave up on it: wait for the count, with a deadline.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (hook.failed_handshakes() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_GT(hook.failed_handshakes(), 0u);
  EXPECT_TRUE(hook.received("/a").empty());

  // The verify endpoint reports the same failure.
  auto v = server->call("POST", "/v1/subscriptions/" + sub.id + "/verify");
  EXPECT_EQ(v.status, 422) << v.body;
  EXPECT_NE(v.body.find("certificate verify failed"), std::string::npos) << v.body;
}

TEST_F(tls, allow_private_false_refuses_a_loopback_sink_without_connecting) {
  sink hook;
  start("allow_private = false\n");
  auto sub = subscribe(hook.url("/a"));
  ASSERT_EQ(publish("a.b").status, 202);
  auto body = server->wait_for_text("/v1/subscriptions/" + sub.id, "refused");
  EXPECT_NE(
    body.find(
      R"j("last_error":"refused: 127.0.0.1 is a private address (egress.allow_private = false)")j"),
    std::string::npos)
    << body;
  EXPECT_NE(body.find(R"("delivered":0)"), std::string::npos) << body;
  EXPECT_FALSE(hook.wait_delivered("/a", 1, 300ms));
  EXPECT_TRUE(hook.received("/a").empty());
  EXPECT_EQ(hook.connections(), 0u);
}

TEST_F(tls, allow_private_false_refuses_a_name_resolving_to_loopback) {
  sink hook(leaf.first, leaf.second);
  start("allow_private = false\nca_file = \"" + pki.ca_file() + "\"\n");
  auto sub = subscribe(hook.url("/a"));
  ASSERT_EQ(publish("a.b").status, 202);
  auto body = server->wait_for_text("/v1/subscriptions/" + sub.id, "refused");
  EXPECT_NE(body.find(R"("last_error":"refused: localhost resolves to private address )"),
            std::string::npos)
    << body;
  EXPECT_EQ(hook.connections(), 0u);
}

TEST(tls_config, an_unreadable_ca_file_stops_the_start_up) {
  temp_dir dir;
  server_process server(dir.path(), "[egress]\nca_file = \"" + dir.path() + "/missing.pem\"\n");
  try {
    server.start();
    ADD_FAILURE() << "started with a missing ca_file";
  } catch (const std::runtime_error& e) {
    std::string log = e.what();
    EXPECT_NE(log.find("egress.ca_file"), std::string::npos) << log;
    EXPECT_NE(log.find(dir.path() + "/missing.pem"), std::string::npos) << log;
  }
  EXPECT_FALSE(server.running());
  EXPECT_EQ(server.start_up_exit_status(), 2);
}

// TLS ingress: server.tls_cert / server.tls_key make the listener HTTPS.
class tls_ingress : public ::testing::Test {
protected:
  std::string tls_keys(const std::pair<std::string, std::string>& files) {
    return "tls_cert = \"" + files.first + "\"\ntls_key = \"" + files.second + "\"\n";
  }

  temp_dir dir;
  test_pki pki;
  std::pair<std::string, std::string> leaf = pki.leaf("switchyard", "DNS:localhost,IP:127.0.0.1");
};

TEST_F(tls_ingress, the_api_answers_over_https_with_a_certificate_the_client_verifies) {
  sink hook;
  server_process server(dir.path(), "", tls_keys(leaf));
  server.use_tls(pki.ca_file());
  server.start();
  EXPECT_NE(server.log().find("(https)"), std::string::npos) << server.log();

  auto r = server.call("POST", "/v1/subscriptions",
                       R"({"service":"tls","url":")" + hook.url("/in") +
                         R"(","verification":"skip"})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = json_string(r.body, "id");
  // Host-name verification by DNS name as well as by address.
  auto e = https_call(server.port(), pki.ca_file(), "localhost", "POST", "/v1/events",
                      R"({"type":"a.b","data":{"n":1}})");
  ASSERT_EQ(e.status, 202) << e.body;
  ASSERT_TRUE(hook.wait_delivered("/in", 1));
  EXPECT_EQ(json_string(hook.delivered("/in")[0].body, "type"), "a.b");
  EXPECT_EQ(server.call("GET", "/v1/subscriptions/" + id).status, 200);

  // A keep-alive-free plain-HTTP client gets no HTTP answer from the TLS port.
  auto plain = http_call(server.port(), "GET", "/healthz", "", {}, std::chrono::seconds(5));
  EXPECT_EQ(plain.status, 0) << plain.body;
  // A client that trusts another CA refuses the certificate.
  test_pki other;
  auto untrusted = https_call(server.port(), other.ca_file(), "127.0.0.1", "GET", "/healthz");
  EXPECT_EQ(untrusted.status, 0);
  EXPECT_NE(untrusted.body.find("certificate verify failed"), std::string::npos) << untrusted.body;
  // A name the certificate does not carry is refused as well.
  auto wrong_name = https_call(server.port(), pki.ca_file(), "example.org", "GET", "/healthz");
  EXPECT_EQ(wrong_name.status, 0) << wrong_name.body;
  // The server is still up and serving TLS.
  EXPECT_EQ(server.call("GET", "/healthz").status, 200);
}

// Starts a server with `server_toml` that must stop at start-up with exit 2
// and a log naming each of `names`.
void expect_config_refused(const std::string& data_dir, const std::string& server_toml,
                           const std::vector<std::string>& names) {
  server_process server(data_dir, "", server_toml);
  try {
    server.start();
    ADD_FAILURE() << "started with [server] " << server_toml;
  } catch (const std::runtime_error& e) {
    std::string log = e.what();
    for (const auto& name : names)
      EXPECT_NE(log.find(name), std::string::npos) << "want " << name << " in:\n" << log;
  }
  EXPECT_FALSE(server.running());
  EXPECT_EQ(server.start_up_exit_status(), 2);
}

TEST_F(tls_ingress, a_missing_or_mismatched_certificate_or_key_stops_the_start_up) {
  expect_config_refused(dir.path(),
                        "tls_cert = \"" + dir.path() + "/missing.pem\"\ntls_key = \"" +
                          leaf.second + "\"\n",
                        {"server.tls_cert", dir.path() + "/missing.pem"});
  expect_config_refused(
    dir.path(), "tls_cert = \"" + leaf.first + "\"\ntls_key = \"" + dir.path() + "/missing.key\"\n",
    {"server.tls_key", dir.path() + "/missing.key"});
  {
    std::ofstream junk(dir.path() + "/junk.pem");
    junk << "not a certificate\n";
  }
  expect_config_refused(
    dir.path(), "tls_cert = \"" + dir.path() + "/junk.pem\"\ntls_key = \"" + leaf.second + "\"\n",
    {"server.tls_cert " + dir.path() + "/junk.pem is not a PEM certificate chain"});
  auto other = pki.leaf("other", "DNS:localhost");
  expect_config_refused(dir.path(),
                        "tls_cert = \"" + leaf.first + "\"\ntls_key = \"" + other.second + "\"\n",
                        {"does not match"});
  expect_config_refused(dir.path(), "tls_cert = \"" + leaf.first + "\"\n",
                        {"server.tls_cert needs server.tls_key"});
}
