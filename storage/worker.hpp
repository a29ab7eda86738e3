#pragma once
// A thread for the journal's synced writes that actors ask for (dead
// letters, purge, replay): an fsync must not block a CAF worker, on which
// every other actor's messages wait. The ingest pipeline's commit thread
// and the garbage collector have threads of their own; this is the third.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace sy::storage {

/// Owns one thread that runs posted jobs one at a time, in order. Made and
/// stopped by app/ (after every actor is done, before the actor system and
/// the journal go); any thread may post.
class blocking_worker {
public:
  /// Starts the thread.
  blocking_worker();
  /// Runs every job still queued, then joins the thread.
  ~blocking_worker();
  blocking_worker(const blocking_worker&) = delete;
  blocking_worker& operator=(const blocking_worker&) = delete;

  /// Queues `job` to run after every job queued before it; once stopped,
  /// runs it on the calling thread instead.
  void post(std::function<void()> job);

  /// Runs every queued job, then stops the thread; idempotent.
  void stop();

private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace sy::storage
