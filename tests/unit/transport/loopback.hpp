#pragma once
// Test helpers over real loopback sockets: an io_context running on two
// threads, a raw blocking client socket for speaking broken HTTP, a
// scripted raw server (an "imposter", plain or TLS) for the client's
// failure cases; the certificates come from tests/common/test_pki.hpp.
// Every wait is bounded by a deadline; nothing sleeps to synchronise.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "../../common/test_pki.hpp"
#include "transport/http_client.hpp"
#include "transport/http_server.hpp"

namespace sy::transport::test {

using sy::test::test_pki;

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// Runs an io_context on two threads for the lifetime of the object.
/// Declare it before the servers and clients that use it.
class io_threads {
public:
  io_threads() : work_(boost::asio::make_work_guard(ioc_)) {
    for (int i = 0; i < 2; ++i)
      threads_.emplace_back([this] { ioc_.run(); });
  }
  ~io_threads() {
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_)
      t.join();
  }
  io_threads(const io_threads&) = delete;
  io_threads& operator=(const io_threads&) = delete;

  /// Returns the io_context the threads run.
  boost::asio::io_context& ioc() { return ioc_; }

  /// Returns whether the calling thread is one of the I/O threads.
  bool on_io_thread() const {
    for (const auto& t : threads_)
      if (t.get_id() == std::this_thread::get_id())
        return true;
    return false;
  }

private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

/// A response as a raw socket read it.
struct raw_response {
  int status = 0;
  std::string head; ///< status line and headers
  std::string body;

  /// Returns header `name` (case-insensitive) or "".
  std::string header(std::string_view name) const {
    auto lower = [](std::string s) {
      for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return s;
    };
    auto h = lower(head);
    auto key = "\r\n" + lower(std::string(name)) + ":";
    auto at = h.find(key);
    if (at == std::string::npos)
      return {};
    auto start = at + key.size();
    auto end = head.find("\r\n", start);
    auto value = head.substr(start, end - start);
    while (!value.empty() && value.front() == ' ')
      value.erase(0, 1);
    return value;
  }
};

/// Returns the value of Content-Length in `head`, or 0.
inline std::size_t content_length_of(const std::string& head) {
  raw_response r;
  r.head = head;
  auto v = r.header("content-length");
  return v.empty() ? 0 : std::stoul(v);
}

/// A blocking TCP socket with deadline-bounded reads, optionally speaking
/// TLS as the server side (accept_tls). One thread.
class raw_socket {
public:
  explicit raw_socket(int fd = -1) : fd_(fd) {}
  ~raw_socket() { close(); }
  raw_socket(raw_socket&& o) noexcept : fd_(o.fd_), ssl_(o.ssl_), pending_(std::move(o.pending_)) {
    o.fd_ = -1;
    o.ssl_ = nullptr;
  }
  raw_socket& operator=(raw_socket&&) = delete;

  /// Runs a TLS server handshake with `ctx` (at most 5 s); from then on
  /// reads and writes go through TLS. Returns false when it fails.
  bool accept_tls(SSL_CTX* ctx) {
    timeval limit{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ssl_ = ::SSL_new(ctx);
    if (!ssl_ || ::SSL_set_fd(ssl_, fd_) != 1)
      return false;
    return ::SSL_accept(ssl_) == 1;
  }

  /// Returns the SNI name the TLS client sent, or "" (none, or no TLS).
  std::string server_name() const {
    const char* name = ssl_ ? ::SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name) : nullptr;
    return name ? name : "";
  }

  /// Returns a socket connected to 127.0.0.1:`port` (invalid on failure).
  static raw_socket connect_to(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return raw_socket(-1);
    }
    return raw_socket(fd);
  }

  /// Returns whether the socket is open.
  bool valid() const { return fd_ >= 0; }

  /// Writes all of `data`; returns false on error.
  bool send_all(std::string_view data) {
    while (!data.empty()) {
      auto n = ssl_ ? ::SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                    : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Reads into the pending buffer until `done(buffer)` holds; returns
  /// false at the deadline, on error, or when the peer closes first.
  bool read_until(const std::function<bool(const std::string&)>& done,
                  std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    while (!done(pending_)) {
      int r = read_some(deadline);
      if (r <= 0)
        return false;
    }
    return true;
  }

  /// Reads one HTTP message with a Content-Length body (or none).
  std::optional<raw_response> read_response(std::chrono::milliseconds timeout = 5s) {
    auto head = read_message(timeout);
    if (!head)
      return std::nullopt;
    raw_response r;
    auto space = head->first.find(' ');
    r.status = std::stoi(head->first.substr(space + 1, 3));
    r.head = std::move(head->first);
    r.body = std::move(head->second);
    return r;
  }

  /// Reads one request: head and body.
  std::optional<std::pair<std::string, std::string>> read_message(
    std::chrono::milliseconds timeout = 5s) {
    auto deadline = clock_type::now() + timeout;
    auto left = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    };
    if (!read_until([](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; },
                    left()))
      return std::nullopt;
    auto end = pending_.find("\r\n\r\n") + 4;
    std::string head = pending_.substr(0, end);
    auto length = content_length_of(head);
    if (!read_until([&](const std::string& b) { return b.size() >= end + length; }, left()))
      return std::nullopt;
    std::string body = pending_.substr(end, length);
    pending_.erase(0, end + length);
    return std::make_pair(std::move(head), std::move(body));
  }

  /// Returns whether the peer closed (eof or reset) within `timeout`,
  /// discarding whatever arrives meanwhile.
  bool wait_closed(std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    while (true) {
      int r = read_some(deadline);
      if (r == 0 || r == -2)
        return true;
      if (r == -1)
        return false;
      pending_.clear();
    }
  }

  /// Returns bytes read but not consumed by read_message.
  const std::string& pending() const { return pending_; }

  /// Stops sending (a FIN) but keeps reading.
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  /// Closes the socket (without a TLS close_notify, as a crashed or
  /// impatient server does).
  void close() {
    if (ssl_)
      ::SSL_free(ssl_);
    ssl_ = nullptr;
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

  /// Returns the file descriptor.
  int fd() const { return fd_; }

private:
  // Returns bytes read (>0), 0 on eof, -1 at the deadline, -2 on error.
  int read_some(clock_type::time_point deadline) {
    auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
    if (left <= 0)
      return -1;
    if (ssl_ && ::SSL_pending(ssl_) > 0)
      return read_tls(deadline);
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready == 0)
      return -1;
    if (ready < 0)
      return errno == EINTR ? read_some(deadline) : -2;
    if (ssl_)
      return read_tls(deadline);
    char buf[65536];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0)
      return -2;
    pending_.append(buf, static_cast<std::size_t>(n));
    return static_cast<int>(n);
  }

  // Reads decrypted bytes once the socket is readable: as read_some. A
  // record without data (or SO_RCVTIMEO passing mid-record) is not a close:
  // it waits again, within the deadline.
  int read_tls(clock_type::time_point deadline) {
    char buf[65536];
    int n = ::SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      pending_.append(buf, static_cast<std::size_t>(n));
      return n;
    }
    int error = ::SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_READ)
      return read_some(deadline);
    return error == SSL_ERROR_ZERO_RETURN ? 0 : -2;
  }

  int fd_;
  SSL* ssl_ = nullptr;
  std::string pending_;
};

/// A scripted HTTP server on raw sockets: runs `script(socket, index)` on
/// its own thread for each accepted connection, in order. Sockets stay open
/// until the server is destroyed unless the script closes them. With a TLS
/// context it runs the TLS handshake first and the script only when that
/// succeeds.
class imposter {
public:
  using script = std::function<void(raw_socket&, int index)>;

  explicit imposter(script s, SSL_CTX* tls = nullptr) : script_(std::move(s)), tls_(tls) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (::pipe(wake_) != 0)
      wake_[0] = wake_[1] = -1;
    thread_ = std::thread([this] { run(); });
  }

  ~imposter() {
    char b = 0;
    [[maybe_unused]] auto n = ::write(wake_[1], &b, 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  /// Returns the port it listens on.
  uint16_t port() const { return port_; }

  /// Returns how many connections it has accepted.
  int accepted() const { return accepted_; }

  /// Returns how many TLS handshakes failed.
  int failed_handshakes() const { return failed_handshakes_; }

  /// Returns the SNI name of each successful TLS handshake ("" when none
  /// was sent), in order.
  std::vector<std::string> server_names() const {
    std::lock_guard lock(mutex_);
    return server_names_;
  }

private:
  void run() {
    std::vector<raw_socket> open;
    while (true) {
      pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (::poll(p, 2, -1) < 0 && errno != EINTR)
        return;
      if (p[1].revents)
        return;
      if (!p[0].revents)
        continue;
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0)
        continue;
      open.emplace_back(fd);
      int index = accepted_++;
      if (tls_) {
        if (!open.back().accept_tls(tls_)) {
          ++failed_handshakes_;
          open.back().close();
          continue;
        }
        std::lock_guard lock(mutex_);
        server_names_.push_back(open.back().server_name());
      }
      script_(open.back(), index);
    }
  }

  script script_;
  SSL_CTX* tls_;
  mutable std::mutex mutex_;
  std::vector<std::string> server_names_;
  std::atomic<int> failed_handshakes_{0};
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

/// An OpenSSL server context serving one certificate chain and key.
class tls_server_context {
public:
  tls_server_context(const std::string& chain_file, const std::string& key_file)
      : ctx_(::SSL_CTX_new(::TLS_server_method())) {
    if (!ctx_ || ::SSL_CTX_use_certificate_chain_file(ctx_, chain_file.c_str()) != 1 ||
        ::SSL_CTX_use_PrivateKey_file(ctx_, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      throw std::runtime_error("cannot serve TLS with " + chain_file);
  }
  explicit tls_server_context(const std::pair<std::string, std::string>& files)
      : tls_server_context(files.first, files.second) {}
  ~tls_server_context() { ::SSL_CTX_free(ctx_); }
  tls_server_context(const tls_server_context&) = delete;
  tls_server_context& operator=(const tls_server_context&) = delete;

  /// Returns the context for imposter.
  SSL_CTX* get() const { return ctx_; }

private:
  SSL_CTX* ctx_;
};

/// Returns a keep-alive HTTP/1.1 200 response carrying `body`.
inline std::string ok_response(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

/// Sends `req` and waits at most `wait` for the response; the test fails
/// (status -1) when none comes.
inline client_response send_and_wait(http_client& client, client_request req,
                                     std::chrono::milliseconds wait = 10s) {
  auto promise = std::make_shared<std::promise<client_response>>();
  auto future = promise->get_future();
  client.send(std::move(req), [promise](client_response r) { promise->set_value(std::move(r)); });
  if (future.wait_for(wait) != std::future_status::ready) {
    client_response none;
    none.status = -1;
    none.error = "test: no completion";
    return none;
  }
  return future.get();
}

/// Returns a request for `method` `url` with `body`.
inline client_request make_request(std::string method, std::string url, std::string body = {}) {
  client_request r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.body = std::move(body);
  return r;
}

} // namespace sy::transport::test
