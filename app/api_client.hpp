#pragma once
// A blocking client of switchyard's own HTTP API for the command line:
// one request at a time over transport::http_client, with the server URL
// and the bearer token of the client commands (API.md §7).

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "transport/http_types.hpp"

namespace sy::app {

/// Where the client commands send their requests and with which token.
struct api_endpoint {
  std::string server = "http://127.0.0.1:8080"; ///< base URL; paths are appended
  std::string token;                            ///< "" sends no Authorization
  std::string ca_file; ///< PEM CA certificates trusted for an https:// server besides the system's
};

/// Returns why `server` cannot serve as the base URL of the API, or nullopt.
std::optional<std::string> validate_server_url(std::string_view server);

/// Sends requests to one switchyard and waits for each answer. Owns an
/// io_context and the one thread running it; used by one thread at a time
/// (the command's), while the I/O thread completes the requests.
class api_client {
public:
  /// Makes a client of `endpoint`, whose server URL validate_server_url accepts.
  explicit api_client(api_endpoint endpoint);
  /// Stops the I/O thread.
  ~api_client();
  api_client(const api_client&) = delete;
  api_client& operator=(const api_client&) = delete;

  /// Sends `method path` (path from the root, with its query) with `body`
  /// as JSON and returns the answer; status 0 and `error` set when none came.
  transport::client_response call(const std::string& method, const std::string& path,
                                  std::string body = "",
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// Returns the endpoint the client talks to.
  const api_endpoint& endpoint() const { return endpoint_; }

private:
  struct impl;
  api_endpoint endpoint_;
  std::unique_ptr<impl> impl_;
};

/// Returns `segment` percent-encoded for use as one path segment.
std::string path_segment(std::string_view segment);

/// Returns the text of an error answer: the "error" field of a JSON body,
/// else the body itself, else the transport's reason.
std::string error_text(const transport::client_response& res);

} // namespace sy::app
