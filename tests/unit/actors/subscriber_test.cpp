// The subscriber actor, one message at a time: CAF's deterministic test
// coordinator runs it on this thread, its timers fire only when the test
// advances the coordinator's clock (together with the subscriber's own
// manual clock), the journal is a real RocksDB in a temporary directory,
// and the test answers every webhook request itself through the env's
// `send` seam: nothing sleeps and nothing leaves the process.

#include "actors/subscriber.hpp"

#include <gtest/gtest.h>

#include <caf/scheduler/test_coordinator.hpp>

#include <filesystem>
#include <functional>
#include <vector>

#include "actors/messages.hpp"
#include "core/clock.hpp"
#include "core/signing.hpp"
#include "storage/journal.hpp"
#include "transport/http_types.hpp"

namespace sy::actors {
namespace {

namespace fs = std::filesystem;

// One request the subscriber sent, and the callback that answers it.
struct sent_request {
  transport::client_request request;
  std::function<void(transport::client_response)> answer;
};

class subscriber_fixture : public ::testing::Test {
protected:
  subscriber_fixture() {
    dir_ = fs::temp_directory_path() /
           ("sy_subscriber_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(dir_);
    std::string error;
    journal_ = storage::journal::open(dir_.string(), false, error);
    EXPECT_TRUE(journal_) << error;
    cfg_.set("scheduler.policy", caf::atom("testing"));
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    register_protocol(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
    auto env = std::make_shared<subscriber_env>();
    env->journal = journal_.get();
    env->clock = &clock_;
    env->seed = 42;
    env->send = [this](transport::client_request req,
                       std::function<void(transport::client_response)> done) {
      sent_.push_back(sent_request{std::move(req), std::move(done)});
    };
    env_ = env;
  }

  ~subscriber_fixture() override {
    if (actor_)
      caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
    actor_ = nullptr;
    sched_->run();
    sys_.reset();
    journal_.reset();
    fs::remove_all(dir_);
  }

  // Spawns the subscriber of an active, verified subscription.
  void spawn() {
    auto number = journal_->next_sub_number();
    ASSERT_TRUE(number);
    sub_.number = *number;
    sub_.id = "sub_test";
    sub_.service = "shop";
    sub_.url = "http://receiver.test/hook";
    sub_.types = {"**"};
    sub_.verified = true;
    sub_.state = core::subscription_state::active;
    sub_.private_key = "test-private-key";
    sub_.public_key = "test-public-key";
    stats_ = std::make_shared<subscription_stats>();
    actor_ = spawn_subscriber(*sys_, sub_, stats_, env_, false, 0);
    sched_->run();
  }

  // Journals an event queued for the subscription and hands it over, as
  // the ingest pipeline does.
  storage::event_ptr publish(const std::string& id) {
    auto e = std::make_shared<storage::stored_event>();
    e->seq = journal_->reserve_seqs(1);
    e->ingest_ms = clock_.wall_ms();
    e->ev.id = id;
    e->ev.type = "billing.paid";
    e->ev.data = "{\"amount\":1}";
    e->ev.timestamp_ms = e->ingest_ms;
    storage::event_ptr stored = e;
    EXPECT_FALSE(journal_->append({storage::append_item{stored, {sub_.number}}}));
    event_list list;
    list.events.push_back(stored);
    caf::anon_send(actor_, enqueue_atom::value, std::move(list));
    sched_->run();
    return stored;
  }

  // Answers the `i`th request sent with `status` and runs what follows.
  void answer(std::size_t i, int status) {
    ASSERT_LT(i, sent_.size());
    transport::client_response r;
    r.status = status;
    sent_[i].answer(std::move(r));
    sched_->run();
  }

  // Moves both clocks forward by `ms` and runs every timer that came due.
  void advance(int64_t ms) {
    clock_.advance(ms);
    sched_->advance_time(std::chrono::milliseconds(ms));
    sched_->run();
  }

  void set_state(core::subscription_state to) {
    sub_.state = to;
    caf::anon_send(actor_, update_subscription{sub_});
    sched_->run();
  }

  stats_snapshot stats() const { return snapshot_of(*stats_); }

  uint64_t journal_queue() const {
    auto n = journal_->count_queue(sub_.number);
    EXPECT_TRUE(n);
    return n ? *n : 0;
  }

  static std::string header(const transport::client_request& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
      if (k == name)
        return v;
    return {};
  }

  static inline int counter_ = 0;
  fs::path dir_;
  std::unique_ptr<storage::journal> journal_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  core::manual_clock clock_;
  std::shared_ptr<subscriber_env> env_;
  std::vector<sent_request> sent_;
  subscription sub_;
  stats_ptr stats_;
  caf::actor actor_;
};

TEST_F(subscriber_fixture, delivers_an_event_and_acknowledges_it_after_the_flush_delay) {
  spawn();
  auto e = publish("evt_1");
  ASSERT_EQ(sent_.size(), 1u);
  const auto& req = sent_[0].request;
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, sub_.url);
  EXPECT_EQ(header(req, "webhook-id"), "evt_1");
  EXPECT_FALSE(header(req, "webhook-signature").empty());
  EXPECT_NE(req.body.find("\"id\":\"evt_1\""), std::string::npos) << req.body;
  EXPECT_EQ(stats().in_flight, 1u);
  EXPECT_EQ(stats().queued, 1u);

  clock_.advance(40); // the receiver takes 40 ms to answer
  answer(0, 200);
  auto s = stats();
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.failed_attempts, 0u);
  EXPECT_EQ(s.last_success_at, clock_.wall_ms());
  EXPECT_EQ(s.latency_p50_ms, 40);
  // Acks are batched: the queue key goes with the flush timer (5 ms).
  EXPECT_EQ(journal_queue(), 1u);
  advance(5);
  EXPECT_EQ(journal_queue(), 0u);
  EXPECT_EQ(sent_.size(), 1u);
}

TEST_F(subscriber_fixture, signs_with_the_current_key_and_the_grace_key_after_a_rotation) {
  spawn();
  publish("evt_1");
  ASSERT_EQ(sent_.size(), 1u);
  auto ts_of = [](const transport::client_request& r) {
    return std::stoll(header(r, "webhook-timestamp"));
  };
  const auto& first = sent_[0].request;
  EXPECT_EQ(header(first, "x-notificare-signature"),
            core::notificare_signature("test-private-key", first.body));
  EXPECT_EQ(
    header(first, "webhook-signature"),
    core::standard_webhooks_signature("test-private-key", "evt_1", ts_of(first), first.body));
  answer(0, 200);

  // Rotated while the actor runs: the prepared key must follow the new one,
  // and the old key signs too until the grace ends.
  sub_.previous_private_key = sub_.private_key;
  sub_.previous_key_until = clock_.wall_ms() + 60000;
  sub_.private_key = "whsec_" + core::base64_encode(std::string(32, '\x05'));
  caf::anon_send(actor_, update_subscription{sub_});
  sched_->run();
  publish("evt_2");
  ASSERT_EQ(sent_.size(), 2u);
  const auto& second = sent_[1].request;
  EXPECT_EQ(header(second, "x-notificare-signature"),
            core::notificare_signature(sub_.private_key, second.body));
  EXPECT_EQ(
    header(second, "webhook-signature"),
    core::standard_webhooks_signature(sub_.private_key, "evt_2", ts_of(second), second.body) + " " +
      core::standard_webhooks_signature("test-private-key", "evt_2", ts_of(second), second.body));
  answer(1, 200);

  // Past the grace only the new key signs.
  advance(60001);
  publish("evt_3");
  ASSERT_EQ(sent_.size(), 3u);
  const auto& third = sent_[2].request;
  EXPECT_EQ(header(third, "webhook-signature"),
            core::standard_webhooks_signature(sub_.private_key, "evt_3", ts_of(third), third.body));
}

TEST_F(subscriber_fixture, a_failed_attempt_waits_out_its_retry_delay_on_the_clock) {
  spawn();
  publish("evt_1");
  ASSERT_EQ(sent_.size(), 1u);
  answer(0, 500);
  auto s = stats();
  EXPECT_EQ(s.failed_attempts, 1u);
  EXPECT_EQ(s.last_error, "HTTP 500");
  EXPECT_EQ(s.delivered, 0u);
  EXPECT_EQ(s.queued, 1u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.backing_off_until, 0) << "one 500 must not open the breaker";
  ASSERT_GT(s.next_attempt_at, clock_.wall_ms());
  const int64_t delay = s.next_attempt_at - clock_.wall_ms();
  // retry.initial 1 s with jitter: the delay is of that order.
  EXPECT_GE(delay, 500);
  EXPECT_LE(delay, 1500);

  // Virtual time: the retry timer has not come due one ms early…
  advance(delay - 1);
  EXPECT_EQ(sent_.size(), 1u);
  // …and fires exactly at its time, with the same event.
  advance(1);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(header(sent_[1].request, "webhook-id"), "evt_1");
  EXPECT_EQ(stats().next_attempt_at, 0);

  answer(1, 204);
  s = stats();
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(s.failed_attempts, 1u);
  EXPECT_EQ(s.queued, 0u);
  advance(5);
  EXPECT_EQ(journal_queue(), 0u);
}

TEST_F(subscriber_fixture, a_failed_event_does_not_hold_up_the_others) {
  spawn();
  publish("evt_1");
  answer(0, 503);
  publish("evt_2");
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(header(sent_[1].request, "webhook-id"), "evt_2");
  answer(1, 200);
  EXPECT_EQ(stats().delivered, 1u);
  EXPECT_EQ(stats().queued, 1u); // evt_1 waits for its retry
}

TEST_F(subscriber_fixture, pause_holds_deliveries_and_activate_sends_what_queued) {
  spawn();
  set_state(core::subscription_state::paused);
  publish("evt_1");
  publish("evt_2");
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(stats().queued, 2u);
  EXPECT_EQ(journal_queue(), 2u);
  // Paused is not a timer: however long it lasts, nothing goes out.
  advance(60'000);
  EXPECT_TRUE(sent_.empty());

  set_state(core::subscription_state::active);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(header(sent_[0].request, "webhook-id"), "evt_1");
  EXPECT_EQ(header(sent_[1].request, "webhook-id"), "evt_2");
  answer(0, 200);
  answer(1, 200);
  EXPECT_EQ(stats().delivered, 2u);
  EXPECT_EQ(stats().queued, 0u);
}

TEST_F(subscriber_fixture, a_pause_during_a_retry_wait_holds_the_retry_until_activated) {
  spawn();
  publish("evt_1");
  answer(0, 500);
  const int64_t delay = stats().next_attempt_at - clock_.wall_ms();
  ASSERT_GT(delay, 0);
  set_state(core::subscription_state::paused);
  advance(delay);
  EXPECT_EQ(sent_.size(), 1u);
  set_state(core::subscription_state::active);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(header(sent_[1].request, "webhook-id"), "evt_1");
}

TEST_F(subscriber_fixture, an_event_past_max_age_becomes_a_dead_letter_instead_of_a_retry) {
  env_->settings.max_age_ms = 500;
  spawn();
  publish("evt_1");
  answer(0, 500);
  const int64_t delay = stats().next_attempt_at - clock_.wall_ms();
  ASSERT_GT(delay, 500);
  advance(delay);
  EXPECT_EQ(sent_.size(), 1u);
  auto s = stats();
  EXPECT_EQ(s.dead_lettered, 1u);
  EXPECT_EQ(s.queued, 0u);
  auto letters = journal_->dead_letters(sub_.number, 10);
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ(letters->front().event->ev.id, "evt_1");
  EXPECT_EQ(journal_queue(), 0u);
}

} // namespace
} // namespace sy::actors
