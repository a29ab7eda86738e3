#include "api/metrics.hpp"

#include <cstdio>

namespace sy::api {

void http_metrics::observe(const std::string& method, const std::string& route, int status,
                           double seconds) {
  const std::string& r = route.empty() ? std::string("unrouted") : route;
  std::lock_guard<std::mutex> guard(mutex_);
  ++requests_[{method, r, status}];
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
           "\",code=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP switchyard_http_request_duration_seconds Time from request read to response written.\n"
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

} // namespace sy::api
