#pragma once
// The ingest pipeline: matched batches in, one group commit per round,
// 202s and subscriber hand-overs out.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "actors/routes.hpp"
#include "storage/journal.hpp"

namespace sy::actors {

/// The outcome of one submitted batch: 202 with the event ids, or an error
/// status (503 when the journal failed or the pipeline is full).
struct ingest_outcome {
  int status = 202;
  std::vector<std::string> ids;
  std::string error;
};

/// Returns the public id of the event with sequence number `seq`.
std::string event_id(uint64_t seq);

/// Returns the sequence number of the event whose public id is `id` (the
/// inverse of event_id), or nullopt when `id` is not such an id.
std::optional<uint64_t> seq_of_event_id(std::string_view id);

/// One batch on its way to the journal: events (seq and id still unset),
/// each event's matched route ordinals, the table they index, and who waits.
struct ingest_submission {
  std::vector<std::shared_ptr<storage::stored_event>> events;
  std::vector<std::vector<uint32_t>> matches;
  route_ptr routes;
  std::function<void(ingest_outcome)> done;
};

/// Counters the pipeline keeps for /metrics.
struct ingest_counters {
  std::atomic<uint64_t> ingested{0};     ///< events journaled
  std::atomic<uint64_t> routed{0};       ///< (event, subscription) pairs queued
  std::atomic<uint64_t> deduplicated{0}; ///< events dropped as repeats of a client id
  std::atomic<uint64_t> commits{0};      ///< group commits written
};

/// Owns the group-commit thread. Any thread may submit; the commit thread
/// assigns sequence numbers in commit order, writes everything that queued
/// up during the previous sync in one WriteBatch, then answers every
/// submission of the group and sends each subscriber one message.
class ingest_pipeline {
public:
  /// `dedupe_window_ms`: a client id seen within this window is not routed again.
  ingest_pipeline(storage::journal& journal, int64_t dedupe_window_ms,
                  std::size_t max_pending_events);
  ~ingest_pipeline();

  /// Queues `s`; its `done` runs on the commit thread. Refuses (503) at once
  /// when more than max_pending_events wait.
  void submit(ingest_submission s);

  /// Stops after committing what was submitted; joins the thread.
  void stop();

  const ingest_counters& counters() const { return counters_; }

private:
  void run();
  void commit(std::vector<ingest_submission>& group);
  /// Answers every submission of `group` 503 with `why`.
  void fail(std::vector<ingest_submission>& group, const std::string& why);

  storage::journal& journal_;
  const int64_t dedupe_window_ms_;
  const std::size_t max_pending_events_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<ingest_submission> queue_;
  std::size_t queued_events_ = 0;
  bool stopping_ = false;
  ingest_counters counters_;
  std::thread thread_;
};

} // namespace sy::actors
