#include "actors/live_feed.hpp"

#include <algorithm>

#include "core/json_writer.hpp"
#include "core/time_format.hpp"

namespace sy::actors {

uint64_t live_feed::listen(listener l) {
  std::lock_guard lock(mutex_);
  const uint64_t id = ++next_id_;
  listeners_.emplace_back(id, std::move(l));
  count_.store(listeners_.size(), std::memory_order_relaxed);
  return id;
}

void live_feed::forget(uint64_t id) {
  std::lock_guard lock(mutex_);
  std::erase_if(listeners_, [id](const auto& p) { return p.first == id; });
  count_.store(listeners_.size(), std::memory_order_relaxed);
}

void live_feed::publish(const live_event& e) {
  std::lock_guard lock(mutex_);
  for (auto& [id, l] : listeners_) {
    try {
      l(e);
    } catch (...) {
      // A listener that cannot take it (out of memory) misses this one.
    }
  }
}

std::string utf8_excerpt(std::string_view body, std::size_t max) {
  std::string out;
  assign_utf8_excerpt(out, body, max);
  return out;
}

void assign_utf8_excerpt(std::string& out, std::string_view body, std::size_t max) {
  out.clear();
  std::size_t i = 0;
  while (i < body.size()) {
    const auto c = static_cast<unsigned char>(body[i]);
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xe  ? 3
                      : (c >> 3) == 0x1e ? 4
                                         : 0;
    bool valid = len != 0 && i + len <= body.size();
    for (std::size_t k = 1; valid && k < len; ++k)
      valid = (static_cast<unsigned char>(body[i + k]) & 0xc0) == 0x80;
    if (valid && len > 1) {
      // Overlong forms, surrogates and code points past U+10FFFF.
      const auto c1 = static_cast<unsigned char>(body[i + 1]);
      valid = !(c == 0xc0 || c == 0xc1 || (c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) ||
                (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90) || c > 0xf4);
    }
    std::string_view piece = valid ? body.substr(i, len) : std::string_view("\xef\xbf\xbd");
    if (out.size() + piece.size() > max)
      break;
    out.append(piece);
    i += valid ? len : 1;
  }
}

void attempt_ring::add(attempt_record a) { next_slot() = std::move(a); }

attempt_record& attempt_ring::next_slot() {
  if (items_.size() < max_kept_attempts)
    return items_.emplace_back();
  auto& slot = items_[next_];
  next_ = (next_ + 1) % max_kept_attempts;
  return slot;
}

std::vector<attempt_record> attempt_ring::newest(std::size_t limit) const {
  std::vector<attempt_record> out;
  const std::size_t n = std::min(limit, items_.size());
  out.reserve(n);
  // The newest is just before next_ once full, the last element before.
  const std::size_t newest = items_.size() < max_kept_attempts
                               ? items_.size() - 1
                               : (next_ + max_kept_attempts - 1) % max_kept_attempts;
  for (std::size_t k = 0; k < n; ++k)
    out.push_back(items_[(newest + items_.size() - k) % items_.size()]);
  return out;
}

void write_attempt_members(core::json_writer& w, const attempt_record& a) {
  w.key("event_id")
    .value(a.event_id)
    .key("type")
    .value(a.type)
    .key("attempt")
    .value(a.attempt)
    .key("at")
    .value(core::format_iso8601_ms(a.at))
    .key("duration_ms")
    .value(a.duration_ms)
    .key("status")
    .value(a.status)
    .key("error");
  if (a.error.empty())
    w.null();
  else
    w.value(a.error);
}

std::string attempt_event_json(std::string_view subscription, const attempt_record& a) {
  core::json_writer w;
  w.begin_object().key("subscription").value(subscription);
  write_attempt_members(w, a);
  w.end_object();
  return std::move(w).str();
}

} // namespace sy::actors
