#pragma once
// An asynchronous HTTP/1.1 client on Boost.Beast with keep-alive
// connection reuse per origin (scheme, host, port), TLS for https:// urls
// (OpenSSL, certificates and host names verified) and a guard against
// private destination addresses.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "transport/http_types.hpp"

namespace boost::asio {
class io_context;
}

namespace sy::transport {

/// Settings of outgoing connections.
struct client_options {
  /// Idle keep-alive connections kept per origin: at least the deliveries
  /// in flight to one receiver, or every burst reconnects what it exceeds.
  std::size_t max_idle_per_origin = 512;
  std::size_t max_response_bytes = 1
                                   << 20; ///< longer response bodies are cut (status still counts)
  /// Idle connections older than this are closed instead of reused (servers
  /// drop idle keep-alive connections after a while, often without notice).
  std::chrono::milliseconds idle_timeout{30000};
  /// PEM file of CA certificates trusted for https:// besides the system's
  /// default ones; empty for the defaults only.
  std::string ca_file;
  /// When false, refuses to connect to loopback, private, link-local,
  /// unspecified, CGNAT and unique-local addresses (see is_private_address),
  /// checked on the addresses actually connected to.
  bool allow_private = true;
};

/// Returns whether `ip`, an IPv4 or IPv6 address literal, is one that
/// allow_private = false refuses: loopback, RFC 1918 private, link-local
/// (169.254/16, fe80::/10), unspecified (0/8, ::), CGNAT (100.64/10),
/// unique-local (fc00::/7), site-local (fec0::/10), or an IPv4-mapped or
/// IPv4-compatible IPv6 form of those. False for anything not a literal.
bool is_private_address(std::string_view ip);

/// Sends requests on the io_context's threads. Thread-safe: send() may be
/// called from any thread; completions run on an I/O thread.
class http_client {
public:
  /// Makes a client whose connections run on the threads running `ioc`.
  /// Throws std::runtime_error naming the file when options.ca_file cannot
  /// be read as PEM CA certificates.
  http_client(boost::asio::io_context& ioc, client_options options);
  /// Closes idle connections; requests in flight still complete.
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends `req` and calls `done` exactly once, on an I/O thread and never
  /// inside send(), with the response or the reason none came (timeout,
  /// refused, bad URL, TLS failure, private address, …). Reuses an idle
  /// keep-alive connection to the same origin when one is open, and sends
  /// once more on a new connection when that one turns out to have been
  /// closed by the server.
  void send(client_request req, std::function<void(client_response)> done);

  /// Closes idle connections; requests in flight still complete.
  void shutdown();

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace sy::transport
