#pragma once
// The operator's log: one line per event worth knowing, text or JSON lines.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace sy::log {

/// How serious a line is; `off` (as a threshold) silences everything.
enum class level { trace, debug, info, warn, error, off };

/// How lines are written: `text` (human) or `json` (one object per line).
enum class format { text, json };

/// One key and its value on a line; the value is written as a string.
struct field {
  std::string_view key;
  std::string_view value;
};

/// Returns the level named "trace", "debug", "info", "warn", "error" or "off",
/// or `info` for any other name (config validation refuses those first).
level parse_level(std::string_view name);

/// Sets the format and the threshold; safe to call again from any thread
/// (SIGHUP changes the level while other threads log).
void configure(format f, level threshold);

/// Writes lines to the file at `path` from now on (appended; created 0600
/// when missing) instead of standard error; returns why it cannot be opened.
/// Safe to call from any thread.
std::optional<std::string> open_file(const std::string& path);

/// Reopens the file open_file opened (SIGHUP, after logrotate moved it
/// away); lines keep going to the old file when that fails, and the
/// failure is returned. Does nothing when lines go to standard error.
std::optional<std::string> reopen_file();

/// Sets the threshold only.
void set_level(level threshold);

/// Returns true when lines at `l` are written (check it before building
/// fields that cost something).
bool enabled(level l);

/// Writes one line: `event` is a stable dotted name (docs/operations.md),
/// `message` the human sentence, `fields` machine-readable details. Never
/// pass a secret: the log is read by people and shipped to other systems.
void write(level l, std::string_view event, std::string_view message,
           std::initializer_list<field> fields = {});

/// Returns the JSON string literal (quotes included) of `s`, escaping
/// quotes, backslashes, control characters and invalid UTF-8 (as U+FFFD).
std::string json_quote(std::string_view s);

} // namespace sy::log
