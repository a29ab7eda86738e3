#pragma once
// Codecs: request bodies in, domain values or a precise input_error out.
// Each decode_* takes the body as a mutable string so that it can be padded
// in place for simdjson; returned views point into it, so it must outlive
// the result. Field names are matched case-insensitively.

#include <cstddef>
#include <limits>
#include <string>

#include "core/event.hpp"
#include "core/result.hpp"

namespace sy::core {

/// Decodes POST /v1/events (docs/api.md §1): one event object or an array of them,
/// all or nothing. Missing timestamps become `now_ms`. A batch of more than
/// `max_events` is refused with 413 naming http.max_batch_events, as soon as
/// the one too many is met.
result<event_batch> decode_native_events(
  std::string& body, int64_t now_ms,
  std::size_t max_events = std::numeric_limits<std::size_t>::max());

/// Returns the 413 refusing a batch of more than `max_events` events.
input_error too_many_events(std::size_t max_events);

} // namespace sy::core
