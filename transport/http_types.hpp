#pragma once
// Plain HTTP request/response values shared by the server and the client.
// No Beast here: api/ and actors/ include this header cheaply.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sy::transport {

/// A header list; names compared case-insensitively by lookups.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// Returns `s` with %XX escapes decoded ('+' as a space when
/// `plus_as_space`, as in query strings); a '%' without two hex digits after
/// it is kept as is, as browsers do.
std::string percent_decode(std::string_view s, bool plus_as_space);

/// One `name=value` pair of a query string, still percent-encoded (value
/// empty when the pair has no `=`).
struct query_pair {
  std::string_view name;
  std::string_view value;
};

/// Returns the next non-empty `&`-separated pair of `rest` and moves `rest`
/// past it; nullopt once `rest` has none left.
std::optional<query_pair> next_query_pair(std::string_view& rest);

/// Returns the value of header `name` (case-insensitive), or "" when absent.
std::string_view find_header(const header_list& headers, std::string_view name);

/// One request as the server read it. Owned by the handler it is given to.
struct http_request {
  std::string method; ///< "GET", "POST", …
  std::string target; ///< as sent: path and query
  std::string path;   ///< target up to '?', not percent-decoded
  std::string query;  ///< after '?', without it; "" when none
  header_list headers;
  /// The body; its capacity leaves room for simdjson's padding so codecs
  /// parse it in place.
  std::string body;
  /// Values of the route's {placeholders}, in order.
  std::vector<std::string> params;
  std::chrono::steady_clock::time_point received;
  /// The peer's IP address as text ("" when unknown).
  std::string remote;

  /// Returns header `name` (case-insensitive) or "".
  std::string_view header(std::string_view name) const { return find_header(headers, name); }
  /// Returns the percent-decoded value of query parameter `key`, or "".
  std::string query_param(std::string_view key) const;
};

/// The sending end of a streamed response body (Server-Sent Events). Made
/// by the server for a response whose `stream` is set; every member may be
/// called from any thread. Holding it does not keep the connection open:
/// the client going away or the server stopping ends the stream.
class stream_sink {
public:
  virtual ~stream_sink() = default;
  /// Queues `chunk` to be written; returns false once the stream has ended
  /// (the client went away, the server stops, the queue overflowed or
  /// close() was called), when the chunk is dropped.
  virtual bool write(std::string chunk) = 0;
  /// Ends the stream: the body ends after the chunks queued before.
  virtual void close() = 0;
  /// Returns true once the stream has ended.
  virtual bool closed() const = 0;
  /// Sets `f` to run once when the stream ends, on the connection's thread
  /// (at once when it has ended already). `f` must not block.
  virtual void on_close(std::function<void()> f) = 0;
};

/// Starts a streamed body: called once, after the status and headers went
/// out, with the sink the body is written to.
using stream_starter = std::function<void(std::shared_ptr<stream_sink>)>;

/// Most bytes a streamed response may have queued and not yet written: a
/// client reading slower than that is dropped rather than buffered for.
inline constexpr std::size_t max_stream_backlog = 1 << 20;

/// One response to send. `content_type` "" sends no Content-Type.
struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  header_list headers;
  /// When set, `body` is ignored: the body is sent in chunks as `stream`'s
  /// sink is given them, and the connection closes when the stream ends.
  stream_starter stream;
};

/// Sends the response for one request. Call exactly once, from any thread;
/// the server hands the response to the connection's own executor. Later
/// calls are ignored; when the last copy is destroyed uncalled the client
/// gets 500. Copies must not outlive the server's io_context.
using responder = std::function<void(http_response)>;

/// Handles one request. Runs on an I/O thread: it must not block; work that
/// waits (actors, disk syncs) answers later through the responder.
using handler = std::function<void(http_request&&, responder)>;

/// Limits the server enforces on every connection.
struct server_limits {
  std::size_t max_body_bytes = 1 << 20;          ///< larger bodies → 413
  std::size_t max_header_bytes = 16 << 10;       ///< larger headers → 431
  std::chrono::milliseconds read_timeout{30000}; ///< whole request within this
  std::chrono::milliseconds idle_timeout{60000}; ///< keep-alive idle limit
};

/// One outgoing request.
struct client_request {
  std::string method = "POST";
  std::string url;     ///< absolute http:// or https:// URL
  header_list headers; ///< Host, Content-Length and User-Agent are added
  std::string body;
  std::chrono::milliseconds timeout{10000}; ///< connect + write + read, whole
};

/// The outcome of one outgoing request.
struct client_response {
  int status = 0;       ///< 0 when no HTTP response arrived
  std::string error;    ///< why, when status is 0 (refused, timeout, …)
  bool refused = false; ///< status 0 because the connection was refused: nothing listens there
  header_list headers;
  std::string body;
};

} // namespace sy::transport
