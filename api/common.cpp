#include "api/common.hpp"
#include "cluster/membership.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "api/browser_safety.hpp"
#include "api/metrics.hpp"
#include "core/field_names.hpp"
#include "core/json_writer.hpp"
#include "core/signing.hpp"
#include "core/time_format.hpp"
#include "core/clock.hpp"
#include "log/log.hpp"
#include "log/rate_limit.hpp"

namespace sy::api {

transport::http_response json_response(int status, std::string body) {
  transport::http_response r;
  r.status = status;
  r.body = std::move(body);
  if (status == 204)
    r.content_type.clear();
  return r;
}

namespace {

// An error answer: a 503 (a failed journal write, a node not ready or busy, no
// live primary) always says when to retry (docs/api.md).
transport::http_response error_answer(int status, std::string body) {
  auto r = json_response(status, std::move(body));
  if (status == 503)
    r.headers.emplace_back("Retry-After", retry_after_s);
  return r;
}

} // namespace

transport::http_response error_response(int status, std::string_view message) {
  return error_answer(status, core::error_body(message));
}

transport::http_response input_error_response(const core::input_error& e) {
  core::json_writer w;
  w.begin_object();
  std::string message = e.what();
  if (e.index >= 0)
    message = "event " + std::to_string(e.index) + ": " + message;
  w.key("error").value(message);
  if (!e.field.empty())
    w.key("field").value(e.field);
  if (e.index >= 0)
    w.key("index").value(static_cast<int64_t>(e.index));
  w.end_object();
  return json_response(e.status, std::move(w).str());
}

transport::http_response not_ready_response() { return error_response(503, not_ready_message); }

namespace {

const char* reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// Returns the time as the contract's example writes it: 2020-07-16T00:00:56.522+00:00.
std::string iso_now() { return core::format_iso8601_ms(now_ms(), "+00:00"); }

} // namespace

transport::http_response push_error_response(int status, std::string_view message,
                                             std::string_view path) {
  core::json_writer w;
  w.begin_object()
    .key("timestamp")
    .value(iso_now())
    .key("status")
    .value(status)
    .key("error")
    .value(reason_phrase(status))
    .key("message")
    .value(message)
    .key("path")
    .value(path)
    .end_object();
  return error_answer(status, std::move(w).str());
}

bool is_push_path(std::string_view path) {
  return path == "/v1/association/create" || path == "/v1/notification/sendToList";
}

transport::http_response error_response(const caf::error& e) {
  auto err = actors::to_domain_error(e);
  int status = 503;
  switch (err.code) {
    case actors::errc::not_found: status = 404; break;
    case actors::errc::conflict: status = 409; break;
    case actors::errc::invalid: status = 422; break;
    case actors::errc::unauthorized: status = 401; break;
    case actors::errc::none:
    case actors::errc::unavailable: status = 503; break;
  }
  core::json_writer w;
  w.begin_object().key("error").value(err.message);
  if (!err.field.empty())
    w.key("field").value(err.field);
  w.end_object();
  return error_answer(status, std::move(w).str());
}

void log_change(std::string_view change, std::string_view kind, std::string_view id,
                std::string_view token, std::string_view detail) {
  log::write(log::level::info, "subscription.changed", "subscription " + std::string(change),
             {{"change", change},
              {"kind", kind},
              {"subscription", id},
              {"token", token},
              {"detail", detail}});
}

void log_auth_failure(const api_context& ctx, std::string_view why, const std::string& remote,
                      std::string_view method, std::string_view path) {
  if (!log::enabled(log::level::warn))
    return;
  std::optional<uint64_t> left_out = 0;
  if (ctx.auth_failures)
    left_out = ctx.auth_failures->admit(remote, core::system_clock().steady_ms());
  if (!left_out)
    return;
  log::write(log::level::warn, "auth.failed", why,
             {{"remote", remote},
              {"method", method},
              {"path", path},
              {"suppressed", std::to_string(*left_out)}});
}

std::optional<actors::placement_view> placement_of(const cluster::membership* cluster,
                                                   const std::string& id) {
  if (!cluster)
    return std::nullopt;
  auto [partition, primary] = cluster->placement(id);
  return actors::placement_view{partition, std::move(primary)};
}

std::string render_subscription(const actors::subscription_view& v,
                                const cluster::membership* cluster) {
  core::json_writer w;
  auto where = placement_of(cluster, v.sub.id);
  actors::write_subscription(w, v.sub, &v.stats, v.show_private_key, where ? &*where : nullptr);
  return std::move(w).str();
}

std::string_view bearer_token(const transport::http_request& req) {
  auto h = req.header("authorization");
  if (h.size() > 7 && (h.substr(0, 7) == "Bearer " || h.substr(0, 7) == "bearer "))
    return h.substr(7);
  return {};
}

namespace {

// Compares in constant time, so a response's timing tells nothing of a token.
const named_token* listed(const std::vector<named_token>& tokens, std::string_view t) {
  const named_token* found = nullptr;
  for (const auto& x : tokens)
    if (core::constant_time_equal(x.value, t))
      found = &x;
  return found;
}

// sendToList journals events like the two ingest paths, so a publish token
// may call it; registering associations stays with admin tokens.
bool is_ingest(const transport::http_request& r) {
  return r.method == "POST" && (r.path == "/v1/events" || r.path == "/v1/event" ||
                                r.path == "/v1/notification/sendToList");
}

// What a metrics token may read (auth.metrics_tokens).
bool is_metrics_read(const transport::http_request& r) {
  return (r.method == "GET" || r.method == "HEAD") && r.path == "/metrics";
}

void observe_into(transport::http_server& server, const api_context& ctx) {
  if (ctx.metrics)
    server.set_observer(
      [m = ctx.metrics](const std::string& method, const std::string& route, int status,
                        double seconds) { m->observe(method, route, status, seconds); });
}

} // namespace

void install_metrics_listener(transport::http_server& server, const api_context& ctx) {
  observe_into(server, ctx);
  install_ops(server, ctx);
}

std::string token_name(const api_context& ctx, const transport::http_request& req) {
  auto tokens = ctx.tokens->get();
  if (!tokens->any())
    return "anonymous";
  auto t = bearer_token(req);
  for (auto* list : {&tokens->admin, &tokens->publish, &tokens->metrics})
    if (auto* found = listed(*list, t))
      return found->name;
  return "unknown";
}

void install(transport::http_server& server, const api_context& ctx) {
  server.set_filter([ctx](
                      const transport::http_request& r) -> std::optional<transport::http_response> {
    if (r.path == "/healthz" || r.path == "/readyz")
      return std::nullopt;
    const auto tokens = ctx.tokens->get(); // one snapshot per request (SIGHUP swaps them)
    const bool auth = tokens->any();
    // The push contract's paths answer every error in that contract's shape.
    auto refuse = [&r](int status, std::string_view message) {
      return is_push_path(r.path) ? push_error_response(status, message, r.path)
                                  : error_response(status, message);
    };
    // Browser safety (docs/api.md §9), before anything else: a refused
    // request changes nothing.
    if (is_cross_origin_write(r))
      return refuse(403, "cross-origin request refused");
    if (!auth && !is_allowed_host(r.header("host"), ctx.allowed_hosts))
      return refuse(403, "host not allowed");
    // Event files answer to a pull subscription's accessKey, checked by their handlers.
    const bool eventfiles = r.path == "/v1/eventfiles" || r.path.starts_with("/v1/eventfiles/");
    // The console's files are public; every API call the page makes carries the token.
    if (auth && !eventfiles && !is_console_path(r.path)) {
      auto token = bearer_token(r);
      const bool admin = listed(tokens->admin, token) != nullptr;
      const bool publish = listed(tokens->publish, token) != nullptr;
      const bool scrape = listed(tokens->metrics, token) != nullptr;
      if (token.empty() || !(admin || publish || scrape)) {
        // Who knocks, never with what: the header's value is a secret or a
        // near miss of one.
        log_auth_failure(ctx,
                         token.empty() ? "request without a bearer token refused"
                                       : "request with an unknown bearer token refused",
                         r.remote, r.method, r.path);
        auto resp = refuse(401,
                           "missing or unknown bearer token: send Authorization: Bearer <token>");
        resp.headers.emplace_back("WWW-Authenticate", "Bearer");
        return resp;
      }
      if (!admin && !(publish && is_ingest(r)) && !(scrape && is_metrics_read(r))) {
        // A known token without the right: forbidden, not unauthenticated.
        log::write(log::level::warn, "auth.forbidden", "request refused: the token lacks the right",
                   {{"remote", r.remote},
                    {"method", r.method},
                    {"path", r.path},
                    {"token", publish ? listed(tokens->publish, token)->name
                                      : listed(tokens->metrics, token)->name}});
        if (publish)
          return refuse(403, "this is a publish token: it may only POST /v1/events, /v1/event and "
                             "/v1/notification/sendToList");
        return refuse(403, "this is a metrics token: it may only GET /metrics");
      }
    }
    auto ct = r.header("content-type");
    if (!ct.empty()) {
      auto semi = ct.find(';');
      auto media = ct.substr(0, semi);
      while (!media.empty() && media.back() == ' ')
        media.remove_suffix(1);
      std::string lower(media);
      for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower != "application/json" && !(r.body.empty() && r.method == "GET"))
        return refuse(415, "Content-Type must be application/json, got " + std::string(ct));
    }
    return std::nullopt;
  });
  observe_into(server, ctx);
  install_ingest(server, ctx);
  install_acoustic(server, ctx);
  install_push(server, ctx);
  install_eventfiles(server, ctx);
  install_subscriptions(server, ctx);
  install_dashboard(server, ctx);
  install_ops(server, ctx);
  install_admin(server, ctx);
  install_live(server, ctx);
  install_openapi(server, ctx);
  install_console(server, ctx);
  install_cluster(server, ctx);
}

std::optional<core::input_error> read_query(std::string_view query,
                                            std::initializer_list<std::string_view> known,
                                            const query_reader& read) {
  std::vector<std::string> seen;
  while (auto pair = transport::next_query_pair(query)) {
    auto name = transport::percent_decode(pair->name, true);
    auto value = transport::percent_decode(pair->value, true);
    if (std::find(seen.begin(), seen.end(), name) != seen.end())
      return core::bad_request(name, "appears more than once");
    seen.push_back(name);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      auto e = core::unknown_field("", name, known);
      e.status = 400;
      e.message.replace(0, 13, "unknown query parameter");
      return e;
    }
    if (auto bad = read(name, value))
      return bad;
  }
  return std::nullopt;
}

} // namespace sy::api
