#include "core/field_names.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace sy::core {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Longest name compared: member names are short, and a key of kilobytes
// must not cost a quadratic table.
constexpr std::size_t max_compared = 64;

} // namespace

std::size_t edit_distance_nocase(std::string_view a, std::string_view b) {
  // Optimal string alignment over three rolling rows.
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j)
    prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]))
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::string_view nearest_name(std::string_view key, std::initializer_list<std::string_view> known) {
  if (key.empty() || key.size() > max_compared)
    return {};
  std::string_view best;
  std::size_t best_distance = SIZE_MAX;
  for (auto name : known) {
    std::size_t d = edit_distance_nocase(key, name);
    std::size_t allowed = std::max<std::size_t>(1, name.size() / 3);
    if (d <= allowed && d < best_distance) {
      best = name;
      best_distance = d;
    }
  }
  return best;
}

input_error unknown_field(std::string_view path, std::string_view key,
                          std::initializer_list<std::string_view> known, long index) {
  std::string field(path);
  if (!field.empty())
    field.append(".");
  // A key is echoed in the answer: a huge one is cut, not copied whole.
  constexpr std::size_t max_echoed = 128;
  field.append(key.substr(0, max_echoed));
  if (key.size() > max_echoed)
    field.append("...");
  std::string message = "unknown field \"" + field + "\"";
  if (auto hint = nearest_name(key, known); !hint.empty())
    message.append(" (did you mean \"").append(hint).append("\"?)");
  input_error e = unprocessable(std::move(field), std::move(message), index);
  e.names_field = true;
  return e;
}

} // namespace sy::core
