#pragma once
// A small file system for full-disk tests: a tmpfs of a given size on a
// directory, in a mount namespace of this process's own (so that not even a
// crash leaves it mounted). Shared by the journal's unit test and the
// full-disk integration test.

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <string>
#include <utility>

namespace sy::test {

/// A tmpfs of `mib` MiB on `dir`, unmounted when the object goes. Root
/// only, and only before the process starts a second thread; otherwise
/// mounted() is false and why() says why.
class tmpfs_mount {
public:
  tmpfs_mount(std::string dir, int mib) : dir_(std::move(dir)) {
    if (::geteuid() != 0) {
      why_ = "not root (uid " + std::to_string(::geteuid()) + ")";
      return;
    }
    // A namespace is per thread: threads started before (RocksDB's, by an
    // earlier test in this process) would keep writing to the old one.
    if (const auto threads = std::distance(std::filesystem::directory_iterator("/proc/self/task"),
                                           std::filesystem::directory_iterator{});
        threads != 1) {
      why_ = std::to_string(threads) + " threads already run in this process (run the test on "
                                       "its own, as ctest does)";
      return;
    }
    // CLONE_NEWNS implies CLONE_FS, which a multi-threaded process may not unshare.
    if (::unshare(CLONE_NEWNS) != 0) {
      why_ = std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
      return;
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      why_ = std::string("make / private: ") + std::strerror(errno);
      return;
    }
    const std::string opts = "size=" + std::to_string(mib) + "m";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      why_ = std::string("mount tmpfs: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~tmpfs_mount() {
    if (mounted_)
      ::umount2(dir_.c_str(), MNT_DETACH);
  }
  tmpfs_mount(const tmpfs_mount&) = delete;
  tmpfs_mount& operator=(const tmpfs_mount&) = delete;

  /// Returns true when the tmpfs is mounted.
  bool mounted() const { return mounted_; }
  /// Returns why it is not.
  const std::string& why() const { return why_; }
  /// Grows (or shrinks) the file system to `mib` MiB; returns true on success.
  bool grow(int mib) {
    const std::string opts = "size=" + std::to_string(mib) + "m";
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, opts.c_str()) == 0;
  }

private:
  std::string dir_;
  bool mounted_ = false;
  std::string why_;
};

} // namespace sy::test
