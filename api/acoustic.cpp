// Acoustic Exchange: POST /v1/event (API.md §1), the event-type registry
// /v1/eventtype… and the change-notification watcher
// /v1/subscription/notification (API.md §4).

#include "actors/registry.hpp"
#include "api/common.hpp"
#include "api/ingest.hpp"
#include "core/acoustic_codec.hpp"
#include "core/json_writer.hpp"
#include "core/subscription_codec.hpp"

namespace sy::api {

namespace {

using actors::registry_state;

// Registers GET `path`, answered by the registry with its subscribed event types.
void subscribed_route(transport::http_server& server, const api_context& ctx,
                      const std::string& path, bool full) {
  server.route("GET", path, [ctx, full](transport::http_request&&, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    actors::run_in_registry(ctx.registry, [full, reply = reply_with(std::move(respond))](
                                            registry_state& st) {
      st.subscribed_event_types(full, reply);
    });
  });
}

} // namespace

void install_acoustic(transport::http_server& server, const api_context& ctx) {
  server.route("POST", "/v1/event", [ctx](transport::http_request&& req,
                                          transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    const int64_t now = now_ms();
    // The catalog snapshot stays alive (and unchanged) for the whole decode;
    // the batch keeps its own copies of the routed types.
    auto catalog = ctx.event_types->current();
    core::event_type_lookup lookup = [&catalog](std::string_view code)
      -> const core::event_type_def* {
      auto it = catalog->find(code);
      return it == catalog->end() ? nullptr : &it->second;
    };
    auto batch = core::decode_acoustic_events(req.body, lookup, now);
    if (!batch)
      return respond(input_error_response(batch.error()));
    submit_batch(ctx, *batch, now, std::move(respond));
  });

  const std::string base = "/v1/eventtype";
  server.route("POST", base, [ctx](transport::http_request&& req, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    auto type = core::decode_event_type(req.body);
    if (!type)
      return respond(input_error_response(type.error()));
    actors::run_in_registry(ctx.registry, [type = std::move(type).value(),
                                           reply = reply_with(std::move(respond))](
                                            registry_state& st) mutable {
      st.register_event_type(std::move(type), reply);
    });
  });
  // Read from the published snapshot, on the I/O thread: the registry
  // publishes a change before it answers it, so a client reads its writes.
  server.route("GET", base, [ctx](transport::http_request&&, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    auto catalog = ctx.event_types->current();
    core::json_writer w;
    w.begin_array();
    for (const auto& [code, type] : *catalog)
      core::write_event_type(w, type);
    w.end_array();
    respond(json_response(200, std::move(w).str()));
  });
  subscribed_route(server, ctx, base + "/subscribed", false);
  subscribed_route(server, ctx, base + "/subscribed/producer", true);
  server.route("DELETE", base + "/{code}", [ctx](transport::http_request&& req,
                                                 transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    // Codes may hold any printable byte, '/' included, which a client can
    // only send escaped; the server does not decode path parameters.
    actors::run_in_registry(ctx.registry, [code = transport::percent_decode(req.params.at(0), false),
                                           reply = reply_with(std::move(respond))](
                                            registry_state& st) {
      st.remove_event_type(code, reply);
    });
  });

  const std::string watcher = "/v1/subscription/notification";
  server.route("PUT", watcher, [ctx](transport::http_request&& req, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    auto spec = core::decode_watcher(req.body);
    if (!spec)
      return respond(input_error_response(spec.error()));
    actors::run_in_registry(ctx.registry, [spec = std::move(spec).value(),
                                           reply = reply_with(std::move(respond))](
                                            registry_state& st) mutable {
      st.put_watcher(std::move(spec), reply);
    });
  });
  for (const char* method : {"GET", "DELETE"}) {
    const bool get = method == std::string_view("GET");
    server.route(method, watcher, [ctx, get](transport::http_request&&, transport::responder respond) {
      if (!ctx.ready->load())
        return respond(not_ready_response());
      actors::run_in_registry(ctx.registry, [get, reply = reply_with(std::move(respond))](
                                              registry_state& st) {
        if (get)
          st.get_watcher(reply);
        else
          st.remove_watcher(reply);
      });
    });
  }
}

} // namespace sy::api
