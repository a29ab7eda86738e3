#pragma once
// Wires storage, actors, transport and api into a running server.

#include "app/config.hpp"

namespace sy::app {

/// Runs the server until SIGTERM or SIGINT; returns the process exit status.
int serve(const config& cfg);

} // namespace sy::app
