// Pull subscribers' event files (API.md §4): GET /v1/eventfiles and GET /
// DELETE /v1/eventfiles/{name}, authorised by the pull subscription's
// accessKey rather than by the API tokens.

#include <charconv>

#include "actors/registry.hpp"
#include "api/common.hpp"

namespace sy::api {

namespace {

using actors::registry_state;

transport::http_response unauthorized(std::string_view why) {
  auto r = error_response(401, std::string(why) +
                                 ": send Authorization: Bearer <accessKey> of a pull subscription");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

// Runs `op(subscriber, respond)` inside the registry for the pull
// subscription whose accessKey the request carries; 401 when none.
template <class Op>
void with_pull_subscriber(const api_context& ctx, const transport::http_request& req,
                          transport::responder respond, Op op) {
  if (!ctx.ready->load())
    return respond(not_ready_response());
  std::string key(bearer_token(req));
  if (key.empty())
    return respond(unauthorized("missing accessKey"));
  actors::run_in_registry(ctx.registry, [key = std::move(key), op = std::move(op),
                                         respond = std::move(respond)](registry_state& st) mutable {
    auto subscriber = st.pull_subscriber(key);
    if (!subscriber)
      return respond(unauthorized("unknown accessKey"));
    op(subscriber, std::move(respond));
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
          core::input_error{400, "numFiles", "must be a whole number from 1 (at most " + std::to_string(actors::max_listed_files) + " files are listed)"}));
    }
    with_pull_subscriber(ctx, req, std::move(respond), [n](const caf::actor& sub, transport::responder respond) {
      caf::anon_send(sub, actors::files_atom::value, n, reply_with(std::move(respond)));
    });
  });
  server.route("GET", base + "/{name}", [ctx](transport::http_request&& req, transport::responder respond) {
    with_pull_subscriber(ctx, req, std::move(respond), [name = req.params.at(0)](
                                                         const caf::actor& sub, transport::responder respond) {
      actors::reply_fn reply = [respond = std::move(respond)](int status, std::string body) {
        auto r = json_response(status, std::move(body));
        if (status == 200)
          r.content_type = "application/octet-stream";
        respond(std::move(r));
      };
      caf::anon_send(sub, actors::read_file_atom::value, name, std::move(reply));
    });
  });
  server.route("DELETE", base + "/{name}", [ctx](transport::http_request&& req, transport::responder respond) {
    with_pull_subscriber(ctx, req, std::move(respond), [name = req.params.at(0)](
                                                         const caf::actor& sub, transport::responder respond) {
      caf::anon_send(sub, actors::drop_file_atom::value, name, reply_with(std::move(respond)));
    });
  });
}

} // namespace sy::api
