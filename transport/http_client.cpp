#include "transport/http_client.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/url.hpp"

namespace sy::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = beast::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::string_view user_agent = "switchyard/0.1";
// Longest response header accepted.
constexpr std::uint32_t max_response_header_bytes = 64 << 10;

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// Returns whether `method` is an RFC 9110 token, so that it cannot break
// the request line.
bool is_token(std::string_view method) {
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !method.empty() && std::all_of(method.begin(), method.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           extra.find(c) != std::string_view::npos;
  });
}

// Returns whether an error says the peer had closed a reused connection
// before reading our request: the request can be sent again elsewhere.
bool is_stale_error(error_code ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
         ec == asio::error::not_connected;
}

// One open connection to an origin. TLS will add an ssl_stream over this
// tcp_stream here; the exchange's write and read steps then pick the
// stream that is set.
struct connection {
  explicit connection(asio::any_io_executor ex) : stream(std::move(ex)) {}
  beast::tcp_stream stream;
  clock_type::time_point idle_since;
};

// Returns whether an idle connection still looks open: the peer has
// neither closed it nor sent anything unasked (both end its usefulness).
bool looks_alive(connection& c) {
  char byte;
  auto n = ::recv(c.stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// Idle keep-alive connections by origin. Shared by the client and every
// exchange in flight; any thread, behind mutex_. Connections are closed
// outside the lock.
class connection_pool {
public:
  explicit connection_pool(client_options options) : options_(options) {}

  /// Returns an idle connection to `origin` that still looks open, or null.
  std::unique_ptr<connection> take(const std::string& origin) {
    while (true) {
      std::unique_ptr<connection> c;
      {
        std::lock_guard lock(mutex_);
        auto it = idle_.find(origin);
        if (it == idle_.end())
          return nullptr;
        c = std::move(it->second.back());
        it->second.pop_back();
        if (it->second.empty())
          idle_.erase(it);
      }
      if (clock_type::now() - c->idle_since < options_.idle_timeout && looks_alive(*c))
        return c;
    }
  }

  /// Keeps `c` for reuse, unless the pool is full or shut down.
  void give_back(const std::string& origin, std::unique_ptr<connection> c) {
    c->stream.expires_never();
    c->idle_since = clock_type::now();
    std::lock_guard lock(mutex_);
    if (shut_down_)
      return;
    auto& list = idle_[origin];
    if (list.size() < options_.max_idle_per_origin)
      list.push_back(std::move(c));
  }

  /// Closes every idle connection and stops keeping new ones.
  void shutdown() {
    std::unordered_map<std::string, std::vector<std::unique_ptr<connection>>> closing;
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    closing.swap(idle_);
  }

  const client_options& options() const { return options_; }

private:
  const client_options options_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<connection>>> idle_;
  bool shut_down_ = false;
};

// One request from send() to done(): connect (or reuse), write, read, give
// the connection back. Its steps run one after another, on its own strand
// or on a reused connection's strand; never two at once. Owned by its
// pending operation.
class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(asio::io_context& ioc, std::shared_ptr<connection_pool> pool, client_request req, core::url_parts url,
           std::function<void(client_response)> done)
      : strand_(asio::make_strand(ioc)), resolver_(strand_), resolve_timer_(strand_), pool_(std::move(pool)),
        url_(std::move(url)), timeout_(req.timeout), deadline_(clock_type::now() + req.timeout),
        done_(std::move(done)) {
    origin_ = url_.scheme + "://" + url_.host_header();
    build_request(std::move(req));
  }

  /// Starts the exchange on its strand, so that done never runs inside send().
  void start() { asio::post(strand_, beast::bind_front_handler(&exchange::do_start, shared_from_this())); }

private:
  void build_request(client_request req) {
    request_.version(11);
    request_.method_string(req.method);
    request_.target(url_.target);
    request_.set(http::field::host, url_.host_header());
    bool has_user_agent = false;
    bool has_content_type = false;
    for (auto& [name, value] : req.headers) {
      // Framing and Host are ours; a line break would split the request.
      if (name.empty() || has_line_break(name) || has_line_break(value) || equal_nocase(name, "host") ||
          equal_nocase(name, "content-length") || equal_nocase(name, "transfer-encoding") ||
          equal_nocase(name, "connection"))
        continue;
      has_user_agent = has_user_agent || equal_nocase(name, "user-agent");
      has_content_type = has_content_type || equal_nocase(name, "content-type");
      request_.insert(name, value);
    }
    if (!has_user_agent)
      request_.set(http::field::user_agent, user_agent);
    if (!req.body.empty() && !has_content_type)
      request_.set(http::field::content_type, "application/json");
    request_.keep_alive(true);
    bool bodiless_method = req.method == "GET" || req.method == "HEAD";
    if (!req.body.empty() || !bodiless_method)
      request_.content_length(req.body.size());
    request_.body() = std::move(req.body);
    method_ok_ = is_token(req.method);
    head_ = req.method == "HEAD";
  }

  void do_start() {
    if (!method_ok_)
      return finish_error("bad method");
    if (timeout_.count() <= 0)
      return finish_error("timed out after " + std::to_string(timeout_.count()) + " ms");
    conn_ = pool_->take(origin_);
    if (conn_) {
      reused_ = true;
      return do_write();
    }
    do_resolve();
  }

  void do_resolve() {
    error_code ec;
    auto address = asio::ip::make_address(url_.host, ec);
    if (!ec)
      return do_connect({tcp::endpoint(address, url_.port)});
    // The resolver cannot be interrupted (getaddrinfo runs to its end), so
    // the deadline is kept by a timer that answers first when it must.
    resolving_ = true;
    resolve_timer_.expires_at(deadline_);
    resolve_timer_.async_wait(beast::bind_front_handler(&exchange::on_resolve_timeout, shared_from_this()));
    resolver_.async_resolve(url_.host, std::to_string(url_.port), tcp::resolver::numeric_service,
                            beast::bind_front_handler(&exchange::on_resolve, shared_from_this()));
  }

  void on_resolve_timeout(error_code ec) {
    if (ec || !resolving_)
      return;
    resolving_ = false;
    resolver_.cancel();
    fail(beast::error::timeout, "resolve");
  }

  void on_resolve(error_code ec, const tcp::resolver::results_type& results) {
    if (!resolving_)
      return; // the deadline has already answered
    resolving_ = false;
    resolve_timer_.cancel();
    if (ec)
      return fail(ec, "resolve");
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : results)
      endpoints.push_back(entry.endpoint());
    do_connect(std::move(endpoints));
  }

  void do_connect(std::vector<tcp::endpoint> endpoints) {
    conn_ = std::make_unique<connection>(strand_);
    conn_->stream.expires_at(deadline_);
    endpoints_ = std::move(endpoints);
    conn_->stream.async_connect(endpoints_, beast::bind_front_handler(&exchange::on_connect, shared_from_this()));
  }

  void on_connect(error_code ec, const tcp::endpoint&) {
    if (ec)
      return fail(ec, "connect");
    do_write();
  }

  void do_write() {
    conn_->stream.expires_at(deadline_);
    http::async_write(conn_->stream, request_, beast::bind_front_handler(&exchange::on_write, shared_from_this()));
  }

  void on_write(error_code ec, std::size_t) {
    if (ec) {
      if (reused_ && is_stale_error(ec))
        return retry();
      return fail(ec, "write");
    }
    do_read();
  }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(max_response_header_bytes);
    parser_->body_limit(pool_->options().max_response_bytes);
    parser_->skip(head_);
    conn_->stream.expires_at(deadline_);
    http::async_read_header(conn_->stream, buffer_, *parser_,
                            beast::bind_front_handler(&exchange::on_read_header, shared_from_this()));
  }

  void on_read_header(error_code ec, std::size_t) {
    // The header is read on its own because Beast 1.74 loses the body
    // limit error of a response whose whole message arrives in one read
    // (async_read parses eagerly); async_read_header reports it.
    if (ec == http::error::body_limit && parser_->is_header_done())
      return finish_response(false);
    if (ec) {
      if (reused_ && is_stale_error(ec) && !parser_->got_some() && buffer_.size() == 0)
        return retry();
      return fail(ec, "read");
    }
    // An interim response (100 Continue sent unasked): the real one follows.
    auto status = parser_->get().result_int();
    if (status >= 100 && status < 200 && status != 101)
      return do_read();
    do_read_body();
  }

  void do_read_body() {
    http::async_read(conn_->stream, buffer_, *parser_, beast::bind_front_handler(&exchange::on_read, shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    if (ec == http::error::body_limit)
      return finish_response(false);
    if (ec)
      return fail(ec, "read");
    const auto& res = parser_->get();
    // After a 101 the connection speaks another protocol.
    finish_response(res.result_int() >= 200 && res.keep_alive() && !res.need_eof() && buffer_.size() == 0);
  }

  // Sends the request again on a new connection: the reused one had been
  // closed by the server while it sat idle in the pool.
  void retry() {
    reused_ = false;
    conn_.reset();
    buffer_.clear();
    do_resolve();
  }

  void finish_response(bool reusable) {
    auto& res = parser_->get();
    client_response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res)
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    out.body = std::move(res.body());
    parser_.reset();
    if (reusable)
      pool_->give_back(origin_, std::move(conn_));
    conn_.reset();
    finish(std::move(out));
  }

  void fail(error_code ec, const char* what) {
    conn_.reset();
    if (ec == beast::error::timeout)
      return finish_error("timed out after " + std::to_string(timeout_.count()) + " ms");
    if (ec == asio::error::connection_refused)
      return finish_error("connection refused");
    if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again)
      return finish_error("cannot resolve host " + url_.host);
    finish_error(std::string(what) + ": " + ec.message());
  }

  void finish_error(std::string error) {
    client_response out;
    out.error = std::move(error);
    finish(std::move(out));
  }

  void finish(client_response out) {
    auto done = std::move(done_);
    done_ = nullptr;
    if (!done)
      return;
    try {
      done(std::move(out));
    } catch (...) {
      // No exception may leave an Asio callback; done's own failures are
      // its caller's to handle.
    }
  }

  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  asio::steady_timer resolve_timer_;
  std::shared_ptr<connection_pool> pool_;
  core::url_parts url_;
  std::string origin_;
  std::chrono::milliseconds timeout_;
  clock_type::time_point deadline_;
  std::function<void(client_response)> done_;
  http::request<http::string_body> request_;
  bool method_ok_ = true;
  bool head_ = false;
  std::unique_ptr<connection> conn_;
  std::vector<tcp::endpoint> endpoints_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  bool reused_ = false;
  bool resolving_ = false;
};

} // namespace

// The client's state: its io_context and the pool its exchanges share.
struct http_client::impl {
  impl(asio::io_context& ioc, client_options options)
      : ioc_(ioc), pool_(std::make_shared<connection_pool>(options)) {}

  // Answers `done` with `error` on an I/O thread, never inside send().
  void post_error(std::function<void(client_response)> done, std::string error) {
    asio::post(ioc_, [done = std::move(done), error = std::move(error)]() mutable {
      client_response out;
      out.error = std::move(error);
      try {
        done(std::move(out));
      } catch (...) {
      }
    });
  }

  asio::io_context& ioc_;
  std::shared_ptr<connection_pool> pool_;
};

http_client::http_client(asio::io_context& ioc, client_options options)
    : impl_(std::make_shared<impl>(ioc, options)) {}

http_client::~http_client() { shutdown(); }

void http_client::send(client_request req, std::function<void(client_response)> done) {
  auto url = core::parse_url(req.url);
  if (!url)
    return impl_->post_error(std::move(done), "bad url: " + core::validate_url(req.url).value_or("invalid"));
  if (url->scheme == "https")
    return impl_->post_error(std::move(done), "https is not supported yet");
  auto x = std::make_shared<exchange>(impl_->ioc_, impl_->pool_, std::move(req), std::move(*url), std::move(done));
  x->start();
}

void http_client::shutdown() { impl_->pool_->shutdown(); }

} // namespace sy::transport
