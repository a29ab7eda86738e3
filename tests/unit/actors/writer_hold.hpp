#pragma once
// Test helpers that make storage::blocking_worker deterministic: hold its
// thread while the actors run, then let it finish what was posted.

#include <future>

#include "storage/worker.hpp"

namespace sy::actors::test_support {

/// Holds `worker`'s thread (jobs posted after it wait) until release() or
/// until the hold goes, so that a failed ASSERT cannot leave the worker's
/// destructor waiting forever. Declare it after the worker.
class writer_hold {
public:
  /// Posts the job that waits for release().
  explicit writer_hold(storage::blocking_worker& worker) {
    worker.post([held = released_.get_future().share()] { held.wait(); });
  }
  /// Releases the worker if the test did not.
  ~writer_hold() { release(); }
  writer_hold(const writer_hold&) = delete;
  writer_hold& operator=(const writer_hold&) = delete;

  /// Lets the worker run the jobs posted meanwhile.
  void release() {
    if (!done_) {
      done_ = true;
      released_.set_value();
    }
  }

private:
  std::promise<void> released_;
  bool done_ = false;
};

/// Runs every job posted to `worker` so far: each storage_done they send is
/// in its actor's mailbox when this returns.
inline void drain(storage::blocking_worker& worker) {
  std::promise<void> done;
  auto f = done.get_future();
  worker.post([&done] { done.set_value(); });
  f.wait();
}

} // namespace sy::actors::test_support
