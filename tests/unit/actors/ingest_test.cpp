// The ingest pipeline against a real journal (synced, in a temporary
// directory): what it acknowledges is journaled under the ids it answered,
// in commit order, also while one round is written and another synced.

#include "actors/ingest.hpp"

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "actors/messages.hpp"
#include "actors/subscriber_slot.hpp"

namespace sy::actors {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t sub_number = 7;

class ingest_fixture : public ::testing::Test {
protected:
  ingest_fixture() {
    dir_ = fs::temp_directory_path() /
           ("sy_ingest_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(dir_);
    open();
    register_protocol(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    // Stands in for the subscriber: counts the events handed over.
    // The counter goes in as an argument: CAF 0.17 spawns a function that
    // takes none through a null argument tuple (UBSan reports it).
    subscriber_ = sys_->spawn(
      [](std::shared_ptr<std::atomic<std::size_t>> delivered) -> caf::behavior {
        return {[delivered](enqueue_atom, const event_list& l) {
          delivered->fetch_add(l.events.size());
        }};
      },
      delivered_);
    core::chunked_writer<route_target> targets;
    targets.at(0) = {sub_number, std::make_shared<subscriber_slot>(subscriber_)};
    routes_ = std::make_shared<route_table>(
      core::subscription_index(std::vector<core::index_entry>{}), targets.publish(), std::nullopt);
  }
  ~ingest_fixture() override {
    caf::anon_send_exit(subscriber_, caf::exit_reason::user_shutdown);
    subscriber_ = nullptr;
    routes_.reset();
    sys_.reset();
    journal_.reset();
    fs::remove_all(dir_);
  }

  /// Waits (up to 30 s) until the subscriber was handed `n` events.
  bool wait_delivered(std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (delivered_->load() < n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return delivered_->load() == n;
  }

  void open() {
    std::string error;
    journal_ = storage::journal::open(dir_.string(), true, error);
    ASSERT_TRUE(journal_) << error;
  }

  /// Returns a submission of `n` events routed to sub_number, with client
  /// ids `cids` (or none), whose outcome lands in `out`.
  ingest_submission batch(std::size_t n, std::vector<std::string> cids = {}) {
    ingest_submission s;
    s.reserve(n, 0);
    const uint32_t to_sub[] = {0};
    for (std::size_t i = 0; i < n; ++i) {
      auto e = std::make_shared<storage::stored_event>();
      // Now, as api/ingest.cpp stamps it: the journal answers a client id
      // only within the dedupe window of its event's ingest time.
      e->ingest_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
      e->ev.type = "t.ingest";
      e->ev.data = R"({"i":)" + std::to_string(i) + "}";
      e->ev.timestamp_ms = 1000;
      if (i < cids.size())
        e->ev.client_id = cids[i];
      s.add(std::move(e), to_sub);
    }
    s.routes = routes_;
    s.done = [this](ingest_outcome out) {
      std::lock_guard guard(mu_);
      outcomes_.push_back(std::move(out));
      cv_.notify_all();
    };
    return s;
  }

  /// Waits (up to 30 s) until `n` submissions have been answered.
  bool wait_answers(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return outcomes_.size() >= n; });
  }

  std::vector<uint64_t> queued_seqs() {
    std::vector<uint64_t> seqs;
    auto events = journal_->read_queue(sub_number, 0, 1u << 20);
    EXPECT_TRUE(events);
    if (!events)
      return seqs;
    for (const auto& e : *events) {
      EXPECT_EQ(e->ev.id, event_id(e->seq));
      seqs.push_back(e->seq);
    }
    return seqs;
  }

  static inline int counter_ = 0;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::shared_ptr<std::atomic<std::size_t>> delivered_ = std::make_shared<std::atomic<std::size_t>>(
    0);
  caf::actor subscriber_;
  fs::path dir_;
  std::unique_ptr<storage::journal> journal_;
  route_ptr routes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ingest_outcome> outcomes_;
};

TEST_F(ingest_fixture, every_acknowledged_event_is_journaled_under_its_answered_id) {
  constexpr int producers = 4, per_producer = 60;
  std::size_t events = 0;
  {
    ingest_pipeline pipeline(*journal_, storage::dedupe_window_ms, 1u << 20);
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
      threads.emplace_back([&, p] {
        for (int i = 0; i < per_producer; ++i)
          pipeline.submit(batch(1 + static_cast<std::size_t>((p + i) % 5)));
      });
    for (auto& t : threads)
      t.join();
    for (int p = 0; p < producers; ++p)
      for (int i = 0; i < per_producer; ++i)
        events += 1 + static_cast<std::size_t>((p + i) % 5);
    ASSERT_TRUE(wait_answers(producers * per_producer));
    EXPECT_GT(pipeline.counters().commits.load(), 0u);
    EXPECT_EQ(pipeline.counters().ingested.load(), events);
  }
  std::vector<uint64_t> acknowledged;
  for (const auto& out : outcomes_) {
    ASSERT_EQ(out.status, 202) << out.error;
    ASSERT_FALSE(out.seqs.empty());
    // A submission's events are numbered consecutively.
    for (std::size_t i = 1; i < out.seqs.size(); ++i)
      EXPECT_EQ(out.seqs[i], out.seqs[i - 1] + 1);
    acknowledged.insert(acknowledged.end(), out.seqs.begin(), out.seqs.end());
  }
  ASSERT_EQ(acknowledged.size(), events);
  // Answers come in commit order: the numbers only grow.
  EXPECT_TRUE(std::is_sorted(acknowledged.begin(), acknowledged.end()));
  EXPECT_EQ(std::set<uint64_t>(acknowledged.begin(), acknowledged.end()).size(), events);
  EXPECT_EQ(queued_seqs(), acknowledged);
  EXPECT_TRUE(wait_delivered(events)) << delivered_->load() << " of " << events;

  journal_.reset();
  open();
  EXPECT_EQ(queued_seqs(), acknowledged);
  EXPECT_GT(journal_->next_seq(), acknowledged.back());
}

// Cluster mode's apply: the partition log already holds the events durably,
// so a round of such submissions asks for no fsync; one with another
// submission in it does.
TEST_F(ingest_fixture, a_round_durable_elsewhere_asks_for_no_fsync_and_is_readable_at_once) {
  ingest_pipeline pipeline(*journal_, storage::dedupe_window_ms, 1u << 20);
  const uint64_t before = journal_->syncs();
  for (int i = 0; i < 5; ++i) {
    auto s = batch(3);
    s.durable_elsewhere = true;
    pipeline.submit(std::move(s));
    ASSERT_TRUE(wait_answers(static_cast<std::size_t>(i + 1)));
  }
  EXPECT_EQ(journal_->syncs(), before);
  EXPECT_EQ(queued_seqs().size(), 15u); // not held back as unsynced
  EXPECT_TRUE(wait_delivered(15));
  pipeline.submit(batch(1));
  ASSERT_TRUE(wait_answers(6));
  EXPECT_GT(journal_->syncs(), before) << "an ordinary submission is synced before its answer";
  std::lock_guard guard(mu_);
  for (const auto& out : outcomes_)
    EXPECT_EQ(out.status, 202) << out.error;
}

TEST_F(ingest_fixture, a_repeated_client_id_is_answered_with_its_first_id) {
  ingest_pipeline pipeline(*journal_, storage::dedupe_window_ms, 1u << 20);
  pipeline.submit(batch(2, {"order-1", ""}));
  // The same id again, twice in one submission and once next to a new one;
  // possibly while the first round is still being synced.
  pipeline.submit(batch(2, {"order-1", "order-1"}));
  pipeline.submit(batch(2, {"order-2", "order-1"}));
  ASSERT_TRUE(wait_answers(3));
  std::lock_guard guard(mu_);
  const uint64_t first = outcomes_[0].seqs[0];
  EXPECT_EQ(outcomes_[1].seqs, (std::vector<uint64_t>{first, first}));
  ASSERT_EQ(outcomes_[2].seqs.size(), 2u);
  EXPECT_EQ(outcomes_[2].seqs[1], first);
  EXPECT_EQ(queued_seqs(),
            (std::vector<uint64_t>{first, outcomes_[0].seqs[1], outcomes_[2].seqs[0]}));
  EXPECT_EQ(pipeline.counters().deduplicated.load(), 3u);
  EXPECT_TRUE(wait_delivered(3)) << delivered_->load();
}

} // namespace
} // namespace sy::actors
