#pragma once
// ISO 3166-1 alpha-2 country codes.

#include <string_view>

namespace sy::core {

/// Returns true when `code` is an assigned ISO 3166-1 alpha-2 code in
/// uppercase (plus XK, the code in common use for Kosovo).
bool is_iso_country(std::string_view code);

} // namespace sy::core
