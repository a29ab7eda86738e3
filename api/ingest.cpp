// POST /v1/events: the native ingest path (docs/api.md §1), and the hand-over
// to the pipeline that POST /v1/event shares.

#include "api/ingest.hpp"

#include "actors/ingest.hpp"
#include "api/cluster_ingest.hpp"
#include "api/common.hpp"
#include "core/native_codec.hpp"

namespace sy::api {

namespace {

// Copies the parsed views into journal records and matches each event
// against the current routing table, on the I/O thread that read it.
actors::ingest_submission route_batch(const core::event_batch& batch, actors::route_ptr routes,
                                      int64_t received_ms) {
  actors::ingest_submission s;
  std::size_t bytes = 0;
  for (const auto& v : batch.events)
    bytes += 64 + actors::event_id_size + v.type.size() + v.country.size() + v.client_id.size() +
             v.data.size();
  s.reserve(batch.events.size(), bytes);
  std::vector<uint32_t> matched;
  for (const auto& v : batch.events) {
    auto e = std::make_shared<storage::stored_event>();
    e->ingest_ms = received_ms;
    e->ev.type = v.type;
    e->ev.country = v.country;
    e->ev.client_id = v.client_id;
    e->ev.data = v.data;
    e->ev.timestamp_ms = v.timestamp_ms;
    routes->index.match(v.type, v.country, matched);
    s.add(std::move(e), matched);
  }
  s.routes = std::move(routes);
  return s;
}

// The 202 body, {"ids":["evt_…",…]}, written into one buffer of its final size.
std::string ids_body(const std::vector<uint64_t>& seqs) {
  constexpr std::string_view head = "{\"ids\":[", tail = "]}";
  const std::size_t quoted = actors::event_id_size + 2;
  std::string body(head.size() + seqs.size() * (quoted + 1) - (seqs.empty() ? 0 : 1) + tail.size(),
                   '"');
  char* p = body.data();
  p = std::copy(head.begin(), head.end(), p);
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    if (i > 0)
      *p++ = ',';
    ++p; // the opening quote is already there
    actors::write_event_id(p, seqs[i]);
    p += actors::event_id_size + 1;
  }
  std::copy(tail.begin(), tail.end(), p);
  return body;
}

void answer(const transport::responder& respond, actors::ingest_outcome out) {
  if (out.status != 202)
    return respond(error_response(out.status, out.error));
  respond(json_response(202, ids_body(out.seqs)));
}

} // namespace

void submit_batch(const api_context& ctx, const core::event_batch& batch, int64_t received_ms,
                  transport::responder respond) {
  auto s = route_batch(batch, ctx.routes->current(), received_ms);
  s.done = [respond = std::move(respond)](actors::ingest_outcome out) {
    answer(respond, std::move(out));
  };
  if (ctx.to_cluster)
    return submit_to_cluster(*ctx.to_cluster, std::move(s));
  ctx.pipeline->submit(std::move(s));
}

void install_ingest(transport::http_server& server, const api_context& ctx) {
  server.route("POST", "/v1/events",
               [ctx](transport::http_request&& req, transport::responder respond) {
                 if (!ctx.ready->load())
                   return respond(not_ready_response());
                 const int64_t now = now_ms();
                 auto batch = core::decode_native_events(req.body, now, ctx.max_batch_events);
                 if (!batch)
                   return respond(input_error_response(batch.error()));
                 submit_batch(ctx, *batch, now, std::move(respond));
               });
}

} // namespace sy::api
