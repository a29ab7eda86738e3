// The pull subscriber actor, one message at a time on CAF's deterministic
// test coordinator, with a real journal in a temporary directory: files are
// stored in order through storage::blocking_worker, and a journal that
// refuses writes (a free-space reserve larger than any disk) makes seals
// and deletes fail with one log line each, never a crash.

#include "actors/subscriber.hpp"

#include <gtest/gtest.h>

#include <caf/scheduler/test_coordinator.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "actors/messages.hpp"
#include "core/time_format.hpp"
#include "storage/journal.hpp"
#include "storage/worker.hpp"
#include "tests/common/count_of.hpp"
#include "tests/unit/actors/writer_hold.hpp"
#include "tests/unit/capture_stderr.hpp"

namespace sy::actors {
namespace {

namespace fs = std::filesystem;

using sy::test_support::capture_stderr;

using sy::test::count_of;

class pull_fixture : public ::testing::Test {
protected:
  pull_fixture() {
    dir_ = fs::temp_directory_path() /
           ("sy_pull_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(dir_);
    open_journal(0);
    cfg_.set("scheduler.policy", caf::atom("testing"));
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    register_protocol(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
    auto number = journal_->next_sub_number();
    EXPECT_TRUE(number);
    sub_.number = number ? *number : 1;
    sub_.id = "sub_pull";
    sub_.delivery = core::delivery_mode::pull;
    sub_.verified = true;
    sub_.state = core::subscription_state::active;
    sub_.access_key = "ak_test";
  }

  ~pull_fixture() override {
    kill();
    sys_.reset();
    journal_.reset();
    fs::remove_all(dir_);
  }

  // (Re)opens the journal; a `reserve` larger than the disk refuses every write.
  void open_journal(uint64_t reserve) {
    journal_.reset();
    storage::journal_options options;
    options.reserve_bytes = reserve;
    std::string error;
    journal_ = storage::journal::open(dir_.string(), options, error);
    ASSERT_TRUE(journal_) << error;
  }

  void spawn(bool recovered, storage::blocking_worker* writer = nullptr) {
    auto env = std::make_shared<subscriber_env>();
    env->journal = journal_.get();
    env->writer = writer;
    env->settings.pull_file_max_events = 2;
    env->settings.pull_file_max_age_ms = 3'600'000;
    stats_ = std::make_shared<subscription_stats>();
    actor_ = spawn_pull_subscriber(*sys_, sub_, stats_, env, recovered);
    sched_->run();
  }

  void kill() {
    if (!actor_)
      return;
    caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
    actor_ = nullptr;
    sched_->run();
  }

  // Journals `n` events queued for the subscription; hands them over unless
  // `silently` (a restart finds them instead).
  void publish(int n, bool silently = false) {
    event_list list;
    for (int i = 0; i < n; ++i) {
      auto e = std::make_shared<storage::stored_event>();
      e->seq = journal_->reserve_seqs(1);
      e->ingest_ms = core::now_ms();
      e->ev.id = "evt_" + std::to_string(e->seq);
      e->ev.type = "billing.paid";
      e->ev.data = "{}";
      e->ev.timestamp_ms = e->ingest_ms;
      storage::event_ptr stored = e;
      ASSERT_FALSE(journal_->append({storage::append_item{stored, {sub_.number}}}));
      list.events.push_back(stored);
    }
    if (silently)
      return;
    caf::anon_send(actor_, enqueue_atom::value, std::move(list));
    sched_->run();
  }

  // Sends `request`, runs the actors and returns the answer.
  template <class Reply, class Request>
  caf::expected<Reply> ask(Request request) {
    caf::expected<Reply> out{caf::make_error(caf::sec::unexpected_response)};
    caf::scoped_actor self{*sys_};
    self->send(actor_, std::move(request));
    sched_->run();
    self->receive([&](Reply& reply) { out = std::move(reply); },
                  [&](caf::error& err) { out = std::move(err); },
                  caf::after(std::chrono::seconds(0)) >>
                    [&] { out = caf::make_error(caf::sec::request_timeout); });
    return out;
  }

  std::vector<std::string> files() {
    auto names = ask<event_file_names>(list_event_files{10});
    EXPECT_TRUE(names) << sys_->render(names.error());
    return names ? names->names : std::vector<std::string>{};
  }

  static inline int counter_ = 0;
  fs::path dir_;
  std::unique_ptr<storage::journal> journal_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  subscription sub_;
  stats_ptr stats_;
  caf::actor actor_;
};

TEST_F(pull_fixture, files_are_stored_through_the_writer_one_at_a_time_in_order) {
  storage::blocking_worker worker;
  spawn(false, &worker);
  test_support::writer_hold hold(worker);

  publish(5); // two full files and one open event
  EXPECT_TRUE(files().empty()) << "listed before its seal is stored";
  {
    std::lock_guard<std::mutex> guard(stats_->mutex);
    EXPECT_EQ(stats_->queued, 5u);
  }
  hold.release();
  test_support::drain(worker); // the first file is stored…
  // …and the second posted only now: held, so that the worker cannot store
  // it before the listing below (it did under ASan's timing).
  test_support::writer_hold second(worker);
  sched_->run();
  EXPECT_EQ(files().size(), 1u);
  second.release();
  test_support::drain(worker);
  sched_->run();
  auto names = files();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_LT(names[0], names[1]);

  // A delete is answered once it is stored, and the file is gone.
  caf::expected<done> deleted{caf::make_error(caf::sec::unexpected_response)};
  {
    caf::scoped_actor self{*sys_};
    self->send(actor_, delete_event_file{names[0]});
    sched_->run();
    test_support::drain(worker);
    sched_->run();
    self->receive([&](done& d) { deleted = d; }, [&](caf::error& e) { deleted = e; },
                  caf::after(std::chrono::seconds(0)) >> [] { ADD_FAILURE() << "no answer"; });
  }
  EXPECT_TRUE(deleted);
  EXPECT_EQ(files(), std::vector<std::string>{names[1]});
  std::lock_guard<std::mutex> guard(stats_->mutex);
  EXPECT_EQ(stats_->queued, 3u);
  EXPECT_EQ(stats_->delivered, 2u);
  kill(); // before the worker goes
}

TEST_F(pull_fixture, a_refused_seal_is_logged_once_across_its_retries_and_a_refused_delete_is_503) {
  spawn(false);
  publish(2); // one sealed file
  auto names = files();
  ASSERT_EQ(names.size(), 1u);
  publish(1, true); // queued while the node is down
  kill();
  open_journal(uint64_t{1} << 62); // no disk has that much free: writes are refused

  std::string log = capture_stderr([&] {
    spawn(true); // finds the file, and one queued event past it
    // One more event (it could not be journaled now; the actor only needs
    // its seq) fills the open file: its seal is refused.
    auto e = std::make_shared<storage::stored_event>();
    e->seq = journal_->reserve_seqs(1);
    e->ingest_ms = core::now_ms();
    e->ev.id = "evt_late";
    e->ev.data = "{}";
    event_list list;
    list.events.push_back(e);
    caf::anon_send(actor_, enqueue_atom::value, std::move(list));
    sched_->run();
    // Tried again each second, refused again, not logged again.
    for (int i = 0; i < 2; ++i) {
      sched_->advance_time(std::chrono::seconds(1));
      sched_->run();
    }
  });
  EXPECT_EQ(count_of(log, "storage.error: cannot seal a pull file"), 1u) << log;
  EXPECT_NE(log.find("subscription=sub_pull"), std::string::npos) << log;
  {
    std::lock_guard<std::mutex> guard(stats_->mutex);
    EXPECT_EQ(stats_->queued, 4u) << "the refused file's events stay counted";
  }
  EXPECT_EQ(files(), names) << "the refused file is not listed";

  caf::expected<done> deleted{caf::make_error(caf::sec::unexpected_response)};
  auto del_log = capture_stderr([&] { deleted = ask<done>(delete_event_file{names[0]}); });
  ASSERT_FALSE(deleted);
  EXPECT_EQ(to_domain_error(deleted.error()).code, errc::unavailable);
  EXPECT_EQ(count_of(del_log, "storage.error: cannot delete a pull file"), 1u) << del_log;
  EXPECT_EQ(files(), names) << "the file stays until its delete is stored";
}

} // namespace
} // namespace sy::actors
