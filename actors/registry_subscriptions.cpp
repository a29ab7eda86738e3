// The subscription life cycle inside the registry actor (docs/api.md §2):
// create, read, patch, delete, verify, pause/activate, purge, dead letters.

#include <algorithm>
#include <chrono>

#include "actors/registry.hpp"
#include "core/json_writer.hpp"
#include "core/time_format.hpp"
#include "core/signing.hpp"
#include "core/url.hpp"
#include "log/log.hpp"
#include "storage/journal.hpp"
#include "transport/http_client.hpp"

namespace sy::actors {

namespace {

caf::error not_found(const std::string& id) {
  return make_error(errc::not_found, "no subscription with id " + id);
}

std::string trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && ws(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && ws(s.back()))
    s.remove_suffix(1);
  return std::string(s);
}

// Returns `url` with ?challenge=… (or &challenge=…) appended, fragment dropped.
std::string challenge_url(std::string url, const std::string& challenge) {
  if (auto hash = url.find('#'); hash != std::string::npos)
    url.resize(hash);
  url += (url.find('?') == std::string::npos ? '?' : '&');
  url += "challenge=" + challenge;
  return url;
}

} // namespace

caf::result<subscription_view> registry_state::create(core::subscription_spec spec) {
  subscription s;
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
  s.verification_required = s.delivery == core::delivery_mode::push &&
                            spec.verification_required.value_or(true);
  if (s.delivery == core::delivery_mode::pull)
    s.access_key = "ak_" + core::random_hex(24);
  s.state = s.verification_required ? core::subscription_state::pending_verification
                                    : core::subscription_state::active;
  s.max_in_flight = spec.max_in_flight.value_or(core::default_max_in_flight);
  s.rate_limit = spec.rate_limit.value_or(0);
  if (spec.auth)
    s.auth = *spec.auth;
  if (spec.private_key)
    s.private_key = *spec.private_key;
  auto rp = self_->make_response_promise<subscription_view>();
  add(std::move(s), [this, rp](caf::expected<entry*> added) mutable {
    if (!added)
      rp.deliver(std::move(added.error()));
    else {
      tell_streams("created", (*added)->sub);
      rp.deliver(view(**added, true));
    }
  });
  return rp;
}

caf::result<subscription_view> registry_state::create_dashboard(core::dashboard_spec spec) {
  subscription s;
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
  s.dashboard_event = spec.event;
  auto rp = self_->make_response_promise<subscription_view>();
  add(std::move(s), [this, rp](caf::expected<entry*> added) mutable {
    if (!added)
      rp.deliver(std::move(added.error()));
    else
      rp.deliver(view(**added, false));
  });
  return rp;
}

subscription_list registry_state::list(subscription_kind kind) const {
  subscription_list out;
  for (const auto& [id, e] : subs_)
    if (e.sub.kind == kind)
      out.items.push_back(view(e, false));
  return out;
}

caf::expected<subscription_view> registry_state::get(subscription_kind kind,
                                                     const std::string& id) const {
  auto* e = find(id, kind);
  if (!e)
    return not_found(id);
  return view(*e, false);
}

caf::result<subscription_view> registry_state::patch(const std::string& id,
                                                     core::subscription_spec spec) {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(id);
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
    s.previous_private_key.clear(); // the new endpoint never held the old key
    s.previous_key_until = 0;
    if (s.verification_required)
      s.state = core::subscription_state::pending_verification;
  }
  auto rp = self_->make_response_promise<subscription_view>();
  update(*e, std::move(s), [this, rp, e, rotated](caf::expected<void> updated) mutable {
    if (!updated)
      rp.deliver(std::move(updated.error()));
    else {
      tell_streams("updated", e->sub);
      rp.deliver(view(*e, rotated));
    }
  });
  return rp;
}

caf::result<done> registry_state::remove(subscription_kind kind, const std::string& id) {
  auto* e = find(id, kind);
  if (!e)
    return done{}; // idempotent
  auto rp = self_->make_response_promise<done>();
  // Cluster mode: the key is deleted in etcd first, then here.
  mirror(e->sub, 0, true, [this, rp, id](caf::error err, int64_t) mutable {
    if (err) {
      rp.deliver(std::move(err));
      return;
    }
    drop(id, [rp](caf::error err) mutable {
      if (err)
        rp.deliver(std::move(err));
      else
        rp.deliver(done{});
    });
  });
  return rp;
}

caf::result<subscription_view> registry_state::verify(const std::string& id) {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(id);
  if (e->sub.url.empty())
    return make_error(errc::conflict, "subscription " + id + " has no url to verify");
  auto ticket = ++next_ticket_;
  auto& pending = verifications_[ticket];
  pending.id = id;
  pending.public_key = e->sub.public_key;
  pending.challenge = core::random_hex(16);
  pending.promise = self_->make_response_promise<subscription_view>();
  transport::client_request req;
  req.method = "GET";
  req.url = challenge_url(e->sub.url, pending.challenge);
  req.timeout = std::chrono::milliseconds(env_.subscriber_env->settings.timeout_ms);
  req.headers = {{"x-notificare-public-key", e->sub.public_key}};
  registry_actor me = caf::actor_cast<registry_actor>(self_);
  env_.client->send(std::move(req), [me, ticket](transport::client_response r) {
    caf::anon_send(me,
                   verification_answer{ticket, r.status, std::move(r.body), std::move(r.error)});
  });
  return pending.promise;
}

void registry_state::finish_verify(const verification_answer& answer) {
  auto it = verifications_.find(answer.ticket);
  if (it == verifications_.end())
    return;
  auto pending = std::move(it->second);
  verifications_.erase(it);
  // What the log says: the url's host and the reason, not the url (its
  // query may carry a receiver's secret).
  std::string host, reason;
  entry* activate = nullptr; // verified while pending: stored as active first
  subscription activate_to;
  auto outcome = [&]() -> caf::expected<subscription_view> {
    const auto& id = pending.id;
    auto* e = find(id, subscription_kind::native);
    if (!e)
      return not_found(id);
    if (e->sub.public_key != pending.public_key)
      return make_error(errc::conflict,
                        "subscription " + id + " changed during verification; verify again");
    const auto& url = e->sub.url;
    if (auto parts = core::parse_url(url))
      host = parts->host;
    if (answer.status == 0)
      reason = "could not reach the url: " + answer.error;
    else if (answer.status != 200)
      reason = "answered HTTP " + std::to_string(answer.status) + " to the challenge";
    if (answer.status == 0)
      return make_error(errc::invalid,
                        "verification failed: could not reach " + url + ": " + answer.error, "url");
    if (answer.status != 200)
      return make_error(errc::invalid,
                        "verification failed: " + url + " answered HTTP " +
                          std::to_string(answer.status) + " to the challenge; it must answer 200",
                        "url");
    auto expected = core::notificare_signature(e->sub.private_key, pending.challenge);
    if (!core::constant_time_equal(trim(answer.body), expected)) {
      reason = "answered 200 with a body that is not the challenge's signature";
      return make_error(errc::invalid,
                        "verification failed: " + url +
                          " answered 200 but its body is not base64(HMAC-SHA256(privateKey, "
                          "challenge))",
                        "url");
    }
    if (e->sub.state == core::subscription_state::pending_verification) {
      auto sub = e->sub;
      sub.state = core::subscription_state::active;
      sub.verified = true;
      // Answered once the new state is stored (below, from the write's end).
      activate = e;
      activate_to = std::move(sub);
    } else {
      tell_streams("verified", e->sub); // already active or paused: nothing to store
    }
    return view(*e, false);
  }();
  if (outcome && activate) {
    update(*activate, std::move(activate_to),
           [this, pending = std::move(pending), host,
            e = activate](caf::expected<void> updated) mutable {
             caf::expected<subscription_view> done_outcome = view(*e, false);
             if (!updated)
               done_outcome = std::move(updated.error());
             else
               tell_streams("verified", e->sub);
             end_verify(pending, std::move(done_outcome), host, {});
           });
    return;
  }
  end_verify(pending, std::move(outcome), host, reason);
}

void registry_state::end_verify(pending_verification& pending,
                                caf::expected<subscription_view> outcome, const std::string& host,
                                std::string reason) {
  if (outcome) {
    log::write(log::level::info, "verification.succeeded",
               "subscription verified: its url answered the challenge",
               {{"subscription", pending.id}, {"host", host}});
    pending.promise.deliver(std::move(*outcome));
  } else {
    if (reason.empty())
      reason = to_domain_error(outcome.error()).message; // not found, changed meanwhile
    log::write(log::level::warn, "verification.failed", "subscription verification failed",
               {{"subscription", pending.id}, {"host", host}, {"reason", reason}});
    pending.promise.deliver(std::move(outcome.error()));
  }
}

caf::result<subscription_view> registry_state::change_state(const std::string& id,
                                                            core::subscription_state to) {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(id);
  if (e->sub.state == core::subscription_state::pending_verification)
    return make_error(errc::conflict, "subscription " + id + " is not verified; verify it first");
  const char* said = to == core::subscription_state::paused ? "paused" : "activated";
  if (e->sub.state == to) {
    tell_streams(said, e->sub);
    return view(*e, false);
  }
  auto sub = e->sub;
  sub.state = to;
  auto rp = self_->make_response_promise<subscription_view>();
  update(*e, std::move(sub), [this, rp, e, said](caf::expected<void> updated) mutable {
    if (!updated) {
      rp.deliver(std::move(updated.error()));
      return;
    }
    tell_streams(said, e->sub);
    rp.deliver(view(*e, false));
  });
  return rp;
}

namespace {

// Asks `subscriber` for `Request` and delivers its answer (or error) through
// a promise of the registry's: the registry stays free meanwhile.
template <class Reply, class Request>
caf::result<Reply> forward(registry_actor::pointer self, const caf::actor& subscriber,
                           Request request) {
  auto promise = self->make_response_promise<Reply>();
  self->request(subscriber, caf::infinite, std::move(request))
    .then([promise](Reply& reply) mutable { promise.deliver(std::move(reply)); },
          [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

} // namespace

caf::result<purged> registry_state::purge(const std::string& id) {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(id);
  auto promise = self_->make_response_promise<purged>();
  self_->request(e->slot->get(), caf::infinite, purge_queue{})
    .then(
      [this, promise, id](purged& reply) mutable {
        if (auto* now = find(id, subscription_kind::native))
          tell_streams("purged", now->sub);
        promise.deliver(std::move(reply));
      },
      [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

caf::result<attempt_list> registry_state::attempts(const std::string& id, uint64_t limit) {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(id);
  if (e->sub.delivery != core::delivery_mode::push)
    return attempt_list{}; // a pull subscription's events are fetched, not attempted
  if (!e->slot->spawned())
    return attempt_list{}; // no actor yet: nothing was attempted since start-up
  return forward<attempt_list>(self_, e->slot->get(), list_attempts{limit});
}

caf::result<subscription_view> registry_state::rotate(const std::string& id,
                                                      int64_t grace_seconds) {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(id);
  auto sub = e->sub;
  auto keys = core::generate_keys();
  sub.previous_private_key = grace_seconds > 0 ? sub.private_key : std::string();
  sub.previous_key_until = grace_seconds > 0 ? core::now_ms() + grace_seconds * 1000 : 0;
  sub.public_key = keys.public_key;
  sub.private_key = keys.private_key;
  auto rp = self_->make_response_promise<subscription_view>();
  update(*e, std::move(sub), [this, rp, e](caf::expected<void> updated) mutable {
    if (!updated) {
      rp.deliver(std::move(updated.error()));
      return;
    }
    tell_streams("keys_rotated", e->sub);
    rp.deliver(view(*e, true));
  });
  return rp;
}

void registry_state::tell_streams(std::string_view change, const subscription& sub) const {
  auto* feed = env_.subscriber_env ? env_.subscriber_env->feed : nullptr;
  if (!feed || !feed->active() || sub.kind != subscription_kind::native)
    return;
  core::json_writer w;
  w.begin_object()
    .key("subscription")
    .value(sub.id)
    .key("change")
    .value(change)
    .key("state")
    .value(core::to_string(sub.state))
    .end_object();
  auto json = std::move(w).str();
  feed->publish({"state", sub.id, json});
}

caf::result<replayed> registry_state::replay(const replay_subscription& q) {
  auto* e = find(q.id, subscription_kind::native);
  if (!e)
    return not_found(q.id);
  return forward<replayed>(self_, e->slot->get(), replay_dead_letters{{}, q.since_ms, q.until_ms});
}

caf::result<replayed> registry_state::replay_one(const std::string& id,
                                                 const std::string& event_id) {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(id);
  if (event_id.empty())
    return make_error(errc::not_found, "no dead letter with an empty event id");
  return forward<replayed>(self_, e->slot->get(), replay_dead_letters{event_id});
}

caf::result<purged> registry_state::drop_dead(const std::string& id) {
  auto* e = find(id, subscription_kind::native);
  if (!e)
    return not_found(id);
  auto rp = self_->make_response_promise<purged>();
  auto* journal = env_.journal;
  write([journal, number = e->sub.number] { return journal->drop_dead(number); },
        [rp](storage::expected<uint64_t>& dropped) mutable {
          if (!dropped)
            rp.deliver(make_error(errc::unavailable, "could not drop the dead letters: " +
                                                       dropped.error().message + "; retry"));
          else
            rp.deliver(purged{*dropped});
        });
  return rp;
}

caf::expected<dead_letter_list> registry_state::dead_letters(const list_dead_letters& q) const {
  auto* e = find(q.id, subscription_kind::native);
  if (!e)
    return not_found(q.id);
  const auto limit = std::min<uint64_t>(q.limit, storage::max_listed_dead_letters);
  // One more than the page: whether another page follows.
  auto letters = env_.journal->dead_letters(e->sub.number, limit + 1, q.after_seq);
  if (!letters)
    return make_error(errc::unavailable,
                      "could not read the dead letters: " + letters.error().message + "; retry");
  dead_letter_list out;
  out.more = letters->size() > limit;
  if (out.more)
    letters->resize(limit);
  for (const auto& d : *letters) {
    const auto& ev = d.event->ev;
    out.items.push_back(dead_letter_view{ev.id, ev.type, ev.country, ev.data, ev.timestamp_ms,
                                         d.reason, d.attempts, d.last_error, d.dead_ms});
  }
  return out;
}

} // namespace sy::actors
