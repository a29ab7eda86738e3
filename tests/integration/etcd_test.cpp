// cluster::etcd_client against a real etcd 3.4 (Debian etcd-server) on
// loopback: what cluster mode relies on — prefix reads, the create-if-absent
// election, fenced compare-and-put, leases whose keys vanish with them, and
// errors that say what failed.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <condition_variable>
#include <future>
#include <mutex>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "cluster/etcd_client.hpp"
#include "cluster/etcd_watch.hpp"
#include "../common/etcd_process.hpp"
#include "../common/free_port.hpp"
#include "transport/http_client.hpp"

using namespace sy;
using sy::test::etcd_binary;
using sy::test::free_port;
using namespace std::chrono_literals;

namespace {

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
    endpoint_ = "http://127.0.0.1:" + std::to_string(free_port());
    peer_ = "http://127.0.0.1:" + std::to_string(free_port());
    start_etcd(endpoint_);
    work_.emplace(ioc_.get_executor());
    thread_ = std::thread([this] { ioc_.run(); });
    http_ = std::make_unique<transport::http_client>(ioc_, transport::client_options{});
    etcd_ = std::make_unique<cluster::etcd_client>(*http_, endpoint_, 2000ms);
    wait_ready();
  }

  // Starts etcd on the fixture's data dir, answering clients on `urls`
  // (comma-separated).
  void start_etcd(const std::string& urls) {
    urls_ = urls;
    pid_ = test::spawn_etcd(dir_.path(), urls, endpoint_, peer_);
    ASSERT_GT(pid_, 0);
  }

  // etcd's errors and the end of its log (dir/etcd.log, every start's
  // output appended), for a failure message.
  std::string etcd_log_tail() const {
    std::ifstream in(dir_.path() + "/etcd.log");
    std::string errors, line, text;
    while (std::getline(in, line)) {
      if (line.find(" E | ") != std::string::npos || line.find(" C | ") != std::string::npos)
        errors += line + "\n";
      text += line + "\n";
    }
    if (errors.size() > 2000)
      errors = errors.substr(0, 2000) + "…\n";
    return "errors:\n" + errors + "the end:\n" +
           (text.size() > 2000 ? text.substr(text.size() - 2000) : text);
  }

  void kill_etcd() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Waits until a read answers (etcd elects itself within a second or two).
  // An etcd that exited while starting is started again on the same URLs
  // (a restart's port can be taken for a moment by a test running beside
  // this one: an ASan run once saw 30 s of "connection refused").
  void wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (true) {
      auto r = wait<cluster::etcd_range>([&](auto cb) { etcd_->range("/ready", false, cb); });
      if (r)
        break;
      if (pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        start_etcd(urls_);
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "etcd did not answer: " << r.error().message << "\netcd's log ends:\n"
        << etcd_log_tail();
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
  std::string peer_;
  std::string urls_; // what start_etcd() was last given
  pid_t pid_ = -1;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::unique_ptr<transport::http_client> http_;
  std::unique_ptr<cluster::etcd_client> etcd_;
};

// What a watch delivered, for the test thread to wait on.
struct watch_record {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<cluster::etcd_range> snapshots;
  std::vector<cluster::etcd_event> events;
  std::vector<std::string> troubles; // what the watch told, in order
  std::vector<std::string> refused;  // the members that refused its stream

  cluster::etcd_watch_handlers handlers() {
    return {[this](const cluster::etcd_range& r) {
              std::lock_guard lock(mutex);
              snapshots.push_back(r);
              changed.notify_all();
            },
            [this](const std::vector<cluster::etcd_event>& batch) {
              std::lock_guard lock(mutex);
              events.insert(events.end(), batch.begin(), batch.end());
              changed.notify_all();
            },
            [this](const std::string& why) {
              std::lock_guard lock(mutex);
              troubles.push_back(why);
              changed.notify_all();
            },
            [this](const std::string& endpoint) {
              std::lock_guard lock(mutex);
              refused.push_back(endpoint);
              changed.notify_all();
            }};
  }

  // Waits (20 s at most) until `done` holds; returns whether it did.
  template <class Pred>
  bool wait_for(Pred done) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 20s, [&] { return done(*this); });
  }
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

TEST_F(etcd_test, a_prefix_read_comes_in_pages_at_one_revision) {
  // Three keys a page: ten keys take four requests, read as one picture.
  // Through a client that takes 1 000 bytes an answer, which ten keys in
  // one answer would pass.
  transport::client_options cut;
  cut.max_response_bytes = 1000;
  transport::http_client small(ioc_, cut);
  cluster::etcd_client paged(small, endpoint_, 2000ms, 3);
  int64_t last = 0;
  for (int i = 0; i < 10; ++i) {
    auto rev = wait<int64_t>(
      [&](auto cb) { etcd_->put("/sy/subs/k" + std::to_string(i), std::to_string(i), 0, cb); });
    ASSERT_TRUE(rev) << rev.error().message;
    last = *rev;
  }
  ASSERT_TRUE(wait<int64_t>([&](auto cb) { etcd_->put("/sy/subt", "outside", 0, cb); }));
  auto all = wait<cluster::etcd_range>([&](auto cb) { paged.range("/sy/subs/", true, cb); });
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->kvs.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(all->kvs[i].key, "/sy/subs/k" + std::to_string(i));
    EXPECT_EQ(all->kvs[i].value, std::to_string(i));
  }
  EXPECT_GE(all->revision, last);
  // Two full pages and nothing after them.
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(
      wait<int64_t>([&](auto cb) { etcd_->put("/sy/six/" + std::to_string(i), "v", 0, cb); }));
  auto six = wait<cluster::etcd_range>([&](auto cb) { paged.range("/sy/six/", true, cb); });
  ASSERT_TRUE(six);
  EXPECT_EQ(six->kvs.size(), 6u);
  auto none = wait<cluster::etcd_range>([&](auto cb) { paged.range("/none/", true, cb); });
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->kvs.empty());
  EXPECT_GT(none->revision, 0);
  cluster::etcd_client whole(small, endpoint_, 2000ms, 100);
  EXPECT_FALSE(wait<cluster::etcd_range>([&](auto cb) { whole.range("/sy/subs/", true, cb); }));
  small.shutdown();
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
  EXPECT_FALSE(refused.error().refused);
  // Nobody listening: status 0 and the transport's reason.
  cluster::etcd_client nobody(*http_, "http://127.0.0.1:" + std::to_string(free_port()), 2000ms);
  auto down = wait<cluster::etcd_range>([&](auto cb) { nobody.range("/sy/", true, cb); });
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().status, 0);
  EXPECT_NE(down.error().message.find("/v3/kv/range"), std::string::npos) << down.error().message;
  EXPECT_TRUE(down.error().refused) << "nothing listens there: the member is gone";
}

// A watch whose member refuses its stream says so, naming the member, so
// that its owner can move it; it tells nothing of the kind while the
// member answers.
TEST_F(etcd_test, a_watch_tells_which_member_refused_its_stream) {
  const auto nobody = "http://127.0.0.1:" + std::to_string(free_port());
  watch_record seen;
  cluster::etcd_watch watch(ioc_, *etcd_, nobody + "/", "/w/", seen.handlers(), 50ms);
  watch.start();
  ASSERT_TRUE(seen.wait_for([](auto& s) { return !s.refused.empty(); }));
  EXPECT_EQ(seen.refused.front(), nobody);
  // Moved to the member that answers: its stream brings the next change,
  // and no refusal names that member.
  watch.move_to(endpoint_, *etcd_);
  ASSERT_TRUE(wait<int64_t>([&](auto cb) { etcd_->put("/w/1", "a", 0, cb); }));
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s.events.size() == 1; }));
  watch.stop();
  std::lock_guard lock(seen.mutex);
  for (const auto& e : seen.refused)
    EXPECT_EQ(e, nobody);
}

// While its member refuses, the watch tries again every `retry` but tells
// the same failure once per 10 s (before, four lines a second per watch for
// as long as etcd was down); a stream that opened forgets it.
TEST_F(etcd_test, a_watch_tells_a_failure_that_repeats_once) {
  const auto nobody = "http://127.0.0.1:" + std::to_string(free_port());
  watch_record seen;
  cluster::etcd_watch watch(ioc_, *etcd_, nobody, "/w/", seen.handlers(), 20ms);
  watch.start(); // the snapshot comes from etcd, the stream from nobody
  // How often the watch told a failure to connect.
  auto connect_troubles = [](const watch_record& s) {
    return std::count_if(s.troubles.begin(), s.troubles.end(), [](const std::string& t) {
      return t.find("connect: Connection refused") != std::string::npos;
    });
  };
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s.refused.size() >= 20; }));
  {
    std::lock_guard lock(seen.mutex);
    EXPECT_EQ(connect_troubles(seen), 1) << ::testing::PrintToString(seen.troubles);
  }
  // A stream opens on the member that answers, and brings a change.
  watch.move_to(endpoint_, *etcd_);
  ASSERT_TRUE(wait<int64_t>([&](auto cb) { etcd_->put("/w/1", "a", 0, cb); }));
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s.events.size() == 1; }));
  // Refused again: told again at once.
  watch.move_to(nobody, *etcd_);
  ASSERT_TRUE(seen.wait_for([&](auto& s) { return connect_troubles(s) == 2; }))
    << ::testing::PrintToString(seen.troubles);
  const auto refusals = [&] {
    std::lock_guard lock(seen.mutex);
    return seen.refused.size();
  }();
  ASSERT_TRUE(seen.wait_for([&](auto& s) { return s.refused.size() >= refusals + 20; }));
  watch.stop();
  std::lock_guard lock(seen.mutex);
  EXPECT_EQ(connect_troubles(seen), 2) << ::testing::PrintToString(seen.troubles);
}

TEST(etcd_watch_line, reads_events_compaction_and_errors) {
  auto put = cluster::parse_watch_line(
    R"({"result":{"header":{"revision":"9"},"events":[{"kv":{"key":"L3cvYQ==","value":"MQ==",)"
    R"("mod_revision":"9","create_revision":"9","version":"1"}},{"type":"DELETE","kv":)"
    R"({"key":"L3cvYg==","mod_revision":"9"}}]}})");
  ASSERT_TRUE(put.error.empty()) << put.error;
  ASSERT_EQ(put.events.size(), 2u);
  EXPECT_FALSE(put.events[0].deleted);
  EXPECT_EQ(put.events[0].kv.key, "/w/a");
  EXPECT_EQ(put.events[0].kv.value, "1");
  EXPECT_TRUE(put.events[1].deleted);
  EXPECT_EQ(put.events[1].kv.key, "/w/b");
  auto compacted = cluster::parse_watch_line(
    R"({"result":{"header":{},"canceled":true,"compact_revision":"12"}})");
  EXPECT_TRUE(compacted.canceled);
  EXPECT_EQ(compacted.compact_revision, 12);
  auto error = cluster::parse_watch_line(R"({"error":{"grpc_code":14,"message":"unavailable"}})");
  EXPECT_EQ(error.error, "unavailable");
  EXPECT_FALSE(cluster::parse_watch_line("{nope").error.empty());
}

TEST_F(etcd_test, watch_streams_a_snapshot_then_every_change_in_order) {
  ASSERT_TRUE(wait<int64_t>([&](auto cb) { etcd_->put("/w/a", "1", 0, cb); }));
  watch_record seen;
  cluster::etcd_watch watch(ioc_, *etcd_, endpoint_, "/w/", seen.handlers());
  watch.start();
  ASSERT_TRUE(seen.wait_for([](auto& s) { return !s.snapshots.empty(); }));
  {
    std::lock_guard lock(seen.mutex);
    ASSERT_EQ(seen.snapshots[0].kvs.size(), 1u);
    EXPECT_EQ(seen.snapshots[0].kvs[0].key, "/w/a");
  }
  auto put_b = wait<int64_t>([&](auto cb) { etcd_->put("/w/b", "2", 0, cb); });
  ASSERT_TRUE(wait<int64_t>([&](auto cb) { etcd_->put("/x/elsewhere", "3", 0, cb); }));
  auto erased = wait<int64_t>([&](auto cb) { etcd_->erase("/w/a", false, cb); });
  ASSERT_TRUE(put_b && erased);
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s.events.size() >= 2; }));
  watch.stop();
  std::lock_guard lock(seen.mutex);
  ASSERT_EQ(seen.events.size(), 2u);
  EXPECT_FALSE(seen.events[0].deleted);
  EXPECT_EQ(seen.events[0].kv.key, "/w/b");
  EXPECT_EQ(seen.events[0].kv.value, "2");
  EXPECT_EQ(seen.events[0].kv.mod_revision, *put_b);
  EXPECT_TRUE(seen.events[1].deleted);
  EXPECT_EQ(seen.events[1].kv.key, "/w/a");
  EXPECT_GT(seen.events[1].kv.mod_revision, *put_b);
  EXPECT_EQ(watch.snapshots_read(), 1u);
}

TEST_F(etcd_test, watch_resumes_after_the_last_revision_seen_when_etcd_restarts) {
  watch_record seen;
  cluster::etcd_watch watch(ioc_, *etcd_, endpoint_, "/w/", seen.handlers(), 100ms);
  watch.start();
  ASSERT_TRUE(seen.wait_for([](auto& s) { return !s.snapshots.empty(); }));
  ASSERT_TRUE(wait<int64_t>([&](auto cb) { etcd_->put("/w/1", "a", 0, cb); }));
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s.events.size() == 1; }));
  kill_etcd();
  start_etcd(endpoint_);
  wait_ready();
  ASSERT_TRUE(wait<int64_t>([&](auto cb) { etcd_->put("/w/2", "b", 0, cb); }));
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s.events.size() >= 2; }));
  watch.stop();
  std::lock_guard lock(seen.mutex);
  // /w/1 is not seen twice: the new stream starts after its revision.
  ASSERT_EQ(seen.events.size(), 2u);
  EXPECT_EQ(seen.events[0].kv.key, "/w/1");
  EXPECT_EQ(seen.events[1].kv.key, "/w/2");
  EXPECT_GE(watch.streams_opened(), 2u);
  EXPECT_EQ(watch.snapshots_read(), 1u);
}

TEST_F(etcd_test, watch_reads_a_new_snapshot_when_its_revision_was_compacted) {
  // The watch streams from a second client URL, so that etcd can be run
  // without it while the changes it has not seen are compacted away.
  const auto second = "http://127.0.0.1:" + std::to_string(free_port());
  kill_etcd();
  start_etcd(endpoint_ + "," + second);
  wait_ready();
  watch_record seen;
  cluster::etcd_watch watch(ioc_, *etcd_, second, "/w/", seen.handlers(), 100ms);
  watch.start();
  ASSERT_TRUE(seen.wait_for([](auto& s) { return !s.snapshots.empty(); }));
  ASSERT_TRUE(wait<int64_t>([&](auto cb) { etcd_->put("/w/1", "a", 0, cb); }));
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s.events.size() == 1; }));

  kill_etcd();
  start_etcd(endpoint_);
  wait_ready();
  ASSERT_TRUE(wait<int64_t>([&](auto cb) { etcd_->put("/w/2", "b", 0, cb); }));
  ASSERT_TRUE(wait<int64_t>([&](auto cb) { etcd_->erase("/w/1", false, cb); }));
  auto last = wait<int64_t>([&](auto cb) { etcd_->put("/w/3", "c", 0, cb); });
  ASSERT_TRUE(last);
  transport::client_request compact;
  compact.method = "POST";
  compact.url = endpoint_ + "/v3/kv/compaction";
  compact.body = R"({"revision":")" + std::to_string(*last) + R"(","physical":true})";
  compact.timeout = 5s;
  std::promise<int> compacted;
  http_->send(compact, [&](transport::client_response r) { compacted.set_value(r.status); });
  ASSERT_EQ(compacted.get_future().get(), 200);

  kill_etcd();
  start_etcd(endpoint_ + "," + second);
  wait_ready();
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s.snapshots.size() == 2; }));
  ASSERT_TRUE(wait<int64_t>([&](auto cb) { etcd_->put("/w/4", "d", 0, cb); }));
  ASSERT_TRUE(seen.wait_for([](auto& s) { return s.events.size() >= 2; }));
  watch.stop();
  std::lock_guard lock(seen.mutex);
  const auto& fresh = seen.snapshots[1];
  ASSERT_EQ(fresh.kvs.size(), 2u);
  EXPECT_EQ(fresh.kvs[0].key, "/w/2");
  EXPECT_EQ(fresh.kvs[1].key, "/w/3");
  EXPECT_GE(fresh.revision, *last);
  // Nothing from the compacted gap arrives as an event; the next change does.
  ASSERT_EQ(seen.events.size(), 2u);
  EXPECT_EQ(seen.events[1].kv.key, "/w/4");
  EXPECT_EQ(watch.snapshots_read(), 2u);
}
