#pragma once
// Wires storage, actors, transport and api into a running server.

#include "app/config.hpp"

#include <functional>
#include <optional>
#include <string>

namespace sy::app {

/// Reads the configuration again for SIGHUP: the new one, or nullopt with
/// `error` saying what is wrong (the old one stays).
using config_reader = std::function<std::optional<config>(std::string& error)>;

/// Runs the server until SIGTERM or SIGINT; SIGHUP applies `reload`'s tokens
/// and log level. Returns the process exit status: 0 stopped, 1 a runtime
/// failure at start (data directory, journal, address), 2 configuration.
int serve(const config& cfg, const config_reader& reload);

} // namespace sy::app
