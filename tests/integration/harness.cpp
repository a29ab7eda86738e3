#include "harness.hpp"

#include "../common/child_process.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#ifndef SWITCHYARD_BIN
#error "SWITCHYARD_BIN must name the switchyard binary"
#endif

namespace sy::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Lines that only a sanitizer runtime writes (a SWITCHYARD_SANITIZE build).
constexpr const char* sanitizer_marks[] = {
  "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
  "runtime error: ", "SUMMARY: UndefinedBehaviorSanitizer"};

std::string find_in(const headers_t& h, const std::string& name) {
  auto want = lower(name);
  for (const auto& [k, v] : h)
    if (lower(k) == want)
      return v;
  return {};
}

} // namespace

std::string http_result::header(const std::string& name) const { return find_in(headers, name); }
std::string sink_request::header(const std::string& name) const { return find_in(headers, name); }

namespace {

// Writes `req` on `stream` and reads the answer into `out`.
template <class Stream>
void exchange(Stream& stream, const std::string& authority, const std::string& method,
              const std::string& target, const std::string& body, const headers_t& headers,
              http_result& out) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, authority);
  bool has_ct = false;
  for (const auto& [k, v] : headers) {
    req.set(k, v);
    has_ct |= lower(k) == "content-type";
  }
  if (!body.empty() && !has_ct)
    req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(stream, buffer, parser);
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  for (const auto& f : res)
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
}

} // namespace

http_result http_call(uint16_t port, const std::string& method, const std::string& target,
                      const std::string& body, const headers_t& headers,
                      std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  http_result out;
  try {
    stream.expires_after(timeout);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    exchange(stream, "127.0.0.1:" + std::to_string(port), method, target, body, headers, out);
  } catch (const std::exception& e) {
    out.status = 0;
    out.body = e.what();
  }
  return out;
}

http_result https_call(uint16_t port, const std::string& ca_file, const std::string& host,
                       const std::string& method, const std::string& target,
                       const std::string& body, const headers_t& headers,
                       std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  http_result out;
  try {
    ctx.load_verify_file(ca_file);
    ctx.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    // The name (or address) the certificate must carry, checked by OpenSSL
    // during the handshake; SNI for a DNS name.
    X509_VERIFY_PARAM* param = SSL_get0_param(stream.native_handle());
    boost::system::error_code parse_ec;
    asio::ip::make_address(host, parse_ec);
    if (parse_ec) {
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
      SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    }
    beast::get_lowest_layer(stream).expires_after(timeout);
    beast::get_lowest_layer(stream).connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    stream.handshake(ssl::stream_base::client);
    exchange(stream, host + ":" + std::to_string(port), method, target, body, headers, out);
    boost::system::error_code ignored;
    stream.shutdown(ignored);
  } catch (const std::exception& e) {
    out.status = 0;
    out.body = e.what();
  }
  return out;
}

std::string raw_call(uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  std::string out;
  try {
    stream.expires_after(timeout);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    stream.write_some(asio::buffer(bytes));
    char buf[4096];
    for (;;) {
      boost::system::error_code ec;
      auto n = stream.read_some(asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec)
        break;
    }
  } catch (const std::exception&) {
  }
  return out;
}

temp_dir::temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "switchyard-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data()))
    throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

server_process::server_process(std::string data_dir, std::string extra_toml,
                               std::string server_toml)
    : data_dir_(std::move(data_dir)) {
  config_path_ = data_dir_ + "/test.toml";
  log_path_ = data_dir_ + "/switchyard.log";
  std::ofstream f(config_path_);
  f << "[server]\nlisten = \"127.0.0.1:0\"\nio_threads = 2\nactor_threads = 2\n"
    << server_toml << "\n"
    << "[storage]\ndata_dir = \"" << data_dir_ << "/data\"\n"
    << extra_toml << "\n";
}

server_process::~server_process() {
  // A server the test left running is stopped as an operator stops it, so
  // that a shutdown that crashes, hangs, or (in a sanitizer build) leaks or
  // reports an error fails the test that ran it.
  if (pid_ <= 0)
    return;
  int status = terminate();
  if (status != 0)
    ADD_FAILURE() << "switchyard exited " << status << " on SIGTERM (-1000: still running 20 s "
                  << "later), want 0; its log:\n"
                  << log();
}

void server_process::expect_no_sanitizer_report() const {
  auto text = log();
  for (const char* mark : sanitizer_marks)
    if (text.find(mark) != std::string::npos) {
      ADD_FAILURE() << "a sanitizer reported an error in switchyard; its log:\n" << text;
      return;
    }
}

std::string server_process::log() const {
  std::ifstream f(log_path_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void server_process::launch() {
  // The log is appended to: this run's part begins where it ends now.
  { std::ofstream create(log_path_, std::ios::app); }
  log_start_ = log().size();
  pid_ = fork();
  if (pid_ == 0) {
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_APPEND);
    dup2(fd, 1);
    dup2(fd, 2);
    sy::test::close_inherited_descriptors();
    execl(SWITCHYARD_BIN, SWITCHYARD_BIN, "serve", "--config", config_path_.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
}

void server_process::start() {
  launch();
  const auto before = log_start_;
  const std::regex listening(R"(listening on 127\.0\.0\.1:(\d+))");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  port_ = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = log().substr(before);
    std::smatch m;
    if (std::regex_search(text, m, listening)) {
      port_ = static_cast<uint16_t>(std::stoi(m[1]));
      break;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      start_up_exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      expect_no_sanitizer_report();
      throw std::runtime_error("switchyard exited at start-up:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (port_ == 0)
    throw std::runtime_error("switchyard did not log its port:\n" + log());
  while (std::chrono::steady_clock::now() < deadline) {
    if (call("GET", "/readyz").status == 200)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("switchyard never became ready:\n" + log());
}

uint16_t server_process::metrics_port() const {
  const std::regex line(
    R"(serving /metrics, /healthz and /readyz without auth on 127\.0\.0\.1:(\d+))");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = log().substr(log_start_);
    std::smatch m;
    if (std::regex_search(text, m, line))
      return static_cast<uint16_t>(std::stoi(m[1]));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}

void server_process::send_signal(int sig) const {
  if (pid_ > 0)
    ::kill(pid_, sig);
}

int server_process::terminate() {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  // A shutdown that hangs is a failure to report, not a test to hang.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      expect_no_sanitizer_report();
      return -1000;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  expect_no_sanitizer_report();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

std::string server_process::wait_for_text(const std::string& target, const std::string& text,
                                          std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string body;
  while (true) {
    body = call("GET", target).body;
    if (body.find(text) != std::string::npos || std::chrono::steady_clock::now() >= deadline)
      return body;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void server_process::kill9() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  // Anything but SIGKILL means the server had already died on its own.
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
    ADD_FAILURE() << "switchyard had exited (status " << status << ") before SIGKILL; its log:\n"
                  << log();
  expect_no_sanitizer_report();
}

// -- sink ---------------------------------------------------------------------

sink::sink(std::string cert_pem_file, std::string key_pem_file) {
  if (!cert_pem_file.empty() && !key_pem_file.empty()) {
    tls_ = std::make_unique<ssl::context>(ssl::context::tls_server);
    tls_->use_certificate_chain_file(cert_pem_file);
    tls_->use_private_key_file(key_pem_file, ssl::context::pem);
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 512) != 0)
    throw std::runtime_error("sink: cannot listen");
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

sink::~sink() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  {
    std::lock_guard<std::mutex> guard(mutex_);
    for (int fd : fds_)
      ::shutdown(fd, SHUT_RDWR);
    changed_.notify_all();
  }
  acceptor_.join();
  for (auto& t : workers_)
    t.join();
}

std::string sink::url(const std::string& path) const {
  if (tls_)
    return "https://localhost:" + std::to_string(port_) + path;
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::size_t sink::connections() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return fds_.size();
}

std::size_t sink::failed_handshakes() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return failed_handshakes_;
}

void sink::fail_next(const std::string& path, int n, int status, int retry_after_s) {
  std::lock_guard<std::mutex> guard(mutex_);
  auto& s = scripts_[path];
  s.fail_n = n;
  s.fail_status = status;
  s.retry_after_s = retry_after_s;
}

void sink::fail_all(const std::string& path, int status) {
  std::lock_guard<std::mutex> guard(mutex_);
  scripts_[path].fail_all_status = status;
}

void sink::fail_randomly(const std::string& path, double fraction, uint64_t seed, int status) {
  std::lock_guard<std::mutex> guard(mutex_);
  auto& s = scripts_[path];
  s.fail_fraction = fraction;
  s.fail_random_status = status;
  s.coin.seed(seed);
}

void sink::hang(const std::string& path, bool on) {
  std::lock_guard<std::mutex> guard(mutex_);
  scripts_[path].hang = on;
  changed_.notify_all();
}

void sink::set_key(const std::string& path, const std::string& private_key) {
  std::lock_guard<std::mutex> guard(mutex_);
  scripts_[path].key = private_key;
}

void sink::serve_tokens(const std::string& path, const std::string& prefix, int expires_in_s) {
  std::lock_guard<std::mutex> guard(mutex_);
  auto& s = scripts_[path];
  s.token_prefix = prefix;
  s.token_expires_in_s = expires_in_s;
}

void sink::require_bearer(const std::string& path, const std::string& token) {
  std::lock_guard<std::mutex> guard(mutex_);
  scripts_[path].bearer = token;
}

std::vector<sink_request> sink::delivered(const std::string& path) const {
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = scripts_.find(path);
  return it == scripts_.end() ? std::vector<sink_request>{} : it->second.delivered;
}

std::vector<sink_request> sink::received(const std::string& path) const {
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = scripts_.find(path);
  return it == scripts_.end() ? std::vector<sink_request>{} : it->second.received;
}

bool sink::wait_delivered(const std::string& path, std::size_t n,
                          std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    auto it = scripts_.find(path);
    return it != scripts_.end() && it->second.delivered.size() >= n;
  });
}

void sink::accept_loop() {
  while (!stopping_) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) {
      if (stopping_)
        return;
      continue;
    }
    std::lock_guard<std::mutex> guard(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    fds_.push_back(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void sink::serve(int fd) {
  asio::io_context ioc;
  boost::system::error_code ec;
  if (!tls_) {
    tcp::socket socket(ioc);
    socket.assign(tcp::v4(), fd);
    serve_http(socket);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    return;
  }
  ssl::stream<tcp::socket> stream(ioc, *tls_);
  stream.next_layer().assign(tcp::v4(), fd);
  stream.handshake(ssl::stream_base::server, ec);
  if (ec) {
    std::lock_guard<std::mutex> guard(mutex_);
    ++failed_handshakes_;
  } else {
    serve_http(stream);
  }
  // No close_notify: the client must cope with a plain close, as it does
  // with many servers.
  stream.next_layer().shutdown(tcp::socket::shutdown_both, ec);
}

template <class Stream>
void sink::serve_http(Stream& socket) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    boost::system::error_code ec;
    http::read(socket, buffer, req, ec);
    if (ec)
      break;
    sink_request rec;
    rec.at = std::chrono::steady_clock::now();
    rec.status = 200; // as recorded in delivered(); received() gets the real answer
    rec.method = std::string(req.method_string());
    rec.target = std::string(req.target());
    for (const auto& f : req)
      rec.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    rec.body = req.body();
    auto q = rec.target.find('?');
    std::string path = rec.target.substr(0, q);
    std::string query = q == std::string::npos ? "" : rec.target.substr(q + 1);

    http::response<http::string_body> res{http::status::ok, req.version()};
    res.keep_alive(req.keep_alive());
    {
      std::unique_lock<std::mutex> lock(mutex_);
      auto& s = scripts_[path];
      s.received.push_back(rec);
      const std::size_t received_index = s.received.size() - 1; // the vector grows while this hangs
      if (rec.method == "GET") {
        auto pos = query.find("challenge=");
        if (pos != std::string::npos && !s.key.empty()) {
          auto challenge = query.substr(pos + 10, query.find('&', pos) - pos - 10);
          res.body() = hmac_b64(s.key, challenge);
        } else {
          res.result(http::status::not_found);
        }
      } else {
        changed_.wait(lock, [&] { return !s.hang || stopping_; });
        if (stopping_)
          break;
        std::string authorization;
        for (const auto& [name, value] : rec.headers)
          if (lower(name) == "authorization")
            authorization = value;
        if (!s.token_prefix.empty() && s.fail_n == 0 && !s.fail_all_status) {
          res.set(http::field::content_type, "application/json");
          res.body() = R"({"access_token":")" + s.token_prefix + std::to_string(++s.tokens_served) +
                       R"(","token_type":"Bearer","expires_in":)" +
                       std::to_string(s.token_expires_in_s) + "}";
          s.delivered.push_back(rec);
        } else if (!s.bearer.empty() && authorization != "Bearer " + s.bearer) {
          res.result(http::status::unauthorized);
        } else if (s.fail_n > 0) {
          --s.fail_n;
          res.result(static_cast<http::status>(s.fail_status));
          if (s.retry_after_s > 0)
            res.set(http::field::retry_after, std::to_string(s.retry_after_s));
        } else if (s.fail_all_status) {
          res.result(static_cast<http::status>(s.fail_all_status));
        } else if (s.fail_fraction > 0 && std::bernoulli_distribution(s.fail_fraction)(s.coin)) {
          res.result(static_cast<http::status>(s.fail_random_status));
        } else {
          s.delivered.push_back(rec);
        }
      }
      s.received[received_index].status = res.result_int();
      changed_.notify_all();
    }
    res.prepare_payload();
    http::write(socket, res, ec);
    if (ec || !req.keep_alive())
      break;
  }
}

// -- helpers -------------------------------------------------------------------

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0)
      out.push_back(line);
  return out;
}

std::optional<double> sample(const std::string& text, const std::string& series) {
  for (const auto& line : lines_starting(text, series + " "))
    return std::stod(line.substr(series.size() + 1));
  return std::nullopt;
}

std::string json_string(const std::string& json, const std::string& key) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(json).get(doc))
    return {};
  std::string_view v;
  if (doc[key].get_string().get(v))
    return {};
  return std::string(v);
}

std::string hmac_b64(const std::string& key, const std::string& data) {
  unsigned char md[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, md, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

std::string unbase64(const std::string& text) {
  std::string out(text.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0)
    return {};
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=')
    pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

} // namespace sy::test
