#pragma once
// Integration-test harness: the real switchyard binary on loopback with a
// temporary data directory, a scripted webhook sink (plain or TLS), a
// blocking client, and a throwaway PKI for the TLS sink. Independent of
// switchyard's own transport code on purpose: the sink and the client are
// written straight on Boost.Beast's synchronous API and OpenSSL.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../common/test_pki.hpp"

namespace boost::asio::ssl {
class context;
}

namespace sy::test {

using headers_t = std::vector<std::pair<std::string, std::string>>;

/// One HTTP exchange as the client saw it.
struct http_result {
  int status = 0; ///< 0: no response (connection failed)
  std::string body;
  headers_t headers;
  std::string header(const std::string& name) const;
};

/// Sends one request on a new connection and waits for the answer.
http_result http_call(uint16_t port, const std::string& method, const std::string& target,
                      const std::string& body = "", const headers_t& headers = {},
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Sends one request over HTTPS on a new connection, trusting only the PEM
/// CA certificates of `ca_file` and verifying that the certificate names
/// `host` (a DNS name or an IP literal), and waits for the answer. A failed
/// handshake is status 0 with the reason in the body.
http_result https_call(uint16_t port, const std::string& ca_file, const std::string& host,
                       const std::string& method, const std::string& target,
                       const std::string& body = "", const headers_t& headers = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Sends raw bytes and returns whatever comes back until the peer closes
/// or `timeout` passes.
std::string raw_call(uint16_t port, const std::string& bytes,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// A temporary directory, removed with the object.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

/// The switchyard binary, started on 127.0.0.1 port 0 with its own data dir.
/// Every way it ends is checked: a sanitizer report in its log, a server that
/// died before kill9(), or (when the test left it running) an exit status
/// other than 0 on SIGTERM in the destructor is a test failure.
class server_process {
public:
  /// `extra_toml` is appended to the generated config file; `server_toml`
  /// (lines of keys) goes into its [server] table.
  explicit server_process(std::string data_dir, std::string extra_toml = "",
                          std::string server_toml = "");
  /// Stops a running server with SIGTERM and fails the test unless it exits 0.
  ~server_process();

  /// Starts the binary and waits until it logs its port and /readyz is 200.
  void start();
  /// Starts the binary without waiting for anything (start() waits).
  void launch();
  /// Makes start() and call() speak HTTPS to 127.0.0.1, trusting the CA of
  /// `ca_file` (for a server whose config sets server.tls_cert).
  void use_tls(std::string ca_file) { tls_ca_file_ = std::move(ca_file); }
  /// Sends SIGTERM and waits; returns the exit status (or -signal, or -1000
  /// when it was still running 20 s later and got SIGKILL).
  int terminate();
  /// Sends SIGKILL and reaps the process; fails the test if it had already died.
  void kill9();
  /// Sends `sig` (e.g. SIGHUP) to the running server.
  void send_signal(int sig) const;
  /// Returns the path of the config file it was started with (a test may
  /// rewrite it before a SIGHUP).
  const std::string& config_path() const { return config_path_; }
  bool running() const { return pid_ > 0; }
  /// Returns the exit status of a binary that start() saw exit, else -1.
  int start_up_exit_status() const { return start_up_exit_status_; }
  uint16_t port() const { return port_; }
  /// Returns the port of the server.metrics_listen listener of this run, as
  /// its log line says, waiting for the line up to 10 s; 0 if none came.
  uint16_t metrics_port() const;
  /// Returns the log so far.
  std::string log() const;

  http_result call(const std::string& method, const std::string& target,
                   const std::string& body = "", const headers_t& headers = {}) const {
    if (!tls_ca_file_.empty())
      return https_call(port_, tls_ca_file_, "127.0.0.1", method, target, body, headers);
    return http_call(port_, method, target, body, headers);
  }

  /// GETs `target` until its body contains `text` (a subscription's stats
  /// change a moment after the sink answered); returns the last body, which
  /// lacks `text` after `timeout`.
  std::string wait_for_text(const std::string& target, const std::string& text,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

private:
  /// Fails the test when the log holds a sanitizer report.
  void expect_no_sanitizer_report() const;

  std::string data_dir_, config_path_, log_path_;
  std::string tls_ca_file_;
  int pid_ = -1;
  int start_up_exit_status_ = -1;
  uint16_t port_ = 0;
  std::size_t log_start_ = 0; // where this run's log begins
};

/// One request the sink received.
struct sink_request {
  std::string method;
  std::string target;
  headers_t headers;
  std::string body;
  std::chrono::steady_clock::time_point at; ///< when the sink read it
  int status = 0;                           ///< what the sink answered
  std::string header(const std::string& name) const;
};

/// A webhook receiver on 127.0.0.1 port 0, one thread per connection. Each
/// path is scripted independently: fail the next N requests with a status,
/// answer with Retry-After, hang, or answer verification challenges. Given
/// a certificate chain and key it serves TLS (the same scripts) instead.
class sink {
public:
  /// Serves plain HTTP, or TLS with the PEM files when both are given.
  explicit sink(std::string cert_pem_file = "", std::string key_pem_file = "");
  ~sink();
  uint16_t port() const { return port_; }
  /// Returns "http://127.0.0.1:<port><path>", or "https://localhost:<port><path>"
  /// when serving TLS (the name its certificate is for).
  std::string url(const std::string& path) const;
  /// Returns how many connections it has accepted.
  std::size_t connections() const;
  /// Returns how many TLS handshakes failed.
  std::size_t failed_handshakes() const;

  /// Makes the next `n` POSTs to `path` answer `status` (with Retry-After
  /// `retry_after_s` seconds when > 0).
  void fail_next(const std::string& path, int n, int status = 503, int retry_after_s = 0);
  /// Makes every POST to `path` answer `status` until told otherwise (0 = normal).
  void fail_all(const std::string& path, int status);
  /// Makes each POST to `path` answer `status` with probability `fraction`,
  /// drawn from a generator seeded with `seed` in arrival order (0 = never).
  void fail_randomly(const std::string& path, double fraction, uint64_t seed, int status = 503);
  /// Makes POSTs to `path` hang (no answer) until released.
  void hang(const std::string& path, bool on);
  /// Makes `path` an OAuth token endpoint: POST n (from 1) is answered 200
  /// {"access_token":"<prefix><n>","token_type":"Bearer","expires_in":expires_in_s}
  /// and counted as delivered (so its form bodies can be read back).
  void serve_tokens(const std::string& path, const std::string& prefix, int expires_in_s = 3600);
  /// Makes POSTs to `path` answer 401 unless they carry
  /// Authorization: Bearer <token> ("" = no requirement).
  void require_bearer(const std::string& path, const std::string& token);
  /// Answers GET ?challenge= on `path` with base64(HMAC-SHA256(key, challenge)).
  void set_key(const std::string& path, const std::string& private_key);

  /// Returns the POSTs received on `path` that were answered 2xx.
  std::vector<sink_request> delivered(const std::string& path) const;
  /// Returns every request received on `path` (any method, any answer).
  std::vector<sink_request> received(const std::string& path) const;
  /// Waits until `path` has at least `n` 2xx-answered POSTs; false on timeout.
  bool wait_delivered(const std::string& path, std::size_t n,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

private:
  struct script {
    int fail_n = 0;
    int fail_status = 503;
    int retry_after_s = 0;
    int fail_all_status = 0;
    double fail_fraction = 0;
    int fail_random_status = 503;
    std::mt19937_64 coin;
    bool hang = false;
    std::string key;
    std::string token_prefix; // serves tokens when set
    int token_expires_in_s = 3600;
    int tokens_served = 0;
    std::string bearer; // required bearer token when set
    std::vector<sink_request> received, delivered;
  };
  void accept_loop();
  void serve(int fd);
  template <class Stream>
  void serve_http(Stream& stream);

  std::unique_ptr<boost::asio::ssl::context> tls_; // set when serving TLS
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<std::string, script> scripts_;
  std::vector<std::thread> workers_;
  std::vector<int> fds_;
  std::size_t failed_handshakes_ = 0;
};

/// Returns the value of a top-level string field in a JSON object (test use).
std::string json_string(const std::string& json, const std::string& key);

/// Returns the lines of `text` (a /metrics scrape) that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix);

/// Returns the value of the /metrics sample named exactly `series` (name
/// plus labels as rendered), or nullopt when the scrape has no such line.
std::optional<double> sample(const std::string& text, const std::string& series);

/// Returns base64(HMAC-SHA256(key, data)) computed with OpenSSL directly.
std::string hmac_b64(const std::string& key, const std::string& data);

/// Returns the bytes of base64 `text`.
std::string unbase64(const std::string& text);

} // namespace sy::test
