// Fuzzes the server's request path without a socket: the bytes a client
// sends go through the parser the server configures (transport/
// http_request_parser.hpp, with the smallest limits the configuration
// allows), become an http_request, and are routed through a table holding
// the API's route patterns; the query and path parameters are then
// percent-decoded as handlers do. Pipelined requests are parsed in turn,
// as a keep-alive session does.

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "transport/http_request_parser.hpp"
#include "transport/http_routes.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;
namespace http = boost::beast::http;

namespace {

// The most requests one input is read as; each needs its own bytes, so
// this only bounds the time of one run.
constexpr int max_requests = 16;

const transport::route_table& routes() {
  static const auto table = [] {
    transport::route_table t;
    auto none = [](transport::http_request&&, transport::responder) {};
    for (const char* p : {"/healthz", "/readyz", "/metrics"})
      t.add("GET", p, none);
    t.add("POST", "/v1/events", none);
    t.add("POST", "/v1/event", none);
    t.add("POST", "/v1/eventtype", none);
    t.add("GET", "/v1/eventtype", none);
    t.add("GET", "/v1/eventtype/subscribed", none);
    t.add("GET", "/v1/eventtype/subscribed/producer", none);
    t.add("DELETE", "/v1/eventtype/{code}", none);
    for (const char* m : {"PUT", "GET", "DELETE"})
      t.add(m, "/v1/subscription/notification", none);
    t.add("POST", "/v1/subscriptions", none);
    t.add("GET", "/v1/subscriptions", none);
    t.add("GET", "/v1/subscriptions/{id}", none);
    t.add("PATCH", "/v1/subscriptions/{id}", none);
    t.add("DELETE", "/v1/subscriptions/{id}", none);
    for (const char* action : {"verify", "pause", "activate", "purge", "dead-letters/replay"})
      t.add("POST", std::string("/v1/subscriptions/{id}/") + action, none);
    t.add("GET", "/v1/subscriptions/{id}/dead-letters", none);
    t.add("GET", "/v1/eventfiles", none);
    t.add("GET", "/v1/eventfiles/{name}", none);
    t.add("DELETE", "/v1/eventfiles/{name}", none);
    t.add("POST", "/v1/association/create", none);
    t.add("POST", "/v1/notification/sendToList", none);
    t.add("POST", "/dashboard/v1/notifications", none);
    t.add("GET", "/dashboard/v1/notifications", none);
    t.add("GET", "/dashboard/v1/notifications/{id}", none);
    t.add("DELETE", "/dashboard/v1/notifications/{id}", none);
    return t;
  }();
  return table;
}

void check_request(transport::http_request& req) {
  fuzz::check(!req.method.empty(), "a parsed request has a method");
  fuzz::check(req.path + (req.target.find('?') == std::string::npos ? "" : "?" + req.query) ==
                req.target,
              "path and query make up the target");
  fuzz::check(req.body.capacity() >= req.body.size() + transport::body_padding,
              "the body is padded");

  auto lookup = routes().find(req.method, req.path);
  if (lookup.found) {
    fuzz::check(lookup.found->method == req.method, "the route's method is the request's");
    fuzz::check(lookup.allow.empty(), "a found route allows nothing else");
    for (const auto& p : lookup.params) {
      fuzz::check(!p.empty() && p.find('/') == std::string::npos, "a parameter is one segment");
      (void)transport::percent_decode(p, false);
    }
  } else {
    fuzz::check(lookup.params.empty(), "no parameters without a route");
  }
  auto decoded = transport::percent_decode(req.path, false);
  fuzz::check(decoded.size() <= req.path.size(), "decoding never lengthens");
  for (const char* key : {"numFiles", "after", "limit", ""})
    (void)req.query_param(key);
  (void)req.header("content-type");
  (void)req.header("authorization");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  transport::server_limits limits;
  limits.max_body_bytes = 1024;
  limits.max_header_bytes = 1024;

  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < max_requests && !rest.empty(); ++i) {
    transport::request_parser parser;
    transport::apply_limits(parser, limits);
    boost::beast::error_code ec;
    // What http::read does: hand the parser every byte buffered so far
    // until it is done, needs more (then the stream ends here) or fails.
    while (!parser.is_done()) {
      auto used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(used);
      if (ec == http::error::need_more) {
        ec = {};
        parser.put_eof(ec);
        break;
      }
      if (ec || used == 0)
        break;
    }
    if (ec || !parser.is_done())
      return 0; // the server answers 400, 413 or 431, or closes
    auto req = transport::to_http_request(parser.get());
    check_request(req);
    if (!parser.get().keep_alive())
      return 0;
  }
  return 0;
}
