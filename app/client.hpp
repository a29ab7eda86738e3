#pragma once
// The client commands of API.md §7 (subscriptions, dead-letters, publish,
// listen, sign, verify-signature, config check, health): the same binary
// as the server, talking to one over HTTP.

#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace sy::app {

/// Exit status of a command that succeeded.
inline constexpr int exit_ok = 0;
/// Exit status of an API error (any non-2xx answer, no answer) or a failed check.
inline constexpr int exit_failed = 1;
/// Exit status of a usage or configuration error.
inline constexpr int exit_usage = 2;

/// Registers the client commands on a command line and runs the one parsed.
/// Owns the values the options are parsed into, so it must outlive the
/// parse. Used by main()'s thread only.
class client_commands {
public:
  /// Adds every client command to `cli`.
  explicit client_commands(CLI::App& cli);
  ~client_commands();
  client_commands(const client_commands&) = delete;
  client_commands& operator=(const client_commands&) = delete;

  /// Runs the client command that the parse selected and returns its exit
  /// status; nullopt when the command line named none of them.
  std::optional<int> run();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace sy::app
