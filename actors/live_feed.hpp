#pragma once
// The fan-out of live observations (delivery attempts, subscription state
// changes) to the open /v1/stream connections (docs/api.md "Console and
// live observation").

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sy::core {
class json_writer;
}

namespace sy::actors {

/// One observation as the streams send it: an SSE event name ("attempt",
/// "state"), the subscription it concerns and its JSON data.
struct live_event {
  std::string_view name;
  std::string_view subscription;
  std::string_view json;
};

/// Fans observations out to listeners (one per open stream). Owned by the
/// server and outliving every actor; publish() is called by subscriber and
/// registry actors, listen()/forget() by the I/O threads. With no listener
/// a publisher pays one relaxed atomic load (`active()`), which it checks
/// before it even formats the observation; with listeners, publish() calls
/// each under a mutex, so a listener must not block (a stream only posts
/// the chunk to its connection).
class live_feed {
public:
  using listener = std::function<void(const live_event&)>;

  /// Returns true when some listener is registered (a hint: one may come or
  /// go right after).
  bool active() const { return count_.load(std::memory_order_relaxed) > 0; }

  /// Registers `l`; returns the id that forget() takes.
  uint64_t listen(listener l);

  /// Removes the listener `id`; once it returns, `id` is not called again.
  void forget(uint64_t id);

  /// Calls every listener with `e`.
  void publish(const live_event& e);

private:
  std::atomic<std::size_t> count_{0};
  std::mutex mutex_;
  std::vector<std::pair<uint64_t, listener>> listeners_;
  uint64_t next_id_ = 0;
};

/// One delivery attempt as the subscriber keeps it (the last
/// max_kept_attempts per subscription, in memory only).
struct attempt_record {
  std::string event_id;
  std::string type;
  int attempt = 1;              ///< 1 for the first try of the event
  int64_t at = 0;               ///< ms since epoch when it was sent
  int64_t duration_ms = 0;      ///< sent → answer (or failure)
  int status = 0;               ///< HTTP status; 0 when no answer came
  std::string error;            ///< "" on a 2xx; else "HTTP <status>" or the transport error
  std::string response_excerpt; ///< the answer's first bytes, valid UTF-8

  bool operator==(const attempt_record&) const = default;
};

/// Attempts a subscriber keeps (GET /v1/subscriptions/{id}/attempts).
inline constexpr std::size_t max_kept_attempts = 100;

/// Most bytes of a response body an attempt keeps.
inline constexpr std::size_t max_excerpt_bytes = 256;

/// Returns at most `max` bytes of `body`, cut before any incomplete or
/// invalid UTF-8 sequence (an invalid byte becomes U+FFFD).
std::string utf8_excerpt(std::string_view body, std::size_t max = max_excerpt_bytes);

/// As utf8_excerpt, into `out` (replacing its contents, keeping its capacity).
void assign_utf8_excerpt(std::string& out, std::string_view body,
                         std::size_t max = max_excerpt_bytes);

/// The last max_kept_attempts attempts, oldest overwritten first. Touched
/// only by its subscriber actor.
class attempt_ring {
public:
  /// Adds `a`, dropping the oldest when full.
  void add(attempt_record a);
  /// Returns the slot of the next attempt to fill in (the oldest once
  /// full): overwriting its strings reuses their memory, so that a warm
  /// ring records an attempt without allocating.
  attempt_record& next_slot();
  /// Returns the newest `limit` attempts, newest first.
  std::vector<attempt_record> newest(std::size_t limit) const;

private:
  std::vector<attempt_record> items_;
  std::size_t next_ = 0; // where the next one goes once full
};

/// Writes the members event_id, type, attempt, at, duration_ms, status and
/// error of `a` into the object `w` has open (the stream's attempt event and
/// GET …/attempts share them).
void write_attempt_members(core::json_writer& w, const attempt_record& a);

/// Returns the JSON of `a` as the stream's attempt event shows it
/// (`subscription` first, no excerpt).
std::string attempt_event_json(std::string_view subscription, const attempt_record& a);

} // namespace sy::actors
