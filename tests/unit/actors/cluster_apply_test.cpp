// The primary's apply of committed partition entries, against a real
// synced journal in a temporary directory, the real group commit and real
// subscriber actors on a threaded actor system; the subscribers' webhook
// requests go to a scripted in-process sink (the env's `send` seam) that
// answers each subscription with the status the test sets and records
// what it answered. Every wait has a deadline; what must not happen is
// checked after something that would have come later did (a later
// delivery, a release, or release checks that ran).

#include "actors/cluster_apply.hpp"

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>
#include <utility>

#include "actors/delivery_gate.hpp"
#include "actors/messages.hpp"
#include "actors/subscriber_slot.hpp"
#include "cluster/partition_entry.hpp"
#include "cluster/placement.hpp"
#include "core/time_format.hpp"
#include "storage/journal.hpp"
#include "storage/partition_log.hpp"
#include "tests/unit/capture_stderr.hpp"
#include "transport/http_types.hpp"

namespace sy::actors {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using sy::test_support::capture_stderr;

constexpr uint32_t partitions = 4;

// Returns the first id "<prefix><n>" that placement puts in `partition`.
std::string id_in(uint32_t partition, const std::string& prefix) {
  for (int n = 0;; ++n) {
    auto id = prefix + std::to_string(n);
    if (cluster::partition_of(id, partitions) == partition)
      return id;
  }
}

// A cluster-wide id as another node would mint it (high bits: its number).
std::string cluster_id(uint64_t n) { return event_id((uint64_t{0x2a} << 48) | n); }

// Returns the record of event `id` (client id `cid`) as ingest encodes it.
std::string record_of(const std::string& id, const std::string& cid = {}) {
  storage::stored_event e;
  e.seq = 999999; // the ingest node's: means nothing here
  e.ingest_ms = core::now_ms();
  e.ev.id = id;
  e.ev.type = "order.paid";
  e.ev.data = R"({"n":1})";
  e.ev.timestamp_ms = e.ingest_ms;
  e.ev.client_id = cid;
  return storage::encode_event(e);
}

// Returns the partition entry of event `id` (client id `cid`) alone, for `subs`.
std::string entry(const std::string& id, const std::vector<std::string>& subs,
                  const std::string& cid = {}) {
  std::vector<std::string_view> views(subs.begin(), subs.end());
  return cluster::encode_partition_entry(record_of(id, cid), views);
}

// Returns one partition entry holding each event (id, its subscriptions) in order.
std::string entry_of(const std::vector<std::pair<std::string, std::vector<std::string>>>& events) {
  std::string out;
  for (const auto& [id, subs] : events) {
    std::vector<std::string_view> views(subs.begin(), subs.end());
    cluster::append_to_partition_entry(out, record_of(id), views);
  }
  return out;
}

struct delivery {
  std::string sub; // the subscription's id (its url's last segment)
  std::string event_id;
  int status = 0;
};

class cluster_apply_fixture : public ::testing::Test {
protected:
  cluster_apply_fixture() {
    dir_ = fs::temp_directory_path() / ("sy_cluster_apply_test_" + std::to_string(::getpid()) +
                                        "_" + std::to_string(counter_++));
    fs::remove_all(dir_);
    sink_ = std::thread([this] { run_sink(); });
  }

  ~cluster_apply_fixture() override {
    close_all();
    {
      std::lock_guard lock(mu_);
      sink_stopping_ = true;
      cv_.notify_all();
    }
    sink_.join();
    fs::remove_all(dir_);
  }

  /// Adds an active push subscription `id` (before open_all).
  void add_subscription(const std::string& id) {
    subscription s;
    s.id = id;
    s.service = "shop";
    s.url = "http://sink.test/" + id;
    s.types = {"**"};
    s.verified = true;
    s.state = core::subscription_state::active;
    s.private_key = "test-private-key";
    s.public_key = "test-public-key";
    records_.push_back(std::move(s));
    set_status(id, 200);
  }

  /// Opens the journal, the actor system, the subscribers' slots, the
  /// routing table, the group commit and the applier.
  void open_all() {
    std::string error;
    journal_ = storage::journal::open(dir_.string(), true, error);
    ASSERT_TRUE(journal_) << error;
    // A fresh configuration per system: a config registers its types once.
    cfg_ = std::make_unique<caf::actor_system_config>();
    register_protocol(*cfg_);
    cfg_->set("scheduler.max-threads", 2);
    cfg_->set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(*cfg_);
    // As in a cluster node: every partition closed until a tenure starts.
    gate_ = std::make_unique<delivery_gate>(partitions);
    auto env = std::make_shared<subscriber_env>();
    env->journal = journal_.get();
    env->gate = gate_.get();
    env->seed = 7;
    env->settings.initial_ms = 20; // failed deliveries retry quickly
    env->settings.max_ms = 50;
    env->send = [this](transport::client_request req,
                       std::function<void(transport::client_response)> done) {
      std::lock_guard lock(mu_);
      ++sent_[req.url.substr(req.url.rfind('/') + 1)];
      requests_.emplace_back(std::move(req), std::move(done));
      cv_.notify_all();
    };
    std::vector<core::index_entry> entries;
    core::chunked_writer<route_target> targets;
    for (std::size_t i = 0; i < records_.size(); ++i) {
      auto& s = records_[i];
      if (s.number == 0) {
        auto n = journal_->next_sub_number();
        ASSERT_TRUE(n);
        s.number = *n;
      }
      entries.push_back({s.id, {"**"}, ""});
      auto slot = std::make_shared<subscriber_slot>(*sys_, &s, env);
      // As the registry's recovery does: a queue left by the last run is read back.
      auto queued = journal_->count_queue(s.number);
      ASSERT_TRUE(queued);
      if (*queued > 0)
        slot->start(*queued);
      slots_.push_back(slot);
      targets.at(i) = {s.number, slot};
    }
    routes_.publish(std::make_shared<route_table>(core::subscription_index(std::move(entries)),
                                                  targets.publish(), std::nullopt));
    pipeline_ = std::make_unique<ingest_pipeline>(*journal_, storage::dedupe_window_ms, 100000);
    partition_apply_options options;
    options.release_interval = release_interval_;
    options.check_gap_most = check_gap_most_;
    options.gate = gate_.get();
    options.progress_after = progress_after_;
    options.progress_every = progress_every_;
    options.progress_rate = progress_rate_;
    options.reference_log = reference_log_;
    options.held_after = held_after_;
    options.record_progress = [this](uint32_t p, uint64_t epoch, const delivered_offsets& o) {
      std::lock_guard lock(mu_);
      records_made_.push_back({p, epoch, o, std::chrono::steady_clock::now()});
      cv_.notify_all();
    };
    options.recorded_progress = [this](uint32_t p) {
      std::lock_guard lock(mu_);
      return p == 0 ? recorded_ : delivered_offsets{};
    };
    apply_ = std::make_unique<partition_apply>(
      *sys_, *journal_, *pipeline_, routes_, partitions,
      [this](uint32_t p, uint64_t epoch, uint64_t offset) {
        {
          std::lock_guard lock(mu_);
          releases_.push_back({p, epoch, offset});
          cv_.notify_all();
        }
        // Only the applier's thread reads it once open_all() returned.
        if (auto f = std::exchange(during_first_release_, nullptr)) {
          f();
          std::lock_guard lock(mu_);
          first_release_returned_ = true;
          cv_.notify_all();
        }
      },
      options);
  }

  /// Stops everything open_all made, in the server's order.
  void close_all() {
    if (apply_)
      apply_->stop();
    if (pipeline_)
      pipeline_->stop();
    for (auto& slot : slots_)
      slot->close();
    slots_.clear();
    routes_.publish(nullptr);
    {
      // Unanswered requests are dropped: their actors are going.
      std::lock_guard lock(mu_);
      requests_.clear();
    }
    sys_.reset(); // waits for every subscriber
    apply_.reset();
    pipeline_.reset();
    gate_.reset();
    journal_.reset();
  }

  void set_status(const std::string& id, int status) {
    std::lock_guard lock(mu_);
    status_[id] = status;
  }

  /// Answers every request with its subscription's status, off the sender's thread.
  void run_sink() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return sink_stopping_ || (!requests_.empty() && !hold_); });
      if (requests_.empty() || sink_stopping_)
        return;
      auto [req, done] = std::move(requests_.front());
      requests_.pop_front();
      const std::string sub = req.url.substr(req.url.rfind('/') + 1);
      std::string id;
      for (const auto& [k, v] : req.headers)
        if (k == "webhook-id")
          id = v;
      transport::client_response r;
      r.status = status_[sub];
      deliveries_.push_back({sub, id, r.status});
      cv_.notify_all();
      // Under the lock, so that close_all() never races an answer; it only
      // posts a message to the subscriber.
      done(std::move(r));
    }
  }

  /// Waits (up to `most`) until `pred` holds (under the fixture's mutex).
  bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds most = 20s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, most, pred);
  }

  /// Returns the ids answered 200 to `sub`, in order.
  std::vector<std::string> delivered_to(const std::string& sub) {
    std::vector<std::string> ids;
    for (const auto& d : deliveries_)
      if (d.sub == sub && d.status == 200)
        ids.push_back(d.event_id);
    return ids;
  }

  /// Waits (up to 20 s) until the applier's counter `c` reaches `n`.
  static bool wait_count(const std::atomic<uint64_t>& c, uint64_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (c.load() < n) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  /// Waits (up to 20 s) until the applier reset `n` subscriber queues in all.
  bool wait_resets(uint64_t n) { return wait_count(apply_->counters().resets, n); }

  /// Waits until `sub` was answered `status` at least once.
  bool wait_answered(const std::string& sub, int status) {
    return wait_for([&] {
      for (const auto& d : deliveries_)
        if (d.sub == sub && d.status == status)
          return true;
      return false;
    });
  }

  /// Waits until `sub` was answered 200 `n` times.
  bool wait_delivered(const std::string& sub, std::size_t n) {
    return wait_for([&] { return delivered_to(sub).size() >= n; });
  }

  /// Waits until a release of `p` at `offset` or beyond in `epoch` was made.
  bool wait_release(uint32_t p, uint64_t epoch, uint64_t offset,
                    std::chrono::milliseconds most = 20s) {
    return wait_for(
      [&] {
        for (const auto& r : releases_)
          if (r.partition == p && r.epoch == epoch && r.offset >= offset)
            return true;
        return false;
      },
      most);
  }

  /// Returns the highest offset released for `p` in `epoch` (0: none).
  uint64_t released(uint32_t p, uint64_t epoch) {
    std::lock_guard lock(mu_);
    uint64_t high = 0;
    for (const auto& r : releases_)
      if (r.partition == p && r.epoch == epoch)
        high = std::max(high, r.offset);
    return high;
  }

  /// Waits until the applier has run `n` more release checks from now (each
  /// reads every watched queue head: what they could release, they did).
  bool wait_checks(uint64_t n) {
    const uint64_t target = apply_->counters().checks.load() + n;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (apply_->counters().checks.load() < target) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  /// Opens everything with one subscription of partition 0, checking every
  /// 10 ms, stretched to at most `gap_most`; the first release (of an entry
  /// at offset 10) runs `during` within its check while a second entry
  /// waits. Returns whether that entry was released within `within` of
  /// `during` returning.
  bool second_release_within(std::chrono::milliseconds gap_most, std::function<void()> during,
                             std::chrono::milliseconds within) {
    const auto a = id_in(0, "sub_a");
    add_subscription(a);
    release_interval_ = 10ms;
    check_gap_most_ = gap_most;
    during_first_release_ = std::move(during);
    open_all();
    apply_->apply(0, 5, 10, {entry(cluster_id(1), {a})});
    if (!wait_release(0, 5, 11))
      return false;
    apply_->apply(0, 5, 11, {entry(cluster_id(2), {a})});
    return wait_for([&] { return first_release_returned_; }) && wait_release(0, 5, 12, within);
  }

  uint64_t number_of(const std::string& id) const {
    for (const auto& s : records_)
      if (s.id == id)
        return s.number;
    return 0;
  }

  struct release_call {
    uint32_t partition;
    uint64_t epoch;
    uint64_t offset;
  };

  struct progress_record {
    uint32_t partition;
    uint64_t epoch;
    delivered_offsets offsets;
    std::chrono::steady_clock::time_point at;
  };

  static inline int counter_ = 0;
  fs::path dir_;
  std::deque<subscription> records_; // stable addresses: the slots read them
  std::unique_ptr<storage::journal> journal_;
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::vector<std::shared_ptr<subscriber_slot>> slots_;
  route_publisher routes_;
  std::unique_ptr<ingest_pipeline> pipeline_;
  std::unique_ptr<partition_apply> apply_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<transport::client_request, std::function<void(transport::client_response)>>>
    requests_;
  std::map<std::string, int> status_;
  std::map<std::string, std::size_t> sent_; // requests each subscription started
  std::unique_ptr<delivery_gate> gate_;
  std::vector<delivery> deliveries_;
  std::vector<release_call> releases_;
  bool sink_stopping_ = false;
  bool hold_ = false; // the sink holds requests unanswered while set
  std::chrono::milliseconds release_interval_ = 50ms; // open_all()'s
  std::chrono::milliseconds check_gap_most_ = 1000ms; // open_all()'s
  // Runs inside the first release call (on the applier's thread, within a
  // release check); first_release_returned_ is set once it returned.
  std::function<void()> during_first_release_;
  bool first_release_returned_ = false;
  std::chrono::milliseconds progress_after_ = 2000ms; // open_all()'s
  std::chrono::milliseconds progress_every_ = 250ms;  // open_all()'s
  double progress_rate_ = 40;                         // open_all()'s
  bool reference_log_ = false;                        // open_all()'s
  std::chrono::milliseconds held_after_ = 10000ms;    // open_all()'s
  std::vector<progress_record> records_made_;         // record_progress calls
  delivered_offsets recorded_; // what recorded_progress answers for partition 0
  std::thread sink_;
};

TEST_F(cluster_apply_fixture,
       entries_are_delivered_to_each_listed_subscription_with_their_ids_kept) {
  const auto a = id_in(0, "sub_a"), b = id_in(0, "sub_b");
  add_subscription(a);
  add_subscription(b);
  open_all();
  apply_->apply(0, 5, 0, {entry(cluster_id(1), {a, b}), entry(cluster_id(2), {a, "sub_gone"})});
  ASSERT_TRUE(wait_delivered(a, 2));
  ASSERT_TRUE(wait_delivered(b, 1));
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(delivered_to(a), (std::vector<std::string>{cluster_id(1), cluster_id(2)}));
    EXPECT_EQ(delivered_to(b), (std::vector<std::string>{cluster_id(1)}));
  }
  EXPECT_EQ(apply_->counters().unknown_subscriptions.load(), 1u);
  // Both delivered: released, and the applied watermark is in the journal.
  ASSERT_TRUE(wait_release(0, 5, 2));
  auto wm = journal_->get_meta(partition_apply::watermark_key(0));
  ASSERT_TRUE(wm);
  EXPECT_EQ(wm->size(), 16u);
}

TEST_F(cluster_apply_fixture, the_same_offsets_applied_twice_in_one_epoch_are_delivered_once) {
  const auto a = id_in(0, "sub_a");
  add_subscription(a);
  open_all();
  apply_->apply(0, 5, 0, {entry(cluster_id(1), {a}), entry(cluster_id(2), {a})});
  ASSERT_TRUE(wait_delivered(a, 2));
  // on_commit replayed: the first two are below the watermark.
  apply_->apply(0, 5, 0,
                {entry(cluster_id(1), {a}), entry(cluster_id(2), {a}), entry(cluster_id(3), {a})});
  ASSERT_TRUE(wait_release(0, 5, 3));
  EXPECT_EQ(apply_->counters().replayed.load(), 2u);

  // And after a restart of the node on the same journal, as primary of the same epoch.
  close_all();
  open_all();
  apply_->apply(0, 5, 0,
                {entry(cluster_id(1), {a}), entry(cluster_id(2), {a}), entry(cluster_id(3), {a}),
                 entry(cluster_id(4), {a})});
  ASSERT_TRUE(wait_release(0, 5, 4));
  std::lock_guard lock(mu_);
  EXPECT_EQ(delivered_to(a),
            (std::vector<std::string>{cluster_id(1), cluster_id(2), cluster_id(3), cluster_id(4)}));
}

TEST_F(cluster_apply_fixture, a_new_epoch_applies_the_log_again_from_its_start) {
  const auto a = id_in(0, "sub_a");
  add_subscription(a);
  open_all();
  // With a client id: the new tenure must not take its own re-apply for a repeat.
  apply_->apply(0, 5, 0, {entry(cluster_id(1), {a}, "order-1")});
  ASSERT_TRUE(wait_delivered(a, 1));
  apply_->demote(0, 5);
  // An entry of the demoted epoch that arrives late is not applied.
  apply_->apply(0, 5, 1, {entry(cluster_id(9), {a})});
  EXPECT_EQ(apply_->counters().stale.load(), 1u);
  // Primary again, in a newer epoch: the log from its start.
  apply_->apply(0, 7, 0, {entry(cluster_id(1), {a}, "order-1"), entry(cluster_id(2), {a})});
  ASSERT_TRUE(wait_release(0, 7, 2));
  std::lock_guard lock(mu_);
  EXPECT_EQ(delivered_to(a),
            (std::vector<std::string>{cluster_id(1), cluster_id(1), cluster_id(2)}));
}

TEST_F(cluster_apply_fixture, client_id_dedupe_is_per_partition) {
  const auto a = id_in(0, "sub_a"), c = id_in(1, "sub_c");
  add_subscription(a);
  add_subscription(c);
  open_all();
  apply_->apply(0, 5, 0,
                {entry(cluster_id(1), {a}, "order-17"), entry(cluster_id(2), {a}, "order-17")});
  // The same epoch: two partitions' configurations written by one etcd
  // transaction share its revision.
  apply_->apply(1, 5, 0, {entry(cluster_id(3), {c}, "order-17")});
  // A later entry of partition 0 with the same client id, in a later round.
  ASSERT_TRUE(wait_release(0, 5, 2));
  apply_->apply(0, 5, 2, {entry(cluster_id(4), {a}, "order-17"), entry(cluster_id(5), {a})});
  ASSERT_TRUE(wait_release(0, 5, 4));
  ASSERT_TRUE(wait_release(1, 5, 1));
  std::lock_guard lock(mu_);
  EXPECT_EQ(delivered_to(a), (std::vector<std::string>{cluster_id(1), cluster_id(5)}));
  EXPECT_EQ(delivered_to(c), (std::vector<std::string>{cluster_id(3)}));
}

TEST_F(cluster_apply_fixture, release_waits_for_every_subscription_of_the_partition) {
  const auto a = id_in(0, "sub_a"), b = id_in(0, "sub_b");
  add_subscription(a);
  add_subscription(b);
  set_status(b, 500); // failing: retried, never given up within the test
  open_all();
  apply_->apply(0, 5, 10, {entry(cluster_id(1), {a, b}), entry(cluster_id(2), {a})});
  ASSERT_TRUE(wait_delivered(a, 2));
  ASSERT_TRUE(wait_for([&] {
    for (const auto& d : deliveries_)
      if (d.sub == b && d.status == 500)
        return true;
    return false;
  }));
  // Checks that read a's queue after its acks were written release nothing:
  // b holds offset 10.
  ASSERT_TRUE(wait_checks(4));
  EXPECT_EQ(released(0, 5), 0u);
  set_status(b, 200);
  ASSERT_TRUE(wait_release(0, 5, 12));
  EXPECT_EQ(released(0, 5), 12u);
  std::lock_guard lock(mu_);
  EXPECT_EQ(delivered_to(b), (std::vector<std::string>{cluster_id(1)}));
}

// A check's cost is its thread's CPU time. A process stopped during a check
// (here the release call sleeps 3 s, as a SIGSTOP would hold it) did not
// spend that time checking: measured on the clock, the next check came four
// times the stop later, holding every release and progress record of the
// node, so that a takeover then delivered all of it again.
TEST_F(cluster_apply_fixture, a_pause_during_a_check_does_not_hold_the_next_checks) {
  // The stretch alone decides; a clock-measured check would come 12 s
  // after the pause.
  EXPECT_TRUE(second_release_within(
    60s, [] { std::this_thread::sleep_for(3s); }, 6s));
}

// Four times a costly check's CPU time stretches the interval, up to
// check_gap_most.
TEST_F(cluster_apply_fixture, a_costly_check_stretches_the_interval_at_most_to_check_gap_most) {
  // Spends 1 s of this thread's CPU time; uncapped, the next check would
  // come 4 s after it.
  const auto spin = [] {
    for (timespec ts{}; ts.tv_sec < 1;)
      ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  };
  EXPECT_TRUE(second_release_within(200ms, spin, 2s));
}

// A release held longer than held_after is logged once per hold, naming the
// subscription that holds it and the event it has not delivered.
TEST_F(cluster_apply_fixture, a_held_release_logs_the_subscription_and_event_holding_it_once) {
  const auto a = id_in(0, "sub_a"), b = id_in(0, "sub_b");
  add_subscription(a);
  add_subscription(b);
  set_status(b, 500);
  progress_after_ = 100ms;
  held_after_ = 200ms;
  uint64_t holds_after_checks = 0;
  const auto log = capture_stderr([&] {
    open_all();
    apply_->apply(0, 5, 10, {entry(cluster_id(1), {a, b}), entry(cluster_id(2), {a})});
    ASSERT_TRUE(wait_delivered(a, 2));
    const auto& holds = apply_->counters().holds;
    ASSERT_TRUE(wait_count(holds, 1));
    ASSERT_TRUE(wait_checks(10)); // 500 ms, held all along: no second line
    holds_after_checks = holds.load();
    set_status(b, 200);
    ASSERT_TRUE(wait_release(0, 5, 12));
    // A new hold after that release is logged again.
    set_status(b, 500);
    apply_->apply(0, 5, 12, {entry(cluster_id(3), {b})});
    ASSERT_TRUE(wait_count(holds, 2));
  });
  EXPECT_EQ(holds_after_checks, 1u);
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find("cluster.release_held") != std::string::npos)
      lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u) << log;
  for (const auto& [line, event, from] : {std::tuple{lines[0], cluster_id(1), "held_from=10"},
                                          std::tuple{lines[1], cluster_id(3), "held_from=12"}}) {
    EXPECT_NE(line.find("subscription=" + b), std::string::npos) << line;
    EXPECT_NE(line.find("event=" + event), std::string::npos) << line;
    EXPECT_NE(line.find(from), std::string::npos) << line;
  }
}

// A failing subscription holds the release; the one beside it that delivers
// has its own offset recorded, and the holder none (it is not ahead).
TEST_F(cluster_apply_fixture, a_held_release_records_each_subscriptions_delivered_offset) {
  const auto a = id_in(0, "sub_a"), b = id_in(0, "sub_b");
  add_subscription(a);
  add_subscription(b);
  set_status(b, 500);
  progress_after_ = 100ms;
  progress_every_ = 50ms;
  open_all();
  apply_->apply(0, 5, 10, {entry(cluster_id(1), {a, b}), entry(cluster_id(2), {a})});
  ASSERT_TRUE(wait_delivered(a, 2));
  apply_->apply(0, 5, 12, {entry(cluster_id(3), {a})});
  ASSERT_TRUE(wait_delivered(a, 3));
  const delivered_offsets all_of_a = {{a, 13}};
  ASSERT_TRUE(
    wait_for([&] { return !records_made_.empty() && records_made_.back().offsets == all_of_a; }));
  {
    std::lock_guard lock(mu_);
    for (const auto& r : records_made_) {
      EXPECT_EQ(r.partition, 0u);
      EXPECT_EQ(r.epoch, 5u);
      ASSERT_EQ(r.offsets.size(), 1u) << "b holds the release: it is never ahead of it";
      EXPECT_EQ(r.offsets[0].first, a);
      EXPECT_GT(r.offsets[0].second, 10u);
    }
  }
  EXPECT_EQ(released(0, 5), 0u);
  // Nothing new: the same offsets are not recorded again.
  const auto made = apply_->counters().progress_records.load();
  ASSERT_TRUE(wait_checks(6)); // 300 ms: six progress intervals
  EXPECT_EQ(apply_->counters().progress_records.load(), made);
}

// Feeds partitions `ps` (each with a delivering subscription `a` and a
// failing one `b`, so that its release lags) one entry for its `a` every few
// ms (offsets from 1: each partition's entry 0 came first) until `until`
// holds, so that each record differs from the last.
template <class Until>
void feed_lagging(partition_apply& apply, const std::vector<uint32_t>& ps,
                  const std::vector<std::string>& as, Until until) {
  std::vector<uint64_t> next(ps.size(), 1);
  for (uint64_t n = 0; !until(); ++n) {
    for (std::size_t i = 0; i < ps.size(); ++i)
      apply.apply(ps[i], 5, next[i]++, {entry(cluster_id(1000 * (i + 1) + n), {as[i]})});
    std::this_thread::sleep_for(5ms);
  }
}

// Recording starts once the release lags progress_after, and then comes
// every progress_every (a takeover redelivers about that much), not every
// progress_after.
TEST_F(cluster_apply_fixture, a_lagging_partition_records_every_progress_every_once_it_lags) {
  const auto a = id_in(0, "sub_a"), b = id_in(0, "sub_b");
  add_subscription(a);
  add_subscription(b);
  set_status(b, 500);
  release_interval_ = 5ms; // checks come more often than records may
  progress_after_ = 300ms;
  progress_every_ = 40ms;
  open_all();
  const auto start = std::chrono::steady_clock::now();
  apply_->apply(0, 5, 0, {entry(cluster_id(1), {a, b})});
  std::atomic<bool> done = false;
  std::thread feeder([&] { feed_lagging(*apply_, {0}, {a}, [&] { return done.load(); }); });
  const bool five = wait_for([&] { return records_made_.size() >= 5; });
  done = true;
  feeder.join();
  ASSERT_TRUE(five);
  std::lock_guard lock(mu_);
  EXPECT_GE(records_made_.front().at - start, 300ms) << "recorded before the release lagged";
  auto closest = std::chrono::steady_clock::duration::max();
  for (std::size_t i = 1; i < records_made_.size(); ++i) {
    const auto gap = records_made_[i].at - records_made_[i - 1].at;
    EXPECT_GE(gap, 30ms) << "record " << i << " came sooner than progress_every";
    closest = std::min(closest, gap);
  }
  EXPECT_LT(closest, 300ms) << "records came only every progress_after";
}

// With several partitions lagging, their records together stay within
// progress_rate a second, and every one of them still gets records.
TEST_F(cluster_apply_fixture, lagging_partitions_share_the_nodes_record_rate) {
  const std::vector<uint32_t> ps = {0, 1, 2};
  std::vector<std::string> as;
  for (auto p : ps) {
    as.push_back(id_in(p, "sub_a"));
    const auto b = id_in(p, "sub_b");
    add_subscription(as.back());
    add_subscription(b);
    set_status(b, 500);
  }
  progress_after_ = 50ms;
  progress_every_ = 10ms; // alone: 100 records a second per partition
  progress_rate_ = 15;    // all three together: 15 a second
  open_all();
  for (std::size_t i = 0; i < ps.size(); ++i)
    apply_->apply(ps[i], 5, 0, {entry(cluster_id(100 + i), {as[i], id_in(ps[i], "sub_b")})});
  const auto start = std::chrono::steady_clock::now();
  std::atomic<bool> done = false;
  auto each_has = [&](std::size_t n) {
    for (auto p : ps) {
      std::size_t made = 0;
      for (const auto& r : records_made_)
        made += r.partition == p ? 1 : 0;
      if (made < n)
        return false;
    }
    return true;
  };
  std::thread feeder([&] { feed_lagging(*apply_, ps, as, [&] { return done.load(); }); });
  const bool fed = wait_for([&] { return each_has(4); });
  done = true;
  feeder.join();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(fed) << "a lagging partition got fewer than 4 records";
  std::lock_guard lock(mu_);
  const double seconds = std::chrono::duration<double>(elapsed).count();
  // The first check after they start lagging may count fewer of them: a
  // few records of slack.
  EXPECT_LE(static_cast<double>(records_made_.size()), 15 * seconds + 4)
    << records_made_.size() << " records in " << seconds << " s";
}

// A new tenure reads the earlier primary's record: a's entries below 12
// were delivered, so only b gets the first entry and a only the third.
TEST_F(cluster_apply_fixture, a_new_tenure_does_not_queue_what_the_record_says_was_delivered) {
  const auto a = id_in(0, "sub_a"), b = id_in(0, "sub_b");
  add_subscription(a);
  add_subscription(b);
  recorded_ = {{a, 12}, {id_in(0, "sub_gone"), 99}};
  open_all();
  apply_->apply(
    0, 7, 10,
    {entry(cluster_id(1), {a, b}), entry(cluster_id(2), {a}), entry(cluster_id(3), {a, b})});
  ASSERT_TRUE(wait_release(0, 7, 13));
  std::lock_guard lock(mu_);
  EXPECT_EQ(delivered_to(a), std::vector<std::string>{cluster_id(3)});
  EXPECT_EQ(delivered_to(b), (std::vector<std::string>{cluster_id(1), cluster_id(3)}));
  EXPECT_EQ(apply_->counters().skipped_delivered.load(), 2u);
}

TEST_F(cluster_apply_fixture, a_lapsed_lease_holds_deliveries_until_it_is_renewed) {
  const auto b = id_in(0, "sub_b");
  add_subscription(b);
  open_all();
  // As after a SIGSTOP past the lease's end: the renewal came too long ago.
  gate_->hold_lease_until(std::chrono::steady_clock::now() - 1s);
  apply_->apply(0, 5, 0, {entry(cluster_id(1), {b}), entry(cluster_id(2), {b})});
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) { // queued (the journal's counts notify nobody: polled)
    auto queued = journal_->count_queue(number_of(b));
    if (queued && *queued == 2)
      break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(gate_->leads(0)); // the tenure started: only the lease holds it
  ASSERT_TRUE(wait_checks(3));
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(sent_[b], 0u);
  }
  EXPECT_EQ(released(0, 5), 0u);
  // Renewed: the subscriber looks again by itself (nothing else nudges it).
  gate_->hold_lease_until(std::chrono::steady_clock::now() + 60s);
  ASSERT_TRUE(wait_delivered(b, 2));
  ASSERT_TRUE(wait_release(0, 5, 2));
  std::lock_guard lock(mu_);
  EXPECT_EQ(delivered_to(b), (std::vector<std::string>{cluster_id(1), cluster_id(2)}));
}

// A graceful stop's drain (app/server.cpp hand_over): the gate closes for
// good, the deliveries in flight end and count until their acks are
// written, and check_releases_now() releases what they delivered at once.
TEST_F(cluster_apply_fixture, a_drain_ends_the_deliveries_in_flight_and_releases_them_at_once) {
  const auto a = id_in(0, "sub_a");
  add_subscription(a);
  records_.back().max_in_flight = 1; // one in flight, two left queued
  release_interval_ = 1h;            // no check runs unless asked
  {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  open_all();
  // Two passes, two segments: a release frees whole segments.
  apply_->apply(0, 5, 0, {entry(cluster_id(1), {a})});
  ASSERT_TRUE(wait_for([&] { return !requests_.empty(); }));
  apply_->apply(0, 5, 1, {entry(cluster_id(2), {a}), entry(cluster_id(3), {a})});
  const auto queued_by = std::chrono::steady_clock::now() + 20s;
  for (;;) { // queued behind the one in flight (the journal notifies nobody: polled)
    auto queued = journal_->count_queue(number_of(a));
    if (queued && *queued == 3)
      break;
    ASSERT_LT(std::chrono::steady_clock::now(), queued_by);
    std::this_thread::sleep_for(2ms);
  }
  gate_->close_all();
  std::size_t sent_at_close = 0;
  {
    std::lock_guard lock(mu_);
    sent_at_close = sent_[a];
    EXPECT_GE(gate_->pending(), static_cast<int64_t>(requests_.size()));
    hold_ = false;
    cv_.notify_all();
  }
  ASSERT_TRUE(wait_delivered(a, sent_at_close));
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (gate_->pending() != 0) { // until the acks are written
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << gate_->pending() << " pending";
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(released(0, 5), 0u);
  ASSERT_TRUE(apply_->check_releases_now(std::chrono::steady_clock::now() + 20s));
  EXPECT_EQ(released(0, 5), 1u); // the delivered entry, not the two still queued
  std::lock_guard lock(mu_);
  EXPECT_EQ(sent_at_close, 1u);
  EXPECT_EQ(sent_[a], 1u) << "a delivery started after the gate closed";
}

TEST_F(cluster_apply_fixture, demote_stops_delivery_and_drops_the_queue) {
  const auto b = id_in(0, "sub_b");
  add_subscription(b);
  set_status(b, 500);
  open_all();
  apply_->apply(0, 5, 0, {entry(cluster_id(1), {b}), entry(cluster_id(2), {b})});
  ASSERT_TRUE(wait_for([&] {
    std::size_t failed = 0;
    for (const auto& d : deliveries_)
      failed += d.sub == b && d.status == 500;
    return failed >= 2;
  }));
  apply_->demote(0, 5);
  ASSERT_TRUE(wait_resets(1));
  ASSERT_EQ(apply_->counters().resets.load(), 1u);
  auto queued = journal_->count_queue(number_of(b));
  ASSERT_TRUE(queued);
  EXPECT_EQ(*queued, 0u);
  // The receiver recovers; the dropped events are not sent to it from here.
  set_status(b, 200);
  apply_->apply(0, 8, 0, {entry(cluster_id(3), {b})});
  ASSERT_TRUE(wait_release(0, 8, 1));
  std::lock_guard lock(mu_);
  EXPECT_EQ(delivered_to(b), (std::vector<std::string>{cluster_id(3)}));
}

TEST_F(cluster_apply_fixture,
       a_restarted_primary_delivers_its_recovered_queue_once_it_leads_again) {
  const auto b = id_in(0, "sub_b");
  add_subscription(b);
  set_status(b, 500);
  open_all();
  apply_->apply(0, 5, 0, {entry(cluster_id(1), {b})});
  ASSERT_TRUE(wait_answered(b, 500));
  close_all();
  set_status(b, 200);
  open_all(); // b's queue is recovered; the gate holds it
  apply_->apply(0, 5, 0, {entry(cluster_id(1), {b}), entry(cluster_id(2), {b})});
  ASSERT_TRUE(wait_release(0, 5, 2));
  EXPECT_EQ(apply_->counters().replayed.load(), 1u);
  std::lock_guard lock(mu_);
  EXPECT_EQ(delivered_to(b), (std::vector<std::string>{cluster_id(1), cluster_id(2)}));
}

TEST_F(cluster_apply_fixture,
       a_restarted_node_drops_the_recovered_queue_of_a_partition_it_no_longer_leads) {
  const auto b = id_in(0, "sub_b");
  add_subscription(b);
  set_status(b, 500);
  open_all();
  apply_->apply(0, 5, 0, {entry(cluster_id(1), {b})});
  ASSERT_TRUE(wait_answered(b, 500));
  close_all();
  set_status(b, 200);
  std::size_t before = 0;
  {
    std::lock_guard lock(mu_);
    before = sent_[b];
  }
  open_all();
  // Another node leads partition 0 now (epoch 7): the server says so at start.
  apply_->demote(0, 7);
  ASSERT_TRUE(wait_resets(1));
  // b's actor ran its first pump before it took the purge: behind the gate,
  // it started no delivery.
  auto queued = journal_->count_queue(number_of(b));
  ASSERT_TRUE(queued);
  EXPECT_EQ(*queued, 0u);
  std::lock_guard lock(mu_);
  EXPECT_EQ(sent_[b], before);
  EXPECT_TRUE(delivered_to(b).empty());
}

// As app/ wires it: the apply is handed its own partition log's entries and
// journals references to them. Events queued so come back from the log after
// a restart, and an entry trimmed from the log is no longer in any queue.
TEST_F(cluster_apply_fixture, with_reference_log_queued_events_are_read_back_from_the_log) {
  const auto b = id_in(0, "sub_b");
  add_subscription(b);
  set_status(b, 500); // failing: its events stay queued
  reference_log_ = true;
  open_all();
  const std::vector<std::string> entries{entry(cluster_id(1), {b}), entry(cluster_id(2), {b}),
                                         entry(cluster_id(3), {b})};
  {
    auto log = storage::partition_log::open(*journal_, 0);
    ASSERT_TRUE(log) << log.error().message;
    ASSERT_FALSE((*log)->append(0, entries));
  }
  apply_->apply(0, 5, 0, entries);
  ASSERT_TRUE(wait_answered(b, 500));
  EXPECT_EQ(journal_->format_version(), storage::journal_format_entry_batches)
    << "a journal whose partition log was appended to records format 4 (the events were "
       "journaled as references: the trimmed entry below shows it)";
  close_all();

  // Entry 0 was trimmed meanwhile (as if b had passed it before the crash).
  set_status(b, 200);
  {
    std::string error;
    auto j = storage::journal::open(dir_.string(), true, error);
    ASSERT_TRUE(j) << error;
    auto log = storage::partition_log::open(*j, 0);
    ASSERT_TRUE(log) << log.error().message;
    ASSERT_FALSE((*log)->trim(1));
  }
  open_all(); // b's queue is recovered through the log; the gate holds it
  apply_->apply(0, 5, 1, {entries[1], entries[2]});
  ASSERT_TRUE(wait_release(0, 5, 3));
  std::lock_guard lock(mu_);
  EXPECT_EQ(delivered_to(b), (std::vector<std::string>{cluster_id(2), cluster_id(3)}));
}

// An entry holds every event of one request for its partition (since
// 2026-12-05): each is delivered to its own subscriptions in order, an
// earlier primary's record skips an entry as a whole, and events journaled
// as references (several into one entry) are read back from the log after
// a restart.
TEST_F(cluster_apply_fixture, an_entry_of_several_events_delivers_each_to_its_subscriptions) {
  const auto a = id_in(0, "sub_a"), b = id_in(0, "sub_b"), c = id_in(0, "sub_c");
  add_subscription(a);
  add_subscription(b);
  add_subscription(c);
  set_status(b, 500); // failing: its events stay queued, as references
  // c had entry 10 delivered by an earlier primary: none of its events again.
  recorded_ = {{c, 11}};
  reference_log_ = true;
  open_all();
  const std::vector<std::string> entries{
    entry_of({{cluster_id(1), {a, b, c}}, {cluster_id(2), {b}}, {cluster_id(3), {a, b, c}}}),
    entry_of({{cluster_id(4), {b, c}}, {cluster_id(5), {a}}})};
  {
    auto log = storage::partition_log::open(*journal_, 0);
    ASSERT_TRUE(log) << log.error().message;
    ASSERT_FALSE((*log)->append(0, std::vector<std::string>(10, entry(cluster_id(99), {}))));
    ASSERT_FALSE((*log)->append(10, entries));
  }
  apply_->apply(0, 7, 10, entries);
  ASSERT_TRUE(wait_delivered(a, 3));
  ASSERT_TRUE(wait_delivered(c, 1));
  ASSERT_TRUE(wait_answered(b, 500));
  EXPECT_EQ(apply_->counters().applied.load(), 5u) << "every event of both entries";
  EXPECT_EQ(apply_->counters().skipped_delivered.load(), 2u) << "c's two events of entry 10";
  EXPECT_EQ(apply_->counters().malformed.load(), 0u);
  close_all();

  set_status(b, 200);
  open_all(); // b's queue is recovered through the log (four references into two entries)
  apply_->apply(0, 7, 10, entries);
  ASSERT_TRUE(wait_release(0, 7, 12));
  std::lock_guard lock(mu_);
  EXPECT_EQ(delivered_to(a),
            (std::vector<std::string>{cluster_id(1), cluster_id(3), cluster_id(5)}));
  EXPECT_EQ(delivered_to(b),
            (std::vector<std::string>{cluster_id(1), cluster_id(2), cluster_id(3), cluster_id(4)}));
  EXPECT_EQ(delivered_to(c), (std::vector<std::string>{cluster_id(4)}));
}

// Without it (entries that are in no log), each event is copied.
TEST_F(cluster_apply_fixture, without_reference_log_the_events_are_copied) {
  const auto b = id_in(0, "sub_b");
  add_subscription(b);
  open_all();
  apply_->apply(0, 5, 0, {entry(cluster_id(1), {b})});
  ASSERT_TRUE(wait_delivered(b, 1));
  EXPECT_EQ(journal_->format_version(), 1u) << "no partition log, no reference";
}

} // namespace
} // namespace sy::actors
