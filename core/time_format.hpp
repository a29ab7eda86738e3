#pragma once
// Timestamps as switchyard writes and reads them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sy::core {

/// Returns milliseconds since the Unix epoch (system clock).
int64_t now_ms();

/// Returns `ms` since the epoch as ISO-8601 UTC with milliseconds,
/// "2026-11-25T01:30:00.000" followed by `zone` ("Z" or "+00:00").
std::string format_iso8601_ms(int64_t ms, std::string_view zone = "Z");

/// Returns the milliseconds since the Unix epoch that an ISO-8601 time such
/// as "2015-02-28T20:16:12Z" names (fractional seconds and "+01:00" offsets
/// accepted, fractions below a millisecond truncated), or nullopt when
/// `text` is not exactly such a time or names an impossible date.
std::optional<int64_t> parse_iso8601_ms(std::string_view text);

} // namespace sy::core
