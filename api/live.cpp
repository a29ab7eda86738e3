// What the web console watches and does beyond the subscription API
// (docs/api.md "Console and live observation"): GET /v1/stream (Server-Sent
// Events), GET /v1/subscriptions/{id}/attempts and POST …/rotate-keys.

#include <algorithm>
#include <charconv>

#include "actors/live_feed.hpp"
#include "api/common.hpp"
#include "core/admin_codec.hpp"
#include "core/json_writer.hpp"
#include "core/url.hpp"

namespace sy::api {

namespace {

using namespace std::chrono_literals;

/// How often a stream gets its `stats` event.
constexpr auto stats_period = 1s;
/// Stats periods between two `: keep-alive` comments (15 s).
constexpr int keep_alive_ticks = 15;
/// In a cluster, about how many subscriptions' stats a stream asks the
/// other nodes for per tick: a longer list is asked for every few ticks
/// (its stats from the others are that much older), so that an open
/// console costs the nodes a bounded load.
constexpr std::size_t gathered_per_tick = 1000;

/// Default and largest `limit` of GET …/attempts.
constexpr uint64_t default_attempts = 20;

using stream_ptr = std::shared_ptr<transport::stream_sink>;

// One SSE frame: the event's name and its data on one line.
std::string sse_frame(std::string_view name, std::string_view json) {
  std::string out;
  out.reserve(name.size() + json.size() + 16);
  out.append("event: ").append(name).append("\ndata: ").append(json).append("\n\n");
  return out;
}

// Holds one of console.max_streams; given back when the last copy goes
// (the stream ended, or the request failed before it started).
class stream_slot {
public:
  explicit stream_slot(std::shared_ptr<std::atomic<int64_t>> open) : open_(std::move(open)) {}
  stream_slot(const stream_slot&) = delete;
  stream_slot& operator=(const stream_slot&) = delete;
  ~stream_slot() { open_->fetch_sub(1, std::memory_order_relaxed); }

private:
  std::shared_ptr<std::atomic<int64_t>> open_;
};

// Renders the stats event: every native subscription, or only `only`; one
// another node leads with that node's stats when it gave them (`theirs`).
std::string stats_json(const actors::subscription_list& list, const std::string& only,
                       const peer_stats& theirs) {
  core::json_writer w;
  w.begin_object().key("subscriptions").begin_array();
  for (const auto& v : list.items) {
    if (!only.empty() && v.sub.id != only)
      continue;
    w.begin_object()
      .key("id")
      .value(v.sub.id)
      .key("state")
      .value(core::to_string(v.sub.state))
      .key("stats");
    if (auto led = theirs.find(v.sub.id); led != theirs.end())
      w.raw(led->second);
    else
      actors::write_stats(w, v.stats);
    w.end_object();
  }
  w.end_array().end_object();
  return std::move(w).str();
}

using tick_atom = caf::atom_constant<caf::atom("tick")>;

// One open stream's clock: a stats event every second (the registry asked
// once per tick, and in a cluster the nodes that lead the subscriptions
// shown: their stats are the delivering node's), a keep-alive comment every
// 15 s. It quits when the stream ends (the sink's close sends it an exit)
// or the registry is gone. Attempts and state changes do not pass through
// it: the live feed writes them to the sink directly.
caf::behavior stream_clock(caf::event_based_actor* self, api_context ctx, stream_ptr sink,
                           std::string only, std::string authorization) {
  self->send(self, tick_atom::value, uint64_t{0});
  // What the leaders are asked: the list, or the one subscription.
  std::string target = "/v1/subscriptions";
  if (!only.empty())
    core::percent_encode_into(target.append("/"), only);
  // The other nodes' stats as last gathered (ticks run one after another).
  auto theirs = std::make_shared<peer_stats>();
  return {
    [=](tick_atom, uint64_t n) {
      if (sink->closed())
        return self->quit();
      if (n > 0 && n % keep_alive_ticks == 0)
        sink->write(": keep-alive\n\n");
      self->request(ctx.registry, actor_timeout, actors::list_subscriptions{})
        .then(
          [=](actors::subscription_list& list) {
            auto shown = std::make_shared<actors::subscription_list>(std::move(list));
            const std::size_t count = only.empty() ? shown->items.size() : 1;
            if (n % std::max<std::size_t>(1, count / gathered_per_tick) != 0) {
              sink->write(sse_frame("stats", stats_json(*shown, only, *theirs)));
              self->delayed_send(self, stats_period, tick_atom::value, n + 1);
              return;
            }
            std::vector<std::string_view> ids;
            for (const auto& v : shown->items)
              if (only.empty() || v.sub.id == only)
                ids.push_back(v.sub.id);
            gather_peer_stats(ctx, ids, target, authorization,
                              [=, me = caf::actor_cast<caf::actor>(self)](peer_stats fresh) {
                                *theirs = std::move(fresh);
                                sink->write(sse_frame("stats", stats_json(*shown, only, *theirs)));
                                caf::delayed_anon_send(me, stats_period, tick_atom::value, n + 1);
                              });
          },
          [=](caf::error&) {
            sink->close();
            self->quit();
          });
    },
  };
}

// Reads the query of GET /v1/stream: `subscription` only.
core::result<std::string> parse_stream_query(std::string_view query) {
  std::string only;
  auto bad = read_query(
    query, {"subscription"},
    [&only](const std::string&, const std::string& value) -> std::optional<core::input_error> {
      if (value.empty())
        return core::bad_request("subscription", "must be a subscription id");
      only = value;
      return std::nullopt;
    });
  if (bad)
    return std::move(*bad);
  return only;
}

// Reads the query of GET …/attempts: `limit` only, 1 to max_kept_attempts.
core::result<uint64_t> parse_attempts_query(std::string_view query) {
  uint64_t limit = default_attempts;
  auto bad = read_query(
    query, {"limit"},
    [&limit](const std::string&, const std::string& value) -> std::optional<core::input_error> {
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (ec != std::errc() || end != value.data() + value.size() || limit == 0 ||
          limit > actors::max_kept_attempts)
        return core::bad_request("limit", "must be a whole number from 1 to " +
                                            std::to_string(actors::max_kept_attempts));
      return std::nullopt;
    });
  if (bad)
    return std::move(*bad);
  return limit;
}

std::string render_attempts(const actors::attempt_list& list) {
  core::json_writer w;
  w.begin_object().key("attempts").begin_array();
  for (const auto& a : list.items) {
    w.begin_object();
    actors::write_attempt_members(w, a);
    w.key("response_excerpt").value(a.response_excerpt).end_object();
  }
  w.end_array().end_object();
  return std::move(w).str();
}

// Answers the stream: headers now, then frames until the client goes, the
// server stops or the registry is gone.
transport::http_response open_stream(const api_context& ctx, std::shared_ptr<stream_slot> slot,
                                     std::string only, std::string authorization) {
  transport::http_response r;
  r.status = 200;
  r.content_type = "text/event-stream; charset=utf-8";
  r.headers = {{"Cache-Control", "no-store"}, {"X-Accel-Buffering", "no"}};
  r.stream = [ctx, slot = std::move(slot), only = std::move(only),
              authorization = std::move(authorization)](stream_ptr sink) mutable {
    auto* feed = ctx.feed;
    uint64_t listener = 0;
    if (feed)
      listener = feed->listen([sink, only](const actors::live_event& e) {
        if (only.empty() || e.subscription == only)
          sink->write(sse_frame(e.name, e.json));
      });
    auto clock = ctx.system->spawn(stream_clock, ctx, sink, only, std::move(authorization));
    sink->on_close([feed, listener, clock, slot = std::move(slot)] {
      if (feed)
        feed->forget(listener);
      caf::anon_send_exit(clock, caf::exit_reason::user_shutdown);
    });
  };
  return r;
}

} // namespace

void install_live(transport::http_server& server, const api_context& ctx) {
  server.route(
    "GET", "/v1/stream", [ctx](transport::http_request&& req, transport::responder respond) {
      if (!ctx.ready->load())
        return respond(not_ready_response());
      auto only = parse_stream_query(req.query);
      if (!only)
        return respond(input_error_response(only.error()));
      if (ctx.open_streams->fetch_add(1, std::memory_order_relaxed) >= ctx.max_streams) {
        ctx.open_streams->fetch_sub(1, std::memory_order_relaxed);
        return respond(error_response(503, "too many open streams (console.max_streams = " +
                                             std::to_string(ctx.max_streams) + "); retry later"));
      }
      auto slot = std::make_shared<stream_slot>(ctx.open_streams);
      // The leaders of the subscriptions shown are asked with the caller's
      // credentials.
      auto authorization = std::string(req.header("authorization"));
      if (only->empty())
        return respond(open_stream(ctx, std::move(slot), {}, std::move(authorization)));
      // A stream of one subscription that does not exist is a 404, not an
      // empty stream.
      ask<actors::subscription_view>(
        *ctx.system, ctx.registry,
        actors::get_subscription{actors::subscription_kind::native, *only}, std::move(respond),
        [ctx, slot, id = *only, authorization](const actors::subscription_view&) {
          return open_stream(ctx, slot, id, authorization);
        });
    });

  server.route("GET", "/v1/subscriptions/{id}/attempts",
               [ctx](transport::http_request&& req, transport::responder respond) {
                 if (!ctx.ready->load())
                   return respond(not_ready_response());
                 if (forward_to_primary(ctx, req.params.at(0), req, respond))
                   return;
                 auto limit = parse_attempts_query(req.query);
                 if (!limit)
                   return respond(input_error_response(limit.error()));
                 ask<actors::attempt_list>(
                   *ctx.system, ctx.registry, actors::get_attempts{req.params.at(0), *limit},
                   std::move(respond), [](const actors::attempt_list& list) {
                     return json_response(200, render_attempts(list));
                   });
               });

  server.route("POST", "/v1/subscriptions/{id}/rotate-keys",
               [ctx](transport::http_request&& req, transport::responder respond) {
                 if (!ctx.ready->load())
                   return respond(not_ready_response());
                 auto grace = core::decode_rotate_keys_request(req.body);
                 if (!grace)
                   return respond(input_error_response(grace.error()));
                 ask<actors::subscription_view>(
                   *ctx.system, ctx.registry, actors::rotate_keys{req.params.at(0), *grace},
                   std::move(respond),
                   [who = token_name(ctx, req), g = *grace,
                    cluster = ctx.cluster](const actors::subscription_view& v) {
                     log_change("keys_rotated", "native", v.sub.id, who,
                                "grace_seconds " + std::to_string(g));
                     return json_response(200, render_subscription(v, cluster));
                   });
               });
}

} // namespace sy::api
