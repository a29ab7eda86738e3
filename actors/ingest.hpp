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
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "actors/routes.hpp"
#include "storage/journal.hpp"

namespace sy::actors {

/// The outcome of one submitted batch: 202 with the events' sequence
/// numbers (event_id(seq) is each one's public id), or an error status (503
/// when the journal failed or the pipeline is full).
struct ingest_outcome {
  int status = 202;
  std::vector<uint64_t> seqs;
  std::string error;
};

/// How many characters a public event id has ("evt_" and 16 hex digits).
inline constexpr std::size_t event_id_size = 20;

/// Returns the public id of the event with sequence number `seq`.
std::string event_id(uint64_t seq);

/// Writes the public id of `seq` into `out` (event_id_size characters).
void write_event_id(char* out, uint64_t seq);

/// Returns the sequence number of the event whose public id is `id` (the
/// inverse of event_id), or nullopt when `id` is not such an id.
std::optional<uint64_t> seq_of_event_id(std::string_view id);

/// One batch on its way to the journal: events (seq and id still unset),
/// their journal records, each event's matched route ordinals, the table
/// they index, and who waits. Built with add() on the thread that read the
/// request, so that the commit thread only fills in sequence numbers and writes.
struct ingest_submission {
  std::vector<std::shared_ptr<storage::stored_event>> events;
  /// Every event's matched route ordinals, concatenated: event i's end at match_ends[i].
  std::vector<uint32_t> matches;
  std::vector<std::size_t> match_ends;
  /// Every event's journal record (storage::encode_event, seq 0 and a
  /// placeholder id), concatenated: event i's ends at record_ends[i].
  std::string records;
  std::vector<std::size_t> record_ends;
  route_ptr routes;
  std::function<void(ingest_outcome)> done;
  /// Keeps every event's id as given (cluster mode: the cluster-wide id the
  /// ingest node minted) rather than event_id(seq); the journal still
  /// gives each event a local seq.
  bool keep_ids = false;
  /// The key each event's client id is deduplicated under (event i's is
  /// dedupe_keys[i]); empty: the client id itself. Cluster mode's apply
  /// scopes them per partition and epoch (actors/cluster_apply.hpp).
  std::vector<std::string> dedupe_keys;
  /// The events are durable elsewhere already, and written again if a crash
  /// loses them (cluster mode's apply: the partition log holds them, and
  /// the applied offset in `meta` says where to resume): the commit does
  /// not wait for an fsync for them (storage::append_sync::elsewhere),
  /// unless another submission of its round needs one.
  bool durable_elsewhere = false;
  /// Where each event's record lies in the partition log (cluster mode's
  /// apply, add_referenced()): event i is journaled as refs[i] instead of
  /// its record. Empty: every event's record is in `records`.
  std::vector<storage::log_ref> refs;
  /// Meta (name, value) pairs written in the same write as the events
  /// (cluster mode: a partition's applied offset); written even when every
  /// event of the round was a repeat.
  std::vector<std::pair<std::string, std::string>> meta;

  /// Makes room for `n` events whose records take about `bytes`.
  void reserve(std::size_t n, std::size_t bytes);
  /// Adds `e`, matched to the route ordinals `ords`, and encodes its record
  /// (giving it a placeholder id that the commit overwrites).
  void add(std::shared_ptr<storage::stored_event> e, std::span<const uint32_t> ords);
  /// Adds `e`, whose journal record `record` is already encoded with its id
  /// set (keep_ids), matched to the route ordinals `ords`.
  void add_encoded(std::shared_ptr<storage::stored_event> e, std::string_view record,
                   std::span<const uint32_t> ords);
  /// Adds `e` (its id set: keep_ids), whose record the partition log holds
  /// at `ref`, matched to the route ordinals `ords`; the journal keeps the
  /// reference, not a copy. A submission takes only add_referenced() or
  /// only the other two.
  void add_referenced(std::shared_ptr<storage::stored_event> e, const storage::log_ref& ref,
                      std::span<const uint32_t> ords);

private:
  /// Ends event `e`'s record where `records` ends now and adds it with its
  /// route ordinals `ords`: the last step of each adder above.
  void push(std::shared_ptr<storage::stored_event> e, std::span<const uint32_t> ords);
};

/// Counters the pipeline keeps for /metrics.
struct ingest_counters {
  std::atomic<uint64_t> ingested{0};     ///< events journaled
  std::atomic<uint64_t> routed{0};       ///< (event, subscription) pairs queued
  std::atomic<uint64_t> deduplicated{0}; ///< events dropped as repeats of a client id
  std::atomic<uint64_t> commits{0};      ///< group commits written
};

/// Owns the group-commit threads. Any thread may submit; the commit thread
/// assigns sequence numbers in commit order and writes everything that
/// queued up meanwhile in one unsynced WriteBatch (a round); the sync
/// thread then makes it durable with one fsync and only then sends each
/// subscriber one message and answers every submission of the round. The
/// commit thread writes round N + 1 while round N is being synced, and
/// waits for the sync thread to take a round before it writes the next.
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
  /// A round written but not yet synced, and what to tell once it is.
  struct written_round;

  void run();
  void run_sync();
  void commit(std::vector<ingest_submission>& group);
  /// Answers every submission of `group` 503 with `why`.
  void fail(std::vector<ingest_submission>& group, const std::string& why);

  storage::journal& journal_;
  // Reused by every commit (the commit thread's alone).
  std::vector<storage::append_record> records_;
  std::vector<uint64_t> subs_;
  std::vector<std::pair<std::string_view, std::string_view>> meta_;
  const int64_t dedupe_window_ms_;
  const std::size_t max_pending_events_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<ingest_submission> queue_;
  std::size_t queued_events_ = 0;
  bool stopping_ = false;
  ingest_counters counters_;
  // Rounds handed to the sync thread (at most one waits while one syncs).
  std::mutex sync_mutex_;
  std::condition_variable sync_wake_;  // the sync thread: a round, or stop
  std::condition_variable sync_taken_; // the commit thread: the round was taken
  std::unique_ptr<written_round> written_;
  bool sync_stopping_ = false;
  std::thread sync_thread_;
  std::thread thread_;
};

} // namespace sy::actors
