#pragma once
// Namespaced event types and the patterns subscriptions match them with
// (docs/api.md §2): segments separated by '.', '*' = exactly one segment,
// a trailing '**' = one or more segments, anything else literal.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sy::core {

/// Longest event type or pattern accepted, in bytes.
inline constexpr std::size_t max_type_bytes = 255;

/// Returns why `type` is not a valid event type, or nullopt when it is.
std::optional<std::string> validate_event_type(std::string_view type);

/// Returns why `pattern` is not a valid type pattern, or nullopt when it is.
std::optional<std::string> validate_type_pattern(std::string_view pattern);

/// Splits a validated type or pattern into its segments.
std::vector<std::string_view> split_segments(std::string_view s);

/// Returns true when the valid `pattern` matches the valid event `type`.
/// The reference matcher: SubscriptionIndex must agree with it.
bool pattern_matches(std::string_view pattern, std::string_view type);

} // namespace sy::core
