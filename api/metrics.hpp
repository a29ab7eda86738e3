#pragma once
// HTTP request metrics and process metrics for /metrics (Prometheus text format).

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace sy::api {

/// Returns `method` when it is one of the verbs switchyard knows (GET HEAD
/// POST PUT PATCH DELETE OPTIONS), else "OTHER": a client may send any
/// token as a method, and each distinct label value is a new series.
std::string_view method_label(std::string_view method);

/// Returns `route` (a routing-table pattern, from the server's observer),
/// or "unrouted" for "" (no route matched, or a 405).
std::string_view route_label(std::string_view route);

/// Returns the status as a label: "100" to "599", else "other".
std::string status_label(int status);

/// Counts requests by (method, route, status) and their durations by route.
/// Every label value is bounded (method_label, route_label, status_label),
/// so no request can add series beyond verbs × routes × statuses.
/// Written by every I/O thread after each response, read by /metrics.
class http_metrics {
public:
  /// Records one answered request.
  void observe(const std::string& method, const std::string& route, int status, double seconds);
  /// Appends the metrics in Prometheus text format to `out`.
  void render(std::string& out) const;

private:
  static constexpr std::array<double, 12> bounds_ = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,   0.1,   0.25,   0.5,   1,    5};
  struct histogram {
    std::array<uint64_t, bounds_.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> requests_;
  std::map<std::string, histogram> durations_;
};

/// Appends switchyard_build_info{version} 1 to `out`.
void render_build_info(std::string& out);

/// Appends process_resident_memory_bytes, process_open_fds and
/// process_cpu_seconds_total, read from /proc/self; a metric whose source
/// cannot be read is left out.
void render_process_metrics(std::string& out);

} // namespace sy::api
