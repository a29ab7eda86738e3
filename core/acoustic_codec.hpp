#pragma once
// Acoustic Exchange (docs/api.md §1, "POST /v1/event"): the POST /v1/event
// codec that turns Acoustic's three payload forms into routed events, checked
// against the registered event types (core/event_type_codec.hpp). Pure: no
// I/O, no clock (callers pass `now_ms`), no registry (callers pass a lookup).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/event.hpp"
#include "core/event_type_codec.hpp"
#include "core/result.hpp"

namespace sy::core {

/// Returns the registered event type for a code, or nullptr.
using event_type_lookup = std::function<const event_type_def*(std::string_view code)>;

/// Decodes POST /v1/event (docs/api.md §1, "POST /v1/event"): an
/// individual event, a simple batch or a compound batch, all or nothing.
/// Every violation is a 400 naming the field's full path (such as
/// "eventbatch[1].events[0].timestamp") and, when it concerns one event, the
/// event's index in the returned order. A compound batch's events without a
/// timestamp get `now_ms`. Unlike the other codecs' views, the returned
/// views point into the batch's own storage, not into `body`.
result<event_batch> decode_acoustic_events(std::string& body, const event_type_lookup& lookup,
                                           int64_t now_ms);

} // namespace sy::core
