#pragma once
// The deadlines of an actor's requests, kept by the actor itself.
//
// CAF 0.17 gives every request with a timeout a timer on its clock thread
// (`actor_clock`): each one is a locked push and a wake-up of that thread,
// and the timer fires even after the answer came. The router and the
// replicator ask their peers thousands of times a second; in a profile of
// R = 3 single events CAF's clock thread took 6 % of the samples and its
// push another 2.5 % (docs/performance.md "Request deadlines").
//
// So those requests go with `caf::infinite` (CAF sets no timer) and their
// deadlines wait here, in send order (every request of one actor kind has
// the same timeout, so send order is deadline order). The actor's own tick
// calls sweep(): each request past its deadline and still unanswered gets
// CAF's own `sec::request_timeout` error as its response, the same message
// CAF's timer would have sent, so the request's error handler runs as
// before and CAF forgets the request. A request answered in time only
// leaves a stale entry that its deadline drops.
//
// One actor's state, used on that actor's thread only.

#include <caf/message_id.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_set>

namespace caf {
class local_actor;
}

namespace sy::cluster {

class request_deadlines {
public:
  using clock = std::chrono::steady_clock;

  explicit request_deadlines(std::chrono::milliseconds timeout = std::chrono::seconds(2))
      : timeout_(timeout) {}

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  /// Records a request sent now; `response_id` is its response_handle's id().
  void add(caf::message_id response_id, clock::time_point now = clock::now());

  /// Its response (an answer or an error) came: no timeout for it.
  void answered(caf::message_id response_id) { open_.erase(response_id.integer_value()); }

  /// Sends `self` CAF's request_timeout error for each request whose
  /// deadline passed by `now` and that is still unanswered; returns how many.
  std::size_t sweep(caf::local_actor* self, clock::time_point now = clock::now());

  /// Requests sent and not answered yet.
  std::size_t open() const { return open_.size(); }
  /// Whether a later sweep() has anything to look at.
  bool empty() const { return order_.empty(); }

private:
  std::chrono::milliseconds timeout_;
  std::deque<std::pair<clock::time_point, caf::message_id>> order_; // by deadline
  std::unordered_set<uint64_t> open_;                               // integer_value()s
};

} // namespace sy::cluster
