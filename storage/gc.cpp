#include "storage/gc.hpp"

#include <cstdio>

#include "core/time_format.hpp"
#include "storage/journal.hpp"

namespace sy::storage {

garbage_collector::garbage_collector(journal& journal, std::chrono::milliseconds period,
                                     int64_t dedupe_window_ms)
    : journal_(journal), period_(period), dedupe_window_ms_(dedupe_window_ms),
      thread_([this] { run(); }) {}

garbage_collector::~garbage_collector() { stop(); }

void garbage_collector::stop() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void garbage_collector::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
    lock.unlock();
    // Events below every queue's first key are referenced by nobody.
    // Tried again next period; said once per distinct failure (a full disk
    // is said by the journal itself).
    auto err = journal_.collect_unreferenced(core::now_ms() - dedupe_window_ms_);
    if (err && err->kind != errc::no_space && err->message != last_error_)
      std::fprintf(stderr, "switchyard: garbage collection failed (%s); retrying every %lld ms\n",
                   err->message.c_str(), static_cast<long long>(period_.count()));
    last_error_ = err ? err->message : std::string();
    lock.lock();
  }
}

} // namespace sy::storage
