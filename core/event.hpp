#pragma once
// The routed event, as parsed from any ingest shape.

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace sy::core {

/// One event as a codec produced it. Views point into the request buffer or
/// into the owning event_batch's storage; the batch must outlive them.
struct event_view {
  std::string_view type;
  std::string_view country;   ///< empty when the event names none
  std::string_view client_id; ///< empty when the producer sent no id
  std::string_view data;      ///< the JSON object, byte for byte
  int64_t timestamp_ms = 0;
};

/// Holds a parsed batch: the events and the bytes a codec had to synthesise
/// (an Acoustic event's data object). Owned by the handler that parsed it.
struct event_batch {
  std::vector<event_view> events;
  /// Synthesised bytes; a deque so that views stay valid as it grows.
  std::deque<std::string> storage;

  /// Stores `s` and returns a view of the stored copy.
  std::string_view keep(std::string s) { return storage.emplace_back(std::move(s)); }
};

/// One event owned outright: what the journal stores and delivery reads.
struct event {
  std::string id; ///< server-assigned id
  std::string type;
  std::string country;   ///< empty = none
  std::string client_id; ///< empty = none
  std::string data;      ///< the JSON object, byte for byte
  int64_t timestamp_ms = 0;
};

} // namespace sy::core
