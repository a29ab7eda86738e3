#pragma once
// The event level of docs/api.md "Retries": each failed event waits out its
// own delay while the subscription's other events flow.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

namespace sy::core {

/// The per-event retry bookkeeping of one subscription, by event sequence
/// number: how many times each event failed and why it failed last, and
/// when each failed event that
/// waits is due again. Events not due yet are skipped while others flow;
/// a FIFO subscription asks for head() instead and waits for it.
/// Owned by one subscriber actor; not thread-safe; times are steady ms.
class retry_queue {
public:
  /// Counts a failed attempt of `seq` whose failure was `error` ("HTTP
  /// 500", a connection error) and returns its failures so far (1 on the first).
  int add_failure(uint64_t seq, std::string error = {});
  /// Returns how many attempts of `seq` failed (0 when none, or forgotten).
  int failures(uint64_t seq) const;
  /// Returns the failure of the last failed attempt of `seq` ("" when none).
  std::string last_error(uint64_t seq) const;

  /// Makes `seq` wait until `due_ms` (replacing an earlier wait).
  void defer(uint64_t seq, int64_t due_ms);
  /// Returns the waiting seq that is due earliest, if it is due at
  /// `now_ms` (ties: the lower seq), and leaves it waiting.
  std::optional<uint64_t> peek_due(int64_t now_ms) const;
  /// Removes and returns the waiting seq that is due earliest, if it is due
  /// at `now_ms` (ties: the lower seq).
  std::optional<uint64_t> take_due(int64_t now_ms);
  /// Returns the lowest waiting seq and when it is due (a FIFO head).
  std::optional<std::pair<uint64_t, int64_t>> head() const;
  /// Stops `seq` waiting (it goes out now, or was dropped); its failure
  /// count stays.
  void take(uint64_t seq);
  /// Returns when the earliest waiting seq is due.
  std::optional<int64_t> next_due() const;
  /// Returns true while `seq` waits.
  bool waiting(uint64_t seq) const { return due_.count(seq) != 0; }
  /// Returns how many seqs wait.
  std::size_t size() const { return due_.size(); }

  /// Forgets `seq` altogether (delivered, dead-lettered or purged).
  void forget(uint64_t seq);
  /// Forgets everything (purge).
  void clear();

private:
  std::map<uint64_t, int64_t> due_;              // seq → due, in seq order
  std::set<std::pair<int64_t, uint64_t>> order_; // (due, seq), earliest first
  struct failed {
    int count = 0;
    std::string last_error;
  };
  std::unordered_map<uint64_t, failed> failures_;
};

} // namespace sy::core
