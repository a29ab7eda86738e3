#pragma once
// Helpers every handler group shares: responses, errors, time.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "actors/messages.hpp"
#include "actors/registry.hpp"
#include "api/api.hpp"
#include "core/result.hpp"
#include "core/time_format.hpp"
#include "transport/http_server.hpp"

namespace sy::api {

/// Returns a JSON response.
transport::http_response json_response(int status, std::string body);

/// Returns {"error": message} with `status`.
transport::http_response error_response(int status, std::string_view message);

/// Returns the response for a codec's input_error: {"error", "field"?, "index"?}.
transport::http_response input_error_response(const core::input_error& e);

/// Seconds every 503 asks a client to wait in its Retry-After header.
inline constexpr std::string_view retry_after_s = "1";

/// Returns 503 {"error"} with Retry-After: 1, for a node still recovering.
transport::http_response not_ready_response();

/// Returns an error in the shape of the Masiv push contract (docs/api.md §5):
/// {"timestamp", "status", "error" (the reason phrase), "message", "path"};
/// a 503 carries Retry-After: 1.
transport::http_response push_error_response(int status, std::string_view message,
                                             std::string_view path);

/// Returns true for the paths of the Masiv push contract, whose errors take
/// that contract's shape.
bool is_push_path(std::string_view path);

/// Returns a reply_fn (status, JSON body) that answers through `respond`,
/// adding Retry-After: 1 to a 503.
actors::reply_fn reply_with(transport::responder respond);

using core::now_ms;

/// Returns the token of an `Authorization: Bearer <token>` header, or "".
std::string_view bearer_token(const transport::http_request& req);

// Each adds the routes of one handler group (one .cpp file each) to `server`.
/// Registers `method path` (whose first placeholder is an id) to run
/// `op(registry_state&, id, reply)` inside the registry actor, answering 503
/// until the node is ready.
template <class Op>
void id_route(transport::http_server& server, const api_context& ctx, const char* method,
              const std::string& path, Op op) {
  server.route(method, path, [ctx, op](transport::http_request&& req, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    auto id = req.params.at(0);
    actors::run_in_registry(ctx.registry, [op, id, reply = reply_with(std::move(respond))](
                                            actors::registry_state& st) {
      std::invoke(op, st, id, reply);
    });
  });
}

void install_ingest(transport::http_server& server, const api_context& ctx);
void install_subscriptions(transport::http_server& server, const api_context& ctx);
void install_dashboard(transport::http_server& server, const api_context& ctx);
void install_ops(transport::http_server& server, const api_context& ctx);
void install_acoustic(transport::http_server& server, const api_context& ctx);
void install_push(transport::http_server& server, const api_context& ctx);
void install_eventfiles(transport::http_server& server, const api_context& ctx);

} // namespace sy::api
