// /v1/subscriptions: the native subscription API (docs/api.md §2).

#include "api/common.hpp"
#include "core/json_writer.hpp"
#include "core/subscription_codec.hpp"
#include "core/url.hpp"

namespace sy::api {

namespace {

using actors::subscription_kind;

transport::http_response render_list(const actors::subscription_list& list) {
  core::json_writer w;
  w.begin_array();
  for (const auto& v : list.items)
    actors::write_subscription(w, v.sub, &v.stats, false);
  w.end_array();
  return json_response(200, std::move(w).str());
}

transport::http_response render_count(const char* name, uint64_t n) {
  core::json_writer w;
  w.begin_object().key(name).value(n).end_object();
  return json_response(200, std::move(w).str());
}

transport::http_response render_dead_letters(const actors::dead_letter_list& list) {
  core::json_writer w;
  w.begin_array();
  for (const auto& d : list.items) {
    w.begin_object()
      .key("id").value(d.id)
      .key("type").value(d.type);
    if (!d.country.empty())
      w.key("country").value(d.country);
    w.key("data").raw(d.data)
      .key("timestamp").value(d.timestamp_ms)
      .key("reason").value(d.reason)
      .end_object();
  }
  w.end_array();
  return json_response(200, std::move(w).str());
}

// Registers `method path` ({id} first) to ask the registry `make(id)` and
// answer `render(reply)`; a successful `change` (unless null) is logged with
// the token's name.
template <class Reply, class Make, class Render>
void id_route(transport::http_server& server, const api_context& ctx, const char* method,
              const std::string& path, Make make, Render render, const char* change = nullptr) {
  server.route(method, path, [ctx, make, render, change](transport::http_request&& req,
                                                         transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    if (!change)
      return ask<Reply>(*ctx.system, ctx.registry, make(req.params.at(0)), std::move(respond), render);
    ask<Reply>(*ctx.system, ctx.registry, make(req.params.at(0)), std::move(respond),
               [render, change, id = req.params.at(0), who = token_name(ctx, req)](const Reply& r) {
                 log_change(change, "native", id, who);
                 return render(r);
               });
  });
}

// Returns the names of the fields a create or PATCH body set (for the log:
// names only, values may be secrets).
std::string fields_of(const core::subscription_spec& s) {
  std::string out;
  auto add = [&out](bool set, const char* name) {
    if (set)
      out += (out.empty() ? "" : ",") + std::string(name);
  };
  add(s.service.has_value(), "service");
  add(s.url.has_value(), "url");
  add(s.types.has_value(), "types");
  add(s.country.has_value(), "country");
  add(s.delivery.has_value(), "delivery");
  add(s.verification_required.has_value(), "verification");
  add(s.max_in_flight.has_value(), "maxInFlight");
  add(s.rate_limit.has_value(), "rateLimit");
  add(s.auth.has_value(), "auth");
  return out;
}

transport::http_response render_view(const actors::subscription_view& v) {
  return json_response(200, render_subscription(v));
}

} // namespace

void install_subscriptions(transport::http_server& server, const api_context& ctx) {
  const std::string base = "/v1/subscriptions";
  server.route("POST", base, [ctx](transport::http_request&& req, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    auto spec = core::decode_subscription_create(req.body);
    if (!spec)
      return respond(input_error_response(spec.error()));
    ask<actors::subscription_view>(*ctx.system, ctx.registry,
                                   actors::create_subscription{std::move(spec).value()},
                                   std::move(respond),
                                   [who = token_name(ctx, req)](const actors::subscription_view& v) {
                                     // The decoder fills defaults, so the fields
                                     // given say little; where it delivers does.
                                     auto url = core::parse_url(v.sub.url);
                                     log_change("created", "native", v.sub.id, who,
                                                url ? "host " + url->host : "pull");
                                     return json_response(201, render_subscription(v));
                                   });
  });
  server.route("GET", base, [ctx](transport::http_request&&, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    ask<actors::subscription_list>(*ctx.system, ctx.registry,
                                   actors::list_subscriptions{subscription_kind::native},
                                   std::move(respond), render_list);
  });
  subscription_route(server, ctx, "GET", base + "/{id}", [](const std::string& id) {
    return actors::get_subscription{subscription_kind::native, id};
  });
  server.route("PATCH", base + "/{id}", [ctx](transport::http_request&& req,
                                              transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    auto spec = core::decode_subscription_patch(req.body);
    if (!spec)
      return respond(input_error_response(spec.error()));
    auto detail = fields_of(spec.value());
    ask<actors::subscription_view>(
      *ctx.system, ctx.registry, actors::patch_subscription{req.params.at(0), std::move(spec).value()},
      std::move(respond), [detail, who = token_name(ctx, req)](const actors::subscription_view& v) {
        log_change("updated", "native", v.sub.id, who, detail);
        return json_response(200, render_subscription(v));
      });
  });
  id_route<actors::done>(
    server, ctx, "DELETE", base + "/{id}",
    [](const std::string& id) { return actors::delete_subscription{subscription_kind::native, id}; },
    [](const actors::done&) { return json_response(204, ""); }, "deleted");
  // Its outcome is logged by the registry (verification.succeeded / failed).
  subscription_route(server, ctx, "POST", base + "/{id}/verify",
                     [](const std::string& id) { return actors::verify_subscription{id}; });
  id_route<actors::subscription_view>(
    server, ctx, "POST", base + "/{id}/pause",
    [](const std::string& id) { return actors::pause_subscription{id}; }, render_view, "paused");
  id_route<actors::subscription_view>(
    server, ctx, "POST", base + "/{id}/activate",
    [](const std::string& id) { return actors::activate_subscription{id}; }, render_view,
    "activated");
  id_route<actors::purged>(
    server, ctx, "POST", base + "/{id}/purge",
    [](const std::string& id) { return actors::purge_subscription{id}; },
    [](const actors::purged& p) { return render_count("purged", p.count); }, "purged");
  id_route<actors::dead_letter_list>(
    server, ctx, "GET", base + "/{id}/dead-letters",
    [](const std::string& id) { return actors::list_dead_letters{id}; }, render_dead_letters);
  id_route<actors::replayed>(
    server, ctx, "POST", base + "/{id}/dead-letters/replay",
    [](const std::string& id) { return actors::replay_subscription{id}; },
    [](const actors::replayed& r) { return render_count("replayed", r.count); },
    "dead_letters_replayed");
}

} // namespace sy::api
