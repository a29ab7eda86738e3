// switchyard-loadgen: an HTTP/1.1 load generator for switchyard's ingest
// endpoints (POST /v1/events, POST /v1/event), closed or open loop.
//
// Each connection is one keep-alive session that sends one request at a time
// (no pipelining). Sessions are spread over --threads io_contexts, one thread
// each; a session and the statistics it records belong to that thread alone,
// so nothing on the request path is shared except the request-count tickets.
// In open loop every session follows its own fixed schedule and latency is
// measured from the scheduled send time, so a stalled server is charged for
// the requests it delayed (no coordinated omission).
//
// --ids-out FILE writes the id of every event a 202 acknowledged, one a line
// ("TAG id" with --tag), for a set check against what a sink received
// (docs/testing.md, "The cluster set check"). A connection error, a
// timeout or any other status acknowledges nothing. The file is written when
// the run ends: at its duration or request count, or on SIGINT or SIGTERM.
//
// --refusals (with --json) adds "refused": when each counted attempt that
// got no 2xx ended, in ms since the start, with its status (0: no
// response) and the word its body names in parentheses (a cluster's 503
// names the partition's outcome so: "below_min_insync", ...), the first
// max_refusals per thread. The fault lab times a cluster's 503 windows
// with it.

#include <CLI/CLI.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
// A stream bound to the io_context's own executor: the default tcp_stream's
// type-erased executor costs a copy and a destroy per operation.
using stream_type = beast::basic_stream<tcp, asio::io_context::executor_type>;
using timer_type =
  asio::basic_waitable_timer<steady, asio::wait_traits<steady>, asio::io_context::executor_type>;

// Exit status for a command line the user must fix.
constexpr int exit_bad_arguments = 2;

constexpr const char* program = "switchyard-loadgen";

// -- command-line values -------------------------------------------------------

/// Returns the duration written as "10s", "500ms", "250us", "2m" or a bare
/// number of seconds, or nothing when the text is not one.
std::optional<steady::duration> parse_duration(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data() || !std::isfinite(value) || value < 0)
    return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  double seconds = 0;
  if (unit.empty() || unit == "s")
    seconds = value;
  else if (unit == "ms")
    seconds = value / 1e3;
  else if (unit == "us")
    seconds = value / 1e6;
  else if (unit == "m")
    seconds = value * 60;
  else
    return std::nullopt;
  if (seconds > 1e7) // beyond any sensible run; also keeps the cast below defined
    return std::nullopt;
  return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
}

/// The parts of an http:// URL that a request needs.
struct url_parts {
  std::string host;        ///< host name or address, without IPv6 brackets
  std::string port;        ///< service, "80" by default
  std::string host_header; ///< the authority as written, for the Host field
  std::string target;      ///< path and query, "/" at least
};

/// Returns the parts of `text`, or a sentence saying what is wrong with it.
std::variant<url_parts, std::string> parse_url(std::string_view text) {
  constexpr std::string_view scheme = "http://";
  if (text.starts_with("https://"))
    return std::string("https is not supported; use an http:// URL");
  if (!text.starts_with(scheme))
    return std::string("must start with http://");
  text.remove_prefix(scheme.size());
  if (auto hash = text.find('#'); hash != std::string_view::npos)
    text = text.substr(0, hash);
  const auto slash = text.find_first_of("/?");
  url_parts u;
  const std::string_view authority = text.substr(0, slash);
  u.host_header = std::string(authority);
  u.target = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
  if (u.target.front() == '?')
    u.target.insert(0, "/");
  std::string_view host = authority, port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      return std::string("has an IPv6 address without its closing ']'");
    host = authority.substr(1, close - 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return std::string("has text after the IPv6 address");
      port = rest.substr(1);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty())
    return std::string("has no host");
  if (authority.find('@') != std::string_view::npos)
    return std::string("must not hold user information; pass --header \"Authorization: ...\"");
  if (port.empty()) {
    port = "80";
  } else {
    unsigned n = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (ec != std::errc{} || end != port.data() + port.size() || n == 0 || n > 65535)
      return std::string("has an invalid port");
  }
  u.host = std::string(host);
  u.port = std::string(port);
  return u;
}

/// Returns "Name: value" split into its name and trimmed value, or nothing
/// when it has no name or holds a line break.
std::optional<std::pair<std::string, std::string>> parse_header(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return std::nullopt;
  if (text.find_first_of("\r\n") != std::string_view::npos)
    return std::nullopt;
  const std::string_view name = text.substr(0, colon);
  if (name.find_first_of(" \t") != std::string_view::npos)
    return std::nullopt;
  std::string_view value = text.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  return std::pair{std::string(name), std::string(value)};
}

// -- request bodies ------------------------------------------------------------

constexpr std::size_t ms_width = 13;  // epoch milliseconds: 13 digits until the year 2286
constexpr std::size_t iso_width = 24; // "2015-02-28T20:16:12.345Z"

/// Returns whether `tag` may go into a JSON string and an ids line as it is.
bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 64)
    return false;
  return std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

/// Appends every string of the "ids" array of a 202's body `{"ids": [...]}`
/// to `out`, one a line, each after `prefix`; returns how many. Event ids
/// are plain ASCII (API.md §1), so a scan serves: no escapes to decode.
std::size_t append_ids(std::string_view body, std::string_view prefix, std::string& out) {
  auto at = body.find("\"ids\"");
  if (at == std::string_view::npos)
    return 0;
  at = body.find('[', at);
  const auto end = body.find(']', at);
  if (at == std::string_view::npos || end == std::string_view::npos)
    return 0;
  std::size_t n = 0;
  for (auto open = body.find('"', at); open < end; open = body.find('"', open)) {
    const auto close = body.find('"', open + 1);
    if (close == std::string_view::npos || close > end)
      break;
    out.append(prefix).append(body.substr(open + 1, close - open - 1)).push_back('\n');
    ++n;
    open = close + 1;
  }
  return n;
}

/// A request body built once, with the places that must carry the send time.
struct body_template {
  std::string body;
  std::vector<std::size_t> ms_slots;  ///< offsets of 13-digit epoch-ms placeholders
  std::vector<std::size_t> iso_slots; ///< offsets of 24-character ISO-8601 placeholders
  std::size_t events_per_request = 1;
};

void append_native_event(body_template& t, std::string_view tag) {
  t.body += R"({"type":"bench.e","country":"NO","timestamp":)";
  t.ms_slots.push_back(t.body.size());
  t.body.append(ms_width, '0');
  t.body += R"(,"data":{)";
  if (!tag.empty())
    t.body.append(R"("tag":")").append(tag).append("\",");
  // About 200 bytes of data, shaped like a purchase event.
  t.body += R"("orderId":"54ac46e8b2e39ca0","deviceID":"09260d8b1de06948c516a",)"
            R"("userID":"bench@example.com","total":125.53,"currency":"EUR","items":[)"
            R"({"sku":"A-1","qty":2,"price":41.51},{"sku":"B-7","qty":1,"price":42.51}]}})";
}

void append_acoustic_event(body_template& t) {
  t.body += R"({"code":"cartPurchase","timestamp":")";
  t.iso_slots.push_back(t.body.size());
  t.body.append(iso_width, '0');
  t.body += R"(","attributes":[{"name":"orderTotal","value":"125.53"}]})";
}

/// Returns the generated body of `shape` ("single", "batch", "acoustic");
/// a native event's data carries `tag` when it is not empty.
body_template make_body(std::string_view shape, std::size_t batch, std::string_view tag) {
  body_template t;
  if (shape == "single") {
    append_native_event(t, tag);
    return t;
  }
  t.events_per_request = batch;
  if (shape == "batch") {
    t.body += '[';
    for (std::size_t i = 0; i < batch; ++i) {
      if (i != 0)
        t.body += ',';
      append_native_event(t, tag);
    }
    t.body += ']';
    return t;
  }
  t.body += R"({"provider":"Acoustic","channel":"mobile","eventbatch":[{"identifiers":)"
            R"([{"name":"email","value":"u@example.com"}],"events":[)";
  for (std::size_t i = 0; i < batch; ++i) {
    if (i != 0)
      t.body += ',';
    append_acoustic_event(t);
  }
  t.body += "]}]}";
  return t;
}

/// Returns the number of top-level elements when `json` is an array, else 1.
/// A scan that tracks strings and nesting only: the file is sent as it is,
/// so a malformed one is for the server to judge.
std::size_t count_events(std::string_view json) {
  auto i = json.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos || json[i] != '[')
    return 1;
  int depth = 0;
  bool in_string = false, escaped = false, any = false;
  std::size_t commas = 0;
  for (; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        any = any || depth == 1;
        break;
      case '[':
      case '{':
        any = any || depth == 1;
        ++depth;
        break;
      case ']':
      case '}':
        if (--depth == 0)
          return any ? commas + 1 : 0;
        break;
      case ',': commas += depth == 1 ? 1 : 0; break;
      case ' ':
      case '\t':
      case '\r':
      case '\n': break;
      default: any = any || depth == 1;
    }
  }
  return any ? commas + 1 : 0;
}

/// Writes the send time into every placeholder of `body`.
void stamp(std::string& body, const body_template& t, std::int64_t now_ms) {
  if (!t.ms_slots.empty()) {
    std::array<char, ms_width> digits;
    auto v = now_ms;
    for (std::size_t i = ms_width; i-- > 0; v /= 10)
      digits[i] = static_cast<char>('0' + v % 10);
    for (auto off : t.ms_slots)
      std::memcpy(body.data() + off, digits.data(), ms_width);
  }
  if (!t.iso_slots.empty()) {
    using namespace std::chrono;
    const sys_time<milliseconds> tp{milliseconds{now_ms}};
    const auto day = floor<days>(tp);
    const year_month_day ymd{day};
    const hh_mm_ss hms{tp - day};
    std::array<char, iso_width> text;
    const auto put = [&text](std::size_t at, std::size_t width, long long v) {
      for (std::size_t i = at + width; i-- > at; v /= 10)
        text[i] = static_cast<char>('0' + v % 10);
    };
    put(0, 4, static_cast<int>(ymd.year()));
    text[4] = '-';
    put(5, 2, static_cast<unsigned>(ymd.month()));
    text[7] = '-';
    put(8, 2, static_cast<unsigned>(ymd.day()));
    text[10] = 'T';
    put(11, 2, hms.hours().count());
    text[13] = ':';
    put(14, 2, hms.minutes().count());
    text[16] = ':';
    put(17, 2, hms.seconds().count());
    text[19] = '.';
    put(20, 3, hms.subseconds().count());
    text[23] = 'Z';
    for (auto off : t.iso_slots)
      std::memcpy(body.data() + off, text.data(), iso_width);
  }
}

std::int64_t system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// -- the run -------------------------------------------------------------------

/// What every session reads and never changes, except the request tickets.
struct run_state {
  http::request<http::string_body> prototype; ///< copied into each session
  const body_template* body = nullptr;
  tcp::resolver::results_type endpoints;
  steady::duration timeout{};
  std::optional<steady::duration> interval; ///< open loop: per-session request interval
  std::optional<std::uint64_t> requests;    ///< stop after this many counted attempts
  steady::time_point start, count_from;     ///< count_from = start + warm-up
  steady::time_point deadline = steady::time_point::max(); ///< duration mode only
  std::atomic<std::uint64_t> tickets{0};                   ///< attempts claimed, --requests mode
  bool record_ids = false;                                 ///< --ids-out given
  bool record_refusals = false;                            ///< --refusals given
  std::string id_prefix;                                   ///< "TAG " with --tag, else empty
};

/// One attempt without a 2xx (--refusals).
struct refusal {
  std::uint32_t ms = 0; ///< since the start, when it ended
  unsigned status = 0;  ///< 0: no response
  std::string why;      ///< the body's first word in parentheses, if any
  bool operator<(const refusal& o) const { return ms < o.ms; }
};

/// Returns the first "(word)" of `body` whose word is made of [a-z_],
/// without the parentheses, or "".
std::string parenthesized_word(std::string_view body) {
  for (auto open = body.find('('); open != std::string_view::npos;
       open = body.find('(', open + 1)) {
    auto close = body.find(')', open);
    if (close == std::string_view::npos)
      break;
    auto word = body.substr(open + 1, close - open - 1);
    if (!word.empty() && word.size() <= 32 && std::all_of(word.begin(), word.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || c == '_';
        }))
      return std::string(word);
  }
  return {};
}

/// What the sessions of one thread recorded; touched by that thread only
/// until it has been joined.
struct thread_stats {
  std::vector<std::uint32_t> latency_us;   ///< one entry per counted response
  std::array<std::uint64_t, 6> by_class{}; ///< responses by status / 100 (0: out of range)
  std::uint64_t errors = 0;                ///< counted attempts without a response
  steady::time_point last_done{};          ///< completion of the last counted attempt
  std::string ids;                         ///< --ids-out: acknowledged ids, one a line
  std::uint64_t acknowledged = 0;          ///< events in them, warm-up included
  /// --refusals: the counted attempts without a 2xx, the first max_refusals.
  std::vector<refusal> refused;
};

constexpr std::size_t max_refusals = 4096;

/// One keep-alive connection sending one request at a time. Owned by the
/// handlers of its pending operation; runs on one io_context's thread.
class session : public std::enable_shared_from_this<session> {
public:
  /// Creates a session whose first request is due at `first_slot`.
  session(asio::io_context& ioc, run_state& run, thread_stats& stats, steady::time_point first_slot)
      : run_(run), stats_(stats), stream_(ioc.get_executor()), timer_(ioc.get_executor()),
        req_(run.prototype), slot_(first_slot) {}

  /// Starts sending; call on the session's thread.
  void start() { do_next(); }

  /// Abandons the request in flight and sends no more; call on the session's thread.
  void stop() {
    stopping_ = true;
    timer_.cancel();
    stream_.close();
  }

private:
  bool open_loop() const { return run_.interval.has_value(); }

  void do_next() {
    if (stopping_)
      return;
    const auto now = steady::now();
    if (run_.requests) {
      ticket_ = now >= run_.count_from;
      if (ticket_ && run_.tickets.fetch_add(1, std::memory_order_relaxed) >= *run_.requests) {
        stop();
        return;
      }
    }
    if (open_loop() && slot_ > now) {
      timer_.expires_at(slot_);
      timer_.async_wait(beast::bind_front_handler(&session::on_timer, shared_from_this()));
      return;
    }
    do_attempt();
  }

  void on_timer(beast::error_code ec) {
    if (ec || stopping_)
      return;
    do_attempt();
  }

  void do_attempt() {
    // Open loop measures from the schedule: a late send is the server's delay too.
    attempt_from_ = open_loop() ? slot_ : steady::now();
    if (connected_)
      do_write();
    else
      do_connect();
  }

  void do_connect() {
    buffer_.clear();
    stream_.expires_after(run_.timeout);
    stream_.async_connect(run_.endpoints,
                          beast::bind_front_handler(&session::on_connect, shared_from_this()));
  }

  void on_connect(beast::error_code ec, const tcp::endpoint&) {
    if (stopping_)
      return;
    if (ec)
      return fail();
    connected_ = true;
    stream_.socket().set_option(tcp::no_delay(true), ec);
    do_write();
  }

  void do_write() {
    stamp(req_.body(), *run_.body, system_now_ms());
    // One deadline for the write and the read: the timeout is per request.
    stream_.expires_after(run_.timeout);
    http::async_write(stream_, req_,
                      beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (stopping_)
      return;
    if (ec)
      return fail();
    do_read();
  }

  void do_read() {
    res_ = {};
    http::async_read(stream_, buffer_, res_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (stopping_)
      return;
    if (ec)
      return fail();
    const auto done = steady::now();
    // Every acknowledged id is owed a delivery, warm-up or not.
    if (run_.record_ids && res_.result_int() == 202)
      stats_.acknowledged += append_ids(res_.body(), run_.id_prefix, stats_.ids);
    if (counts(done)) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(done - attempt_from_);
      stats_.latency_us.push_back(
        static_cast<std::uint32_t>(std::clamp<std::int64_t>(us.count(), 0, UINT32_MAX)));
      const auto cls = res_.result_int() / 100;
      ++stats_.by_class[cls < stats_.by_class.size() ? cls : 0];
      stats_.last_done = std::max(stats_.last_done, done);
      if (cls != 2 && run_.record_refusals)
        refused(done, res_.result_int(), parenthesized_word(res_.body()));
    }
    backoff_ = {};
    if (!res_.keep_alive()) {
      // The server ends the connection after this response (nginx does every
      // keepalive_requests): not an error, reconnect for the next request.
      stream_.close();
      connected_ = false;
    }
    advance();
    do_next();
  }

  // Counts the attempt as an error, drops the connection and carries on: the
  // next attempt reconnects.
  void fail() {
    const auto done = steady::now();
    if (counts(done)) {
      ++stats_.errors;
      stats_.last_done = std::max(stats_.last_done, done);
      if (run_.record_refusals)
        refused(done, 0, {});
    }
    stream_.close();
    connected_ = false;
    advance();
    if (open_loop())
      return do_next(); // the schedule paces the retries
    // Closed loop: back off so that a refused port does not spin the CPU.
    backoff_ = backoff_ == steady::duration{}
                 ? std::chrono::milliseconds(10)
                 : std::min<steady::duration>(2 * backoff_, std::chrono::milliseconds(500));
    timer_.expires_after(backoff_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec)
        self->do_next();
    });
  }

  void refused(steady::time_point done, unsigned status, std::string why) {
    if (stats_.refused.size() == max_refusals)
      return;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(done - run_.start);
    stats_.refused.push_back({static_cast<std::uint32_t>(ms.count()), status, std::move(why)});
  }

  bool counts(steady::time_point done) const {
    if (run_.requests)
      return ticket_;
    return attempt_from_ >= run_.count_from && done <= run_.deadline;
  }

  void advance() {
    if (open_loop())
      slot_ += *run_.interval;
  }

  run_state& run_;
  thread_stats& stats_;
  stream_type stream_;
  timer_type timer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
  bool stopping_ = false;
  bool ticket_ = false;             // the attempt in flight holds a --requests ticket
  steady::time_point slot_;         // open loop: when the next request is due
  steady::time_point attempt_from_; // where the latency of the attempt in flight starts
  steady::duration backoff_{};
};

/// Returns the nearest-rank `p` quantile of sorted `v` in milliseconds.
double quantile_ms(const std::vector<std::uint32_t>& v, double p) {
  if (v.empty())
    return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return v[rank - 1] / 1000.0;
}

/// Returns `v` in its shortest form: "2000", "0.5".
std::string format_number(double v) {
  std::array<char, 32> text;
  const auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc{} ? std::string(text.data(), end) : std::to_string(v);
}

int fail_arguments(const std::string& message) {
  std::cerr << program << ": " << message << "\n";
  return exit_bad_arguments;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App cli{"switchyard-loadgen: an HTTP/1.1 load generator for switchyard's ingest endpoints"};
  std::string url_text, duration_text = "10s", warmup_text = "0s", timeout_text = "10s";
  std::string body_file, shape = "single";
  // Signed, so that CLI11 cannot wrap "-1" into a huge unsigned count.
  long long connections_arg = 64, threads_arg = 2, batch_arg = 100;
  std::optional<double> rate;
  std::optional<long long> requests_arg;
  std::vector<std::string> header_texts;
  std::string ids_out, tag;
  bool json = false, refusals = false;
  cli.add_option("--url", url_text, "http://host:port/path to POST to")->required();
  cli.add_option("--connections", connections_arg, "keep-alive connections (default 64)");
  cli.add_option("--threads", threads_arg, "I/O threads (default 2)");
  auto* duration_opt = cli.add_option("--duration", duration_text,
                                      "run time after warm-up: 10s, 500ms, 2m (default 10s)");
  auto* requests_opt = cli.add_option("--requests", requests_arg,
                                      "stop after this many requests instead");
  duration_opt->excludes(requests_opt);
  cli.add_option("--rate", rate,
                 "open loop: requests/s in total, spread evenly over the connections "
                 "(default: closed loop, as fast as responses come)");
  auto* file_opt = cli.add_option("--body-file", body_file,
                                  "send this file as every request's body");
  auto* shape_opt = cli.add_option("--shape", shape,
                                   "generated body: single, batch or acoustic (default single)");
  file_opt->excludes(shape_opt);
  cli.add_option("--batch", batch_arg,
                 "events per request for --shape batch|acoustic (default 100)");
  cli.add_option("--header", header_texts, "extra request header \"Name: value\" (repeatable)")
    ->allow_extra_args(false);
  cli.add_flag("--json", json, "print one JSON line instead of text");
  cli
    .add_flag("--refusals", refusals,
              "with --json: add \"refused\", [ms since the start, status or 0 for no response, "
              "the body's first word in parentheses] of every attempt without a 2xx (the first "
              "4096 per thread)")
    ->needs("--json");
  cli.add_option("--warmup", warmup_text,
                 "initial period whose requests are not counted (default 0s)");
  cli.add_option("--timeout", timeout_text,
                 "per connect, write and read (default 10s); a timeout is an error");
  cli.add_option("--ids-out", ids_out,
                 "write the id of every event a 202 acknowledged to this file, one a line, "
                 "when the run ends (also on SIGINT/SIGTERM); errors and other statuses "
                 "acknowledge nothing");
  auto* tag_opt = cli.add_option(
    "--tag", tag,
    "put \"tag\":\"TAG\" in every generated event's data and write \"TAG id\" lines to "
    "--ids-out (event ids are per node in the cluster preview: tag each node's run)");
  tag_opt->excludes(file_opt);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : exit_bad_arguments;
  }

  const auto url = parse_url(url_text);
  if (const auto* why = std::get_if<std::string>(&url))
    return fail_arguments("--url " + url_text + ": " + *why);
  const auto& target = std::get<url_parts>(url);
  const auto duration = parse_duration(duration_text);
  if (!duration || *duration <= steady::duration{})
    return fail_arguments("--duration: expected a positive duration such as 10s or 500ms, got '" +
                          duration_text + "'");
  const auto warmup = parse_duration(warmup_text);
  if (!warmup)
    return fail_arguments("--warmup: expected a duration such as 1s or 500ms, got '" + warmup_text +
                          "'");
  const auto timeout = parse_duration(timeout_text);
  if (!timeout || *timeout <= steady::duration{})
    return fail_arguments("--timeout: expected a positive duration such as 10s, got '" +
                          timeout_text + "'");
  if (connections_arg < 1 || connections_arg > 100'000)
    return fail_arguments("--connections must be between 1 and 100000");
  if (threads_arg < 1 || threads_arg > 256)
    return fail_arguments("--threads must be between 1 and 256");
  if (requests_arg && *requests_arg < 1)
    return fail_arguments("--requests must be at least 1");
  if (batch_arg < 1 || batch_arg > 1'000'000)
    return fail_arguments("--batch must be between 1 and 1000000");
  const auto connections = static_cast<std::size_t>(connections_arg);
  const auto threads = std::min(static_cast<std::size_t>(threads_arg), connections);
  const auto batch = static_cast<std::size_t>(batch_arg);
  std::optional<std::uint64_t> requests;
  if (requests_arg)
    requests = static_cast<std::uint64_t>(*requests_arg);
  if (rate && !(*rate > 0 && std::isfinite(*rate)))
    return fail_arguments("--rate must be a positive number of requests per second");
  if (shape != "single" && shape != "batch" && shape != "acoustic")
    return fail_arguments("--shape must be single, batch or acoustic, got '" + shape + "'");
  if (!tag.empty() && !valid_tag(tag))
    return fail_arguments("--tag must be 1 to 64 letters, digits, '-', '_' or '.', got '" + tag +
                          "'");
  if (!tag.empty() && shape == "acoustic")
    return fail_arguments("--tag needs --shape single or batch (an Acoustic event has no data)");
  // Opened before the run, so that a path that cannot be written is
  // refused at once rather than after it.
  std::FILE* ids_file = nullptr;
  if (!ids_out.empty()) {
    ids_file = std::fopen(ids_out.c_str(), "w");
    if (ids_file == nullptr)
      return fail_arguments("--ids-out " + ids_out +
                            ": cannot be written: " + std::strerror(errno));
  }

  body_template body;
  std::string body_desc;
  if (!body_file.empty()) {
    std::ifstream in(body_file, std::ios::binary);
    if (!in)
      return fail_arguments("--body-file " + body_file + ": cannot be read");
    std::ostringstream content;
    content << in.rdbuf();
    body.body = std::move(content).str();
    body.events_per_request = count_events(body.body);
    body_desc = body_file;
  } else {
    body = make_body(shape, batch, tag);
    body_desc = shape;
  }

  run_state run;
  auto& req = run.prototype;
  req.method(http::verb::post);
  req.target(target.target);
  req.version(11);
  req.set(http::field::host, target.host_header);
  req.set(http::field::user_agent, program);
  req.set(http::field::content_type, "application/json");
  for (const auto& text : header_texts) {
    const auto header = parse_header(text);
    if (!header)
      return fail_arguments("--header '" + text + "': expected \"Name: value\"");
    req.set(header->first, header->second);
  }
  req.body() = body.body;
  req.keep_alive(true);
  req.prepare_payload();

  {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    run.endpoints = resolver.resolve(target.host, target.port, ec);
    if (ec)
      return fail_arguments("--url " + url_text + ": cannot resolve " + target.host + ": " +
                            ec.message());
  }
  run.body = &body;
  run.timeout = *timeout;
  run.record_ids = ids_file != nullptr;
  run.record_refusals = refusals;
  if (!tag.empty())
    run.id_prefix = tag + " ";
  run.requests = requests;
  if (rate)
    run.interval = std::chrono::duration_cast<steady::duration>(
      std::chrono::duration<double>(static_cast<double>(connections) / *rate));

  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<thread_stats> stats(threads);
  std::vector<std::vector<std::shared_ptr<session>>> sessions(threads);
  std::vector<std::unique_ptr<asio::steady_timer>> deadline_timers;
  for (std::size_t t = 0; t < threads; ++t)
    contexts.push_back(std::make_unique<asio::io_context>(1));

  run.start = steady::now();
  run.count_from = run.start + *warmup;
  if (!requests)
    run.deadline = run.count_from + *duration;
  // Reserve for the expected count (capped at 16 MiB of latencies per
  // thread) so that recording does not reallocate during the run.
  constexpr double reserve_cap = 1 << 22;
  const double expected = requests ? static_cast<double>(*requests)
                          : rate   ? *rate * std::chrono::duration<double>(*duration).count()
                                   : double{1 << 16};
  for (auto& s : stats)
    s.latency_us.reserve(static_cast<std::size_t>(
      std::min(expected / static_cast<double>(threads) + 1024, reserve_cap)));

  for (std::size_t i = 0; i < connections; ++i) {
    const std::size_t t = i % threads;
    // Stagger the schedules so that the connections' requests interleave
    // evenly: connection i is due i/rate seconds after the start.
    auto first_slot = run.start;
    if (rate)
      first_slot += std::chrono::duration_cast<steady::duration>(
        std::chrono::duration<double>(static_cast<double>(i) / *rate));
    auto s = std::make_shared<session>(*contexts[t], run, stats[t], first_slot);
    sessions[t].push_back(s);
    asio::post(*contexts[t], [s] { s->start(); });
  }
  if (!requests) {
    for (std::size_t t = 0; t < threads; ++t) {
      auto timer = std::make_unique<asio::steady_timer>(*contexts[t], run.deadline);
      timer->async_wait([&list = sessions[t]](beast::error_code ec) {
        if (ec)
          return;
        for (auto& s : list)
          s->stop();
      });
      deadline_timers.push_back(std::move(timer));
    }
  }
  // SIGINT and SIGTERM end the run early, as its deadline would: every
  // session stops on its own thread, the figures cover what was done and
  // --ids-out is still written. The workers inherit the blocked mask, so
  // only the watcher takes the signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::atomic<bool> finished{false};
  std::optional<steady::time_point> interrupted_at;
  std::thread watcher([&] {
    const timespec poll{0, 100'000'000};
    while (!finished.load()) {
      if (sigtimedwait(&stop_signals, nullptr, &poll) <= 0)
        continue;
      interrupted_at = steady::now();
      for (std::size_t t = 0; t < threads; ++t)
        asio::post(*contexts[t], [&list = sessions[t], &timers = deadline_timers, t] {
          for (auto& s : list)
            s->stop();
          if (t < timers.size())
            timers[t]->cancel();
        });
      return;
    }
  });
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t)
    workers.emplace_back([&ioc = *contexts[t]] { ioc.run(); });
  for (auto& w : workers)
    w.join();
  finished = true;
  watcher.join();
  sessions.clear();
  deadline_timers.clear();
  contexts.clear();

  // Merge.
  std::vector<std::uint32_t> latencies;
  std::array<std::uint64_t, 6> by_class{};
  std::uint64_t errors = 0;
  steady::time_point last_done = run.count_from;
  std::size_t total = 0;
  for (const auto& s : stats)
    total += s.latency_us.size();
  latencies.reserve(total);
  for (auto& s : stats) {
    latencies.insert(latencies.end(), s.latency_us.begin(), s.latency_us.end());
    for (std::size_t c = 0; c < by_class.size(); ++c)
      by_class[c] += s.by_class[c];
    errors += s.errors;
    last_done = std::max(last_done, s.last_done);
  }
  std::sort(latencies.begin(), latencies.end());
  auto end = requests ? last_done : run.deadline;
  if (interrupted_at)
    end = std::min(end, std::max(*interrupted_at, run.count_from));
  const double seconds = std::chrono::duration<double>(end - run.count_from).count();
  const std::uint64_t responses = latencies.size();
  const std::uint64_t non2xx = responses - by_class[2];
  const std::uint64_t events = by_class[2] * body.events_per_request;
  const double per_s = seconds > 0 ? 1 / seconds : 0;
  std::uint64_t acknowledged = 0;
  if (ids_file != nullptr) {
    for (const auto& s : stats) {
      acknowledged += s.acknowledged;
      std::fwrite(s.ids.data(), 1, s.ids.size(), ids_file);
    }
    // fclose flushes: a full disk shows here, not as a short file.
    const bool failed = std::ferror(ids_file) != 0;
    if (std::fclose(ids_file) != 0 || failed) {
      std::cerr << program << ": --ids-out " << ids_out
                << ": writing failed: " << std::strerror(errno) << "\n";
      return 1;
    }
  }
  const double p50 = quantile_ms(latencies, 0.50), p90 = quantile_ms(latencies, 0.90),
               p99 = quantile_ms(latencies, 0.99),
               max = latencies.empty() ? 0 : latencies.back() / 1000.0;

  if (json) {
    std::printf("{\"requests\":%llu,\"events\":%llu,\"seconds\":%.3f,\"requests_per_s\":%.1f,"
                "\"events_per_s\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
                "\"max_ms\":%.3f,\"non2xx\":%llu,\"errors\":%llu",
                static_cast<unsigned long long>(responses), static_cast<unsigned long long>(events),
                seconds, static_cast<double>(responses) * per_s,
                static_cast<double>(events) * per_s, p50, p90, p99, max,
                static_cast<unsigned long long>(non2xx), static_cast<unsigned long long>(errors));
    if (ids_file != nullptr)
      std::printf(",\"acknowledged\":%llu", static_cast<unsigned long long>(acknowledged));
    if (refusals) {
      std::vector<refusal> refused;
      for (const auto& s : stats)
        refused.insert(refused.end(), s.refused.begin(), s.refused.end());
      std::stable_sort(refused.begin(), refused.end());
      std::printf(",\"refused\":[");
      for (std::size_t i = 0; i < refused.size(); ++i)
        std::printf("%s[%u,%u,\"%s\"]", i == 0 ? "" : ",", refused[i].ms, refused[i].status,
                    refused[i].why.c_str());
      std::printf("]");
    }
    std::printf("%s}\n", interrupted_at ? ",\"interrupted\":true" : "");
    return 0;
  }
  const std::string mode = rate ? "open loop at " + format_number(*rate) + " req/s"
                                : std::string("closed loop");
  std::printf(
    "%s: POST %s, %zu connections, %zu threads, %s, body %s (%zu bytes, %zu events/request)\n",
    program, url_text.c_str(), connections, threads, mode.c_str(), body_desc.c_str(),
    body.body.size(), body.events_per_request);
  std::printf("requests/s   %.1f\n", static_cast<double>(responses) * per_s);
  std::printf("events/s     %.1f   (events in 2xx responses)\n",
              static_cast<double>(events) * per_s);
  std::printf("latency ms   p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", p50, p90, p99, max);
  std::printf("requests     %llu\n", static_cast<unsigned long long>(responses));
  std::printf("non-2xx      %llu", static_cast<unsigned long long>(non2xx));
  if (non2xx != 0) {
    const char* sep = "  (";
    for (std::size_t c = 0; c < by_class.size(); ++c) {
      if (c == 2 || by_class[c] == 0)
        continue;
      if (c == 0)
        std::printf("%sother %llu", sep, static_cast<unsigned long long>(by_class[c]));
      else
        std::printf("%s%zuxx %llu", sep, c, static_cast<unsigned long long>(by_class[c]));
      sep = ", ";
    }
    std::printf(")");
  }
  std::printf("\nerrors       %llu\n", static_cast<unsigned long long>(errors));
  std::printf("duration s   %.3f%s\n", seconds, interrupted_at ? "   (interrupted)" : "");
  if (ids_file != nullptr)
    std::printf("acknowledged %llu event ids in %s (every 202, warm-up included)\n",
                static_cast<unsigned long long>(acknowledged), ids_out.c_str());
  return 0;
}
