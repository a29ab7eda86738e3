#pragma once
// Online backups of the journal (docs/operations.md "Backup and restore"):
// one at a time, on their own thread, never on an I/O or actor thread.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "storage/journal.hpp"

namespace sy::storage {

/// What a finished backup reports: where it is and how long it took, or why it failed.
struct backup_outcome {
  std::string dir;                     ///< the new data directory (serve --data DIR restores it)
  std::chrono::milliseconds took{0};   ///< wall time of the checkpoint
  std::optional<storage::error> error; ///< set when the backup failed (its directory is removed)
};

/// Runs backups of one journal on a thread of its own. Destroy it before the journal.
class backup_runner {
public:
  /// Makes a runner of `j`, which must outlive it.
  explicit backup_runner(journal& j);
  /// Waits for a backup in progress.
  ~backup_runner();
  backup_runner(const backup_runner&) = delete;
  backup_runner& operator=(const backup_runner&) = delete;

  /// Starts writing a data directory at `dir` (created 0700, holding the
  /// journal's checkpoint in dir/journal) and calls `done` on the backup's
  /// thread when it is written. Returns false, calling nothing, while
  /// another backup runs.
  bool start(std::string dir, std::function<void(backup_outcome)> done);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace sy::storage
