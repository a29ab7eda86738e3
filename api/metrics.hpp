#pragma once
// HTTP request metrics for /metrics (Prometheus text format).

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace sy::api {

/// Counts requests by (method, route, status) and their durations by route.
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
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, histogram> durations_;
};

} // namespace sy::api
