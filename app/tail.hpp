#pragma once
// `switchyard tail [--subscription ID]` (API.md §7): follows GET /v1/stream
// and prints one line per delivery attempt and subscription state change.

#include <string>

#include "app/api_client.hpp"

namespace sy::app {

/// Follows the server's stream (of subscription `only`, or of every one when
/// "") until the server ends it or the process is interrupted; prints
/// JSON lines when `json`. Returns 0 when the server ended the stream, 1 on
/// an API error or a lost connection.
int run_tail(const api_endpoint& endpoint, const std::string& only, bool json);

} // namespace sy::app
