#include "log/rate_limit.hpp"

namespace sy::log {

rate_limit::rate_limit(int64_t interval_ms, std::size_t max_keys)
    : interval_ms_(interval_ms), max_keys_(max_keys < 1 ? 1 : max_keys) {}

std::optional<uint64_t> rate_limit::admit(std::string_view key, int64_t now_ms) {
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = slots_.find(std::string(key));
  if (it == slots_.end()) {
    if (slots_.size() >= max_keys_) {
      // A key whose interval is over and that left nothing out says
      // nothing more than a new key would: forget those.
      std::erase_if(slots_, [&](const auto& kv) {
        return kv.second.suppressed == 0 && now_ms - kv.second.last_line_ms >= interval_ms_;
      });
    }
    if (slots_.size() >= max_keys_)
      it = slots_.try_emplace("*", slot{now_ms - interval_ms_, 0}).first;
    else
      it = slots_.try_emplace(std::string(key), slot{now_ms - interval_ms_, 0}).first;
  }
  auto& s = it->second;
  if (now_ms - s.last_line_ms < interval_ms_) {
    ++s.suppressed;
    return std::nullopt;
  }
  const uint64_t left_out = s.suppressed;
  s.last_line_ms = now_ms;
  s.suppressed = 0;
  return left_out;
}

} // namespace sy::log
