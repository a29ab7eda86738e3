// /v1/subscriptions: the native subscription API (docs/api.md §2).

#include <algorithm>
#include <charconv>
#include <optional>

#include "actors/ingest.hpp"
#include "api/common.hpp"
#include "core/json_writer.hpp"
#include "core/subscription_codec.hpp"
#include "core/url.hpp"
#include "core/type_pattern.hpp"

namespace sy::api {

namespace {

using actors::subscription_kind;

/// Most subscriptions one page of GET /v1/subscriptions may hold.
constexpr std::size_t max_list_limit = 1000;

// A page of a listing in id order (docs/api.md §2): at most `limit` items
// (all of them without it) whose id is after `after`.
struct page_query {
  std::optional<std::size_t> limit;
  std::string after;
};

// The query of GET /v1/subscriptions: filters, and a page when `limit` is given.
struct list_query {
  std::optional<core::subscription_state> state;
  std::optional<std::string> service;
  std::optional<std::string> type;
  page_query page;
};

std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// Reads `limit` (1 to max_list_limit) and `after` into `page`; other names
// are not its business (nullopt).
std::optional<core::input_error> read_page_param(const std::string& name, const std::string& value,
                                                 page_query& page) {
  if (name == "limit") {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n == 0 || n > max_list_limit)
      return core::bad_request("limit", "must be a whole number from 1 to " +
                                          std::to_string(max_list_limit));
    page.limit = n;
  } else if (name == "after") {
    page.after = value;
  }
  return std::nullopt;
}

// Returns the Link header of the page after `last_id`: `target` is the
// listing's path and its other parameters ("/v1/x?" or "/v1/x?a=b&").
std::string next_link(std::string target, std::size_t limit, const std::string& last_id) {
  target.append("limit=").append(std::to_string(limit));
  target.append("&after=").append(percent_encode(last_id));
  return "<" + target + ">; rel=\"next\"";
}

// Reads the query of GET /v1/subscriptions.
core::result<list_query> parse_list_query(std::string_view query) {
  list_query q;
  auto bad = read_query(
    query, {"state", "service", "type", "limit", "after"},
    [&q](const std::string& name, const std::string& value) -> std::optional<core::input_error> {
      if (name == "state") {
        q.state = core::parse_state(value);
        if (!q.state)
          return core::bad_request("state", "must be pending_verification, active or paused");
      } else if (name == "service") {
        if (value.empty())
          return core::bad_request("service", "must not be empty");
        q.service = value;
      } else if (name == "type") {
        if (auto why = core::validate_event_type(value))
          return core::bad_request("type", "must be an event type, which " + *why);
        q.type = value;
      }
      return read_page_param(name, value, q.page);
    });
  if (bad)
    return std::move(*bad);
  return q;
}

bool list_matches(const list_query& q, const actors::subscription_view& v) {
  if (q.state && v.sub.state != *q.state)
    return false;
  if (q.service && v.sub.service != *q.service)
    return false;
  if (q.type && std::none_of(v.sub.types.begin(), v.sub.types.end(), [&](const std::string& p) {
        return core::pattern_matches(p, *q.type);
      }))
    return false;
  return q.page.after.empty() || v.sub.id > q.page.after;
}

// Returns the link to the page after `last_id`, keeping the other parameters.
std::string next_link(const list_query& q, const std::string& last_id) {
  std::string target = "/v1/subscriptions?";
  if (q.state)
    target.append("state=").append(core::to_string(*q.state)).append("&");
  if (q.service)
    target.append("service=").append(percent_encode(*q.service)).append("&");
  if (q.type)
    target.append("type=").append(percent_encode(*q.type)).append("&");
  return next_link(std::move(target), *q.page.limit, last_id);
}

// One page of the list: the subscriptions it shows, in id order, and
// whether more remain after them.
struct list_page {
  std::vector<actors::subscription_view> items;
  bool more = false;
};

// Takes the list's page out of `list`: in id order (the registry's),
// filtered, at most `limit` when it is given.
list_page take_page(const list_query& q, actors::subscription_list& list) {
  list_page page;
  for (auto& v : list.items) {
    if (!list_matches(q, v))
      continue;
    if (q.page.limit && page.items.size() == *q.page.limit) {
      page.more = true;
      break;
    }
    page.items.push_back(std::move(v));
  }
  return page;
}

// Answers the page, with a Link to the next page while more remain. A
// subscription another node leads shows that node's stats when it gave
// them (`theirs`), this node's otherwise.
transport::http_response render_list(const list_query& q, const list_page& page,
                                     const cluster::membership* cluster, const peer_stats& theirs) {
  core::json_writer w;
  w.begin_array();
  for (const auto& v : page.items) {
    auto where = placement_of(cluster, v.sub.id);
    auto led = theirs.find(v.sub.id);
    actors::write_subscription(w, v.sub, &v.stats, false, where ? &*where : nullptr,
                               led == theirs.end() ? std::string_view() : led->second);
  }
  w.end_array();
  auto r = json_response(200, std::move(w).str());
  if (page.more && !page.items.empty())
    r.headers.emplace_back("Link", next_link(q, page.items.back().sub.id));
  return r;
}

transport::http_response render_count(const char* name, uint64_t n) {
  core::json_writer w;
  w.begin_object().key(name).value(n).end_object();
  return json_response(200, std::move(w).str());
}

// Reads the query of GET /v1/subscriptions/{id}/dead-letters into the
// request for subscription `id`: `limit` and `after` (an event id) as the
// subscription list takes them; without `limit`, the most one page holds.
core::result<actors::list_dead_letters> parse_dead_letter_query(std::string_view query,
                                                                std::string id) {
  page_query page;
  auto bad = read_query(query, {"limit", "after"},
                        [&page](const std::string& name, const std::string& value) {
                          return read_page_param(name, value, page);
                        });
  if (bad)
    return std::move(*bad);
  actors::list_dead_letters q{std::move(id), page.limit.value_or(max_list_limit), 0};
  if (!page.after.empty()) {
    auto seq = actors::seq_of_event_id(page.after);
    if (!seq)
      return core::bad_request("after", "must be an event id such as evt_0000000000000007");
    q.after_seq = *seq;
  }
  return q;
}

// Answers a page of dead letters, with a Link to the next page while more remain.
transport::http_response render_dead_letters(const actors::list_dead_letters& q,
                                             const actors::dead_letter_list& list) {
  core::json_writer w;
  w.begin_array();
  for (const auto& d : list.items) {
    w.begin_object().key("id").value(d.id).key("type").value(d.type);
    if (!d.country.empty())
      w.key("country").value(d.country);
    w.key("data")
      .raw(d.data)
      .key("timestamp")
      .value(d.timestamp_ms)
      .key("reason")
      .value(d.reason)
      .key("attempts")
      .value(d.attempts)
      .key("last_error");
    if (d.last_error.empty())
      w.null();
    else
      w.value(d.last_error);
    // Records written before it was kept have no time.
    w.key("dead_lettered_at");
    if (d.dead_ms > 0)
      w.value(core::format_iso8601_ms(d.dead_ms));
    else
      w.null();
    w.end_object();
  }
  w.end_array();
  auto r = json_response(200, std::move(w).str());
  if (list.more && !list.items.empty())
    r.headers.emplace_back("Link",
                           next_link("/v1/subscriptions/" + percent_encode(q.id) + "/dead-letters?",
                                     q.limit, list.items.back().id));
  return r;
}

// Registers `method path` ({id} first) to ask the registry `make(id)` and
// answer `render(reply)`; a successful `change` (unless null) is logged with
// the token's name. With `on_primary` (what changes a queue or the dead
// letters) a cluster node passes it on to the partition's primary.
constexpr bool on_the_primary = true;

template <class Reply, class Make, class Render>
void id_route(transport::http_server& server, const api_context& ctx, const char* method,
              const std::string& path, Make make, Render render, const char* change = nullptr,
              bool on_primary = false) {
  server.route(method, path,
               [ctx, make, render, change, on_primary](transport::http_request&& req,
                                                       transport::responder respond) {
                 if (!ctx.ready->load())
                   return respond(not_ready_response());
                 if (on_primary && forward_to_primary(ctx, req.params.at(0), req, respond))
                   return;
                 if (!change)
                   return ask<Reply>(*ctx.system, ctx.registry, make(req.params.at(0)),
                                     std::move(respond), render);
                 ask<Reply>(*ctx.system, ctx.registry, make(req.params.at(0)), std::move(respond),
                            [render, change, id = req.params.at(0),
                             who = token_name(ctx, req)](const Reply& r) {
                              log_change(change, "native", id, who);
                              return render(r);
                            });
               });
}

// Returns the names of the fields a create or PATCH body set (for the log:
// names only, values may be secrets).
std::string fields_of(const core::subscription_spec& s) {
  std::string out;
  auto add = [&out](bool set, const char* name) {
    if (set)
      out += (out.empty() ? "" : ",") + std::string(name);
  };
  add(s.service.has_value(), "service");
  add(s.url.has_value(), "url");
  add(s.types.has_value(), "types");
  add(s.country.has_value(), "country");
  add(s.delivery.has_value(), "delivery");
  add(s.verification_required.has_value(), "verification");
  add(s.max_in_flight.has_value(), "maxInFlight");
  add(s.rate_limit.has_value(), "rateLimit");
  add(s.auth.has_value(), "auth");
  return out;
}

// Answers 200 with the subscription (in a cluster with its placement).
auto render_view(const api_context& ctx) {
  return [cluster = ctx.cluster](const actors::subscription_view& v) {
    return json_response(200, render_subscription(v, cluster));
  };
}

} // namespace

void install_subscriptions(transport::http_server& server, const api_context& ctx) {
  const std::string base = "/v1/subscriptions";
  server.route("POST", base, [ctx](transport::http_request&& req, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    auto spec = core::decode_subscription_create(req.body);
    if (!spec)
      return respond(input_error_response(spec.error()));
    ask<actors::subscription_view>(
      *ctx.system, ctx.registry, actors::create_subscription{std::move(spec).value()},
      std::move(respond),
      [who = token_name(ctx, req), cluster = ctx.cluster](const actors::subscription_view& v) {
        // The decoder fills defaults, so the fields
        // given say little; where it delivers does.
        auto url = core::parse_url(v.sub.url);
        log_change("created", "native", v.sub.id, who, url ? "host " + url->host : "pull");
        return json_response(201, render_subscription(v, cluster));
      });
  });
  server.route("GET", base, [ctx](transport::http_request&& req, transport::responder respond) {
    if (!ctx.ready->load())
      return respond(not_ready_response());
    auto query = parse_list_query(req.query);
    if (!query)
      return respond(input_error_response(query.error()));
    ask_then<actors::subscription_list>(
      *ctx.system, ctx.registry, actors::list_subscriptions{subscription_kind::native},
      std::move(respond),
      [ctx, q = std::move(query).value(), target = req.target,
       auth = std::string(req.header("authorization")), forwarded = is_forwarded(req),
       led_only = asks_led_only(req)](actors::subscription_list& list,
                                      const transport::responder& respond) {
        auto page = std::make_shared<list_page>(take_page(q, list));
        if (led_only)
          std::erase_if(page->items, [&](const actors::subscription_view& v) {
            return !led_here(ctx, v.sub.id);
          });
        if (forwarded)
          return respond(render_list(q, *page, ctx.cluster, {}));
        std::vector<std::string_view> ids;
        ids.reserve(page->items.size());
        for (const auto& v : page->items)
          ids.push_back(v.sub.id);
        gather_peer_stats(ctx, ids, target, auth,
                          [q, page, cluster = ctx.cluster, respond](peer_stats theirs) {
                            respond(render_list(q, *page, cluster, theirs));
                          });
      });
  });
  subscription_route(server, ctx, "GET", base + "/{id}", [](const std::string& id) {
    return actors::get_subscription{subscription_kind::native, id};
  });
  server.route(
    "PATCH", base + "/{id}", [ctx](transport::http_request&& req, transport::responder respond) {
      if (!ctx.ready->load())
        return respond(not_ready_response());
      auto spec = core::decode_subscription_patch(req.body);
      if (!spec)
        return respond(input_error_response(spec.error()));
      auto detail = fields_of(spec.value());
      ask<actors::subscription_view>(
        *ctx.system, ctx.registry,
        actors::patch_subscription{req.params.at(0), std::move(spec).value()}, std::move(respond),
        [detail, who = token_name(ctx, req),
         cluster = ctx.cluster](const actors::subscription_view& v) {
          log_change("updated", "native", v.sub.id, who, detail);
          return json_response(200, render_subscription(v, cluster));
        });
    });
  id_route<actors::done>(
    server, ctx, "DELETE", base + "/{id}",
    [](const std::string& id) {
      return actors::delete_subscription{subscription_kind::native, id};
    },
    [](const actors::done&) { return json_response(204, ""); }, "deleted");
  // Its outcome is logged by the registry (verification.succeeded / failed).
  subscription_route(server, ctx, "POST", base + "/{id}/verify",
                     [](const std::string& id) { return actors::verify_subscription{id}; });
  id_route<actors::subscription_view>(
    server, ctx, "POST", base + "/{id}/pause",
    [](const std::string& id) { return actors::pause_subscription{id}; }, render_view(ctx),
    "paused");
  id_route<actors::subscription_view>(
    server, ctx, "POST", base + "/{id}/activate",
    [](const std::string& id) { return actors::activate_subscription{id}; }, render_view(ctx),
    "activated");
  id_route<actors::purged>(
    server, ctx, "POST", base + "/{id}/purge",
    [](const std::string& id) { return actors::purge_subscription{id}; },
    [](const actors::purged& p) { return render_count("purged", p.count); }, "purged",
    on_the_primary);
  server.route("GET", base + "/{id}/dead-letters",
               [ctx](transport::http_request&& req, transport::responder respond) {
                 if (!ctx.ready->load())
                   return respond(not_ready_response());
                 if (forward_to_primary(ctx, req.params.at(0), req, respond))
                   return;
                 auto query = parse_dead_letter_query(req.query, req.params.at(0));
                 if (!query)
                   return respond(input_error_response(query.error()));
                 auto q = std::move(query).value();
                 ask<actors::dead_letter_list>(*ctx.system, ctx.registry, q, std::move(respond),
                                               [q](const actors::dead_letter_list& list) {
                                                 return render_dead_letters(q, list);
                                               });
               });
  server.route(
    "POST", base + "/{id}/dead-letters/replay",
    [ctx](transport::http_request&& req, transport::responder respond) {
      if (!ctx.ready->load())
        return respond(not_ready_response());
      if (forward_to_primary(ctx, req.params.at(0), req, respond))
        return;
      auto bounds = core::decode_dead_letter_replay(req.body);
      if (!bounds)
        return respond(input_error_response(bounds.error()));
      actors::replay_subscription request{req.params.at(0)};
      std::string detail;
      if (bounds->since_ms) {
        request.since_ms = *bounds->since_ms;
        detail = "since " + core::format_iso8601_ms(*bounds->since_ms);
      }
      if (bounds->until_ms) {
        request.until_ms = *bounds->until_ms;
        detail += (detail.empty() ? "" : " ") + std::string("until ") +
                  core::format_iso8601_ms(*bounds->until_ms);
      }
      ask<actors::replayed>(
        *ctx.system, ctx.registry, std::move(request), std::move(respond),
        [id = req.params.at(0), detail, who = token_name(ctx, req)](const actors::replayed& r) {
          log_change("dead_letters_replayed", "native", id, who,
                     detail.empty() ? "replayed " + std::to_string(r.count)
                                    : "replayed " + std::to_string(r.count) + " " + detail);
          return render_count("replayed", r.count);
        });
    });
  server.route("POST", base + "/{id}/dead-letters/{event_id}/replay",
               [ctx](transport::http_request&& req, transport::responder respond) {
                 if (!ctx.ready->load())
                   return respond(not_ready_response());
                 if (forward_to_primary(ctx, req.params.at(0), req, respond))
                   return;
                 ask<actors::replayed>(
                   *ctx.system, ctx.registry,
                   actors::replay_dead_letter{req.params.at(0), req.params.at(1)},
                   std::move(respond),
                   [id = req.params.at(0), who = token_name(ctx, req)](const actors::replayed& r) {
                     log_change("dead_letter_replayed", "native", id, who);
                     return render_count("replayed", r.count);
                   });
               });
  id_route<actors::purged>(
    server, ctx, "DELETE", base + "/{id}/dead-letters",
    [](const std::string& id) { return actors::drop_dead_letters{id}; },
    [](const actors::purged& p) { return render_count("dropped", p.count); },
    "dead_letters_dropped", on_the_primary);
}

} // namespace sy::api
