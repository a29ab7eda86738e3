// request_deadlines with real CAF actors: a requester sends with
// caf::infinite (no CAF timer) to an actor that never answers and to one
// that answers, and sweeps at a time it is told. Only the unanswered
// request past its deadline gets request_timeout, once; nothing comes
// before its deadline, and an answered request gets its answer only.
#include "cluster/request_deadlines.hpp"

#include <gtest/gtest.h>

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "../../common/eventually.hpp"

using namespace sy::cluster;
using namespace std::chrono_literals;

namespace {

using ask_atom = caf::atom_constant<caf::atom("rdask")>;
using sweep_atom = caf::atom_constant<caf::atom("rdsweep")>;

// What the requester's handlers and sweeps saw.
struct record {
  std::mutex mutex;
  std::vector<int> answers;
  std::vector<caf::error> errors;
  std::vector<std::size_t> fired; // each sweep's count
  std::size_t open = 0;           // after the last message
};

struct silent_state {
  std::vector<caf::response_promise> kept; // never delivered
};

// Takes every request and never answers it.
caf::behavior silent(caf::stateful_actor<silent_state>* self, int) {
  return {[self](int) -> caf::result<int> {
    auto rp = self->make_response_promise();
    self->state.kept.push_back(rp);
    return rp;
  }};
}

caf::behavior echo(caf::event_based_actor*, int) {
  return {[](int x) { return x + 1; }};
}

struct requester_state {
  request_deadlines deadlines{1000ms};
};

caf::behavior requester(caf::stateful_actor<requester_state>* self, std::shared_ptr<record> seen) {
  auto note_open = [self, seen] {
    std::lock_guard<std::mutex> guard(seen->mutex);
    seen->open = self->state.deadlines.open();
  };
  return {
    [=](ask_atom, const caf::actor& to, int x) {
      auto handle = self->request(to, caf::infinite, x);
      const auto mid = handle.id();
      self->state.deadlines.add(mid);
      handle.then(
        [=](int y) {
          self->state.deadlines.answered(mid);
          {
            std::lock_guard<std::mutex> guard(seen->mutex);
            seen->answers.push_back(y);
          }
          note_open();
        },
        [=](const caf::error& e) {
          self->state.deadlines.answered(mid);
          {
            std::lock_guard<std::mutex> guard(seen->mutex);
            seen->errors.push_back(e);
          }
          note_open();
        });
      note_open();
    },
    // Sweeps as if `ahead_ms` had passed since now.
    [=](sweep_atom, int ahead_ms) {
      const auto n = self->state.deadlines.sweep(self, std::chrono::steady_clock::now() +
                                                         std::chrono::milliseconds(ahead_ms));
      {
        std::lock_guard<std::mutex> guard(seen->mutex);
        seen->fired.push_back(n);
      }
      note_open();
    },
  };
}

// Every wait here has 10 s.
bool eventually(const std::function<bool()>& ok) { return sy::test::eventually(ok, 10s); }

struct deadlines : ::testing::Test {
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  std::shared_ptr<record> seen = std::make_shared<record>();
  caf::actor asker = system.spawn(requester, seen);
  caf::actor mute = system.spawn(silent, 0);
  caf::actor echoer = system.spawn(echo, 0);

  // Waits until what the requester saw satisfies `ok`.
  bool saw(const std::function<bool(const record&)>& ok) {
    return eventually([&] {
      std::lock_guard<std::mutex> guard(seen->mutex);
      return ok(*seen);
    });
  }
  std::size_t sweeps() {
    std::lock_guard<std::mutex> guard(seen->mutex);
    return seen->fired.size();
  }
  // Sweeps `ahead_ms` ahead and returns how many it fired.
  std::size_t sweep(int ahead_ms) {
    const auto before = sweeps();
    caf::anon_send(asker, sweep_atom::value, ahead_ms);
    EXPECT_TRUE(eventually([&] { return sweeps() > before; }));
    std::lock_guard<std::mutex> guard(seen->mutex);
    return seen->fired.back();
  }
  // Ends the actors, whatever a test's assertions did (the system waits
  // for every actor as it ends).
  ~deadlines() override {
    for (const auto& a : {asker, mute, echoer})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
};

TEST_F(deadlines, an_unanswered_request_gets_request_timeout_once_its_deadline_passed) {
  caf::anon_send(asker, ask_atom::value, mute, 1);
  ASSERT_TRUE(saw([](const record& r) { return r.open == 1; }));
  EXPECT_EQ(sweep(0), 0u) << "fired before its deadline";
  EXPECT_EQ(sweep(500), 0u) << "fired before its deadline";
  EXPECT_EQ(sweep(1500), 1u);
  ASSERT_TRUE(saw([](const record& r) { return !r.errors.empty(); }))
    << "the request's error handler did not run";
  EXPECT_EQ(sweep(5000), 0u) << "fired twice";
  std::lock_guard<std::mutex> guard(seen->mutex);
  ASSERT_EQ(seen->errors.size(), 1u);
  EXPECT_EQ(seen->errors[0], caf::sec::request_timeout);
  EXPECT_TRUE(seen->answers.empty());
  EXPECT_EQ(seen->open, 0u);
}

TEST_F(deadlines, an_answered_request_gets_its_answer_and_no_timeout) {
  caf::anon_send(asker, ask_atom::value, echoer, 41);
  ASSERT_TRUE(saw([](const record& r) { return !r.answers.empty(); }));
  EXPECT_EQ(sweep(1500), 0u) << "an answered request was timed out";
  // Whatever a late timeout would do, it would have done by now: the
  // sweep's message is handled before this second sweep.
  EXPECT_EQ(sweep(1500), 0u);
  std::lock_guard<std::mutex> guard(seen->mutex);
  EXPECT_EQ(seen->answers, std::vector<int>{42});
  EXPECT_TRUE(seen->errors.empty());
  EXPECT_EQ(seen->open, 0u);
}

TEST_F(deadlines, requests_time_out_in_the_order_sent_each_at_its_own_deadline) {
  caf::anon_send(asker, ask_atom::value, mute, 1);
  ASSERT_TRUE(saw([](const record& r) { return r.open == 1; }));
  std::this_thread::sleep_for(600ms); // the second is sent at least 600 ms later
  caf::anon_send(asker, ask_atom::value, mute, 2);
  ASSERT_TRUE(saw([](const record& r) { return r.open == 2; }));
  // 700 ms ahead of now passes the first's deadline (1 s after it was
  // sent, 600 ms ago or more) and not the second's (1 s after it was sent,
  // which was less than 300 ms ago unless this machine stalls that long).
  EXPECT_EQ(sweep(700), 1u);
  EXPECT_EQ(sweep(1200), 1u);
  ASSERT_TRUE(saw([](const record& r) { return r.errors.size() == 2; }));
}

} // namespace
