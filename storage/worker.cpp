#include "storage/worker.hpp"

namespace sy::storage {

blocking_worker::blocking_worker() : thread_([this] { run(); }) {}

blocking_worker::~blocking_worker() { stop(); }

void blocking_worker::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (!stopping_) {
      jobs_.push_back(std::move(job));
      wake_.notify_one();
      return;
    }
  }
  job();
}

void blocking_worker::stop() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable())
    thread_.join();
}

void blocking_worker::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty())
        return; // stopping, and every job queued has run
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

} // namespace sy::storage
