#include "core/time_format.hpp"

#include <chrono>

#include <cstdio>
#include <ctime>

namespace sy::core {

std::string format_iso8601_ms(int64_t ms, std::string_view zone) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  // Room for any int in every field, so that -Wformat-truncation cannot fire.
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return std::string(buf).append(zone);
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace sy::core
