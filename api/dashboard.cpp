// /dashboard/v1/notifications: the dashboard facade (docs/api.md §2 and the
// dashboard notifications reference document).

#include "api/common.hpp"
#include "core/json_writer.hpp"
#include "core/subscription_codec.hpp"

namespace sy::api {

void install_dashboard(transport::http_server& server, const api_context& ctx) {
  using actors::subscription_kind;
  const std::string base = "/dashboard/v1/notifications";
  server.route("POST", base, [ctx](transport::http_request&& req, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    auto spec = core::decode_dashboard_subscription(req.body);
    if (!spec)
      return respond(input_error_response(spec.error()));
    ask<actors::subscription_view>(
      *ctx.system, ctx.registry, actors::create_dashboard_subscription{std::move(spec).value()},
      std::move(respond), [who = token_name(ctx, req)](const actors::subscription_view& v) {
        log_change("created", "dashboard", v.sub.id, who);
        core::json_writer w;
        w.begin_object().key("id").value(v.sub.id).end_object();
        return json_response(201, std::move(w).str());
      });
  });
  server.route("GET", base, [ctx](transport::http_request&&, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    ask<actors::subscription_list>(*ctx.system, ctx.registry,
                                   actors::list_subscriptions{subscription_kind::dashboard},
                                   std::move(respond), [](const actors::subscription_list& list) {
                                     core::json_writer w;
                                     w.begin_array();
                                     for (const auto& v : list.items)
                                       actors::write_subscription(w, v.sub, nullptr, false);
                                     w.end_array();
                                     return json_response(200, std::move(w).str());
                                   });
  });
  subscription_route(server, ctx, "GET", base + "/{id}", [](const std::string& id) {
    return actors::get_subscription{subscription_kind::dashboard, id};
  });
  server.route(
    "DELETE", base + "/{id}", [ctx](transport::http_request&& req, transport::responder respond) {
      if (!ctx.ready->load())
        return respond(not_ready_response());
      ask<actors::done>(*ctx.system, ctx.registry,
                        actors::delete_subscription{subscription_kind::dashboard, req.params.at(0)},
                        std::move(respond),
                        [id = req.params.at(0), who = token_name(ctx, req)](const actors::done&) {
                          log_change("deleted", "dashboard", id, who);
                          return json_response(204, "");
                        });
    });
}

} // namespace sy::api
