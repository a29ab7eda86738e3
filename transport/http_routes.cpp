#include "transport/http_routes.hpp"

#include <algorithm>

namespace sy::transport {

namespace {

bool is_placeholder(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Matches `path` against a route's segments, appending placeholder values
// to `params`; returns false (params then unspecified) when it does not.
bool match(const route_entry& route, const std::vector<std::string_view>& path,
           std::vector<std::string>& params) {
  if (route.segments.size() != path.size())
    return false;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto& want = route.segments[i];
    if (is_placeholder(want)) {
      if (path[i].empty())
        return false;
      params.emplace_back(path[i]);
    } else if (want != path[i]) {
      return false;
    }
  }
  return true;
}

} // namespace

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/')
    return out;
  path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

void route_table::add(std::string method, std::string pattern, handler h) {
  route_entry r;
  for (auto segment : split_path(pattern))
    r.segments.emplace_back(segment);
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.on_request = std::move(h);
  routes_.push_back(std::move(r));
}

route_lookup route_table::find(std::string_view method, std::string_view path) const {
  route_lookup out;
  auto segments = split_path(path);
  std::vector<std::string_view> allowed;
  for (const auto& route : routes_) {
    out.params.clear();
    if (!match(route, segments, out.params))
      continue;
    if (route.method == method) {
      out.found = &route;
      out.pattern = route.pattern;
      return out;
    }
    if (out.pattern.empty())
      out.pattern = route.pattern;
    if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end())
      allowed.push_back(route.method);
  }
  out.params.clear();
  for (auto m : allowed)
    out.allow.append(out.allow.empty() ? "" : ", ").append(m);
  return out;
}

} // namespace sy::transport
