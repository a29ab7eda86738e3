#pragma once
// An HTTP/1.1 server on Boost.Beast: keep-alive sessions, limits, and a
// routing table of method + path pattern → handler. Knows nothing of
// switchyard's API.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "transport/http_types.hpp"

namespace boost::asio {
class io_context;
}

namespace sy::transport {

/// Accepts connections on one address and serves them on the io_context's
/// threads, each connection on its own strand. Routes, filter and observer
/// are set by the owning thread before listen(); after that the table is
/// read concurrently and must not change. listen(), stop() and
/// accepted_connections() may be called from any thread.
class http_server {
public:
  /// Makes a server that serves on the threads running `ioc`, within `limits`.
  http_server(boost::asio::io_context& ioc, server_limits limits);
  /// Stops the server; sessions still in progress keep the routes alive
  /// until they end.
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Adds a route. `pattern` is a path whose segments may be `{name}`
  /// placeholders matching one non-empty segment, e.g.
  /// "/v1/subscriptions/{id}/verify". A path that matches some route but
  /// not for this method gets 405 with Allow; no match gets 404.
  void route(std::string method, std::string pattern, handler h);

  /// Sets the handler that sees every request before routing (auth,
  /// content type); it returns a response to short-circuit, nullopt to pass.
  void set_filter(std::function<std::optional<http_response>(const http_request&)> filter);

  /// Sets a function called after each response with (method, route
  /// pattern, status, seconds since the request arrived). The pattern is
  /// the route's whose path matched, also when the filter answered or the
  /// method got 405; "" when no route's path matched (404) or the request
  /// was refused before it was read whole (413, 431, 400).
  void set_observer(std::function<void(const std::string&, const std::string&, int, double)> obs);

  /// Makes the listener HTTPS with a PEM certificate chain and its PEM
  /// private key (TLS 1.2 and 1.3); call before listen(). Returns false with
  /// `error` naming the file and what is wrong with it.
  bool enable_tls(const std::string& cert_file, const std::string& key_file, std::string& error);

  /// Binds and starts accepting; returns the bound port (useful with port 0)
  /// or nullopt with `error` set.
  std::optional<uint16_t> listen(const std::string& host, uint16_t port, std::string& error);

  /// Stops accepting and closes idle connections; requests in progress finish.
  void stop();

  /// Returns how many connections have been accepted since listen().
  uint64_t accepted_connections() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace sy::transport
