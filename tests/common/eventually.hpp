#pragma once
// Polls `ok` every 5 ms until it holds or `within` passed; returns its last
// answer. The one bounded wait of the tests that watch threads they do not
// own (actors, other processes' effects).

#include <chrono>
#include <functional>
#include <thread>

namespace sy::test {

inline bool eventually(const std::function<bool()>& ok,
                       std::chrono::milliseconds within = std::chrono::seconds(20)) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (ok())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return ok();
}

} // namespace sy::test
