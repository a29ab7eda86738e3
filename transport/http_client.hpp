#pragma once
// An asynchronous HTTP/1.1 client on Boost.Beast with keep-alive
// connection reuse per origin (scheme, host, port).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "transport/http_types.hpp"

namespace boost::asio {
class io_context;
}

namespace sy::transport {

/// Settings of outgoing connections.
struct client_options {
  std::size_t max_idle_per_origin = 64; ///< idle keep-alive connections kept per origin
  std::size_t max_response_bytes = 1 << 20; ///< longer response bodies are cut (status still counts)
  /// Idle connections older than this are closed instead of reused (servers
  /// drop idle keep-alive connections after a while, often without notice).
  std::chrono::milliseconds idle_timeout{30000};
};

/// Sends requests on the io_context's threads. Thread-safe: send() may be
/// called from any thread; completions run on an I/O thread.
class http_client {
public:
  /// Makes a client whose connections run on the threads running `ioc`.
  http_client(boost::asio::io_context& ioc, client_options options);
  /// Closes idle connections; requests in flight still complete.
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends `req` and calls `done` exactly once, on an I/O thread and never
  /// inside send(), with the response or the reason none came (timeout,
  /// refused, bad URL, …). Reuses an idle keep-alive connection to the same
  /// origin when one is open, and sends once more on a new connection when
  /// that one turns out to have been closed by the server.
  void send(client_request req, std::function<void(client_response)> done);

  /// Closes idle connections; requests in flight still complete.
  void shutdown();

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace sy::transport
