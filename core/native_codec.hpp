#pragma once
// Codecs: request bodies in, domain values or a precise input_error out.
// Each decode_* takes the body as a mutable string so that it can be padded
// in place for simdjson; returned views point into it, so it must outlive
// the result. Field names are matched case-insensitively.

#include <string>

#include "core/event.hpp"
#include "core/result.hpp"

namespace sy::core {

/// Decodes POST /v1/events (docs/api.md §1): one event object or an array of them,
/// all or nothing. Missing timestamps become `now_ms`.
result<event_batch> decode_native_events(std::string& body, int64_t now_ms);

} // namespace sy::core
