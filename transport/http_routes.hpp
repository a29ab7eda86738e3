#pragma once
// The server's routing table: method + path pattern → handler, and the
// lookup that picks a route, fills its placeholders or says which methods
// the path allows. Plain values, no Beast: the server and the fuzz target
// (tests/fuzz/http_request.cpp) use it without a socket.

#include <string>
#include <string_view>
#include <vector>

#include "transport/http_types.hpp"

namespace sy::transport {

/// One route: a method and a path pattern split on '/'.
struct route_entry {
  std::string method;
  std::string pattern;
  std::vector<std::string> segments; ///< the pattern split on '/'
  handler on_request;
};

/// The outcome of route_table::find.
struct route_lookup {
  const route_entry* found = nullptr; ///< nullptr when no route matched path and method
  std::vector<std::string> params;    ///< the placeholder values of `found`, in order
  /// When not found: the methods of the routes matching the path, joined by
  /// ", " in the order they were added; "" when none does (404, else 405).
  std::string allow;
  /// The pattern of `found`, or else of the first route matching the path
  /// with another method; "" when no route matches the path (for metrics).
  std::string pattern;
};

/// Holds the routes in the order they were added. Filled by one thread
/// before serving, then read concurrently (find is const and touches no
/// shared state).
class route_table {
public:
  /// Adds a route. `pattern` is a path whose segments may be `{name}`
  /// placeholders matching one non-empty segment.
  void add(std::string method, std::string pattern, handler h);

  /// Returns the first route matching `method` and `path` (the target up to
  /// '?', not percent-decoded), or the methods the path allows.
  route_lookup find(std::string_view method, std::string_view path) const;

private:
  std::vector<route_entry> routes_;
};

/// Returns the segments of an origin-form path ("/a/b" → {"a", "b"}, "/" →
/// {""}); empty for any other form, which then matches no route.
std::vector<std::string_view> split_path(std::string_view path);

} // namespace sy::transport
