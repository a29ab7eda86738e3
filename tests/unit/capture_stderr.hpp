#pragma once
// Runs a function with standard error (where the log goes) sent to a
// temporary file, and returns what was written: unit tests read log lines
// with it.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace sy::test_support {

/// Runs `f` with file descriptor 2 sent to a temporary file; returns what
/// was written to it meanwhile.
template <class F>
std::string capture_stderr(F f) {
  char path[] = "/tmp/switchyard-stderr-XXXXXX";
  const int fd = mkstemp(path);
  std::fflush(stderr);
  const int saved = dup(2);
  dup2(fd, 2);
  f();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  unlink(path);
  return ss.str();
}

} // namespace sy::test_support
