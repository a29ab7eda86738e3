#include "storage/backup.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

namespace sy::storage {

struct backup_runner::impl {
  explicit impl(journal& j) : journal_(j) {}

  journal& journal_;
  std::mutex mutex_;
  bool busy_ = false;
  std::thread worker_; // the last backup's thread; joined before the next starts
};

backup_runner::backup_runner(journal& j) : impl_(std::make_unique<impl>(j)) {}

backup_runner::~backup_runner() {
  if (impl_->worker_.joinable())
    impl_->worker_.join();
}

bool backup_runner::start(std::string dir, std::function<void(backup_outcome)> done) {
  std::lock_guard lock(impl_->mutex_);
  if (impl_->busy_)
    return false;
  impl_->busy_ = true;
  if (impl_->worker_.joinable())
    impl_->worker_.join(); // finished: busy_ was false
  impl_->worker_ = std::thread([this, dir = std::move(dir), done = std::move(done)] {
    const auto began = std::chrono::steady_clock::now();
    backup_outcome out;
    out.dir = dir;
    if (::mkdir(dir.c_str(), 0700) != 0) {
      out.error = error{errno == ENOSPC ? errc::no_space : errc::io_error,
                        "create " + dir + ": " + std::strerror(errno)};
    } else if ((out.error = impl_->journal_.checkpoint(dir + "/journal"))) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
    out.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - began);
    {
      std::lock_guard lock(impl_->mutex_);
      impl_->busy_ = false;
    }
    done(std::move(out));
  });
  return true;
}

} // namespace sy::storage
