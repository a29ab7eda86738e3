#include "actors/registry.hpp"

#include <chrono>
#include <cstdio>

#include "actors/ingest.hpp"
#include "core/json_writer.hpp"
#include "core/signing.hpp"
#include "core/time_format.hpp"
#include "core/type_pattern.hpp"
#include "core/url.hpp"
#include "storage/journal.hpp"
#include "transport/http_client.hpp"

namespace sy::actors {

using core::now_ms;

namespace {

constexpr auto gc_period = std::chrono::seconds(30);
using storage::dedupe_window_ms;
// Meta names of the event-type catalog: "eventtype/<code>" → write_event_type JSON.
constexpr std::string_view event_type_prefix = "eventtype/";

// The push gateway's public id: neither "sub_…" nor digits, so no API-made
// subscription can take it.
constexpr std::string_view push_gateway_id = "push_gateway";
// The change-notification watcher's public id, likewise out of the API's reach.
constexpr std::string_view watcher_id = "subscription_watcher";

std::string event_type_key(std::string_view code) {
  std::string key(event_type_prefix);
  key += code;
  return key;
}

void reply_error(const reply_fn& reply, int status, const std::string& message) {
  reply(status, core::error_body(message));
}

void not_found(const reply_fn& reply, const std::string& id) {
  reply_error(reply, 404, "no subscription with id " + id);
}

// Returns `url` with ?challenge=… (or &challenge=…) appended, fragment dropped.
std::string challenge_url(std::string url, const std::string& challenge) {
  if (auto hash = url.find('#'); hash != std::string::npos)
    url.resize(hash);
  url += (url.find('?') == std::string::npos ? '?' : '&');
  url += "challenge=" + challenge;
  return url;
}

std::string trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && ws(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && ws(s.back()))
    s.remove_suffix(1);
  return std::string(s);
}

} // namespace

void registry_state::start(caf::event_based_actor* self, env_t env) {
  self_ = self;
  env_ = std::move(env);
  for (auto& [number, record] : env_.journal->load_subscriptions()) {
    auto sub = decode_subscription(record);
    if (!sub) {
      // A corrupt record must not stop the node; its queue stays on disk.
      std::fprintf(stderr, "switchyard: subscription record %llu is corrupt; skipped\n",
                   static_cast<unsigned long long>(number));
      continue;
    }
    sub->number = number;
    entry e{std::move(*sub), std::make_shared<subscription_stats>(), caf::actor{}};
    auto queued = env_.journal->count_queue(number);
    auto id = e.sub.id;
    auto& placed = subs_.emplace(id, std::move(e)).first->second;
    spawn(placed, true, queued);
  }
  load_event_types();
  load_associations();
  configure_push_gateway();
  publish_routes();
  env_.ready->store(true);
}

void registry_state::load_associations() {
  for (auto& [name, record] : env_.journal->scan_meta(association_prefix)) {
    auto a = decode_association_record(record);
    if (!a) {
      // As with subscriptions: one corrupt record must not stop the node.
      std::fprintf(stderr, "switchyard: association record %s is corrupt; skipped\n",
                   name.c_str());
      continue;
    }
    associations_.put(std::move(*a));
  }
}

void registry_state::configure_push_gateway() {
  const auto& url = env_.push_gateway_url;
  auto it = subs_.find(std::string(push_gateway_id));
  if (it == subs_.end()) {
    if (url.empty())
      return;
    subscription s;
    s.number = env_.journal->next_sub_number();
    s.id = push_gateway_id;
    s.kind = subscription_kind::push_gateway;
    s.service = "push-gateway";
    s.url = url;
    s.verification_required = false; // configured by the operator, not claimed by a client
    s.state = core::subscription_state::active;
    auto keys = core::generate_keys();
    s.public_key = keys.public_key;
    s.private_key = keys.private_key;
    s.created_at = now_ms();
    // Stored like any subscription, so that its queue number survives a
    // restart and what it had not delivered is delivered after it.
    if (auto err = env_.journal->put_subscription(s.number, encode_subscription(s))) {
      std::fprintf(stderr,
                   "switchyard: could not store the push gateway subscription: %s; "
                   "sendToList answers 503\n",
                   err->message.c_str());
      return;
    }
    entry e{std::move(s), std::make_shared<subscription_stats>(), caf::actor{}};
    auto& placed = subs_.emplace(std::string(push_gateway_id), std::move(e)).first->second;
    spawn(placed, false, 0);
    return;
  }
  auto& e = it->second;
  subscription s = e.sub;
  if (url.empty()) {
    // Paused, not deleted: its queue waits for a gateway to be configured again.
    s.state = core::subscription_state::paused;
  } else {
    s.url = url;
    s.state = core::subscription_state::active;
  }
  if (s.url == e.sub.url && s.state == e.sub.state)
    return;
  if (auto err = env_.journal->put_subscription(s.number, encode_subscription(s))) {
    // The configuration is applied anyway; the next start applies it again.
    std::fprintf(stderr, "switchyard: could not store the push gateway subscription: %s\n",
                 err->message.c_str());
  }
  e.sub = std::move(s);
  caf::anon_send(e.actor, config_atom::value, e.sub);
}

std::optional<std::string> registry_state::put_association(core::association_spec a) {
  if (auto err = env_.journal->put_meta(association_key(a.token), encode_association(a)))
    return err->message;
  associations_.put(std::move(a));
  return std::nullopt;
}

void registry_state::load_event_types() {
  auto catalog = std::make_shared<event_type_map>();
  for (auto& [name, record] : env_.journal->scan_meta(event_type_prefix)) {
    auto type = core::decode_event_type(record);
    if (!type) {
      // As with subscriptions: one corrupt record must not stop the node.
      std::fprintf(stderr, "switchyard: event type record %s is corrupt (%s); skipped\n",
                   name.c_str(), type.error().what().c_str());
      continue;
    }
    auto code = type->code;
    catalog->insert_or_assign(std::move(code), std::move(*type));
  }
  event_types_ = std::move(catalog);
  env_.event_types->publish(event_types_);
}

registry_state::~registry_state() { stop(); }

void registry_state::stop() {
  for (auto& [id, e] : subs_)
    if (e.actor)
      caf::anon_send_exit(e.actor, caf::exit_reason::user_shutdown);
}

void registry_state::spawn(entry& e, bool recovered, uint64_t queued) {
  {
    std::lock_guard<std::mutex> guard(e.stats->mutex);
    e.stats->queued = queued;
  }
  e.actor = spawn_subscriber(*env_.system, e.sub, e.stats, env_.subscriber_env, recovered, queued);
}

registry_state::entry* registry_state::find(const std::string& id, subscription_kind kind) {
  auto it = subs_.find(id);
  return it == subs_.end() || it->second.sub.kind != kind ? nullptr : &it->second;
}

const registry_state::entry* registry_state::find(const std::string& id,
                                                  subscription_kind kind) const {
  auto it = subs_.find(id);
  return it == subs_.end() || it->second.sub.kind != kind ? nullptr : &it->second;
}

std::string registry_state::render(const entry& e, bool show_private_key) const {
  core::json_writer w;
  write_subscription(w, e.sub, e.stats.get(), show_private_key);
  return std::move(w).str();
}

bool registry_state::persist(const subscription& sub, const reply_fn& reply) {
  if (auto err = env_.journal->put_subscription(sub.number, encode_subscription(sub))) {
    reply_error(reply, 503, "could not store the subscription: " + err->message + "; retry");
    return false;
  }
  return true;
}

bool registry_state::update(entry& e, subscription next, const reply_fn& reply) {
  if (!persist(next, reply))
    return false;
  e.sub = std::move(next);
  caf::anon_send(e.actor, config_atom::value, e.sub);
  notify_watcher("CHANGE", e.sub);
  return true;
}

void registry_state::notify_watcher(std::string_view change, const subscription& sub) {
  if (!sub.is_client_kind())
    return;
  auto it = subs_.find(std::string(watcher_id));
  if (it == subs_.end())
    return;
  const auto& watcher = it->second;
  core::json_writer w;
  w.begin_object().key("notificationKey");
  if (watcher.sub.notification_key.empty())
    w.null();
  else
    w.value(watcher.sub.notification_key);
  w.key("change").value(change).key("subscription");
  write_subscription(w, sub, nullptr, false);
  w.end_object();

  auto ev = std::make_shared<storage::stored_event>();
  auto reservation = env_.journal->reserve(1); // held until the append is written
  ev->seq = reservation.first();
  ev->ingest_ms = now_ms();
  ev->ev.id = event_id(ev->seq);
  ev->ev.type = "switchyard.subscription." + std::string(change);
  ev->ev.data = std::move(w).str();
  ev->ev.timestamp_ms = ev->ingest_ms;
  storage::event_ptr stored = ev;
  if (auto err = env_.journal->append({storage::append_item{stored, {watcher.sub.number}}})) {
    // The change itself is stored; only its notification is lost.
    std::fprintf(stderr,
                 "switchyard: could not journal the %s notification of subscription %s: %s\n",
                 std::string(change).c_str(), sub.id.c_str(), err->message.c_str());
    return;
  }
  actors::event_list list;
  list.events.push_back(std::move(stored));
  caf::anon_send(watcher.actor, enqueue_atom::value, std::move(list));
}

void registry_state::publish_routes() {
  std::vector<core::index_entry> entries;
  std::vector<route_target> targets;
  const entry* gateway = nullptr;
  for (const auto& [id, e] : subs_) {
    if (!e.sub.receives_events())
      continue;
    if (!e.sub.is_client_kind()) {
      // Kept out of the index: ordinary events never reach the gateway or
      // the watcher.
      if (e.sub.kind == subscription_kind::push_gateway &&
          e.sub.state == core::subscription_state::active)
        gateway = &e;
      continue;
    }
    entries.push_back(core::index_entry{e.sub.id, e.sub.types, e.sub.country});
    targets.push_back(route_target{e.sub.number, e.actor});
  }
  auto table = std::make_shared<route_table>(std::move(entries));
  if (gateway) {
    table->push_gateway = static_cast<uint32_t>(targets.size());
    targets.push_back(route_target{gateway->sub.number, gateway->actor});
  }
  table->targets = std::move(targets);
  env_.routes->publish(std::move(table));
}

void registry_state::create_native(core::subscription_spec spec, const reply_fn& reply) {
  subscription s;
  s.number = env_.journal->next_sub_number();
  do {
    s.id = "sub_" + core::random_hex(12);
  } while (subs_.count(s.id));
  s.kind = subscription_kind::native;
  s.service = spec.service.value_or("");
  s.url = spec.url.value_or("");
  s.types = spec.types.value_or(std::vector<std::string>{"**"});
  s.country = spec.country.value_or("");
  s.delivery = spec.delivery.value_or(core::delivery_mode::push);
  // A pull subscription has no endpoint to verify: its accessKey is its proof.
  s.verification_required =
    s.delivery == core::delivery_mode::push && spec.verification_required.value_or(true);
  if (s.delivery == core::delivery_mode::pull)
    s.access_key = "ak_" + core::random_hex(24);
  s.state = s.verification_required ? core::subscription_state::pending_verification
                                    : core::subscription_state::active;
  auto keys = core::generate_keys();
  s.public_key = keys.public_key;
  s.private_key = keys.private_key;
  s.created_at = now_ms();
  s.max_in_flight = spec.max_in_flight.value_or(core::default_max_in_flight);
  s.rate_limit = spec.rate_limit.value_or(0);
  if (spec.auth)
    s.auth = *spec.auth;
  entry e{std::move(s), std::make_shared<subscription_stats>(), caf::actor{}};
  if (!persist(e.sub, reply))
    return;
  auto id = e.sub.id;
  auto& placed = subs_.emplace(id, std::move(e)).first->second;
  spawn(placed, false, 0);
  publish_routes();
  notify_watcher("REGISTER", placed.sub);
  reply(201, render(placed, true));
}

void registry_state::create_dashboard(core::dashboard_spec spec, const reply_fn& reply) {
  subscription s;
  s.number = env_.journal->next_sub_number();
  do {
    s.id = core::random_digits(17);
  } while (subs_.count(s.id));
  s.kind = subscription_kind::dashboard;
  s.service = "dashboard";
  s.url = spec.url;
  s.types = {spec.event};
  s.country = spec.country;
  s.verification_required = false;
  s.state = core::subscription_state::active; // the facade has no verification step
  auto keys = core::generate_keys();
  s.public_key = keys.public_key;
  s.private_key = keys.private_key;
  s.created_at = now_ms();
  s.dashboard_event = spec.event;
  entry e{std::move(s), std::make_shared<subscription_stats>(), caf::actor{}};
  if (!persist(e.sub, reply))
    return;
  auto id = e.sub.id;
  auto& placed = subs_.emplace(id, std::move(e)).first->second;
  spawn(placed, false, 0);
  publish_routes();
  notify_watcher("REGISTER", placed.sub);
  core::json_writer w;
  w.begin_object().key("id").value(id).end_object();
  reply(201, std::move(w).str());
}

void registry_state::list(subscription_kind kind, const reply_fn& reply) const {
  core::json_writer w;
  w.begin_array();
  for (const auto& [id, e] : subs_)
    if (e.sub.kind == kind)
      write_subscription(w, e.sub, e.stats.get(), false);
  w.end_array();
  reply(200, std::move(w).str());
}

void registry_state::get(subscription_kind kind, const std::string& id, const reply_fn& reply) const {
  auto* e = find(id, kind);
  if (!e)
    return not_found(reply, id);
  reply(200, render(*e, false));
}

void registry_state::patch(const std::string& id, core::subscription_spec spec,
                           const reply_fn& reply) {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(reply, id);
  subscription s = e->sub;
  bool rotated = false;
  if (spec.service)
    s.service = *spec.service;
  if (spec.types)
    s.types = *spec.types;
  if (spec.country)
    s.country = *spec.country;
  if (spec.max_in_flight)
    s.max_in_flight = *spec.max_in_flight;
  if (spec.rate_limit)
    s.rate_limit = *spec.rate_limit;
  if (spec.auth)
    s.auth = *spec.auth;
  if (spec.url && *spec.url != s.url) {
    // A new endpoint must prove again that it holds the (new) private key.
    s.url = *spec.url;
    auto keys = core::generate_keys();
    s.public_key = keys.public_key;
    s.private_key = keys.private_key;
    rotated = true;
    if (s.verification_required)
      s.state = core::subscription_state::pending_verification;
  }
  if (!update(*e, std::move(s), reply))
    return;
  publish_routes();
  reply(200, render(*e, rotated));
}

void registry_state::remove(subscription_kind kind, const std::string& id, const reply_fn& reply) {
  auto* e = find(id, kind);
  if (!e) {
    reply(204, ""); // idempotent
    return;
  }
  if (auto err = env_.journal->delete_subscription(e->sub.number)) {
    reply_error(reply, 503, "could not delete the subscription: " + err->message + "; retry");
    return;
  }
  caf::anon_send_exit(e->actor, caf::exit_reason::user_shutdown);
  auto gone = std::move(e->sub);
  subs_.erase(id);
  publish_routes();
  notify_watcher("DELETE", gone);
  reply(204, "");
}

void registry_state::verify(const std::string& id, const reply_fn& reply) {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(reply, id);
  if (e->sub.url.empty()) {
    reply_error(reply, 409, "subscription " + id + " has no url to verify");
    return;
  }
  auto challenge = core::random_hex(16);
  transport::client_request req;
  req.method = "GET";
  req.url = challenge_url(e->sub.url, challenge);
  req.timeout = std::chrono::milliseconds(env_.subscriber_env->settings.timeout_ms);
  req.headers = {{"x-notificare-public-key", e->sub.public_key}};
  caf::actor registry = caf::actor_cast<caf::actor>(self_);
  auto public_key = e->sub.public_key;
  env_.client->send(std::move(req), [registry, id, public_key, challenge,
                                     reply](transport::client_response r) {
    run_in_registry(registry, [=](registry_state& st) {
      st.finish_verify(id, public_key, challenge, r, reply);
    });
  });
}

void registry_state::finish_verify(const std::string& id, const std::string& public_key,
                                   const std::string& challenge,
                                   const transport::client_response& r, const reply_fn& reply) {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(reply, id);
  if (e->sub.public_key != public_key) {
    reply_error(reply, 409, "subscription " + id + " changed during verification; verify again");
    return;
  }
  const auto& url = e->sub.url;
  if (r.status == 0) {
    reply_error(reply, 422, "verification failed: could not reach " + url + ": " + r.error);
    return;
  }
  if (r.status != 200) {
    reply_error(reply, 422, "verification failed: " + url + " answered HTTP " +
                              std::to_string(r.status) + " to the challenge; it must answer 200");
    return;
  }
  auto expected = core::notificare_signature(e->sub.private_key, challenge);
  if (!core::constant_time_equal(trim(r.body), expected)) {
    reply_error(reply, 422,
                "verification failed: " + url +
                  " answered 200 but its body is not base64(HMAC-SHA256(privateKey, challenge))");
    return;
  }
  if (e->sub.state == core::subscription_state::pending_verification) {
    auto sub = e->sub;
    sub.state = core::subscription_state::active;
    if (!update(*e, std::move(sub), reply))
      return;
    publish_routes();
  }
  reply(200, render(*e, false));
}

void registry_state::pause(const std::string& id, const reply_fn& reply) {
  change_state(id, core::subscription_state::paused, reply);
}

void registry_state::activate(const std::string& id, const reply_fn& reply) {
  change_state(id, core::subscription_state::active, reply);
}

void registry_state::change_state(const std::string& id, core::subscription_state to,
                                  const reply_fn& reply) {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(reply, id);
  if (e->sub.state == core::subscription_state::pending_verification) {
    reply_error(reply, 409, "subscription " + id + " is not verified; verify it first");
    return;
  }
  if (e->sub.state != to) {
    auto sub = e->sub;
    sub.state = to;
    if (!update(*e, std::move(sub), reply))
      return;
  }
  reply(200, render(*e, false));
}

void registry_state::purge(const std::string& id, const reply_fn& reply) {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(reply, id);
  caf::anon_send(e->actor, purge_atom::value, count_fn{[reply](uint64_t n) {
                   core::json_writer w;
                   w.begin_object().key("purged").value(n).end_object();
                   reply(200, std::move(w).str());
                 }});
}

void registry_state::dead_letters(const std::string& id, const reply_fn& reply) const {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(reply, id);
  core::json_writer w;
  w.begin_array();
  for (const auto& d : env_.journal->dead_letters(e->sub.number, storage::max_listed_dead_letters)) {
    w.begin_object()
      .key("id").value(d.event->ev.id)
      .key("type").value(d.event->ev.type);
    if (!d.event->ev.country.empty())
      w.key("country").value(d.event->ev.country);
    w.key("data").raw(d.event->ev.data)
      .key("timestamp").value(d.event->ev.timestamp_ms)
      .key("reason").value(d.reason)
      .end_object();
  }
  w.end_array();
  reply(200, std::move(w).str());
}

void registry_state::replay(const std::string& id, const reply_fn& reply) {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(reply, id);
  caf::anon_send(e->actor, replay_atom::value, count_fn{[reply](uint64_t n) {
                   core::json_writer w;
                   w.begin_object().key("replayed").value(n).end_object();
                   reply(200, std::move(w).str());
                 }});
}

namespace {

std::string render_watcher(const subscription& s) {
  core::json_writer w;
  w.begin_object().key("notificationKey");
  if (s.notification_key.empty())
    w.null();
  else
    w.value(s.notification_key);
  w.key("notificationURL").value(s.url).key("authentication");
  core::write_egress_auth(w, s.auth, true);
  w.end_object();
  return std::move(w).str();
}

} // namespace

void registry_state::put_watcher(core::watcher_spec spec, const reply_fn& reply) {
  if (auto* e = find(std::string(watcher_id), subscription_kind::watcher)) {
    subscription s = e->sub;
    s.url = std::move(spec.notification_url);
    s.auth = std::move(spec.auth);
    s.notification_key = std::move(spec.notification_key);
    if (!update(*e, std::move(s), reply))
      return;
    return reply(200, render_watcher(e->sub));
  }
  subscription s;
  s.number = env_.journal->next_sub_number();
  s.id = watcher_id;
  s.kind = subscription_kind::watcher;
  s.service = "subscription-watcher";
  s.url = std::move(spec.notification_url);
  s.auth = std::move(spec.auth);
  s.notification_key = std::move(spec.notification_key);
  s.verification_required = false;
  s.state = core::subscription_state::active;
  s.max_in_flight = 1; // changes arrive in the order they happened
  auto keys = core::generate_keys();
  s.public_key = keys.public_key;
  s.private_key = keys.private_key;
  s.created_at = now_ms();
  entry e{std::move(s), std::make_shared<subscription_stats>(), caf::actor{}};
  if (!persist(e.sub, reply))
    return;
  auto& placed = subs_.emplace(std::string(watcher_id), std::move(e)).first->second;
  spawn(placed, false, 0);
  reply(201, render_watcher(placed.sub));
}

void registry_state::get_watcher(const reply_fn& reply) const {
  const auto* e = find(std::string(watcher_id), subscription_kind::watcher);
  if (!e)
    return reply_error(reply, 404, "no subscription change notification is registered; PUT one first");
  reply(200, render_watcher(e->sub));
}

void registry_state::remove_watcher(const reply_fn& reply) {
  remove(subscription_kind::watcher, std::string(watcher_id), reply);
}

void registry_state::register_event_type(core::event_type_def type, const reply_fn& reply) {
  core::json_writer w;
  core::write_event_type(w, type);
  auto json = std::move(w).str();
  if (auto err = env_.journal->put_meta(event_type_key(type.code), json))
    return reply_error(reply, 503, "could not store the event type: " + err->message + "; retry");
  auto next = std::make_shared<event_type_map>(*event_types_);
  auto code = type.code;
  const bool added = next->insert_or_assign(std::move(code), std::move(type)).second;
  event_types_ = std::move(next);
  // Published before the reply, so a client that registers and then
  // publishes finds its code.
  env_.event_types->publish(event_types_);
  reply(added ? 201 : 200, std::move(json));
}

void registry_state::remove_event_type(const std::string& code, const reply_fn& reply) {
  if (event_types_->find(code) == event_types_->end())
    return reply(200, "false");
  if (auto err = env_.journal->delete_meta(event_type_key(code)))
    return reply_error(reply, 503, "could not delete the event type: " + err->message + "; retry");
  auto next = std::make_shared<event_type_map>(*event_types_);
  next->erase(code);
  event_types_ = std::move(next);
  env_.event_types->publish(event_types_);
  reply(200, "true");
}

void registry_state::subscribed_event_types(bool full, const reply_fn& reply) const {
  // The country filter is ignored: a subscription on "acme.*" for NO still
  // consumes acme events. Control-plane sizes keep the full scan cheap.
  auto subscribed = [this](const std::string& type) {
    for (const auto& [id, e] : subs_) {
      if (!e.sub.receives_events() || !e.sub.is_client_kind())
        continue;
      for (const auto& pattern : e.sub.types)
        if (core::pattern_matches(pattern, type))
          return true;
    }
    return false;
  };
  core::json_writer w;
  w.begin_array();
  for (const auto& [code, type] : *event_types_) {
    if (!subscribed(type.routed_type()))
      continue;
    if (full)
      core::write_event_type(w, type);
    else
      w.value(code);
  }
  w.end_array();
  reply(200, std::move(w).str());
}

caf::actor registry_state::pull_subscriber(std::string_view access_key) const {
  if (access_key.empty())
    return {};
  for (const auto& [id, e] : subs_)
    if (e.sub.delivery == core::delivery_mode::pull && e.sub.access_key == access_key)
      return e.actor;
  return {};
}

void registry_state::for_each(
  const std::function<void(const subscription&, const subscription_stats&)>& f) const {
  for (const auto& [id, e] : subs_)
    f(e.sub, *e.stats);
}

namespace {

caf::behavior registry_actor(caf::stateful_actor<registry_state>* self, registry_state::env_t env) {
  self->state.start(self, std::move(env));
  self->delayed_send(self, gc_period, gc_atom::value);
  return {
    [=](task_atom, const registry_task& task) { task(self->state); },
    [=](gc_atom) {
      // Events below every queue's first key are referenced by nobody.
      self->state.journal()->collect_unreferenced(now_ms() - dedupe_window_ms);
      self->delayed_send(self, gc_period, gc_atom::value);
    },
  };
}

} // namespace

caf::actor spawn_registry(caf::actor_system& sys, registry_state::env_t env) {
  // Scheduled, not detached: its fsync'd writes are rare (subscription
  // changes), and a detached actor's thread would make ~actor_system wait for
  // every last handle to it, including those in pending timers.
  return sys.spawn(registry_actor, std::move(env));
}

void run_in_registry(const caf::actor& registry, registry_task task) {
  caf::anon_send(registry, task_atom::value, std::move(task));
}

} // namespace sy::actors
