#include "core/clock.hpp"

#include <chrono>

namespace sy::core {

int64_t real_clock::steady_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

int64_t real_clock::wall_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

const clock& system_clock() {
  static const real_clock c;
  return c;
}

} // namespace sy::core
