// Cluster mode: a subscription's delivery state — its queue, attempts and
// dead letters — lives on its partition's primary (docs/cluster.md
// "Delivery"). A request about that state sent to another node is passed on
// to the primary over HTTP and answered with the primary's answer, so that
// it works on any node, as every other call does.

#include "api/common.hpp"

#include <charconv>
#include <map>
#include <mutex>

#include "cluster/membership.hpp"
#include "log/log.hpp"
#include "transport/http_client.hpp"

namespace sy::api {

namespace {

// Set on a forwarded request (the sending node's name): its receiver serves
// it where it is, so that two nodes with different views never pass a
// request back and forth.
constexpr std::string_view forwarded_by = "X-Switchyard-Forwarded-By";
// Set by gather_peer_stats: its receiver lists only the subscriptions it
// leads (whose stats the asking node takes), not the whole page.
constexpr std::string_view led_only = "X-Switchyard-Led-Only";

// The request headers a forward keeps: the caller's credentials and its
// body's type. Host is the primary's, which the client sets.
constexpr std::string_view kept_request_headers[] = {"Authorization", "Content-Type"};
// The response headers it relays.
constexpr std::string_view kept_response_headers[] = {"Retry-After", "WWW-Authenticate"};

// How long a list or a stream waits for the other nodes' stats.
constexpr auto peer_stats_timeout = std::chrono::seconds(2);

// The answers of one gather_peer_stats, taken as they come; `done` runs
// when the last is in.
struct stats_gathering {
  std::mutex mutex;
  std::size_t waiting = 0;
  peer_stats stats;
  std::function<void(peer_stats)> done;

  void answered(const std::string& node, const transport::client_response& r) {
    std::unique_lock lock(mutex);
    if (r.status == 200 && !answer_was_cut(r))
      take_led_stats(node, r.body, stats);
    if (--waiting > 0)
      return;
    auto finish = std::move(done);
    auto all = std::move(stats);
    lock.unlock();
    finish(std::move(all));
  }
};

} // namespace

bool is_forwarded(const transport::http_request& req) { return !req.header(forwarded_by).empty(); }

bool asks_led_only(const transport::http_request& req) {
  return is_forwarded(req) && !req.header(led_only).empty();
}

bool led_here(const api_context& ctx, std::string_view id) {
  if (!ctx.cluster)
    return true;
  auto where = ctx.cluster->route(id);
  return where.primary == where.node;
}

void gather_peer_stats(const api_context& ctx, const std::vector<std::string_view>& ids,
                       const std::string& target, std::string_view authorization,
                       std::function<void(peer_stats)> done) {
  // The other nodes that lead one of `ids`, with their API address.
  std::map<std::string, std::string> leaders;
  std::string self;
  if (ctx.cluster && ctx.forward)
    for (auto id : ids) {
      auto [node, partition, primary, base] = ctx.cluster->route(id);
      if (primary != node && !primary.empty() && !base.empty())
        leaders.emplace(std::move(primary), std::move(base));
      self = std::move(node);
    }
  if (leaders.empty())
    return done({});
  auto gathering = std::make_shared<stats_gathering>();
  gathering->waiting = leaders.size();
  gathering->done = std::move(done);
  for (auto& [peer, base] : leaders) {
    transport::client_request out;
    out.method = "GET";
    out.url = base + target;
    out.timeout = peer_stats_timeout;
    if (!authorization.empty())
      out.headers.emplace_back("Authorization", std::string(authorization));
    out.headers.emplace_back(std::string(forwarded_by), self);
    out.headers.emplace_back(std::string(led_only), "1");
    ctx.forward->send(std::move(out), [gathering, peer = peer](transport::client_response r) {
      gathering->answered(peer, r);
    });
  }
}

bool answer_was_cut(const transport::client_response& r) {
  const auto length = transport::find_header(r.headers, "Content-Length");
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), n);
  return ec == std::errc{} && end == length.data() + length.size() && n > r.body.size();
}

bool forward_to_primary(const api_context& ctx, const std::string& id, transport::http_request& req,
                        transport::responder& respond, std::function<void()> otherwise) {
  if (!ctx.cluster || !ctx.forward || !req.header(forwarded_by).empty())
    return false;
  auto [node, partition, primary, base] = ctx.cluster->route(id);
  if (primary == node)
    return false;
  if (otherwise && (primary.empty() || base.empty())) {
    otherwise();
    return true;
  }
  const std::string where = "partition " + std::to_string(partition);
  if (primary.empty()) {
    respond(error_response(503, "subscription " + id + "'s " + where +
                                  " has no primary yet (its delivery state lives there); retry"));
    return true;
  }
  if (base.empty()) {
    respond(error_response(503, "subscription " + id + "'s " + where + " is led by " + primary +
                                  ", which is not a live member now; retry"));
    return true;
  }
  transport::client_request out;
  out.method = req.method;
  out.url = base + req.target;
  out.body = std::move(req.body);
  // A read this node can answer itself waits less for the primary.
  out.timeout = otherwise ? std::chrono::seconds(2) : std::chrono::seconds(10);
  for (auto name : kept_request_headers)
    if (auto value = req.header(name); !value.empty())
      out.headers.emplace_back(std::string(name), std::string(value));
  out.headers.emplace_back(std::string(forwarded_by), std::move(node));
  ctx.forward->send(
    std::move(out), [respond, primary, base, otherwise](transport::client_response r) {
      if (r.status == 0) {
        log::write(log::level::warn, "cluster.forward_failed",
                   "cannot pass a request on to " + primary + " at " + base + ": " + r.error +
                     "; check that its API address (GET /v1/cluster shows it as http) is "
                     "reachable from this node",
                   {{"peer", primary}, {"error", r.error}});
        if (otherwise)
          return otherwise();
        return respond(error_response(503, "the subscription's delivery state lives on " + primary +
                                             ", which did not answer (" + r.error + "); retry"));
      }
      if (otherwise && (r.status == 404 || r.status >= 500))
        return otherwise();
      if (answer_was_cut(r))
        return respond(error_response(502, "the answer of " + primary +
                                             " is larger than a node passes on (64 MiB); send the "
                                             "request to " +
                                             primary + " at " + base + " directly"));
      transport::http_response resp;
      resp.status = r.status;
      resp.content_type = std::string(transport::find_header(r.headers, "Content-Type"));
      resp.body = std::move(r.body);
      for (auto name : kept_response_headers)
        if (auto value = transport::find_header(r.headers, name); !value.empty())
          resp.headers.emplace_back(std::string(name), std::string(value));
      respond(std::move(resp));
    });
  return true;
}

} // namespace sy::api
