#include "api/metrics.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace sy::api {

std::string_view method_label(std::string_view method) {
  static constexpr std::array<std::string_view, 7> known = {"GET",   "HEAD",   "POST",   "PUT",
                                                            "PATCH", "DELETE", "OPTIONS"};
  for (auto k : known)
    if (method == k)
      return k;
  return "OTHER";
}

std::string_view route_label(std::string_view route) {
  return route.empty() ? std::string_view("unrouted") : route;
}

std::string status_label(int status) {
  return status >= 100 && status <= 599 ? std::to_string(status) : std::string("other");
}

void http_metrics::observe(const std::string& method, const std::string& route, int status,
                           double seconds) {
  std::string m(method_label(method));
  std::string r(route_label(route));
  std::string code = status_label(status);
  std::lock_guard<std::mutex> guard(mutex_);
  ++requests_[{std::move(m), r, std::move(code)}];
  auto& h = durations_[r];
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    if (seconds <= bounds_[i])
      ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

void http_metrics::render(std::string& out) const {
  std::lock_guard<std::mutex> guard(mutex_);
  char buf[64];
  out += "# HELP switchyard_http_requests_total HTTP requests answered.\n"
         "# TYPE switchyard_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [method, route, status] = key;
    out += "switchyard_http_requests_total{method=\"" + method + "\",route=\"" + route +
           "\",code=\"" + status + "\"} " + std::to_string(n) + "\n";
  }
  out +=
    "# HELP switchyard_http_request_duration_seconds Time from request read to response written.\n"
    "# TYPE switchyard_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : durations_) {
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%g", bounds_[i]);
      out += "switchyard_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"" + buf +
             "\"} " + std::to_string(h.buckets[i]) + "\n";
    }
    out += "switchyard_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"+Inf\"} " +
           std::to_string(h.count) + "\n";
    std::snprintf(buf, sizeof buf, "%.6f", h.sum);
    out += "switchyard_http_request_duration_seconds_sum{route=\"" + route + "\"} " + buf + "\n";
    out += "switchyard_http_request_duration_seconds_count{route=\"" + route + "\"} " +
           std::to_string(h.count) + "\n";
  }
}

void render_build_info(std::string& out) {
  out += "# HELP switchyard_build_info The running build; always 1.\n"
         "# TYPE switchyard_build_info gauge\n"
         "switchyard_build_info{version=\"" SWITCHYARD_VERSION "\"} 1\n";
}

namespace {

void gauge_line(std::string& out, const char* name, const char* type, const char* help,
                const std::string& value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
         name + " " + value + "\n";
}

} // namespace

void render_process_metrics(std::string& out) {
  // /proc/self/stat: the fields after the parenthesised command name (which
  // may hold spaces) start with the state, field 3; utime and stime are
  // fields 14 and 15 (clock ticks), rss field 24 (pages).
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(stat.substr(close + 1));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    long long rss = 0;
    bool ok = true;
    for (int i = 3; i <= 24 && ok; ++i) {
      ok = static_cast<bool>(fields >> field);
      if (!ok)
        break;
      if (i == 14)
        utime = std::strtoull(field.c_str(), nullptr, 10);
      else if (i == 15)
        stime = std::strtoull(field.c_str(), nullptr, 10);
      else if (i == 24)
        rss = std::strtoll(field.c_str(), nullptr, 10);
    }
    const long ticks = sysconf(_SC_CLK_TCK);
    const long page = sysconf(_SC_PAGESIZE);
    if (ok && ticks > 0 && page > 0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.2f",
                    static_cast<double>(utime + stime) / static_cast<double>(ticks));
      gauge_line(out, "process_cpu_seconds_total", "counter",
                 "Total user and system CPU time spent in seconds.", buf);
      gauge_line(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                 std::to_string(rss * page));
    }
  }
  std::error_code ec;
  std::size_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++fds;
  if (!ec && fds > 0)
    // Less the descriptor of the directory being listed.
    gauge_line(out, "process_open_fds", "gauge", "Number of open file descriptors.",
               std::to_string(fds - 1));
}

} // namespace sy::api
