#pragma once
// The bodies of the administration endpoints: what POST /v1/admin/backup
// (docs/api.md §11) and POST /v1/subscriptions/{id}/rotate-keys take.

#include <cstdint>
#include <string>

#include "core/result.hpp"

namespace sy::core {

/// A request for an online backup.
struct backup_request {
  std::string path; ///< absolute; must not exist yet, its parent must
};

/// Reads {"path": "<new directory>"}: 400 when malformed or not a string,
/// 422 when missing, relative, or an unknown field is present.
result<backup_request> decode_backup_request(std::string& body);

/// Default grace of a key rotation: a day.
inline constexpr int64_t default_grace_seconds = 86400;

/// Longest grace a key rotation accepts: 30 days.
inline constexpr int64_t max_grace_seconds = 30 * 86400;

/// Reads {"grace_seconds": N} (an empty body means the default): 400 when
/// malformed or not a number, 422 when not a whole number of seconds from 0
/// to max_grace_seconds or an unknown field is present.
result<int64_t> decode_rotate_keys_request(std::string& body);

} // namespace sy::core
