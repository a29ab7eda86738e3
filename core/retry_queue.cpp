#include "core/retry_queue.hpp"

namespace sy::core {

int retry_queue::add_failure(uint64_t seq, std::string error) {
  auto& f = failures_[seq];
  f.last_error = std::move(error);
  return ++f.count;
}

int retry_queue::failures(uint64_t seq) const {
  auto it = failures_.find(seq);
  return it == failures_.end() ? 0 : it->second.count;
}

std::string retry_queue::last_error(uint64_t seq) const {
  auto it = failures_.find(seq);
  return it == failures_.end() ? std::string{} : it->second.last_error;
}

void retry_queue::defer(uint64_t seq, int64_t due_ms) {
  take(seq);
  due_.emplace(seq, due_ms);
  order_.emplace(due_ms, seq);
}

std::optional<uint64_t> retry_queue::peek_due(int64_t now_ms) const {
  if (order_.empty() || order_.begin()->first > now_ms)
    return std::nullopt;
  return order_.begin()->second;
}

std::optional<uint64_t> retry_queue::take_due(int64_t now_ms) {
  if (order_.empty() || order_.begin()->first > now_ms)
    return std::nullopt;
  const uint64_t seq = order_.begin()->second;
  order_.erase(order_.begin());
  due_.erase(seq);
  return seq;
}

std::optional<std::pair<uint64_t, int64_t>> retry_queue::head() const {
  if (due_.empty())
    return std::nullopt;
  return *due_.begin();
}

void retry_queue::take(uint64_t seq) {
  auto it = due_.find(seq);
  if (it == due_.end())
    return;
  order_.erase({it->second, seq});
  due_.erase(it);
}

std::optional<int64_t> retry_queue::next_due() const {
  if (order_.empty())
    return std::nullopt;
  return order_.begin()->first;
}

void retry_queue::forget(uint64_t seq) {
  take(seq);
  failures_.erase(seq);
}

void retry_queue::clear() {
  due_.clear();
  order_.clear();
  failures_.clear();
}

} // namespace sy::core
