#pragma once
// One log line per key per interval, however many there were.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sy::log {

/// Admits at most one line per key (a remote address, a kind of failure)
/// per interval and counts the lines it refuses, so that a flood writes one
/// line per interval saying how many it stood for. Shared by every thread
/// that logs such lines (one mutex); holds at most `max_keys` keys: past
/// that, keys whose interval is over are forgotten, and new keys share the
/// slot "*" until some are.
class rate_limit {
public:
  /// Makes a limit of one line per `interval_ms` per key.
  explicit rate_limit(int64_t interval_ms, std::size_t max_keys = 4096);

  /// Returns nullopt when the line of `key` at steady ms `now_ms` is to be
  /// left out (it is counted), else how many lines of `key` were left out
  /// since its last one (write that number on this line).
  std::optional<uint64_t> admit(std::string_view key, int64_t now_ms);

private:
  struct slot {
    int64_t last_line_ms = 0;
    uint64_t suppressed = 0;
  };
  std::mutex mutex_;
  int64_t interval_ms_;
  std::size_t max_keys_;
  std::unordered_map<std::string, slot> slots_;
};

} // namespace sy::log
