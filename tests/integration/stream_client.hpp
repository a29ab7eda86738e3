#pragma once
// A client of GET /v1/stream (Server-Sent Events) on a raw socket, for the
// integration tests: what has arrived so far, read as it comes.
// Independent of switchyard's code, as the harness is.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace sy::test {

/// A stream open on loopback: what has arrived so far, read as it comes.
class stream_client {
public:
  stream_client(uint16_t port, const std::string& target = "/v1/stream") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      ADD_FAILURE() << "cannot connect to port " << port;
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      ADD_FAILURE() << "cannot send the request";
  }
  ~stream_client() { close(); }
  stream_client(const stream_client&) = delete;
  stream_client& operator=(const stream_client&) = delete;

  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

  /// Reads until what arrived holds `text` after `from`; false on timeout or close.
  bool wait_for(const std::string& text,
                std::chrono::milliseconds timeout = std::chrono::seconds(10),
                std::size_t from = 0) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(text, from) == std::string::npos) {
      if (eof_ || !read_some(deadline))
        return false;
    }
    return true;
  }

  /// Reads until the server closes the connection; false on timeout.
  bool wait_closed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_)
      if (!read_some(deadline))
        return eof_;
    return true;
  }

  const std::string& received() const { return received_; }

private:
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    char buf[4096];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return true;
    }
    received_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool eof_ = false;
  std::string received_;
};

} // namespace sy::test
