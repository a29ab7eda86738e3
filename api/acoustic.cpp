// Acoustic Exchange: POST /v1/event (docs/api.md §1), the event-type registry
// /v1/eventtype… and the change-notification watcher
// /v1/subscription/notification (docs/api.md §4).

#include "api/common.hpp"
#include "api/ingest.hpp"
#include "core/acoustic_codec.hpp"
#include "core/json_writer.hpp"
#include "core/native_codec.hpp"
#include "core/subscription_codec.hpp"
#include "core/url.hpp"
#include "log/log.hpp"

namespace sy::api {

namespace {

// Registers GET `path`, answered by the registry with its subscribed event
// types: their codes, or (`full`) the whole event types.
void subscribed_route(transport::http_server& server, const api_context& ctx,
                      const std::string& path, bool full) {
  server.route("GET", path, [ctx, full](transport::http_request&&, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    ask<actors::event_type_list>(*ctx.system, ctx.registry, actors::list_subscribed_event_types{},
                                 std::move(respond), [full](const actors::event_type_list& list) {
                                   core::json_writer w;
                                   w.begin_array();
                                   for (const auto& type : list.items) {
                                     if (full)
                                       core::write_event_type(w, type);
                                     else
                                       w.value(type.code);
                                   }
                                   w.end_array();
                                   return json_response(200, std::move(w).str());
                                 });
  });
}

// Returns the watcher as the API shows it (secrets redacted).
transport::http_response render_watcher(const actors::watcher_view& v) {
  const auto& s = v.sub;
  core::json_writer w;
  w.begin_object().key("notificationKey");
  if (s.notification_key.empty())
    w.null();
  else
    w.value(s.notification_key);
  w.key("notificationURL").value(s.url).key("authentication");
  core::write_egress_auth(w, s.auth, true);
  w.end_object();
  return json_response(v.created ? 201 : 200, std::move(w).str());
}

} // namespace

void install_acoustic(transport::http_server& server, const api_context& ctx) {
  server.route(
    "POST", "/v1/event", [ctx](transport::http_request&& req, transport::responder respond) {
      if (!ctx.ready->load())
        return respond(not_ready_response());
      const int64_t now = now_ms();
      // The catalog snapshot stays alive (and unchanged) for the whole decode;
      // the batch keeps its own copies of the routed types.
      auto catalog = ctx.event_types->current();
      core::event_type_lookup lookup =
        [&catalog](std::string_view code) -> const core::event_type_def* {
        auto it = catalog->find(code);
        return it == catalog->end() ? nullptr : &it->second;
      };
      auto batch = core::decode_acoustic_events(req.body, lookup, now);
      if (!batch)
        return respond(input_error_response(batch.error()));
      if (batch->events.size() > ctx.max_batch_events)
        return respond(input_error_response(core::too_many_events(ctx.max_batch_events)));
      submit_batch(ctx, *batch, now, std::move(respond));
    });

  const std::string base = "/v1/eventtype";
  server.route("POST", base, [ctx](transport::http_request&& req, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    auto type = core::decode_event_type(req.body);
    if (!type)
      return respond(input_error_response(type.error()));
    ask<actors::event_type_stored>(
      *ctx.system, ctx.registry, actors::put_event_type{std::move(type).value()},
      std::move(respond), [who = token_name(ctx, req)](const actors::event_type_stored& x) {
        log::write(log::level::info, "event_type.changed",
                   x.added ? "event type registered" : "event type replaced",
                   {{"change", x.added ? "created" : "updated"},
                    {"code", x.type.code},
                    {"type", x.type.routed_type()},
                    {"token", who}});
        core::json_writer w;
        core::write_event_type(w, x.type);
        return json_response(x.added ? 201 : 200, std::move(w).str());
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
  server.route("DELETE", base + "/{code}",
               [ctx](transport::http_request&& req, transport::responder respond) {
                 if (!ctx.ready->load())
                   return respond(not_ready_response());
                 // Codes may hold any printable byte, '/' included, which a client can
                 // only send escaped; the server does not decode path parameters.
                 ask<actors::event_type_deleted>(
                   *ctx.system, ctx.registry,
                   actors::delete_event_type{transport::percent_decode(req.params.at(0), false)},
                   std::move(respond),
                   [code = transport::percent_decode(req.params.at(0), false),
                    who = token_name(ctx, req)](const actors::event_type_deleted& x) {
                     if (x.existed)
                       log::write(log::level::info, "event_type.changed", "event type deleted",
                                  {{"change", "deleted"}, {"code", code}, {"token", who}});
                     return json_response(200, x.existed ? "true" : "false");
                   });
               });

  const std::string watcher = "/v1/subscription/notification";
  server.route("PUT", watcher, [ctx](transport::http_request&& req, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    auto spec = core::decode_watcher(req.body);
    if (!spec)
      return respond(input_error_response(spec.error()));
    ask<actors::watcher_view>(*ctx.system, ctx.registry,
                              actors::put_watcher{std::move(spec).value()}, std::move(respond),
                              [who = token_name(ctx, req)](const actors::watcher_view& v) {
                                // The url's host only: its path, query or userinfo may carry secrets.
                                auto url = core::parse_url(v.sub.url);
                                log::write(log::level::info, "watcher.changed",
                                           v.created ? "change-notification watcher registered"
                                                     : "change-notification watcher replaced",
                                           {{"change", v.created ? "created" : "updated"},
                                            {"host", url ? url->host : std::string()},
                                            {"token", who}});
                                return render_watcher(v);
                              });
  });
  server.route("GET", watcher, [ctx](transport::http_request&&, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    ask<actors::watcher_view>(*ctx.system, ctx.registry, actors::get_watcher{}, std::move(respond),
                              render_watcher);
  });
  server.route(
    "DELETE", watcher, [ctx](transport::http_request&& req, transport::responder respond) {
      if (!ctx.ready->load())
        return respond(not_ready_response());
      ask<actors::done>(*ctx.system, ctx.registry, actors::delete_watcher{}, std::move(respond),
                        [who = token_name(ctx, req)](const actors::done&) {
                          log::write(log::level::info, "watcher.changed",
                                     "change-notification watcher removed",
                                     {{"change", "deleted"}, {"token", who}});
                          return json_response(204, "");
                        });
    });
}

} // namespace sy::api
