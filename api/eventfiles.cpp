// Pull subscribers' event files (docs/api.md §4): GET /v1/eventfiles and GET /
// DELETE /v1/eventfiles/{name}, authorised by the pull subscription's
// accessKey rather than by the API tokens.

#include <charconv>

#include "actors/subscriber.hpp"
#include "api/common.hpp"
#include "core/json_writer.hpp"
#include "log/log.hpp"

namespace sy::api {

namespace {

transport::http_response unauthorized(std::string_view why) {
  auto r = error_response(401, std::string(why) +
                                 ": send Authorization: Bearer <accessKey> of a pull subscription");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

// Finds the pull subscription whose accessKey the request carries (401 when
// none), asks its actor `request` and answers `render(reply)`. In a cluster
// its files are on its partition's primary (only there does the apply queue
// its events): another node passes the request on to it.
template <class Reply, class Request, class Render>
void ask_pull_subscriber(const api_context& ctx, const transport::http_request& req,
                         transport::responder respond, Request request, Render render) {
  if (!ctx.ready->load())
    return respond(not_ready_response());
  std::string key(bearer_token(req));
  if (key.empty()) {
    log_auth_failure(ctx, "event-file request without an accessKey refused", req.remote, req.method,
                     req.path);
    return respond(unauthorized("missing accessKey"));
  }
  caf::actor_system& sys = *ctx.system;
  // What a forward needs of the request (a GET or DELETE: no body).
  auto forwardable = ctx.cluster ? std::make_shared<transport::http_request>(req) : nullptr;
  ask_then<actors::pull_subscriber_found>(
    sys, ctx.registry, actors::find_pull_subscriber{std::move(key)}, std::move(respond),
    [ctx, &sys, request, render, forwardable](actors::pull_subscriber_found& found,
                                              const transport::responder& respond) {
      if (forwardable) {
        auto relay = respond;
        if (forward_to_primary(ctx, found.id, *forwardable, relay))
          return;
      }
      ask<Reply>(sys, found.subscriber, request, respond, render);
    },
    [ctx, remote = req.remote, method = req.method, path = req.path](const caf::error& e) {
      if (actors::to_domain_error(e).code == actors::errc::unauthorized) {
        log_auth_failure(ctx, "event-file request with an unknown accessKey refused", remote,
                         method, path);
        return unauthorized("unknown accessKey");
      }
      return error_response(e);
    });
}

} // namespace

void install_eventfiles(transport::http_server& server, const api_context& ctx) {
  const std::string base = "/v1/eventfiles";
  server.route("GET", base, [ctx](transport::http_request&& req, transport::responder respond) {
    uint64_t n = actors::max_listed_files;
    if (req.query.find("numFiles=") != std::string::npos) {
      auto given = req.query_param("numFiles");
      auto [end, ec] = std::from_chars(given.data(), given.data() + given.size(), n);
      if (ec != std::errc() || end != given.data() + given.size() || n == 0)
        return respond(input_error_response(
          core::input_error{400, "numFiles",
                            "must be a whole number from 1 (at most " +
                              std::to_string(actors::max_listed_files) + " files are listed)"}));
    }
    ask_pull_subscriber<actors::event_file_names>(ctx, req, std::move(respond),
                                                  actors::list_event_files{n},
                                                  [](const actors::event_file_names& files) {
                                                    core::json_writer w;
                                                    w.value(files.names);
                                                    return json_response(200, std::move(w).str());
                                                  });
  });
  server.route("GET", base + "/{name}",
               [ctx](transport::http_request&& req, transport::responder respond) {
                 ask_pull_subscriber<actors::event_file_body>(
                   ctx, req, std::move(respond), actors::read_event_file{req.params.at(0)},
                   [](actors::event_file_body& file) {
                     auto r = json_response(200, std::move(file.ndjson));
                     r.content_type = "application/octet-stream";
                     return r;
                   });
               });
  server.route(
    "DELETE", base + "/{name}", [ctx](transport::http_request&& req, transport::responder respond) {
      ask_pull_subscriber<actors::done>(ctx, req, std::move(respond),
                                        actors::delete_event_file{req.params.at(0)},
                                        [](const actors::done&) { return json_response(204, ""); });
    });
}

} // namespace sy::api
