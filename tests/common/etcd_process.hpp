#pragma once
// Starting a one-member etcd for tests that need a real one (Debian's
// etcd-server): shared by the etcd client's test and the cluster test.

#include <unistd.h>

#include <cstdio>
#include <string>

#include "child_process.hpp"

namespace sy::test {

/// Where Debian's etcd-server puts the binary.
inline constexpr const char* etcd_binary = "/usr/bin/etcd";

/// Forks a one-member etcd named "t" with its data in `dir`/etcd and its
/// output appended to `dir`/etcd.log, answering clients on `client_urls`
/// (comma-separated), advertising `advertise` and talking to peers on
/// `peer`. Returns the child's pid (≤ 0 when fork failed).
inline pid_t spawn_etcd(const std::string& dir, const std::string& client_urls,
                        const std::string& advertise, const std::string& peer) {
  const pid_t pid = fork();
  if (pid == 0) {
    const auto log = dir + "/etcd.log";
    std::freopen(log.c_str(), "a", stdout);
    std::freopen(log.c_str(), "a", stderr);
    close_inherited_descriptors();
    execl(etcd_binary, "etcd", "--name", "t", "--data-dir", (dir + "/etcd").c_str(),
          "--listen-client-urls", client_urls.c_str(), "--advertise-client-urls", advertise.c_str(),
          "--listen-peer-urls", peer.c_str(), "--initial-advertise-peer-urls", peer.c_str(),
          "--initial-cluster", ("t=" + peer).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

} // namespace sy::test
