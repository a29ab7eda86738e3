#pragma once
// The journal's garbage collector: a thread of its own that, every period,
// deletes the events no queue refers to and the expired dedupe keys. It
// runs beside the commit thread and the actors, never on a CAF worker,
// since a collection may read and delete many keys.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace sy::storage {

class journal;

/// Owns the collector thread. Made and stopped by app/; `journal` outlives it.
class garbage_collector {
public:
  /// Starts collecting every `period`, expiring dedupe keys older than
  /// `dedupe_window_ms`.
  garbage_collector(journal& journal, std::chrono::milliseconds period, int64_t dedupe_window_ms);
  /// Stops the thread (waiting for a running collection to finish).
  ~garbage_collector();
  garbage_collector(const garbage_collector&) = delete;
  garbage_collector& operator=(const garbage_collector&) = delete;

  /// Stops the thread; idempotent.
  void stop();

private:
  void run();

  journal& journal_;
  const std::chrono::milliseconds period_;
  const int64_t dedupe_window_ms_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string last_error_; // the last failure said, touched by the thread only
  std::thread thread_;
};

} // namespace sy::storage
