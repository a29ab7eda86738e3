// Push notifications, Masiv's contract (docs/api.md §5): POST /v1/association/create
// and POST /v1/notification/sendToList. Every error on these paths takes that
// contract's shape ({timestamp, status, error, message, path}).

#include <memory>

#include "actors/associations.hpp"
#include "actors/ingest.hpp"
#include "api/cluster_ingest.hpp"
#include "api/common.hpp"
#include "core/json_writer.hpp"
#include "core/push_codec.hpp"
#include "log/log.hpp"

namespace sy::api {

namespace {

constexpr std::string_view association_path = "/v1/association/create";
constexpr std::string_view send_to_list_path = "/v1/notification/sendToList";
// The type of the events sendToList journals: seen in the journal and in
// logs only, since no pattern routes them (they go to the gateway by name).
constexpr std::string_view push_event_type = "switchyard.push";

constexpr const char* association_ok =
  R"({"status":"OK","data":"Successful association","error":null})";
constexpr const char* send_ok =
  R"({"status":"OK","data":"Notification has been sent","error":null})";

transport::http_response bad_request(const core::input_error& e, std::string_view path) {
  return push_error_response(400, e.what(), path);
}

// Returns an actor's error in the push contract's shape, with its status.
transport::http_response push_error(const caf::error& e, std::string_view path) {
  auto generic = error_response(e);
  return push_error_response(generic.status, actors::to_domain_error(e).message, path);
}

transport::http_response push_not_ready(std::string_view path) {
  return push_error_response(503, not_ready_message, path);
}

transport::http_response gateway_missing() {
  return push_error_response(
    503, "push.gateway_url is not configured: set it in the [push] table to send notifications",
    send_to_list_path);
}

// Returns the data of the event for `token`, which the gateway receives as
// its body: {"token", "notification": {title, message, imageUrl?}, "data"}.
std::string push_event_data(const core::send_to_list_spec& spec, const std::string& token) {
  core::json_writer w;
  w.begin_object()
    .key("token")
    .value(token)
    .key("notification")
    .begin_object()
    .key("title")
    .value(spec.title)
    .key("message")
    .value(spec.message);
  if (!spec.image_url.empty())
    w.key("imageUrl").value(spec.image_url);
  w.end_object().key("data").begin_object();
  for (const auto& [key, value] : spec.data)
    w.key(key).value(value);
  w.end_object().end_object();
  return std::move(w).str();
}

// Journals one event per token, routed to the push gateway only, and answers
// once the group commit holds them. Safe on any thread (the registry's too).
void submit_push(const actors::route_publisher& publisher, actors::ingest_pipeline& pipeline,
                 const cluster_ingest* to_cluster, const core::send_to_list_spec& spec,
                 const std::vector<std::string>& tokens, const transport::responder& respond) {
  auto routes = publisher.current();
  if (!routes->push_gateway)
    return respond(gateway_missing());
  if (tokens.empty()) {
    // No association matched: nothing to journal. A list whose members have
    // no device yet is not a bad request, so this is still a 200.
    return respond(json_response(200, send_ok));
  }
  const int64_t now = now_ms();
  actors::ingest_submission s;
  s.reserve(tokens.size(), 0);
  const uint32_t gateway[] = {*routes->push_gateway};
  for (const auto& token : tokens) {
    auto e = std::make_shared<storage::stored_event>();
    e->ingest_ms = now;
    e->ev.type = push_event_type;
    e->ev.data = push_event_data(spec, token);
    e->ev.timestamp_ms = now;
    s.add(std::move(e), gateway);
  }
  s.routes = std::move(routes);
  s.done = [respond](actors::ingest_outcome out) {
    if (out.status != 202)
      return respond(push_error_response(out.status, out.error, send_to_list_path));
    respond(json_response(200, send_ok));
  };
  if (to_cluster)
    return submit_to_cluster(*to_cluster, std::move(s));
  pipeline.submit(std::move(s));
}

} // namespace

void install_push(transport::http_server& server, const api_context& ctx) {
  server.route("POST", std::string(association_path),
               [ctx](transport::http_request&& req, transport::responder respond) {
                 if (!ctx.ready->load())
                   return respond(push_not_ready(association_path));
                 auto decoded = core::decode_association(req.body);
                 if (!decoded)
                   return respond(bad_request(decoded.error(), association_path));
                 // The log names which look-up keys the association has, never their
                 // values (phone numbers, addresses) nor the device token.
                 const auto& a = decoded.value();
                 std::string keys = a.cellphone.empty() ? "" : "cellphone";
                 if (!a.email.empty())
                   keys += keys.empty() ? "email" : ",email";
                 std::string app_id = a.app_id, device = a.device_type;
                 // The registry stores it (synced) and keeps it for look-ups, serialised
                 // with every other association write and every look-up.
                 ask_then<actors::done>(
                   *ctx.system, ctx.registry, actors::put_association{std::move(decoded).value()},
                   std::move(respond),
                   [keys, app_id, device, who = token_name(ctx, req)](
                     const actors::done&, const transport::responder& respond) {
                     log::write(log::level::info, "association.changed", "association stored",
                                {{"change", "stored"},
                                 {"app_id", app_id},
                                 {"device_type", device},
                                 {"keys", keys},
                                 {"token", who}});
                     respond(json_response(200, association_ok));
                   },
                   [](const caf::error& e) { return push_error(e, association_path); });
               });

  server.route(
    "POST", std::string(send_to_list_path),
    [ctx](transport::http_request&& req, transport::responder respond) {
      if (!ctx.ready->load())
        return respond(push_not_ready(send_to_list_path));
      auto decoded = core::decode_send_to_list(req.body);
      if (!decoded)
        return respond(bad_request(decoded.error(), send_to_list_path));
      // Checked before any look-up: without a gateway nothing can be sent.
      if (!ctx.routes->current()->push_gateway)
        return respond(gateway_missing());
      auto spec = std::make_shared<const core::send_to_list_spec>(std::move(decoded).value());
      if (!spec->by_association) {
        // Explicit tokens need no associations: no actor hop.
        return submit_push(*ctx.routes, *ctx.pipeline, ctx.to_cluster, *spec,
                           actors::resolve_tokens(*spec, nullptr), respond);
      }
      // Resolved in the registry, which owns the associations; the pipeline
      // accepts submissions from any thread.
      ask_then<actors::push_tokens>(
        *ctx.system, ctx.registry, actors::resolve_push_tokens{*spec}, std::move(respond),
        [routes = ctx.routes, pipeline = ctx.pipeline, to_cluster = ctx.to_cluster,
         spec](const actors::push_tokens& resolved, const transport::responder& respond) {
          submit_push(*routes, *pipeline, to_cluster, *spec, resolved.tokens, respond);
        },
        [](const caf::error& e) { return push_error(e, send_to_list_path); });
    });
}

} // namespace sy::api
