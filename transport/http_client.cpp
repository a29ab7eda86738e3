#include "transport/http_client.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/ascii.hpp"
#include "core/url.hpp"

namespace sy::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = beast::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::string_view user_agent = "switchyard/0.1";
// Longest response header accepted.
constexpr std::uint32_t max_response_header_bytes = 64 << 10;

using core::equal_nocase;
using core::has_line_break;

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
// before reading our request: the request can be sent again elsewhere. Over
// TLS a close without close_notify arrives as stream_truncated.
bool is_stale_error(error_code ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == asio::error::not_connected ||
         ec == ssl::error::stream_truncated;
}

// Returns the text of `ec`: OpenSSL's reason alone for TLS errors (Asio
// appends the library name in parentheses), else the usual message.
std::string describe(error_code ec) {
  if (ec.category() == asio::error::get_ssl_category())
    if (const char* reason = ::ERR_reason_error_string(static_cast<unsigned int>(ec.value())))
      return reason;
  return ec.message();
}

// Returns whether `a` is in one of the IPv4 ranges allow_private = false refuses.
bool is_private_v4(const asio::ip::address_v4& a) {
  auto v = a.to_uint();
  auto in = [v](uint32_t net, int bits) { return (v >> (32 - bits)) == (net >> (32 - bits)); };
  return in(0x00000000, 8)      // 0.0.0.0/8, "this network" and unspecified
         || in(0x0a000000, 8)   // 10/8
         || in(0x7f000000, 8)   // 127/8 loopback
         || in(0x64400000, 10)  // 100.64/10 carrier-grade NAT
         || in(0xa9fe0000, 16)  // 169.254/16 link-local (cloud metadata lives here)
         || in(0xac100000, 12)  // 172.16/12
         || in(0xc0a80000, 16); // 192.168/16
}

// Returns whether allow_private = false refuses `a` (see is_private_address).
bool is_private_ip(const asio::ip::address& a) {
  if (a.is_v4())
    return is_private_v4(a.to_v4());
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped())
    return is_private_v4(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
  auto bytes = v6.to_bytes();
  // ::a.b.c.d (deprecated IPv4-compatible) reaches the IPv4 address on some stacks.
  bool v4_compatible = std::all_of(bytes.begin(), bytes.begin() + 12,
                                   [](unsigned char b) { return b == 0; });
  if (v4_compatible && !v6.is_unspecified() && !v6.is_loopback()) {
    asio::ip::address_v4::bytes_type v4{bytes[12], bytes[13], bytes[14], bytes[15]};
    return is_private_v4(asio::ip::address_v4(v4));
  }
  return v6.is_unspecified() || v6.is_loopback() || v6.is_link_local() || v6.is_site_local() ||
         (bytes[0] & 0xfe) == 0xfc; // fc00::/7 unique local
}

// One open connection to an origin: a plain tcp_stream for http, an
// ssl_stream over one for https. The exchange's write and read steps pick
// the stream that is set; timeouts are always the tcp_stream's. The strand
// its stream runs on and its buffers live as long as it does, so that an
// exchange on a kept-alive connection makes none of them: the read buffer
// keeps its capacity, the request head is written into `head`.
struct connection {
  using strand_type = asio::strand<asio::io_context::executor_type>;

  explicit connection(strand_type s) : strand(s), plain(std::in_place, s) {}
  connection(strand_type s, ssl::context& tls_context)
      : strand(s), tls(std::in_place, s, tls_context) {}

  /// Returns the TCP stream under the connection.
  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  /// Calls `f` with the stream that HTTP is written to and read from.
  template <class F>
  void visit(F&& f) {
    if (tls)
      f(*tls);
    else
      f(*plain);
  }

  strand_type strand;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  clock_type::time_point idle_since;
  /// Bytes read past the last response: empty whenever the connection is idle.
  beast::flat_buffer buffer;
  /// The request line and header of the exchange in progress.
  std::string head;
};

// Returns whether an idle connection still looks open: the peer has
// neither closed it nor sent anything unasked (both end its usefulness;
// over TLS a close_notify is such a thing).
bool looks_alive(connection& c) {
  char byte;
  auto n = ::recv(c.tcp().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// Returns the TLS client context: system CAs plus `ca_file`, peers verified,
// TLS 1.2 at least. Throws std::runtime_error naming a ca_file it cannot use.
std::shared_ptr<ssl::context> make_tls_context(const std::string& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec)
    throw std::runtime_error("cannot use the system's default CA certificates: " + describe(ec));
  if (!ca_file.empty()) {
    // OpenSSL's own message for a missing file is "system lib".
    std::error_code fs_ec;
    if (!std::filesystem::exists(ca_file, fs_ec))
      throw std::runtime_error("cannot load CA file " + ca_file + ": no such file");
    ctx->load_verify_file(ca_file, ec);
    if (ec)
      throw std::runtime_error("cannot load CA file " + ca_file + ": " + describe(ec));
  }
  ctx->set_verify_mode(ssl::verify_peer);
  if (::SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION) != 1)
    throw std::runtime_error("cannot require TLS 1.2");
  return ctx;
}

// Idle keep-alive connections by origin. Shared by the client and every
// exchange in flight; any thread, behind mutex_. Connections are closed
// outside the lock.
class connection_pool {
public:
  explicit connection_pool(client_options options) : options_(std::move(options)) {}

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
    c->tcp().expires_never();
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

// One request from send() to done(): connect (or reuse), TLS handshake for
// https, write, read, give the connection back. Its steps run one after
// another on one strand, never two at once: a reused connection's own
// strand, or a new one for a new connection (kept by that connection).
// Owned by its pending operation.
class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(asio::io_context& ioc, std::shared_ptr<connection_pool> pool,
           std::shared_ptr<ssl::context> tls_context, client_request req, core::url_parts url,
           std::function<void(client_response)> done)
      : ioc_(ioc), pool_(std::move(pool)), tls_context_(std::move(tls_context)),
        url_(std::move(url)), req_(std::move(req)), timeout_(req_.timeout),
        deadline_(clock_type::now() + req_.timeout), done_(std::move(done)) {
    host_header_ = url_.host_header();
    origin_.reserve(url_.scheme.size() + 3 + host_header_.size());
    origin_.append(url_.scheme).append("://").append(host_header_);
    method_ok_ = is_token(req_.method);
    head_ = req_.method == "HEAD";
  }

  /// Takes an idle connection to the origin when one is open, then posts
  /// the first step to the strand it runs on, so that done never runs
  /// inside send(): one executor hop to the write on a reused connection.
  void start() {
    if (method_ok_ && timeout_.count() > 0)
      conn_ = pool_->take(origin_);
    if (conn_) {
      reused_ = true;
      strand_.emplace(conn_->strand);
      return asio::post(*strand_,
                        beast::bind_front_handler(&exchange::do_write, shared_from_this()));
    }
    strand_.emplace(asio::make_strand(ioc_));
    asio::post(*strand_, beast::bind_front_handler(&exchange::do_start, shared_from_this()));
  }

private:
  void do_start() {
    if (!method_ok_)
      return finish_error("bad method");
    if (timeout_.count() <= 0)
      return finish_error("timed out after " + std::to_string(timeout_.count()) + " ms");
    do_resolve();
  }

  // Writes the request line and header into the connection's `head`
  // (reused: its capacity stays): Host, the caller's headers in order, then
  // User-Agent and Content-Type unless given, then Content-Length.
  void write_head(std::string& out) const {
    out.clear();
    out.append(req_.method).append(" ").append(url_.target).append(" HTTP/1.1\r\n");
    out.append("Host: ").append(host_header_).append("\r\n");
    bool has_user_agent = false;
    bool has_content_type = false;
    for (const auto& [name, value] : req_.headers) {
      // Framing and Host are ours; a line break would split the request.
      if (name.empty() || has_line_break(name) || has_line_break(value) ||
          equal_nocase(name, "host") || equal_nocase(name, "content-length") ||
          equal_nocase(name, "transfer-encoding") || equal_nocase(name, "connection"))
        continue;
      has_user_agent = has_user_agent || equal_nocase(name, "user-agent");
      has_content_type = has_content_type || equal_nocase(name, "content-type");
      out.append(name).append(": ").append(value).append("\r\n");
    }
    if (!has_user_agent)
      out.append("User-Agent: ").append(user_agent).append("\r\n");
    if (!req_.body.empty() && !has_content_type)
      out.append("Content-Type: application/json\r\n");
    const bool bodiless_method = req_.method == "GET" || req_.method == "HEAD";
    if (!req_.body.empty() || !bodiless_method)
      out.append("Content-Length: ").append(std::to_string(req_.body.size())).append("\r\n");
    out.append("\r\n");
  }

  void do_resolve() {
    error_code ec;
    auto address = asio::ip::make_address(url_.host, ec);
    if (!ec) {
      if (refuses(address))
        return finish_error("refused: " + url_.host +
                            " is a private address (egress.allow_private = false)");
      return do_connect({tcp::endpoint(address, url_.port)});
    }
    // The resolver cannot be interrupted (getaddrinfo runs to its end), so
    // the deadline is kept by a timer that answers first when it must.
    resolving_ = true;
    if (!resolver_) {
      resolver_.emplace(*strand_);
      resolve_timer_.emplace(*strand_);
    }
    resolve_timer_->expires_at(deadline_);
    resolve_timer_->async_wait(
      beast::bind_front_handler(&exchange::on_resolve_timeout, shared_from_this()));
    resolver_->async_resolve(url_.host, std::to_string(url_.port), tcp::resolver::numeric_service,
                             beast::bind_front_handler(&exchange::on_resolve, shared_from_this()));
  }

  void on_resolve_timeout(error_code ec) {
    if (ec || !resolving_)
      return;
    resolving_ = false;
    resolver_->cancel();
    fail(beast::error::timeout, "resolve");
  }

  void on_resolve(error_code ec, const tcp::resolver::results_type& results) {
    if (!resolving_)
      return; // the deadline has already answered
    resolving_ = false;
    resolve_timer_->cancel();
    if (ec)
      return fail(ec, "resolve");
    // Only the addresses checked here are connected to, so a name that
    // resolves differently later (DNS rebinding) cannot slip past.
    std::vector<tcp::endpoint> endpoints;
    std::optional<asio::ip::address> refused;
    for (const auto& entry : results) {
      if (refuses(entry.endpoint().address())) {
        if (!refused)
          refused = entry.endpoint().address();
        continue;
      }
      endpoints.push_back(entry.endpoint());
    }
    if (endpoints.empty() && refused)
      return finish_error("refused: " + url_.host + " resolves to private address " +
                          refused->to_string() + " (egress.allow_private = false)");
    do_connect(std::move(endpoints));
  }

  // Returns whether allow_private = false forbids connecting to `address`.
  bool refuses(const asio::ip::address& address) const {
    return !pool_->options().allow_private && is_private_ip(address);
  }

  void do_connect(std::vector<tcp::endpoint> endpoints) {
    if (url_.scheme == "https")
      conn_ = std::make_unique<connection>(*strand_, *tls_context_);
    else
      conn_ = std::make_unique<connection>(*strand_);
    conn_->tcp().expires_at(deadline_);
    endpoints_ = std::move(endpoints);
    conn_->tcp().async_connect(
      endpoints_, beast::bind_front_handler(&exchange::on_connect, shared_from_this()));
  }

  void on_connect(error_code ec, const tcp::endpoint&) {
    if (ec)
      return fail(ec, "connect");
    if (conn_->tls)
      return do_handshake();
    do_write();
  }

  void do_handshake() {
    SSL* ssl = conn_->tls->native_handle();
    error_code ec;
    asio::ip::make_address(url_.host, ec);
    const bool ip_literal = !ec;
    // SNI names hosts only: RFC 6066 leaves IP literals out of it.
    if (!ip_literal && SSL_set_tlsext_host_name(ssl, url_.host.c_str()) != 1)
      return fail_setup("cannot set the server name " + url_.host);
    // OpenSSL checks the name during the handshake, so a mismatch is
    // reported as its own verification error ("hostname mismatch").
    X509_VERIFY_PARAM* param = ::SSL_get0_param(ssl);
    ::X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int set = ip_literal ? ::X509_VERIFY_PARAM_set1_ip_asc(param, url_.host.c_str())
                         : ::X509_VERIFY_PARAM_set1_host(param, url_.host.data(), url_.host.size());
    if (set != 1)
      return fail_setup("cannot verify certificates for " + url_.host);
    conn_->tcp().expires_at(deadline_);
    conn_->tls->async_handshake(
      ssl::stream_base::client,
      beast::bind_front_handler(&exchange::on_handshake, shared_from_this()));
  }

  void on_handshake(error_code ec) {
    if (ec == beast::error::timeout)
      return fail(ec, "tls handshake");
    if (ec) {
      long verified = ::SSL_get_verify_result(conn_->tls->native_handle());
      if (verified != X509_V_OK) {
        conn_.reset();
        return finish_error(std::string("tls handshake: certificate verify failed (") +
                            ::X509_verify_cert_error_string(verified) + ")");
      }
      return fail(ec, "tls handshake");
    }
    do_write();
  }

  void fail_setup(std::string why) {
    conn_.reset();
    finish_error("tls: " + std::move(why));
  }

  void do_write() {
    write_head(conn_->head);
    // The head and the body go out in one gathered write; the body is not copied.
    std::array<asio::const_buffer, 2> buffers{asio::buffer(conn_->head), asio::buffer(req_.body)};
    conn_->tcp().expires_at(deadline_);
    conn_->visit([this, buffers](auto& stream) {
      asio::async_write(stream, buffers,
                        beast::bind_front_handler(&exchange::on_write, shared_from_this()));
    });
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
    conn_->tcp().expires_at(deadline_);
    conn_->visit([this](auto& stream) {
      http::async_read_header(
        stream, conn_->buffer, *parser_,
        beast::bind_front_handler(&exchange::on_read_header, shared_from_this()));
    });
  }

  void on_read_header(error_code ec, std::size_t) {
    // The header is read on its own because Beast 1.74 loses the body
    // limit error of a response whose whole message arrives in one read
    // (async_read parses eagerly); async_read_header reports it.
    if (ec == http::error::body_limit && parser_->is_header_done())
      return finish_response(false);
    if (ec) {
      if (reused_ && is_stale_error(ec) && !parser_->got_some() && conn_->buffer.size() == 0)
        return retry();
      return fail(ec, "read");
    }
    // An interim response (100 Continue sent unasked): the real one follows.
    auto status = parser_->get().result_int();
    if (status >= 100 && status < 200 && status != 101)
      return do_read();
    // A small response's body has mostly arrived with its header: parsing
    // it here spares a read whose completion would be posted once more.
    auto& buffer = conn_->buffer;
    parser_->eager(true);
    while (buffer.size() > 0 && !parser_->is_done()) {
      error_code parse_ec;
      const auto used = parser_->put(buffer.data(), parse_ec);
      buffer.consume(used);
      if (parse_ec == http::error::need_more)
        break;
      if (parse_ec)
        return on_read(parse_ec, 0);
      if (used == 0)
        break;
    }
    if (parser_->is_done())
      return on_read({}, 0);
    do_read_body();
  }

  void do_read_body() {
    conn_->visit([this](auto& stream) {
      http::async_read(stream, conn_->buffer, *parser_,
                       beast::bind_front_handler(&exchange::on_read, shared_from_this()));
    });
  }

  void on_read(error_code ec, std::size_t) {
    if (ec == http::error::body_limit)
      return finish_response(false);
    // A body that ends at the close, from a TLS server that closes without
    // close_notify: the close still ends the body (as it does in browsers
    // and curl); the connection is not reused.
    if (ec == ssl::error::stream_truncated && parser_->need_eof()) {
      error_code eof_ec;
      parser_->put_eof(eof_ec);
      if (!eof_ec)
        return finish_response(false);
    }
    if (ec)
      return fail(ec, "read");
    const auto& res = parser_->get();
    // After a 101 the connection speaks another protocol.
    finish_response(res.result_int() >= 200 && res.keep_alive() && !res.need_eof() &&
                    conn_->buffer.size() == 0);
  }

  // Sends the request again on a new connection: the reused one had been
  // closed by the server while it sat idle in the pool.
  void retry() {
    reused_ = false;
    conn_.reset();
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
    if (ec == asio::error::connection_refused) {
      client_response out;
      out.error = "connection refused";
      out.refused = true;
      return finish(std::move(out));
    }
    if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again)
      return finish_error("cannot resolve host " + url_.host);
    finish_error(std::string(what) + ": " + describe(ec));
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

  asio::io_context& ioc_;
  std::optional<connection::strand_type> strand_;
  std::optional<tcp::resolver> resolver_; // made for a host name only
  std::optional<asio::steady_timer> resolve_timer_;
  std::shared_ptr<connection_pool> pool_;
  std::shared_ptr<ssl::context> tls_context_;
  core::url_parts url_;
  client_request req_;
  std::string host_header_;
  std::string origin_;
  std::chrono::milliseconds timeout_;
  clock_type::time_point deadline_;
  std::function<void(client_response)> done_;
  bool method_ok_ = true;
  bool head_ = false;
  std::unique_ptr<connection> conn_;
  std::vector<tcp::endpoint> endpoints_;
  std::optional<http::response_parser<http::string_body>> parser_;
  bool reused_ = false;
  bool resolving_ = false;
};

} // namespace

// The client's state: its io_context and the pool and TLS context its
// exchanges share.
struct http_client::impl {
  impl(asio::io_context& ioc, client_options options)
      : ioc_(ioc), tls_context_(make_tls_context(options.ca_file)),
        pool_(std::make_shared<connection_pool>(std::move(options))) {}

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
  std::shared_ptr<ssl::context> tls_context_;
  std::shared_ptr<connection_pool> pool_;
};

bool is_private_address(std::string_view ip) {
  error_code ec;
  auto address = asio::ip::make_address(std::string(ip), ec);
  return !ec && is_private_ip(address);
}

http_client::http_client(asio::io_context& ioc, client_options options)
    : impl_(std::make_shared<impl>(ioc, std::move(options))) {}

http_client::~http_client() { shutdown(); }

void http_client::send(client_request req, std::function<void(client_response)> done) {
  auto url = core::parse_url(req.url);
  if (!url)
    return impl_->post_error(std::move(done),
                             "bad url: " + core::validate_url(req.url).value_or("invalid"));
  auto x = std::make_shared<exchange>(impl_->ioc_, impl_->pool_, impl_->tls_context_,
                                      std::move(req), std::move(*url), std::move(done));
  x->start();
}

void http_client::shutdown() { impl_->pool_->shutdown(); }

} // namespace sy::transport
