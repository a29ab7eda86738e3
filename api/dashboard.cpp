// /dashboard/v1/notifications: the dashboard facade (API.md §2 and the
// dashboard notifications reference document).

#include "actors/registry.hpp"
#include "api/common.hpp"
#include "core/subscription_codec.hpp"

namespace sy::api {

void install_dashboard(transport::http_server& server, const api_context& ctx) {
  using actors::registry_state;
  using actors::subscription_kind;
  const std::string base = "/dashboard/v1/notifications";
  server.route("POST", base, [ctx](transport::http_request&& req, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    auto spec = core::decode_dashboard_subscription(req.body);
    if (!spec)
      return respond(input_error_response(spec.error()));
    actors::run_in_registry(ctx.registry, [spec = std::move(spec).value(),
                                           reply = reply_with(std::move(respond))](
                                            registry_state& st) mutable {
      st.create_dashboard(std::move(spec), reply);
    });
  });
  server.route("GET", base, [ctx](transport::http_request&&, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    actors::run_in_registry(ctx.registry, [reply = reply_with(std::move(respond))](
                                            registry_state& st) {
      st.list(subscription_kind::dashboard, reply);
    });
  });
  id_route(server, ctx, "GET", base + "/{id}",
           [](registry_state& st, const std::string& id, const actors::reply_fn& reply) {
             st.get(subscription_kind::dashboard, id, reply);
           });
  id_route(server, ctx, "DELETE", base + "/{id}",
           [](registry_state& st, const std::string& id, const actors::reply_fn& reply) {
             st.remove(subscription_kind::dashboard, id, reply);
           });
}

} // namespace sy::api
