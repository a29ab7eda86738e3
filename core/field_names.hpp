#pragma once
// Known member names of a request body: the strict-body check every codec
// shares. An unknown member is refused with 422 naming it and, when one is
// close, the known name it was probably meant to be (docs/api.md,
// "Conventions"): a typo must never widen a subscription or drop a filter.

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace sy::core {

/// Returns the edit distance between `a` and `b` ignoring ASCII case
/// (insertions, deletions, substitutions and swaps of two neighbours).
std::size_t edit_distance_nocase(std::string_view a, std::string_view b);

/// Returns the name of `known` nearest to `key` when it is close enough to
/// be a likely typo (at most 1 edit, or a third of the name's length), else
/// an empty view; the first of equally near names wins.
std::string_view nearest_name(std::string_view key, std::initializer_list<std::string_view> known);

/// Returns the 422 refusing member `key` of the object at `path` ("" for the
/// body, "auth", "events[2]"): `unknown field "key" (did you mean "x"?)`.
input_error unknown_field(std::string_view path, std::string_view key,
                          std::initializer_list<std::string_view> known, long index = -1);

} // namespace sy::core
