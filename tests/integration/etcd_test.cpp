// cluster::etcd_client against a real etcd 3.4 (Debian etcd-server) on
// loopback: what cluster mode relies on — prefix reads, the create-if-absent
// election, fenced compare-and-put, leases whose keys vanish with them, and
// errors that say what failed.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "cluster/etcd_client.hpp"
#include "transport/http_client.hpp"

using namespace sy;
using namespace std::chrono_literals;

namespace {

const char* etcd_binary = "/usr/bin/etcd";

// A fresh directory under /tmp, removed with everything in it (this test
// needs nothing else of the harness).
class scratch_dir {
public:
  scratch_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sy-etcd-XXXXXX").string();
    if (!mkdtemp(pattern.data()))
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~scratch_dir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

int free_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

// Calls `start(callback)` and waits (bounded) for the callback's value.
template <class T, class Start>
core::expected<T, cluster::etcd_error> wait(Start start) {
  auto p = std::make_shared<std::promise<core::expected<T, cluster::etcd_error>>>();
  auto f = p->get_future();
  start([p](core::expected<T, cluster::etcd_error> r) { p->set_value(std::move(r)); });
  if (f.wait_for(20s) != std::future_status::ready)
    return cluster::etcd_error{0, "the test's 20 s deadline passed"};
  return f.get();
}

// One etcd member on two free loopback ports with a temporary data dir.
class etcd_test : public ::testing::Test {
protected:
  void SetUp() override {
    if (access(etcd_binary, X_OK) != 0)
      GTEST_SKIP() << "no " << etcd_binary << ": scripts/setup installs Debian's etcd-server";
    const auto client = "http://127.0.0.1:" + std::to_string(free_port());
    const auto peer = "http://127.0.0.1:" + std::to_string(free_port());
    endpoint_ = client;
    pid_ = fork();
    if (pid_ == 0) {
      const auto log = dir_.path() + "/etcd.log";
      freopen(log.c_str(), "w", stdout);
      freopen(log.c_str(), "a", stderr);
      execl(etcd_binary, "etcd", "--name", "t", "--data-dir", (dir_.path() + "/etcd").c_str(),
            "--listen-client-urls", client.c_str(), "--advertise-client-urls", client.c_str(),
            "--listen-peer-urls", peer.c_str(), "--initial-advertise-peer-urls", peer.c_str(),
            "--initial-cluster", ("t=" + peer).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    ASSERT_GT(pid_, 0);
    work_.emplace(ioc_.get_executor());
    thread_ = std::thread([this] { ioc_.run(); });
    http_ = std::make_unique<transport::http_client>(ioc_, transport::client_options{});
    etcd_ = std::make_unique<cluster::etcd_client>(*http_, endpoint_, 2000ms);
    // Ready when a read answers (etcd elects itself within a second or two).
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (true) {
      auto r = wait<cluster::etcd_range>([&](auto cb) { etcd_->range("/ready", false, cb); });
      if (r)
        break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "etcd did not answer: " << r.error().message;
      std::this_thread::sleep_for(50ms);
    }
  }

  void TearDown() override {
    etcd_.reset();
    if (http_)
      http_->shutdown();
    http_.reset();
    work_.reset();
    ioc_.stop();
    if (thread_.joinable())
      thread_.join();
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  scratch_dir dir_;
  std::string endpoint_;
  pid_t pid_ = -1;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::unique_ptr<transport::http_client> http_;
  std::unique_ptr<cluster::etcd_client> etcd_;
};

} // namespace

TEST(etcd_prefix_end, is_the_first_key_after_the_prefix) {
  EXPECT_EQ(cluster::prefix_end("/sy/"), "/sy0");
  EXPECT_EQ(cluster::prefix_end("a\xff"), "b");
  EXPECT_EQ(cluster::prefix_end("\xff\xff"), std::string(1, '\0'));
  EXPECT_EQ(cluster::prefix_end(""), std::string(1, '\0'));
}

TEST_F(etcd_test, puts_reads_a_prefix_and_deletes_bytes_unchanged) {
  const std::string binary("v\0\xff\n\"x", 6);
  auto rev = wait<int64_t>([&](auto cb) { etcd_->put("/sy/members/a", binary, 0, cb); });
  ASSERT_TRUE(rev) << rev.error().message;
  ASSERT_TRUE(wait<int64_t>([&](auto cb) { etcd_->put("/sy/members/b", "2", 0, cb); }));
  ASSERT_TRUE(wait<int64_t>([&](auto cb) { etcd_->put("/sy/other", "3", 0, cb); }));

  auto members = wait<cluster::etcd_range>(
    [&](auto cb) { etcd_->range("/sy/members/", true, cb); });
  ASSERT_TRUE(members) << members.error().message;
  ASSERT_EQ(members->kvs.size(), 2u);
  EXPECT_EQ(members->kvs[0].key, "/sy/members/a");
  EXPECT_EQ(members->kvs[0].value, binary);
  EXPECT_EQ(members->kvs[0].mod_revision, *rev);
  EXPECT_EQ(members->kvs[1].value, "2");
  EXPECT_GE(members->revision, *rev + 2);

  auto deleted = wait<int64_t>([&](auto cb) { etcd_->erase("/sy/members/", true, cb); });
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, 2);
  auto after = wait<cluster::etcd_range>([&](auto cb) { etcd_->range("/sy/", true, cb); });
  ASSERT_TRUE(after);
  ASSERT_EQ(after->kvs.size(), 1u);
  EXPECT_EQ(after->kvs[0].key, "/sy/other");
  auto none = wait<cluster::etcd_range>([&](auto cb) { etcd_->range("/nothing", false, cb); });
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->kvs.empty());
}

TEST_F(etcd_test, create_elects_exactly_one_holder) {
  auto first = wait<cluster::etcd_txn>(
    [&](auto cb) { etcd_->create("/sy/controller", "n1", 0, cb); });
  auto second = wait<cluster::etcd_txn>(
    [&](auto cb) { etcd_->create("/sy/controller", "n2", 0, cb); });
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(first->succeeded);
  EXPECT_FALSE(second->succeeded);
  auto holder = wait<cluster::etcd_range>(
    [&](auto cb) { etcd_->range("/sy/controller", false, cb); });
  ASSERT_TRUE(holder);
  ASSERT_EQ(holder->kvs.size(), 1u);
  EXPECT_EQ(holder->kvs[0].value, "n1");
}

TEST_F(etcd_test, compare_and_put_fences_a_stale_writer) {
  // A partition configuration written fresh (mod_revision 0 = must not exist).
  auto v1 = wait<cluster::etcd_txn>(
    [&](auto cb) { etcd_->compare_and_put("/sy/parts/7", 0, "epoch-a", 0, cb); });
  ASSERT_TRUE(v1);
  ASSERT_TRUE(v1->succeeded);
  // The controller that read revision v1 moves it on: its revision is the new epoch.
  auto v2 = wait<cluster::etcd_txn>(
    [&](auto cb) { etcd_->compare_and_put("/sy/parts/7", v1->revision, "epoch-b", 0, cb); });
  ASSERT_TRUE(v2);
  EXPECT_TRUE(v2->succeeded);
  EXPECT_GT(v2->revision, v1->revision);
  // A writer still holding v1 is refused and changes nothing.
  auto stale = wait<cluster::etcd_txn>(
    [&](auto cb) { etcd_->compare_and_put("/sy/parts/7", v1->revision, "stale", 0, cb); });
  ASSERT_TRUE(stale);
  EXPECT_FALSE(stale->succeeded);
  auto now = wait<cluster::etcd_range>([&](auto cb) { etcd_->range("/sy/parts/7", false, cb); });
  ASSERT_TRUE(now);
  ASSERT_EQ(now->kvs.size(), 1u);
  EXPECT_EQ(now->kvs[0].value, "epoch-b");
  EXPECT_EQ(now->kvs[0].mod_revision, v2->revision);
  // Creating what exists is refused the same way.
  auto again = wait<cluster::etcd_txn>(
    [&](auto cb) { etcd_->compare_and_put("/sy/parts/7", 0, "fresh", 0, cb); });
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->succeeded);
}

TEST_F(etcd_test, keys_on_a_lease_go_with_it) {
  auto lease = wait<cluster::etcd_lease>([&](auto cb) { etcd_->grant(30s, cb); });
  ASSERT_TRUE(lease) << lease.error().message;
  EXPECT_NE(lease->id, 0);
  EXPECT_EQ(lease->ttl, 30);
  ASSERT_TRUE(wait<int64_t>([&](auto cb) { etcd_->put("/sy/members/n1", "up", lease->id, cb); }));
  auto kept = wait<cluster::etcd_lease>([&](auto cb) { etcd_->keep_alive(lease->id, cb); });
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_EQ(kept->id, lease->id);
  EXPECT_GT(kept->ttl, 0);
  auto member = wait<cluster::etcd_range>(
    [&](auto cb) { etcd_->range("/sy/members/n1", false, cb); });
  ASSERT_TRUE(member);
  ASSERT_EQ(member->kvs.size(), 1u);
  EXPECT_EQ(member->kvs[0].lease, lease->id);

  ASSERT_TRUE(wait<bool>([&](auto cb) { etcd_->revoke(lease->id, cb); }));
  auto gone = wait<cluster::etcd_range>(
    [&](auto cb) { etcd_->range("/sy/members/n1", false, cb); });
  ASSERT_TRUE(gone);
  EXPECT_TRUE(gone->kvs.empty());
  auto expired = wait<cluster::etcd_lease>([&](auto cb) { etcd_->keep_alive(lease->id, cb); });
  ASSERT_TRUE(expired) << expired.error().message;
  EXPECT_EQ(expired->ttl, 0);
}

TEST_F(etcd_test, errors_say_what_failed) {
  // etcd's own refusal: a lease that does not exist.
  auto refused = wait<int64_t>([&](auto cb) { etcd_->put("/sy/x", "v", 12345, cb); });
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().status, 0);
  EXPECT_NE(refused.error().message.find("lease not found"), std::string::npos)
    << refused.error().message;
  // Nobody listening: status 0 and the transport's reason.
  cluster::etcd_client nobody(*http_, "http://127.0.0.1:" + std::to_string(free_port()), 2000ms);
  auto down = wait<cluster::etcd_range>([&](auto cb) { nobody.range("/sy/", true, cb); });
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().status, 0);
  EXPECT_NE(down.error().message.find("/v3/kv/range"), std::string::npos) << down.error().message;
}
