// Receivers built on the ecosystems' own libraries accept switchyard: the
// official Notificare Live API SDK verifies the subscription and validates
// each delivery, and the Standard Webhooks library validates them too.

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "../common/child_process.hpp"
#include "harness.hpp"

using namespace sy::test;
using namespace std::chrono_literals;

namespace {

// Runs node receiver.js; its port is read from its stdout.
class node_receiver {
public:
  explicit node_receiver(const std::string& log_path) {
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::fopen(log_path.c_str(), "w");
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
      sy::test::close_inherited_descriptors();
      execlp("node", "node", SWITCHYARD_NODE_DIR "/receiver.js", static_cast<char*>(nullptr));
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + 30s;
    const std::regex re(R"(port (\d+))");
    while (std::chrono::steady_clock::now() < deadline && port_ == 0) {
      std::ifstream in(log_path);
      std::stringstream ss;
      ss << in.rdbuf();
      std::smatch m;
      auto text = ss.str();
      if (std::regex_search(text, m, re))
        port_ = static_cast<uint16_t>(std::stoi(m[1]));
      else
        std::this_thread::sleep_for(20ms);
    }
  }
  ~node_receiver() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  uint16_t port() const { return port_; }

private:
  int pid_ = -1;
  uint16_t port_ = 0;
};

} // namespace

TEST(sdk, notificare_and_standard_webhooks_receivers_accept_switchyard) {
  temp_dir dir;
  node_receiver receiver(dir.path() + "/node.log");
  ASSERT_NE(receiver.port(), 0) << "node receiver did not start; run npm ci in "
                                << SWITCHYARD_NODE_DIR;
  server_process server(dir.path());
  server.start();
  auto url = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook";
  auto created = server.call("POST", "/v1/subscriptions",
                             R"({"service":"sdk","url":")" + url + R"("})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto id = json_string(created.body, "id");
  auto keys = R"({"privateKey":")" + json_string(created.body, "privateKey") +
              R"(","publicKey":")" + json_string(created.body, "publicKey") + R"("})";
  ASSERT_EQ(http_call(receiver.port(), "POST", "/configure", keys).status, 200);

  // The SDK's verify() answers the challenge; switchyard accepts the answer.
  auto v = server.call("POST", "/v1/subscriptions/" + id + "/verify");
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(json_string(v.body, "state"), "active");

  ASSERT_EQ(
    server
      .call("POST", "/v1/events",
            R"([{"type":"re.notifica.event.custom.Purchase","data":{"amount":"12 €","q":"\"x\""}},)"
            R"({"type":"re.notifica.event.notification.Open","country":"NO"}])")
      .status,
    202);
  std::string results;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    results = http_call(receiver.port(), "GET", "/results").body;
    if (results.find("notification.Open") != std::string::npos &&
        results.find("custom.Purchase") != std::string::npos)
      break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(results.find("custom.Purchase"), std::string::npos) << results;
  EXPECT_NE(results.find("notification.Open"), std::string::npos) << results;
  EXPECT_EQ(results.find("false"), std::string::npos)
    << "a library rejected a delivery: " << results;
  auto stats = server.call("GET", "/v1/subscriptions/" + id).body;
  EXPECT_NE(stats.find(R"("failed_attempts":0)"), std::string::npos) << stats;
}
