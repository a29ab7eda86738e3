#pragma once
// The bodies of the administration endpoints (docs/api.md §11): what
// POST /v1/admin/backup takes.

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

} // namespace sy::core
