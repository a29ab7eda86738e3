#include "transport/http_server.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <sstream>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/err.h>

#include "core/ascii.hpp"
#include "core/json_writer.hpp"
#include "transport/http_request_parser.hpp"
#include "transport/http_routes.hpp"

namespace sy::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = beast::error_code;
using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

namespace {

using filter_fn = std::function<std::optional<http_response>(const http_request&)>;
using observer_fn = std::function<void(const std::string&, const std::string&, int, double)>;

// Bytes asked of the socket while waiting for the first byte of a request.
constexpr std::size_t first_read_bytes = 4096;
// Longest wait for a client to stop sending after an error response.
constexpr std::chrono::milliseconds max_linger{5000};
// Returns OpenSSL's reason for a failed TLS setup step ("key values
// mismatch", "no start line"), which says more than the category's text.
std::string ssl_reason(const error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category())
    if (const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value())))
      return reason;
  return ec.message();
}

// Pause before accepting again after an accept error such as EMFILE, so
// that the loop does not spin while the process is out of descriptors.
constexpr std::chrono::milliseconds accept_retry_delay{50};

using core::equal_nocase;
using core::has_line_break;

http_response error_response(int status, std::string_view message) {
  http_response r;
  r.status = status;
  r.body = core::error_body(message);
  return r;
}

// What every session reads: written before listen(), read-only after,
// except `stopped`.
struct server_core {
  server_limits limits;
  route_table routes;
  filter_fn filter;
  observer_fn observer;
  std::atomic<bool> stopped{false};
};

// What the acceptor keeps of a session: a way to stop it.
class stoppable {
public:
  virtual ~stoppable() = default;
  /// Closes the connection if it is waiting for a request; callable from any thread.
  virtual void stop() = 0;
};

// The sink of one streamed response: chunks are posted to the session's
// strand; the session marks it closed when the stream ends, whoever ends it.
// Holds the session weakly, so that a handler keeping a sink after the end
// does not keep the connection's buffers.
template <class Session, class Executor>
class session_sink : public stream_sink {
public:
  session_sink(std::weak_ptr<Session> session, Executor ex)
      : session_(std::move(session)), ex_(std::move(ex)) {}

  bool write(std::string chunk) override {
    if (closed_.load(std::memory_order_acquire))
      return false;
    try {
      asio::post(ex_, [w = session_, c = std::move(chunk)]() mutable {
        if (auto s = w.lock())
          s->queue_chunk(std::move(c));
      });
    } catch (...) {
      return false; // out of memory: the chunk is lost, the stream goes on
    }
    return true;
  }

  void close() override {
    if (closed_.load(std::memory_order_acquire))
      return;
    try {
      asio::post(ex_, [w = session_] {
        if (auto s = w.lock())
          s->end_stream();
      });
    } catch (...) {
    }
  }

  bool closed() const override { return closed_.load(std::memory_order_acquire); }

  void on_close(std::function<void()> f) override {
    std::unique_lock lock(mutex_);
    if (closed_.load(std::memory_order_acquire)) {
      lock.unlock();
      f();
      return;
    }
    on_close_ = std::move(f);
  }

  /// Marks the stream ended and runs the on_close function; the session's strand.
  void mark_closed() {
    std::function<void()> f;
    {
      std::lock_guard lock(mutex_);
      if (closed_.exchange(true, std::memory_order_acq_rel))
        return;
      f = std::move(on_close_);
    }
    if (f) {
      try {
        f();
      } catch (...) {
      }
    }
  }

private:
  std::weak_ptr<Session> session_;
  Executor ex_;
  std::atomic<bool> closed_{false};
  std::mutex mutex_; // orders on_close() against mark_closed()
  std::function<void()> on_close_;
};

// One accepted connection, from its first byte to its close. All steps run
// on the connection's strand; responders reach it from any thread through
// post_response(). Owned by its pending operations and pending responders.
// `Stream` is plain_stream, or tls_stream when server.tls_cert is set: the
// TLS handshake comes before the first read and a close_notify before the
// close; everything between is the same code.
template <class Stream>
class session : public stoppable, public std::enable_shared_from_this<session<Stream>> {
public:
  session(tcp::socket&& socket,
          std::shared_ptr<const server_core> core) requires std::is_same_v<Stream, plain_stream>
      : stream_(std::move(socket)), core_(std::move(core)) {
    remember_peer();
  }

  session(tcp::socket&& socket, ssl::context& tls,
          std::shared_ptr<const server_core> core) requires std::is_same_v<Stream, tls_stream>
      : stream_(std::move(socket), tls), core_(std::move(core)) {
    remember_peer();
  }

  using std::enable_shared_from_this<session<Stream>>::shared_from_this;
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

  /// Starts reading the first request (after the TLS handshake).
  void run() {
    if constexpr (is_tls)
      asio::dispatch(stream_.get_executor(),
                     beast::bind_front_handler(&session::do_handshake, shared_from_this()));
    else
      asio::dispatch(stream_.get_executor(),
                     beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

  /// Closes the connection if it is waiting for a request; callable from any thread.
  void stop() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->on_stop(); });
  }

  /// Queues one chunk of a streamed body; the strand (through the sink).
  void queue_chunk(std::string data) {
    if (phase_ != phase::streaming || !live_ || live_->ending || data.empty())
      return; // an empty chunk would end a chunked body
    if (live_->chunked) {
      char size[20];
      auto n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
      data.insert(0, size, static_cast<std::size_t>(n));
      data.append("\r\n");
    }
    if (live_->backlog + data.size() > max_stream_backlog)
      return stream_failed(); // the client reads slower than the stream goes
    queue_raw(std::move(data));
  }

  /// Ends a streamed body after what is queued; the strand.
  void end_stream() {
    if (phase_ != phase::streaming || !live_ || live_->ending)
      return;
    live_->ending = true;
    live_->sink->mark_closed();
    if (live_->chunked)
      queue_raw("0\r\n\r\n");
    else if (!live_->writing)
      finish_stream();
  }

  /// Hands `r` to the strand to be written; callable from any thread.
  void post_response(http_response r) noexcept {
    try {
      asio::post(stream_.get_executor(), [self = shared_from_this(), r = std::move(r)]() mutable {
        self->send_response(std::move(r));
      });
    } catch (...) {
      // Out of memory: the session dies with its last reference and the
      // socket closes, which is all that is left to do.
    }
  }

private:
  enum class phase { waiting, reading, handling, writing, streaming, closing };

  using executor_type = decltype(std::declval<Stream&>().get_executor());
  using sink_type = session_sink<session, executor_type>;

  // What a streamed response needs; made only for one.
  struct stream_state {
    std::shared_ptr<sink_type> sink;
    std::deque<std::string> out; // framed chunks not yet written, oldest first
    std::size_t backlog = 0;     // bytes in `out`
    bool chunked = true;         // HTTP/1.1; HTTP/1.0 ends the body by closing
    bool writing = false;
    bool reading = false;
    bool ending = false;
  };

  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

  void remember_peer() {
    error_code ec;
    auto peer = tcp_layer().socket().remote_endpoint(ec);
    if (!ec)
      remote_ = peer.address().to_string(); // SSO-sized: no allocation per request
  }

  // A client gets read_timeout for the handshake and its whole first request.
  void do_handshake() {
    tcp_layer().expires_after(core_->limits.read_timeout);
    stream_.async_handshake(ssl::stream_base::server,
                            beast::bind_front_handler(&session::on_handshake, shared_from_this()));
  }

  void on_handshake(error_code ec) {
    if (ec)
      return fail(ec, "handshake");
    do_read();
  }

  // Waits for the first byte of the next request: the idle limit applies
  // until it arrives, the read limit after.
  void do_read() {
    parser_.emplace();
    apply_limits(*parser_, core_->limits);
    if (core_->stopped)
      return do_close();
    if (buffer_.size() > 0) {
      // A pipelined request is already here.
      phase_ = phase::reading;
      tcp_layer().expires_after(core_->limits.read_timeout);
      return do_read_header();
    }
    phase_ = phase::waiting;
    // A new client gets read_timeout for its whole first request, counted
    // from the accept; a keep-alive client may idle before its next one.
    tcp_layer().expires_after(first_request_ ? core_->limits.read_timeout
                                             : core_->limits.idle_timeout);
    stream_.async_read_some(
      buffer_.prepare(first_read_bytes),
      beast::bind_front_handler(&session::on_first_bytes, shared_from_this()));
  }

  void on_first_bytes(error_code ec, std::size_t n) {
    if (ec)
      return fail(ec, "wait");
    buffer_.commit(n);
    phase_ = phase::reading;
    if (!first_request_)
      tcp_layer().expires_after(core_->limits.read_timeout);
    do_read_header();
  }

  void do_read_header() {
    http::async_read_header(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&session::on_read_header, shared_from_this()));
  }

  void on_read_header(error_code ec, std::size_t) {
    if (ec)
      return on_read_error(ec);
    const auto& msg = parser_->get();
    // A client that asks before sending its body (curl does for large
    // ones) would otherwise wait a second for a 100 that never comes.
    if (!parser_->is_done() && msg.version() >= 11 &&
        equal_nocase(msg[http::field::expect], "100-continue"))
      return do_continue();
    do_read_body();
  }

  void do_continue() {
    static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_, asio::buffer(continue_line.data(), continue_line.size()),
                      beast::bind_front_handler(&session::on_continue, shared_from_this()));
  }

  void on_continue(error_code ec, std::size_t) {
    if (ec)
      return fail(ec, "write");
    do_read_body();
  }

  void do_read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    if (ec)
      return on_read_error(ec);
    first_request_ = false;
    // The handler may take its time (a journal group commit); the write
    // arms its own limit.
    tcp_layer().expires_never();
    phase_ = phase::handling;
    handle_request();
  }

  // Answers a request the parser refused; I/O errors and a peer that went
  // away just close.
  void on_read_error(error_code ec) {
    if (parser_->is_header_done())
      method_ = std::string(parser_->get().method_string());
    if (ec == http::error::body_limit)
      return reply_and_close(error_response(413, "body exceeds http.max_body_bytes (" +
                                                   std::to_string(core_->limits.max_body_bytes) +
                                                   " bytes)"));
    if (ec == http::error::header_limit)
      return reply_and_close(error_response(431, "request headers exceed " +
                                                   std::to_string(core_->limits.max_header_bytes) +
                                                   " bytes"));
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message)
      return reply_and_close(error_response(400, "malformed HTTP request: " + ec.message()));
    fail(ec, "read");
  }

  void reply_and_close(http_response r) {
    close_after_ = true;
    // The request line may not have been read: answer as HTTP/1.1.
    version_ = 11;
    keep_alive_ = false;
    received_ = std::chrono::steady_clock::now();
    phase_ = phase::handling;
    send_response(std::move(r));
  }

  void handle_request() {
    auto& msg = parser_->get();
    http_request req = to_http_request(msg);
    req.received = std::chrono::steady_clock::now();
    req.remote = remote_;
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    method_ = req.method;
    received_ = req.received;
    parser_.reset();

    // Looked up before the filter, so that the observer sees the pattern
    // also when the filter refuses the request or the method gets 405:
    // which endpoint gets bad tokens is worth knowing.
    auto lookup = core_->routes.find(req.method, req.path);
    route_pattern_ = lookup.pattern;

    if (core_->filter) {
      try {
        if (auto r = core_->filter(req))
          return send_response(std::move(*r));
      } catch (...) {
        return send_response(error_response(500, "internal: request filter failed"));
      }
    }

    if (!lookup.found) {
      if (lookup.allow.empty())
        return send_response(error_response(404, "no route for " + req.path));
      auto r = error_response(405, "method " + req.method + " not allowed on " + req.path +
                                     "; allowed: " + lookup.allow);
      r.headers.emplace_back("Allow", std::move(lookup.allow));
      return send_response(std::move(r));
    }
    const route_entry* found = lookup.found;
    req.params = std::move(lookup.params);

    responder reply = make_responder();
    try {
      found->on_request(std::move(req), reply);
    } catch (...) {
      // Ignored by the responder if the handler answered before throwing.
      try {
        reply(error_response(500, "internal: request handler failed"));
      } catch (...) {
      }
    }
  }

  // The state behind one responder: answers once, and answers 500 when the
  // last copy goes away unanswered so that the client is not left hanging.
  class pending_reply {
  public:
    explicit pending_reply(std::shared_ptr<session> s) : session_(std::move(s)) {}
    pending_reply(const pending_reply&) = delete;
    pending_reply& operator=(const pending_reply&) = delete;
    ~pending_reply() {
      if (!session_)
        return;
      try {
        session_->post_response(error_response(500, "internal: request dropped"));
      } catch (...) {
        // Out of memory: the session closes when session_ goes.
      }
    }

    void answer(http_response r) {
      if (answered_.exchange(true))
        return;
      auto s = std::move(session_);
      s->post_response(std::move(r));
    }

  private:
    std::shared_ptr<session> session_;
    std::atomic<bool> answered_{false};
  };

  responder make_responder() {
    auto state = std::make_shared<pending_reply>(shared_from_this());
    return [state](http_response r) { state->answer(std::move(r)); };
  }

  void send_response(http_response r) {
    if (phase_ != phase::handling)
      return;
    phase_ = phase::writing;
    if (r.status < 100 || r.status > 999)
      r = error_response(500, "internal: invalid status " + std::to_string(r.status));
    res_ = {};
    res_.version(version_);
    res_.result(static_cast<unsigned>(r.status));
    res_.set(http::field::server, "switchyard");
    if (!r.content_type.empty())
      res_.set(http::field::content_type, r.content_type);
    bool handler_close = false;
    for (auto& [name, value] : r.headers) {
      // Framing is the server's; a line break would split the response.
      if (name.empty() || has_line_break(name) || has_line_break(value) ||
          equal_nocase(name, "content-length") || equal_nocase(name, "transfer-encoding"))
        continue;
      if (equal_nocase(name, "connection")) {
        handler_close = handler_close || equal_nocase(value, "close");
        continue;
      }
      res_.insert(name, value);
    }
    status_ = r.status;
    if (r.stream && r.status == 200 && method_ != "HEAD")
      return start_stream(std::move(r));
    bool bodiless = r.status < 200 || r.status == 204 || r.status == 304;
    if (!bodiless) {
      res_.content_length(r.body.size());
      // A response to HEAD declares the length but carries no body.
      if (method_ != "HEAD")
        res_.body() = std::move(r.body);
    }
    res_.keep_alive(keep_alive_ && !close_after_ && !handler_close && !core_->stopped);
    close_after_ = !res_.keep_alive() || res_.need_eof();
    tcp_layer().expires_after(core_->limits.read_timeout);
    http::async_write(stream_, res_,
                      beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void observe() {
    if (core_->observer) {
      try {
        std::chrono::duration<double> took = std::chrono::steady_clock::now() - received_;
        core_->observer(method_, route_pattern_, status_, took.count());
      } catch (...) {
      }
    }
  }

  // Sends the status line and headers of a streamed response (res_ holds
  // them), then whatever the handler writes to its sink, each piece as a
  // chunk. The connection is read meanwhile only to see the client go: a
  // read error ends the stream. The read never times out; each write gets
  // read_timeout (Beast's tcp_stream applies a new expiry only to the
  // operations not pending), so a client that stops reading is dropped.
  void start_stream(http_response r) {
    phase_ = phase::streaming;
    live_ = std::make_unique<stream_state>();
    live_->chunked = version_ >= 11;
    if (live_->chunked)
      res_.chunked(true);
    res_.keep_alive(false);
    std::ostringstream head;
    head << res_.base();
    res_ = {};
    live_->sink = std::make_shared<sink_type>(this->weak_from_this(), stream_.get_executor());
    observe();
    tcp_layer().expires_never();
    do_stream_read();
    queue_raw(std::move(head).str());
    try {
      r.stream(live_->sink);
    } catch (...) {
      return end_stream();
    }
    if (core_->stopped)
      end_stream();
  }

  void queue_raw(std::string data) {
    live_->backlog += data.size();
    live_->out.push_back(std::move(data));
    if (!live_->writing)
      do_stream_write();
  }

  void do_stream_write() {
    live_->writing = true;
    tcp_layer().expires_after(core_->limits.read_timeout);
    const auto& front = live_->out.front();
    asio::async_write(stream_, asio::buffer(front.data(), front.size()),
                      beast::bind_front_handler(&session::on_stream_write, shared_from_this()));
  }

  void on_stream_write(error_code ec, std::size_t) {
    if (phase_ != phase::streaming)
      return;
    live_->writing = false;
    live_->backlog -= live_->out.front().size();
    live_->out.pop_front();
    if (ec)
      return stream_failed();
    if (!live_->out.empty())
      return do_stream_write();
    if (live_->ending)
      finish_stream();
  }

  void do_stream_read() {
    live_->reading = true;
    buffer_.consume(buffer_.size());
    stream_.async_read_some(
      buffer_.prepare(first_read_bytes),
      beast::bind_front_handler(&session::on_stream_read, shared_from_this()));
  }

  // Whatever a client sends during a stream is discarded.
  void on_stream_read(error_code ec, std::size_t) {
    if (phase_ != phase::streaming)
      return;
    live_->reading = false;
    if (live_->ending) {
      if (!live_->writing && live_->out.empty())
        do_close(); // the read was cancelled by finish_stream()
      return;
    }
    if (ec)
      return stream_failed();
    tcp_layer().expires_never(); // only the read's timer: a write may be pending
    do_stream_read();
  }

  // Everything is written, the end marker too: cancel the read and close
  // as any response does (linger, TLS close_notify).
  void finish_stream() {
    if (live_->reading)
      tcp_layer().socket().cancel(); // on_stream_read then closes
    else
      do_close();
  }

  // The client went away, a write failed or the client is too slow.
  void stream_failed() {
    live_->sink->mark_closed();
    phase_ = phase::closing;
    tcp_layer().close();
  }

  void on_write(error_code ec, std::size_t) {
    observe();
    method_.clear();
    route_pattern_.clear();
    res_ = {};
    if (ec)
      return fail(ec, "write");
    if (close_after_)
      return do_close();
    do_read();
  }

  // Half-closes, then reads and discards until the client closes: closing
  // with its unread bytes pending would send a reset that can destroy the
  // response (a 413) before the client reads it.
  void do_close() {
    phase_ = phase::closing;
    if constexpr (is_tls) {
      // close_notify, then the same linger for the client's own.
      tcp_layer().expires_after(
        std::min<std::chrono::milliseconds>(core_->limits.read_timeout, max_linger));
      return stream_.async_shutdown(
        beast::bind_front_handler(&session::on_tls_shutdown, shared_from_this()));
    }
    error_code ignored;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
    buffer_.consume(buffer_.size());
    tcp_layer().expires_after(
      std::min<std::chrono::milliseconds>(core_->limits.read_timeout, max_linger));
    do_drain();
  }

  void do_drain() {
    stream_.async_read_some(buffer_.prepare(first_read_bytes),
                            beast::bind_front_handler(&session::on_drain, shared_from_this()));
  }

  void on_drain(error_code ec, std::size_t) {
    if (ec)
      return fail(ec, "drain");
    do_drain();
  }

  void on_tls_shutdown(error_code) { tcp_layer().close(); }

  void on_stop() {
    if (phase_ == phase::waiting || phase_ == phase::closing)
      tcp_layer().close();
    else if (phase_ == phase::streaming)
      end_stream();
  }

  // Ends the connection after a failed step. There is no one to tell: the
  // cause (a timeout, a reset, the peer's eof) is the client's business and
  // transport has no logger.
  void fail(error_code, const char* /*what*/) { tcp_layer().close(); }

  Stream stream_;
  std::string remote_; // the peer's address, for the auth-failure log line
  std::shared_ptr<const server_core> core_;
  beast::flat_buffer buffer_;
  std::optional<request_parser> parser_;
  http::response<http::string_body> res_;
  std::unique_ptr<stream_state> live_;
  phase phase_ = phase::waiting;
  bool first_request_ = true;
  bool keep_alive_ = false;
  bool close_after_ = false;
  unsigned version_ = 11;
  int status_ = 0;
  std::string method_;
  std::string route_pattern_;
  std::chrono::steady_clock::time_point received_;
};

} // namespace

// The acceptor and the registry of sessions. The acceptor, its retry timer
// and the registry are touched by accept completions (on the acceptor's
// strand) and by listen()/stop() (any thread), so all of them sit behind
// mutex_.
struct http_server::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& ioc, server_limits limits)
      : ioc_(ioc), core_(std::make_shared<server_core>()), acceptor_(asio::make_strand(ioc)),
        retry_timer_(acceptor_.get_executor()) {
    core_->limits = limits;
  }

  // Starts one accept; mutex_ must be held.
  void do_accept_locked() {
    if (stopped_)
      return;
    acceptor_.async_accept(asio::make_strand(ioc_),
                           beast::bind_front_handler(&impl::on_accept, shared_from_this()));
  }

  void do_accept() {
    std::lock_guard lock(mutex_);
    do_accept_locked();
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted)
        return;
      if (ec == asio::error::connection_aborted)
        return do_accept();
      std::lock_guard lock(mutex_);
      if (stopped_)
        return;
      retry_timer_.expires_after(accept_retry_delay);
      retry_timer_.async_wait([self = shared_from_this()](error_code timer_ec) {
        if (!timer_ec)
          self->do_accept();
      });
      return;
    }
    if (tls_)
      adopt(std::make_shared<session<tls_stream>>(std::move(socket), *tls_, core_));
    else
      adopt(std::make_shared<session<plain_stream>>(std::move(socket), core_));
  }

  // Registers a new session, so that stop() reaches it, accepts the next
  // connection and runs the session.
  template <class Session>
  void adopt(std::shared_ptr<Session> s) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_)
        return;
      // Pruning when the list has doubled keeps registration O(1) amortized.
      if (sessions_.size() >= prune_at_) {
        std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
        prune_at_ = std::max<std::size_t>(64, 2 * sessions_.size());
      }
      sessions_.push_back(s);
      ++accepted_;
      do_accept_locked();
    }
    s->run();
  }

  // Loads the certificate chain and key for HTTPS; false with `error` set.
  bool enable_tls(const std::string& cert_file, const std::string& key_file, std::string& error) {
    auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    for (const auto& [key, file] :
         {std::pair{"server.tls_cert", &cert_file}, std::pair{"server.tls_key", &key_file}}) {
      if (::access(file->c_str(), R_OK) != 0) {
        error = std::string("cannot read ") + key + " " + *file + ": " + std::strerror(errno);
        return false;
      }
    }
    error_code ec;
    if (context->use_certificate_chain_file(cert_file, ec)) {
      error = "server.tls_cert " + cert_file + " is not a PEM certificate chain: " + ssl_reason(ec);
      return false;
    }
    if (context->use_private_key_file(key_file, ssl::context::pem, ec) ||
        SSL_CTX_check_private_key(context->native_handle()) != 1) {
      auto reason = ssl_reason(ec);
      if (!ec || reason.find("mismatch") != std::string::npos)
        error = "server.tls_key " + key_file +
                " does not match the certificate of server.tls_cert " + cert_file;
      else
        error = "server.tls_key " + key_file + " is not a PEM private key: " + reason;
      return false;
    }
    std::lock_guard lock(mutex_);
    tls_ = std::move(context);
    return true;
  }

  std::optional<uint16_t> listen(const std::string& host, uint16_t port, std::string& error) {
    std::lock_guard lock(mutex_);
    auto where = host + ":" + std::to_string(port);
    if (listening_ || stopped_) {
      error = "cannot listen on " + where + ": the server is already listening or stopped";
      return std::nullopt;
    }
    error_code ec;
    tcp::endpoint endpoint;
    auto address = asio::ip::make_address(host, ec);
    if (!ec) {
      endpoint = tcp::endpoint(address, port);
    } else {
      // A name such as "localhost": resolved once, here, before serving.
      tcp::resolver resolver(ioc_);
      auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
      if (ec || results.empty()) {
        error = "cannot resolve " + host + ": " + (ec ? ec.message() : "no address");
        return std::nullopt;
      }
      endpoint = *results.begin();
    }
    auto failed = [&](const char* step) {
      error = "cannot listen on " + where + ": " + step + ": " + ec.message();
      error_code ignored;
      acceptor_.close(ignored);
      return std::nullopt;
    };
    if (acceptor_.open(endpoint.protocol(), ec))
      return failed("open");
    if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec))
      return failed("set SO_REUSEADDR");
    if (acceptor_.bind(endpoint, ec))
      return failed("bind");
    if (acceptor_.listen(asio::socket_base::max_listen_connections, ec))
      return failed("listen");
    auto bound = acceptor_.local_endpoint(ec);
    if (ec)
      return failed("local address");
    listening_ = true;
    do_accept_locked();
    return bound.port();
  }

  void stop() {
    std::vector<std::shared_ptr<stoppable>> live;
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      core_->stopped = true;
      error_code ignored;
      acceptor_.close(ignored);
      retry_timer_.cancel();
      for (auto& w : sessions_)
        if (auto s = w.lock())
          live.push_back(std::move(s));
      sessions_.clear();
    }
    for (auto& s : live)
      s->stop();
  }

  asio::io_context& ioc_;
  std::shared_ptr<server_core> core_;

  std::mutex mutex_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  std::vector<std::weak_ptr<stoppable>> sessions_;
  std::unique_ptr<ssl::context> tls_; // set before listen(), then read-only
  std::size_t prune_at_ = 64;
  bool listening_ = false;
  bool stopped_ = false;
  uint64_t accepted_ = 0;
};

http_server::http_server(asio::io_context& ioc, server_limits limits)
    : impl_(std::make_shared<impl>(ioc, limits)) {}

http_server::~http_server() { impl_->stop(); }

void http_server::route(std::string method, std::string pattern, handler h) {
  impl_->core_->routes.add(std::move(method), std::move(pattern), std::move(h));
}

void http_server::set_filter(
  std::function<std::optional<http_response>(const http_request&)> filter) {
  impl_->core_->filter = std::move(filter);
}

void http_server::set_observer(
  std::function<void(const std::string&, const std::string&, int, double)> obs) {
  impl_->core_->observer = std::move(obs);
}

std::optional<uint16_t> http_server::listen(const std::string& host, uint16_t port,
                                            std::string& error) {
  return impl_->listen(host, port, error);
}

bool http_server::enable_tls(const std::string& cert_file, const std::string& key_file,
                             std::string& error) {
  return impl_->enable_tls(cert_file, key_file, error);
}

void http_server::stop() { impl_->stop(); }

uint64_t http_server::accepted_connections() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->accepted_;
}

} // namespace sy::transport
