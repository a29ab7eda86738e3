// /v1/subscriptions: the native subscription API (API.md §2).

#include "actors/registry.hpp"
#include "api/common.hpp"
#include "core/subscription_codec.hpp"

namespace sy::api {

namespace {

using actors::registry_state;
using actors::subscription_kind;

} // namespace

void install_subscriptions(transport::http_server& server, const api_context& ctx) {
  const std::string base = "/v1/subscriptions";
  server.route("POST", base, [ctx](transport::http_request&& req, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    auto spec = core::decode_subscription_create(req.body);
    if (!spec)
      return respond(input_error_response(spec.error()));
    actors::run_in_registry(ctx.registry, [spec = std::move(spec).value(),
                                           reply = reply_with(std::move(respond))](
                                            registry_state& st) mutable {
      st.create_native(std::move(spec), reply);
    });
  });
  server.route("GET", base, [ctx](transport::http_request&&, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    actors::run_in_registry(ctx.registry, [reply = reply_with(std::move(respond))](
                                            registry_state& st) {
      st.list(subscription_kind::native, reply);
    });
  });
  id_route(server, ctx, "GET", base + "/{id}", [](registry_state& st, const std::string& id,
                                                  const actors::reply_fn& reply) {
    st.get(subscription_kind::native, id, reply);
  });
  server.route("PATCH", base + "/{id}", [ctx](transport::http_request&& req,
                                              transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    auto spec = core::decode_subscription_patch(req.body);
    if (!spec)
      return respond(input_error_response(spec.error()));
    actors::run_in_registry(ctx.registry, [id = req.params.at(0), spec = std::move(spec).value(),
                                           reply = reply_with(std::move(respond))](
                                            registry_state& st) mutable {
      st.patch(id, std::move(spec), reply);
    });
  });
  id_route(server, ctx, "DELETE", base + "/{id}", [](registry_state& st, const std::string& id,
                                                     const actors::reply_fn& reply) {
    st.remove(subscription_kind::native, id, reply);
  });
  id_route(server, ctx, "POST", base + "/{id}/verify", &registry_state::verify);
  id_route(server, ctx, "POST", base + "/{id}/pause", &registry_state::pause);
  id_route(server, ctx, "POST", base + "/{id}/activate", &registry_state::activate);
  id_route(server, ctx, "POST", base + "/{id}/purge", &registry_state::purge);
  id_route(server, ctx, "GET", base + "/{id}/dead-letters", &registry_state::dead_letters);
  id_route(server, ctx, "POST", base + "/{id}/dead-letters/replay", &registry_state::replay);
}

} // namespace sy::api
