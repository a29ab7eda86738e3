// /v1/subscriptions: the native subscription API (docs/api.md §2).

#include "api/common.hpp"
#include "core/json_writer.hpp"
#include "core/subscription_codec.hpp"

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
// answer `render(reply)`.
template <class Reply, class Make, class Render>
void id_route(transport::http_server& server, const api_context& ctx, const char* method,
              const std::string& path, Make make, Render render) {
  server.route(method, path, [ctx, make, render](transport::http_request&& req,
                                                 transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    ask<Reply>(*ctx.system, ctx.registry, make(req.params.at(0)), std::move(respond), render);
  });
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
                                   std::move(respond), [](const actors::subscription_view& v) {
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
    ask<actors::subscription_view>(
      *ctx.system, ctx.registry, actors::patch_subscription{req.params.at(0), std::move(spec).value()},
      std::move(respond),
      [](const actors::subscription_view& v) { return json_response(200, render_subscription(v)); });
  });
  id_route<actors::done>(
    server, ctx, "DELETE", base + "/{id}",
    [](const std::string& id) { return actors::delete_subscription{subscription_kind::native, id}; },
    [](const actors::done&) { return json_response(204, ""); });
  subscription_route(server, ctx, "POST", base + "/{id}/verify",
                     [](const std::string& id) { return actors::verify_subscription{id}; });
  subscription_route(server, ctx, "POST", base + "/{id}/pause",
                     [](const std::string& id) { return actors::pause_subscription{id}; });
  subscription_route(server, ctx, "POST", base + "/{id}/activate",
                     [](const std::string& id) { return actors::activate_subscription{id}; });
  id_route<actors::purged>(
    server, ctx, "POST", base + "/{id}/purge",
    [](const std::string& id) { return actors::purge_subscription{id}; },
    [](const actors::purged& p) { return render_count("purged", p.count); });
  id_route<actors::dead_letter_list>(
    server, ctx, "GET", base + "/{id}/dead-letters",
    [](const std::string& id) { return actors::list_dead_letters{id}; }, render_dead_letters);
  id_route<actors::replayed>(
    server, ctx, "POST", base + "/{id}/dead-letters/replay",
    [](const std::string& id) { return actors::replay_subscription{id}; },
    [](const actors::replayed& r) { return render_count("replayed", r.count); });
}

} // namespace sy::api
