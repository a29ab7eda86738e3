// The watch stream: one plain Beast connection per stream, the chunked body
// read into a fixed buffer (buffer_body) and cut at newlines. Every step runs
// on the watch's strand. A stream's socket, buffers and parser live in one
// `stream_state` that its pending operations hold, so closing a stream never
// frees what a cancelled read is still finishing with; a completion of an
// abandoned stream then does nothing.

#include "cluster/etcd_watch.hpp"

#include <atomic>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/json_writer.hpp"
#include "core/signing.hpp"
#include "core/url.hpp"

namespace sy::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = beast::error_code;

namespace {

// Connecting, sending the request and reading the answer's header.
constexpr auto open_timeout = std::chrono::seconds(5);
// One watch message. A write is at most 1.5 MiB (etcd's request limit), but
// a stream reopened behind a burst gets up to 1 000 revisions' events in one
// message (etcd's watch batch): subscription records of up to ~22 KB each.
constexpr std::size_t max_line_bytes = 64 << 20;
// The least time between two reports of the same failure.
constexpr auto trouble_quiet = std::chrono::seconds(10);

} // namespace

std::string trimmed_endpoint(std::string endpoint) {
  while (!endpoint.empty() && endpoint.back() == '/')
    endpoint.pop_back();
  return endpoint;
}

namespace {

// One open stream; shared by the operations pending on it.
struct stream_state {
  template <class Executor>
  explicit stream_state(Executor ex) : stream(ex) {}

  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::buffer_body>> parser;
  http::request<http::string_body> request;
  char chunk[16 << 10];
};

} // namespace

struct etcd_watch::impl : std::enable_shared_from_this<etcd_watch::impl> {
  impl(asio::io_context& ioc, etcd_client& client, std::string endpoint, std::string prefix,
       etcd_watch_handlers handlers, std::chrono::milliseconds retry)
      : strand_(asio::make_strand(ioc)), timer_(strand_), client_(&client),
        endpoint_(trimmed_endpoint(std::move(endpoint))), prefix_(std::move(prefix)),
        handlers_(std::move(handlers)), retry_(retry) {}

  // Reads the prefix; its revision + 1 is where the stream starts.
  void do_snapshot() {
    if (stopped_)
      return;
    client_->range(prefix_, true, [self = shared_from_this()](auto r) {
      asio::post(self->strand_, [self, r = std::move(r)] { self->on_snapshot(r); });
    });
  }

  void on_snapshot(const core::expected<etcd_range, etcd_error>& r) {
    if (stopped_)
      return;
    if (!r) {
      trouble("snapshot of " + prefix_ + ": " + r.error().message);
      return retry_later([](impl& w) { w.do_snapshot(); });
    }
    ++snapshots_;
    next_revision_ = r->revision + 1;
    if (handlers_.snapshot)
      handlers_.snapshot(*r);
    do_open();
  }

  void do_open() {
    if (stopped_)
      return;
    auto url = core::parse_url(endpoint_ + "/v3/watch");
    if (!url || url->scheme != "http") {
      trouble("cannot watch " + endpoint_ + ": only http:// etcd endpoints are supported");
      return retry_later([](impl& w) { w.do_open(); });
    }
    ++streams_;
    auto c = std::make_shared<stream_state>(strand_);
    stream_ = c;
    pending_.clear();
    core::json_writer w;
    w.begin_object().key("create_request").begin_object();
    w.key("key").value(core::base64_encode(prefix_));
    w.key("range_end").value(core::base64_encode(prefix_end(prefix_)));
    w.key("start_revision").value(std::to_string(next_revision_));
    w.end_object().end_object();
    auto& request = c->request;
    request.version(11);
    request.method(http::verb::post);
    request.target(url->target);
    request.set(http::field::host, url->host_header());
    request.set(http::field::content_type, "application/json");
    request.body() = std::move(w).str();
    request.prepare_payload();
    error_code ec;
    auto address = asio::ip::make_address(url->host, ec);
    if (ec) {
      stream_.reset();
      trouble("cannot watch " + endpoint_ + ": the host must be an IP address");
      return retry_later([](impl& w) { w.do_open(); });
    }
    c->stream.expires_after(open_timeout);
    c->stream.async_connect(tcp::endpoint(address, url->port),
                            [self = shared_from_this(), c](error_code ec) {
                              if (self->current(c))
                                self->on_connect(ec);
                            });
  }

  void on_connect(error_code ec) {
    if (ec == asio::error::connection_refused && handlers_.refused && !stopped_)
      handlers_.refused(endpoint_);
    if (ec)
      return broken("connect", ec);
    auto c = stream_;
    http::async_write(c->stream, c->request,
                      [self = shared_from_this(), c](error_code ec, std::size_t) {
                        if (self->current(c))
                          self->on_write(ec);
                      });
  }

  void on_write(error_code ec) {
    if (ec)
      return broken("write", ec);
    auto c = stream_;
    c->parser.emplace();
    c->parser->body_limit(boost::none); // the stream never ends on its own
    http::async_read_header(c->stream, c->buffer, *c->parser,
                            [self = shared_from_this(), c](error_code ec, std::size_t) {
                              if (self->current(c))
                                self->on_header(ec);
                            });
  }

  void on_header(error_code ec) {
    if (ec)
      return broken("read", ec);
    auto& response = stream_->parser->get();
    if (response.result_int() != 200) {
      trouble("watch of " + prefix_ + ": HTTP " + std::to_string(response.result_int()));
      return reconnect();
    }
    // Open: nothing bounds how long etcd stays quiet.
    stream_->stream.expires_never();
    last_trouble_.clear();
    do_read();
  }

  void do_read() {
    auto c = stream_;
    c->parser->get().body().data = c->chunk;
    c->parser->get().body().size = sizeof c->chunk;
    http::async_read_some(c->stream, c->buffer, *c->parser,
                          [self = shared_from_this(), c](error_code ec, std::size_t) {
                            if (self->current(c))
                              self->on_read(ec);
                          });
  }

  void on_read(error_code ec) {
    // Holds the stream while its lines are handled: a line may close it.
    auto c = stream_;
    if (ec == http::error::need_buffer)
      ec = {};
    pending_.append(c->chunk, sizeof c->chunk - c->parser->get().body().size);
    if (ec)
      return broken("read", ec);
    std::size_t start = 0;
    for (auto nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n', start)) {
      auto line = pending_.substr(start, nl - start);
      start = nl + 1;
      if (line.find_first_not_of(" \r\t") == std::string::npos)
        continue;
      if (!on_line(line))
        return;
    }
    pending_.erase(0, start);
    if (pending_.size() > max_line_bytes) {
      trouble("watch message over " + std::to_string(max_line_bytes) + " bytes");
      return reconnect();
    }
    if (c->parser->is_done())
      return broken("read", http::error::end_of_stream);
    do_read();
  }

  // Returns whether the stream goes on.
  bool on_line(const std::string& line) {
    auto msg = parse_watch_line(line);
    if (!msg.error.empty()) {
      trouble("watch of " + prefix_ + ": " + msg.error);
      reconnect();
      return false;
    }
    if (msg.compact_revision > 0) {
      // The changes since next_revision_ are gone: start again from a snapshot.
      trouble("watch of " + prefix_ + ": revision " + std::to_string(next_revision_) +
              " compacted (now " + std::to_string(msg.compact_revision) + "); reading anew");
      close();
      do_snapshot();
      return false;
    }
    if (msg.canceled) {
      trouble("watch of " + prefix_ + " canceled by etcd");
      reconnect();
      return false;
    }
    if (!msg.events.empty()) {
      for (const auto& e : msg.events)
        next_revision_ = std::max(next_revision_, e.kv.mod_revision + 1);
      if (handlers_.events && !stopped_)
        handlers_.events(msg.events);
    }
    return !stopped_;
  }

  void broken(const char* what, error_code ec) {
    if (stopped_)
      return;
    trouble(std::string("watch of ") + prefix_ + ": " + what + ": " + ec.message());
    reconnect();
  }

  // Reopens the stream from the revision after the last one seen.
  void reconnect() {
    close();
    retry_later([](impl& w) { w.do_open(); });
  }

  // Cancels the stream's operations; they finish with it and free it.
  void close() {
    if (stream_) {
      error_code ignored;
      stream_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_->stream.close();
    }
    stream_.reset();
  }

  template <class Step>
  void retry_later(Step step) {
    if (stopped_)
      return;
    timer_.expires_after(retry_);
    timer_.async_wait([self = shared_from_this(), step](error_code ec) {
      if (!ec && !self->stopped_)
        step(*self);
    });
  }

  bool current(const std::shared_ptr<stream_state>& c) const { return !stopped_ && c == stream_; }

  // Tells the owner of a failure; the same failure again only after
  // trouble_quiet, with how many times it came meanwhile (while etcd is down
  // the watch retries every retry_: four lines a second each, before). A
  // stream that opens forgets it.
  void trouble(const std::string& why) {
    if (!handlers_.trouble || stopped_)
      return;
    const auto now = std::chrono::steady_clock::now();
    if (why == last_trouble_ && now - last_trouble_at_ < trouble_quiet) {
      ++trouble_repeats_;
      return;
    }
    auto line = why;
    if (why == last_trouble_ && trouble_repeats_ > 0)
      line += " (" + std::to_string(trouble_repeats_) + " more times since the last such line)";
    last_trouble_ = why;
    last_trouble_at_ = now;
    trouble_repeats_ = 0;
    handlers_.trouble(line);
  }

  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timer_;
  etcd_client* client_;
  std::string endpoint_;
  const std::string prefix_;
  etcd_watch_handlers handlers_;
  const std::chrono::milliseconds retry_;
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> streams_{0};
  std::atomic<uint64_t> snapshots_{0};
  int64_t next_revision_ = 0;
  std::shared_ptr<stream_state> stream_;
  std::string pending_;
  // The last failure told (trouble()), when, and how often since.
  std::string last_trouble_;
  std::chrono::steady_clock::time_point last_trouble_at_{};
  uint64_t trouble_repeats_ = 0;
};

etcd_watch::etcd_watch(asio::io_context& ioc, etcd_client& client, std::string endpoint,
                       std::string prefix, etcd_watch_handlers handlers,
                       std::chrono::milliseconds retry)
    : impl_(std::make_shared<impl>(ioc, client, std::move(endpoint), std::move(prefix),
                                   std::move(handlers), retry)) {}

etcd_watch::~etcd_watch() { stop(); }

void etcd_watch::start() {
  asio::post(impl_->strand_, [self = impl_] { self->do_snapshot(); });
}

void etcd_watch::stop() {
  if (impl_->stopped_.exchange(true))
    return;
  asio::post(impl_->strand_, [self = impl_] {
    self->timer_.cancel();
    self->close();
  });
}

void etcd_watch::move_to(std::string endpoint, etcd_client& client) {
  asio::post(impl_->strand_,
             [self = impl_, endpoint = trimmed_endpoint(std::move(endpoint)), &client] {
               if (self->stopped_ || endpoint == self->endpoint_)
                 return;
               self->endpoint_ = endpoint;
               self->client_ = &client;
               if (!self->stream_)
                 return; // a snapshot read or a retry is under way: it goes to the new member
               self->close();
               self->do_open();
             });
}

uint64_t etcd_watch::streams_opened() const { return impl_->streams_; }

uint64_t etcd_watch::snapshots_read() const { return impl_->snapshots_; }

} // namespace sy::cluster
