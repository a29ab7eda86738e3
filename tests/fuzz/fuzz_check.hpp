#pragma once
// What every fuzz target shares: an invariant check that aborts (so that
// libFuzzer keeps the input as a crash), and a JSON validity check for the
// bytes a decoder hands on.

#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace sy::fuzz {

/// Aborts with `what` when `ok` is false.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

/// Checks what every refusal must be: a 400 or 422 naming a field or not,
/// with a message, and an index of -1 or more.
inline void check_refusal(const core::input_error& e) {
  check(e.status == 400 || e.status == 422, "a refusal is a 400 or a 422");
  check(!e.message.empty(), "a refusal has a message");
  check(e.index >= -1, "a refusal's index is -1 or an element");
}

/// Returns true when `json` is one valid JSON value (of any type), checked
/// by simdjson's DOM parser, independent of the On Demand codecs.
inline bool is_valid_json(std::string_view json) {
  static simdjson::dom::parser parser;
  simdjson::padded_string copy(json);
  simdjson::dom::element ignored;
  return parser.parse(copy).get(ignored) == simdjson::SUCCESS;
}

/// Returns true when `json` is one valid JSON object.
inline bool is_json_object(std::string_view json) {
  return !json.empty() && json.front() == '{' && is_valid_json(json);
}

} // namespace sy::fuzz
