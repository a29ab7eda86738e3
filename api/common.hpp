#pragma once
// Helpers every handler group shares: responses, errors, time.

#include <cstdint>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/messages.hpp"
#include "actors/routes.hpp"
#include "api/api.hpp"
#include "api/led_stats.hpp"
#include "core/result.hpp"
#include "core/time_format.hpp"
#include "transport/http_server.hpp"

namespace sy::api {

/// Returns a JSON response.
transport::http_response json_response(int status, std::string body);

/// Returns {"error": message} with `status`; a 503 also gets Retry-After.
transport::http_response error_response(int status, std::string_view message);

/// Returns the response for a codec's input_error: {"error", "field"?, "index"?}.
transport::http_response input_error_response(const core::input_error& e);

/// Seconds every 503 asks a client to wait in its Retry-After header.
inline constexpr std::string_view retry_after_s = "1";

/// What a request gets before the node is ready: the journal is being
/// recovered or, in a cluster, the first snapshot of etcd's subscriptions is
/// not applied yet.
inline constexpr const char* not_ready_message =
  "switchyard is starting (recovering its journal; in a cluster, also reading the subscriptions "
  "from etcd); retry shortly";

/// Returns 503 {"error": not_ready_message} with Retry-After: 1, for a node
/// still starting.
transport::http_response not_ready_response();

/// Returns an error in the shape of the Masiv push contract (docs/api.md §5):
/// {"timestamp", "status", "error" (the reason phrase), "message", "path"};
/// a 503 carries Retry-After: 1.
transport::http_response push_error_response(int status, std::string_view message,
                                             std::string_view path);

/// Returns true for the paths of the Masiv push contract, whose errors take
/// that contract's shape.
bool is_push_path(std::string_view path);

using core::now_ms;

/// Returns the token of an `Authorization: Bearer <token>` header, or "".
std::string_view bearer_token(const transport::http_request& req);

/// Returns the HTTP answer to an actor's error: not_found 404, conflict 409,
/// invalid 422 (naming the field), unauthorized 401, unavailable 503 with
/// Retry-After. Errors that are not switchyard's own (a timed-out request)
/// are unavailable.
transport::http_response error_response(const caf::error& e);

/// How long an API call waits for an actor's answer before it answers 503.
inline constexpr auto actor_timeout = std::chrono::seconds(30);

/// Answers an actor's error with error_response.
struct answer_error {
  transport::http_response operator()(const caf::error& e) const { return error_response(e); }
};

/// Sends `request` to `target` from a short-lived actor (an I/O thread must
/// not block on an actor) and calls `then(reply, respond)` with its answer,
/// or answers `on_error(error)`. `then` may answer later (e.g. after a group
/// commit).
template <class Reply, class Handle, class Request, class Then, class OnError = answer_error>
void ask_then(caf::actor_system& sys, Handle target, Request request, transport::responder respond,
              Then then, OnError on_error = {}) {
  // Everything goes in as spawn arguments: CAF 0.17 dereferences a null
  // argument tuple when an actor is spawned with none (UBSan reports it).
  sys.spawn(
    [](caf::event_based_actor* self, Handle target, Request request, transport::responder respond,
       Then then, OnError on_error) {
      self->request(target, actor_timeout, std::move(request))
        .then([respond, then](Reply& reply) { then(reply, respond); },
              [respond, on_error](caf::error& err) { respond(on_error(err)); });
    },
    std::move(target), std::move(request), std::move(respond), std::move(then),
    std::move(on_error));
}

/// As ask_then, answering `render(reply)` (an http_response).
template <class Reply, class Handle, class Request, class Render>
void ask(caf::actor_system& sys, Handle target, Request request, transport::responder respond,
         Render render) {
  ask_then<Reply>(
    sys, std::move(target), std::move(request), std::move(respond),
    [render](Reply& reply, const transport::responder& respond) { respond(render(reply)); });
}

/// Writes the `subscription.changed` log line: `change` ("created",
/// "updated", …) to subscription `id` of `kind` by the token named `token`;
/// `detail` lists what changed (field names, never values).
void log_change(std::string_view change, std::string_view kind, std::string_view id,
                std::string_view token, std::string_view detail = {});

/// Writes the `auth.failed` log line for a request refused for its
/// credentials (`why`: the sentence): the remote address, never what it
/// sent; at most one line per address per ctx.auth_failures' interval,
/// each saying how many were left out before it (`suppressed`).
void log_auth_failure(const api_context& ctx, std::string_view why, const std::string& remote,
                      std::string_view method, std::string_view path);

/// Returns subscription `id`'s partition and primary when this node is in a
/// cluster (`cluster` set), else nothing.
std::optional<actors::placement_view> placement_of(const cluster::membership* cluster,
                                                   const std::string& id);

/// Returns the JSON of one subscription as the API shows it (in a cluster
/// with its partition and primary).
std::string render_subscription(const actors::subscription_view& v,
                                const cluster::membership* cluster);

/// Registers `method path`, whose first placeholder is a subscription id,
/// to ask the registry `make(id)` and answer 200 with the subscription.
template <class Make>
void subscription_route(transport::http_server& server, const api_context& ctx, const char* method,
                        const std::string& path, Make make) {
  const bool read = std::string_view(method) == "GET";
  server.route(
    method, path, [ctx, make, read](transport::http_request&& req, transport::responder respond) {
      if (!ctx.ready->load())
        return respond(not_ready_response());
      const auto id = req.params.at(0);
      if (!read)
        return ask<actors::subscription_view>(
          *ctx.system, ctx.registry, make(id), std::move(respond),
          [cluster = ctx.cluster](const actors::subscription_view& v) {
            return json_response(200, render_subscription(v, cluster));
          });
      // A read answers what this node knows (its 404 is a 404 even while
      // the primary has the subscription: a change sent next to this node
      // must find it), with the stats of the node that delivers: the
      // partition's primary, when it can answer.
      ask_then<actors::subscription_view>(
        *ctx.system, ctx.registry, make(id), std::move(respond),
        [ctx, id, req](const actors::subscription_view& v, const transport::responder& respond) {
          auto here = json_response(200, render_subscription(v, ctx.cluster));
          auto forwarded = req;
          auto answer = respond;
          if (!forward_to_primary(ctx, id, forwarded, answer, [answer, here] { answer(here); }))
            respond(std::move(here));
        });
    });
}

/// Returns true when `r`'s body is shorter than its Content-Length says:
/// the HTTP client cut an answer over its max_response_bytes (a forward
/// never passes such a part on as if it were the whole).
bool answer_was_cut(const transport::client_response& r);

/// In cluster mode, when another node leads the partition of subscription
/// `id`, passes `req` on to it (api/primary_forward.cpp) and answers with
/// its answer, or 503 + Retry-After when the partition has no live primary;
/// returns true then. Returns false, and the caller serves the request
/// here, on a single node, on the primary, and for a request another node
/// forwarded already. For what lives on the primary only: queues, attempts,
/// dead letters, pull files. With `otherwise` (a read this node can also
/// answer, less fresh), no live primary, no answer, a 404 (the primary has
/// not seen the subscription yet) or a 5xx calls it instead of answering.
bool forward_to_primary(const api_context& ctx, const std::string& id, transport::http_request& req,
                        transport::responder& respond, std::function<void()> otherwise = {});

/// Returns true when another node passed `req` on (it is served where it is).
bool is_forwarded(const transport::http_request& req);

/// Returns true when `req` is another node's gather_peer_stats asking for a
/// list: it wants the subscriptions this node leads only.
bool asks_led_only(const transport::http_request& req);

/// Returns true when this node leads subscription `id`'s partition (always
/// on a single node).
bool led_here(const api_context& ctx, std::string_view id);

/// Cluster mode: asks every other live node that leads the partition of one
/// of `ids` (as this node sees it) for `target`, a GET answered with a
/// subscription or an array of them, with the caller's `authorization`, and
/// gives `done` the stats of the subscriptions each answer says its node
/// leads. `done` runs once, after every answer or 2 s, on any thread; at
/// once with nothing on a single node or when this node leads them all.
/// Lists and the console's stream show a subscription's delivery stats this
/// way, from the node that delivers it.
void gather_peer_stats(const api_context& ctx, const std::vector<std::string_view>& ids,
                       const std::string& target, std::string_view authorization,
                       std::function<void(peer_stats)> done);

// Each adds the routes of one handler group (one .cpp file each) to `server`.
void install_ingest(transport::http_server& server, const api_context& ctx);
void install_subscriptions(transport::http_server& server, const api_context& ctx);
void install_dashboard(transport::http_server& server, const api_context& ctx);
void install_ops(transport::http_server& server, const api_context& ctx);
void install_acoustic(transport::http_server& server, const api_context& ctx);
void install_push(transport::http_server& server, const api_context& ctx);
void install_eventfiles(transport::http_server& server, const api_context& ctx);
void install_openapi(transport::http_server& server, const api_context& ctx);
void install_admin(transport::http_server& server, const api_context& ctx);
void install_console(transport::http_server& server, const api_context& ctx);
void install_cluster(transport::http_server& server, const api_context& ctx);

/// Answers why the value of query parameter `name` is bad, or nullopt.
using query_reader =
  std::function<std::optional<core::input_error>(const std::string& name, const std::string& value)>;

/// Reads `query` one parameter at a time, percent-decoded, handing each to
/// `read`. A parameter not in `known`, or one given twice, is refused (400)
/// naming it, as body members are.
std::optional<core::input_error> read_query(std::string_view query,
                                            std::initializer_list<std::string_view> known,
                                            const query_reader& read);

/// Returns true for /console and the files under /console/, which need no token.
bool is_console_path(std::string_view path);
void install_live(transport::http_server& server, const api_context& ctx);

} // namespace sy::api
