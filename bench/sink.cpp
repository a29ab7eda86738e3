// switchyard-sink: a webhook receiver for load tests. Answers every POST
// fast (or 503 for a chosen fraction), counts deliveries and distinct event
// ids, verifies signatures when given the key, and measures ingest →
// delivery latency from the event's own "timestamp" (set by the load
// generator at send time).
//
//   switchyard-sink --listen 127.0.0.1:0 [--threads 1] [--fail-rate 0.3] [--seed 1]
//                   [--ids-out FILE]
//   GET  /__ids              text/plain, one line per delivered POST (answered 2xx) since
//                              the start or the last reset: "PATH ID", or "PATH TAG ID" when
//                              the event's data holds "tag" (switchyard-loadgen --tag)
//   GET  /__stats            {"received","delivered","failed","unique" (distinct path+id),
//                              "duplicates","bad_signatures",
//                              "p50_ms","p99_ms","max_ms","first_ms","last_ms","delivered_per_s"}
//   POST /__reset            clears every counter
//   POST /__key?path=/p      body = the subscription's privateKey: verify both signatures on /p
//   POST /__hold?path=/p     answers every POST on /p 503 (counted as failed) until
//   POST /__unhold?path=/p     (scripts/cluster-lab: a failing subscriber)
// --ids-out FILE writes the same lines to FILE as they come (a reset does not
// truncate it), flushed when the sink exits; tests/integration/
// set_check_main.cpp (switchyard-set-check) compares them with what
// switchyard-loadgen --ids-out recorded. Delivery is by subscription url:
// give each subscription its own path to tell them apart.
// Prints "listening on HOST:PORT" once ready; runs until SIGTERM/SIGINT.

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/json_writer.hpp"
#include "core/signing.hpp"
#include "transport/http_server.hpp"

namespace {

using namespace sy;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// Returns the integer after the last `"key":` in `body`, or -1.
int64_t last_int_field(std::string_view body, std::string_view key) {
  auto pos = body.rfind(key);
  if (pos == std::string_view::npos)
    return -1;
  pos += key.size();
  int64_t v = 0;
  bool any = false;
  while (pos < body.size() && body[pos] >= '0' && body[pos] <= '9') {
    v = v * 10 + (body[pos++] - '0');
    any = true;
  }
  return any ? v : -1;
}

// Returns the string value of the first `"id":"…"` in `body`.
std::string_view id_field(std::string_view body) {
  auto pos = body.find("\"id\":\"");
  if (pos == std::string_view::npos)
    return {};
  pos += 6;
  auto end = body.find('"', pos);
  return end == std::string_view::npos ? std::string_view{} : body.substr(pos, end - pos);
}

// Returns the string value of `"tag":"…"` inside the event's data, or "".
std::string_view tag_field(std::string_view body) {
  auto pos = body.find("\"data\":");
  if (pos == std::string_view::npos)
    return {};
  pos = body.find("\"tag\":\"", pos);
  if (pos == std::string_view::npos)
    return {};
  pos += 7;
  auto end = body.find('"', pos);
  return end == std::string_view::npos ? std::string_view{} : body.substr(pos, end - pos);
}

class sink_state {
public:
  /// Counts deliveries; writes one id line per delivery to `ids_file` when set.
  sink_state(double fail_rate, unsigned seed, std::FILE* ids_file)
      : fail_rate_(fail_rate), rng_(seed), ids_file_(ids_file) {}

  transport::http_response handle(const transport::http_request& r) {
    if (r.path == "/__stats")
      return json(stats());
    if (r.path == "/__ids" && r.method == "GET") {
      std::lock_guard<std::mutex> g(mutex_);
      transport::http_response res;
      res.content_type = "text/plain";
      res.body = id_lines_;
      return res;
    }
    if (r.path == "/__reset" && r.method == "POST") {
      std::lock_guard<std::mutex> g(mutex_);
      received_ = delivered_ = failed_ = duplicates_ = bad_signatures_ = 0;
      first_ms_ = last_ms_ = 0;
      ids_.clear();
      id_lines_.clear();
      latencies_.clear();
      return json("{}");
    }
    if (r.path == "/__key" && r.method == "POST") {
      std::lock_guard<std::mutex> g(mutex_);
      keys_[r.query_param("path")] = r.body;
      return json("{}");
    }
    if ((r.path == "/__hold" || r.path == "/__unhold") && r.method == "POST") {
      std::lock_guard<std::mutex> g(mutex_);
      if (r.path == "/__hold")
        held_.insert(r.query_param("path"));
      else
        held_.erase(r.query_param("path"));
      return json("{}");
    }
    if (r.method != "POST")
      return json("{}");
    const int64_t now = now_ms();
    std::lock_guard<std::mutex> g(mutex_);
    ++received_;
    if (held_.count(r.path) != 0 || (fail_rate_ > 0 && coin_(rng_) < fail_rate_)) {
      ++failed_;
      transport::http_response res;
      res.status = 503;
      res.body = "{}";
      return res;
    }
    if (auto k = keys_.find(r.path); k != keys_.end() && !signature_ok(k->second, r))
      ++bad_signatures_;
    ++delivered_;
    if (first_ms_ == 0)
      first_ms_ = now;
    last_ms_ = now;
    // Distinct per (path, id): ten subscribers receive the same event id.
    if (!ids_.emplace(r.path + "|" + std::string(id_field(r.body))).second)
      ++duplicates_;
    const auto line_start = id_lines_.size();
    id_lines_.append(r.path).push_back(' ');
    if (auto tag = tag_field(r.body); !tag.empty())
      id_lines_.append(tag).push_back(' ');
    id_lines_.append(id_field(r.body)).push_back('\n');
    if (ids_file_ != nullptr)
      std::fwrite(id_lines_.data() + line_start, 1, id_lines_.size() - line_start, ids_file_);
    if (auto ts = last_int_field(r.body, "\"timestamp\":"); ts > 0)
      latencies_.push_back(std::max<int64_t>(0, now - ts));
    return json("{}");
  }

private:
  static transport::http_response json(std::string body) {
    transport::http_response res;
    res.body = std::move(body);
    return res;
  }

  static bool signature_ok(const std::string& key, const transport::http_request& r) {
    if (r.header("x-notificare-signature") != core::notificare_signature(key, r.body))
      return false;
    auto id = std::string(r.header("webhook-id"));
    auto ts = std::string(r.header("webhook-timestamp"));
    if (id.empty() || ts.empty())
      return false;
    return r.header("webhook-signature") ==
           core::standard_webhooks_signature(key, id, std::stoll(ts), r.body);
  }

  std::string stats() {
    std::lock_guard<std::mutex> g(mutex_);
    std::vector<int64_t> sorted(latencies_);
    std::sort(sorted.begin(), sorted.end());
    auto at = [&](double q) -> int64_t {
      if (sorted.empty())
        return -1;
      return sorted[std::min(sorted.size() - 1,
                             static_cast<std::size_t>(q * static_cast<double>(sorted.size())))];
    };
    double secs = static_cast<double>(last_ms_ - first_ms_) / 1000.0;
    core::json_writer w;
    w.begin_object()
      .key("received")
      .value(received_)
      .key("delivered")
      .value(delivered_)
      .key("failed")
      .value(failed_)
      .key("unique")
      .value(static_cast<uint64_t>(ids_.size()))
      .key("duplicates")
      .value(duplicates_)
      .key("bad_signatures")
      .value(bad_signatures_)
      .key("p50_ms")
      .value(at(0.50))
      .key("p99_ms")
      .value(at(0.99))
      .key("max_ms")
      .value(sorted.empty() ? int64_t{-1} : sorted.back())
      .key("first_ms")
      .value(first_ms_)
      .key("last_ms")
      .value(last_ms_)
      .key("delivered_per_s")
      .value(secs > 0 ? static_cast<double>(delivered_) / secs : 0.0)
      .end_object();
    return std::move(w).str();
  }

  std::mutex mutex_;
  double fail_rate_;
  std::mt19937 rng_;
  std::uniform_real_distribution<double> coin_{0.0, 1.0};
  std::unordered_map<std::string, std::string> keys_;
  std::unordered_set<std::string> held_; // paths answered 503 (POST /__hold)
  uint64_t received_ = 0, delivered_ = 0, failed_ = 0, duplicates_ = 0, bad_signatures_ = 0;
  int64_t first_ms_ = 0, last_ms_ = 0;
  std::unordered_set<std::string> ids_;
  std::string id_lines_; // what GET /__ids answers
  std::FILE* ids_file_;  // --ids-out, or null
  std::vector<int64_t> latencies_;
};

} // namespace

int main(int argc, char** argv) {
  CLI::App cli{"switchyard-sink: a counting webhook receiver for load tests"};
  std::string listen = "127.0.0.1:0";
  int threads = 1;
  double fail_rate = 0;
  unsigned seed = 1;
  std::string ids_out;
  cli.add_option("--listen", listen, "HOST:PORT");
  cli.add_option("--threads", threads, "I/O threads")->check(CLI::Range(1, 64));
  cli.add_option("--fail-rate", fail_rate, "fraction of POSTs answered 503")
    ->check(CLI::Range(0.0, 1.0));
  cli.add_option("--seed", seed, "random seed of the failures");
  cli.add_option("--ids-out", ids_out,
                 "write \"PATH ID\" (or \"PATH TAG ID\") per delivered POST to this file, "
                 "flushed at exit; GET /__ids answers the same lines");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;
  }
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "switchyard-sink: --listen must be HOST:PORT\n");
    return 2;
  }
  std::FILE* ids_file = nullptr;
  if (!ids_out.empty() && (ids_file = std::fopen(ids_out.c_str(), "w")) == nullptr) {
    std::fprintf(stderr, "switchyard-sink: --ids-out %s: cannot be written: %s\n", ids_out.c_str(),
                 std::strerror(errno));
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  boost::asio::io_context ioc;
  sink_state state(fail_rate, seed, ids_file);
  transport::server_limits limits;
  limits.max_body_bytes = 16 << 20;
  transport::http_server server(ioc, limits);
  server.set_filter([&state](const transport::http_request& r) { return state.handle(r); });
  std::string error;
  auto port = server.listen(listen.substr(0, colon),
                            static_cast<uint16_t>(std::stoi(listen.substr(colon + 1))), error);
  if (!port) {
    std::fprintf(stderr, "switchyard-sink: cannot listen on %s: %s\n", listen.c_str(),
                 error.c_str());
    return 1;
  }
  std::printf("listening on %s:%u\n", listen.substr(0, colon).c_str(), *port);
  std::fflush(stdout);
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&ioc] { ioc.run(); });
  int sig = 0;
  sigwait(&set, &sig);
  server.stop();
  ioc.stop();
  for (auto& t : pool)
    t.join();
  if (ids_file != nullptr && (std::ferror(ids_file) != 0 || std::fclose(ids_file) != 0)) {
    std::fprintf(stderr, "switchyard-sink: --ids-out %s: writing failed\n", ids_out.c_str());
    return 1;
  }
  return 0;
}
