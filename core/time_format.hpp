#pragma once
// Timestamps as switchyard writes them.

#include <cstdint>
#include <string>
#include <string_view>

namespace sy::core {

/// Returns milliseconds since the Unix epoch (system clock).
int64_t now_ms();

/// Returns `ms` since the epoch as ISO-8601 UTC with milliseconds,
/// "2026-11-25T01:30:00.000" followed by `zone` ("Z" or "+00:00").
std::string format_iso8601_ms(int64_t ms, std::string_view zone = "Z");

} // namespace sy::core
