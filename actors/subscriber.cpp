#include "actors/subscriber.hpp"

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <unordered_set>

#include "actors/messages.hpp"
#include "core/json_writer.hpp"
#include "core/oauth.hpp"
#include "core/signing.hpp"
#include "core/subscription_codec.hpp"
#include "core/time_format.hpp"
#include "storage/journal.hpp"
#include "transport/http_client.hpp"

namespace sy::actors {

using core::now_ms;

namespace {

// Delivered events whose queue keys are deleted in one journal write: at
// most this many, or whatever was delivered within ack_flush_delay.
constexpr std::size_t max_ack_batch = 256;
constexpr auto ack_flush_delay = std::chrono::milliseconds(5);

// Returns why a request failed: "HTTP <status>" or the transport's error.
std::string failure_text(const transport::client_response& r) {
  return r.status ? "HTTP " + std::to_string(r.status) : r.error;
}

// Parses Retry-After given in seconds (the HTTP-date form is not honoured).
int64_t retry_after_ms(const transport::client_response& r) {
  auto v = transport::find_header(r.headers, "retry-after");
  if (v.empty() || v.size() > 9)
    return 0;
  int64_t secs = 0;
  for (char c : v) {
    if (c < '0' || c > '9')
      return 0;
    secs = secs * 10 + (c - '0');
  }
  return secs * 1000;
}

struct subscriber_state {
  subscription sub;
  stats_ptr stats;
  std::shared_ptr<const subscriber_env> env;

  std::deque<storage::event_ptr> pending;            // sorted by seq
  std::map<uint64_t, storage::event_ptr> in_flight;  // seq → event
  std::unordered_set<uint64_t> dropped;              // purged while in flight
  bool spilled = false;         // the journal holds queued events not in memory
  uint64_t loaded_through = 0;  // highest seq taken into memory
  uint64_t queued = 0;          // pending + spilled + in flight

  int consecutive_failures = 0;
  bool backing_off = false;
  bool probing = false;
  uint64_t wake_gen = 0;

  double tokens = 0;
  int64_t tokens_at = 0;
  bool waiting_for_tokens = false;
  uint64_t tokens_gen = 0;

  // OAuth egress auth: the access token fetched from auth.auth_url.
  std::string token;
  int64_t token_valid_until = 0; ///< ms; refetched after
  uint64_t token_gen = 0;        ///< which token a delivery carried
  bool token_after_401 = false;  ///< fetched because the one before got a 401
  bool refetch_after_401 = false;
  bool fetching_token = false;
  std::unordered_map<uint64_t, uint64_t> sent_with; // seq → token_gen, OAuth only

  // Delivered seqs whose queue keys are not deleted yet: written as one
  // batch (at-least-once: a crash before the write redelivers them).
  std::vector<uint64_t> acks;
  bool ack_flush_scheduled = false;

  std::mt19937_64 rng{std::random_device{}()};

  subscriber_state() = default;
  subscriber_state(const subscriber_state&) = delete;
  subscriber_state& operator=(const subscriber_state&) = delete;
  ~subscriber_state() { flush_acks(); }

  /// Deletes the queue keys of every delivered event in one write.
  void flush_acks() {
    if (!acks.empty() && env)
      env->journal->ack_many(sub.number, acks);
    acks.clear();
  }

  static inline const char* name = "subscriber";
};

using self_ptr = caf::stateful_actor<subscriber_state>*;

void publish_stats(subscriber_state& st) {
  std::lock_guard<std::mutex> guard(st.stats->mutex);
  st.stats->queued = st.queued;
  st.stats->in_flight = st.in_flight.size();
}

void insert_sorted(std::deque<storage::event_ptr>& q, storage::event_ptr e) {
  auto pos = std::lower_bound(q.begin(), q.end(), e->seq,
                              [](const storage::event_ptr& a, uint64_t s) { return a->seq < s; });
  if (pos != q.end() && (*pos)->seq == e->seq)
    return;
  q.insert(pos, std::move(e));
}

// Reads the next page from the journal once memory has room for it.
void refill(subscriber_state& st) {
  const auto limit = st.env->settings.memory_queue;
  if (!st.spilled || st.pending.size() >= limit / 2)
    return;
  auto want = limit - st.pending.size();
  auto page = st.env->journal->read_queue(st.sub.number, st.loaded_through, want);
  for (auto& e : page) {
    if (st.in_flight.count(e->seq) == 0)
      insert_sorted(st.pending, e);
    st.loaded_through = std::max(st.loaded_through, e->seq);
  }
  if (page.size() < want)
    st.spilled = false;
}

} // namespace

std::string envelope_body(const subscription& sub, const storage::stored_event& e) {
  core::json_writer w;
  w.begin_object()
    .key("id").value(e.ev.id)
    .key("service").value(sub.service)
    .key("type").value(e.ev.type);
  if (!e.ev.country.empty())
    w.key("country").value(e.ev.country);
  w.key("data").raw(e.ev.data).key("timestamp").value(e.ev.timestamp_ms).end_object();
  return std::move(w).str();
}

namespace {

void dead_letter(self_ptr self, const storage::event_ptr& e, const std::string& reason) {
  auto& st = self->state;
  st.env->journal->kill(st.sub.number, *e, reason);
  if (st.queued > 0)
    --st.queued;
  std::lock_guard<std::mutex> guard(st.stats->mutex);
  ++st.stats->dead_lettered;
}

bool take_token(self_ptr self) {
  auto& st = self->state;
  if (st.sub.rate_limit <= 0)
    return true;
  const double rate = static_cast<double>(st.sub.rate_limit);
  const double burst = std::max(1.0, rate / 10); // at most 100 ms worth at once
  auto now = now_ms();
  st.tokens = std::min(burst, st.tokens + rate * static_cast<double>(now - st.tokens_at) / 1000.0);
  st.tokens_at = now;
  if (st.tokens >= 1.0) {
    st.tokens -= 1.0;
    return true;
  }
  if (!st.waiting_for_tokens) {
    st.waiting_for_tokens = true;
    auto wait = static_cast<int64_t>((1.0 - st.tokens) * 1000.0 / rate) + 1;
    self->delayed_send(self, std::chrono::milliseconds(wait), tokens_atom::value, ++st.tokens_gen);
  }
  return false;
}

// Sets the envelope body and its signatures (API.md §3).
void sign_envelope(transport::client_request& req, const subscription& sub,
                   const storage::stored_event& e) {
  req.body = envelope_body(sub, e);
  const int64_t ts = now_ms() / 1000;
  req.headers = {
    {"Content-Type", "application/json"},
    {"x-notificare-public-key", sub.public_key},
    {"x-notificare-signature", core::notificare_signature(sub.private_key, req.body)},
    {"webhook-id", e.ev.id},
    {"webhook-timestamp", std::to_string(ts)},
    {"webhook-signature", core::standard_webhooks_signature(sub.private_key, e.ev.id, ts, req.body)},
  };
}

bool uses_oauth(const subscription& sub) {
  return sub.auth.type == "OAuth" || sub.auth.type == "OAuthRefreshTokenOnly";
}

// Adds the egress auth headers of `auth` (API.md §3); `token` is the OAuth
// access token.
void add_auth(transport::client_request& req, const core::egress_auth& auth, const std::string& token) {
  if (!token.empty())
    req.headers.emplace_back("Authorization", "Bearer " + token);
  else if (auth.type == "APIKey")
    req.headers.emplace_back("X-API-Key", auth.api_key);
  else if (auth.type == "Basic")
    req.headers.emplace_back("Authorization",
                             "Basic " + core::base64_encode(auth.user_id + ":" + auth.password));
}

void send_one(self_ptr self, storage::event_ptr e) {
  auto& st = self->state;
  const auto& sub = st.sub;
  transport::client_request req;
  req.method = "POST";
  req.url = sub.url;
  req.timeout = std::chrono::milliseconds(st.env->settings.timeout_ms);
  if (sub.is_client_kind()) {
    sign_envelope(req, sub, *e);
  } else {
    // The push gateway and the change watcher have their own contracts: the
    // body is the event's data ({token, notification, data} or
    // {notificationKey, change, subscription}) and no signature is sent,
    // since nobody outside holds an internal subscription's key. The event
    // id lets the receiver recognise a redelivery.
    req.body = e->ev.data;
    req.headers = {{"Content-Type", "application/json"}, {"webhook-id", e->ev.id}};
  }
  add_auth(req, sub.auth, st.token); // the token is "" unless the auth is OAuth
  if (uses_oauth(sub))
    st.sent_with[e->seq] = st.token_gen;
  st.in_flight.emplace(e->seq, e);
  caf::actor me = caf::actor_cast<caf::actor>(self);
  uint64_t seq = e->seq;
  st.env->client->send(std::move(req), [me, seq](transport::client_response r) {
    caf::anon_send(me, delivered_atom::value, seq, std::move(r));
  });
}

int64_t backoff_ms(subscriber_state& st, int64_t retry_after);

// Counts a failed attempt and, unless one runs already, starts a backoff
// after which one probe reopens the window.
void record_failure(self_ptr self, const std::string& why, int64_t retry_after) {
  auto& st = self->state;
  {
    std::lock_guard<std::mutex> guard(st.stats->mutex);
    ++st.stats->failed_attempts;
    st.stats->last_failure_at = now_ms();
    st.stats->last_error = why;
  }
  if (st.backing_off)
    return;
  ++st.consecutive_failures;
  st.backing_off = true;
  st.probing = true;
  auto delay = backoff_ms(st, retry_after);
  self->delayed_send(self, std::chrono::milliseconds(delay), wake_atom::value, ++st.wake_gen);
}

// Asks auth.auth_url for an access token (refresh-token grant); the answer
// comes back as a token_atom message.
void fetch_token(self_ptr self) {
  auto& st = self->state;
  if (st.fetching_token)
    return;
  st.fetching_token = true;
  transport::client_request req;
  req.method = "POST";
  req.url = st.sub.auth.auth_url;
  req.timeout = std::chrono::milliseconds(st.env->settings.timeout_ms);
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  req.body = core::oauth_token_request(st.sub.auth);
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.env->client->send(std::move(req), [me](transport::client_response r) {
    caf::anon_send(me, token_atom::value, std::move(r));
  });
}

void pump(self_ptr self);

void on_token(self_ptr self, transport::client_response& r) {
  auto& st = self->state;
  st.fetching_token = false;
  if (!uses_oauth(st.sub))
    return pump(self); // auth changed meanwhile
  const auto& url = st.sub.auth.auth_url;
  if (r.status < 200 || r.status >= 300) {
    return record_failure(self, "oauth token endpoint " + url + ": " + failure_text(r), retry_after_ms(r));
  }
  auto token = core::decode_oauth_token(r.body);
  if (!token)
    return record_failure(self, "oauth token endpoint " + url + ": " + token.error().what(), 0);
  st.token = std::move(token->access_token);
  // Refetched a little early, so that a token does not expire in flight.
  st.token_valid_until = now_ms() + token->expires_in_s * 900;
  ++st.token_gen;
  st.token_after_401 = st.refetch_after_401;
  st.refetch_after_401 = false;
  pump(self);
}

// Starts as many deliveries as the window, backoff and rate limit allow.
void pump(self_ptr self) {
  auto& st = self->state;
  if (st.sub.state != core::subscription_state::active ||
      st.sub.delivery != core::delivery_mode::push || st.backing_off)
    return;
  refill(st);
  if (uses_oauth(st.sub) && !st.pending.empty() && now_ms() >= st.token_valid_until) {
    // Deliveries wait for a token; the ones in flight finish with the old one.
    fetch_token(self);
    return;
  }
  const std::size_t window = st.probing ? 1 : static_cast<std::size_t>(std::max<int64_t>(1, st.sub.max_in_flight));
  const int64_t now = now_ms();
  while (st.in_flight.size() < window && !st.pending.empty()) {
    auto e = st.pending.front();
    if (now - e->ingest_ms > st.env->settings.max_age_ms) {
      st.pending.pop_front();
      dead_letter(self, e, "older than retry.max_age before delivery");
      continue;
    }
    if (!take_token(self))
      break;
    st.pending.pop_front();
    send_one(self, std::move(e));
    if (st.pending.empty())
      refill(st);
  }
}

int64_t backoff_ms(subscriber_state& st, int64_t retry_after) {
  const auto& s = st.env->settings;
  double base = static_cast<double>(s.initial_ms);
  for (int i = 1; i < st.consecutive_failures && base < static_cast<double>(s.max_ms); ++i)
    base *= s.multiplier;
  base = std::min(base, static_cast<double>(s.max_ms));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  auto ms = static_cast<int64_t>(base * jitter(st.rng));
  // Retry-After is the subscriber's own word and may exceed retry.max_ms;
  // an hour bounds a hostile or mistaken value.
  constexpr int64_t max_retry_after_ms = 3600 * 1000;
  if (retry_after > 0)
    ms = std::max(ms, std::min(retry_after, max_retry_after_ms));
  return std::max<int64_t>(ms, 1);
}

void on_delivered(self_ptr self, uint64_t seq, const transport::client_response& r) {
  auto& st = self->state;
  auto it = st.in_flight.find(seq);
  if (it == st.in_flight.end())
    return;
  auto e = it->second;
  st.in_flight.erase(it);
  const bool was_dropped = st.dropped.erase(seq) > 0;
  const int64_t now = now_ms();
  uint64_t sent_gen = 0;
  if (auto g = st.sent_with.find(seq); g != st.sent_with.end()) {
    sent_gen = g->second;
    st.sent_with.erase(g);
  }
  if (r.status == 401 && uses_oauth(st.sub) && !was_dropped) {
    // A 401 to a token fetched on schedule: refresh it once and resend, no
    // failure counted. A 401 to a token fetched after a 401 is a failure.
    const bool stale = sent_gen != st.token_gen;
    if (stale || !st.token_after_401) {
      if (!stale) {
        st.token_valid_until = 0;
        st.refetch_after_401 = true;
      }
      insert_sorted(st.pending, e);
      pump(self);
      publish_stats(st);
      return;
    }
    st.token_valid_until = 0; // the next attempt starts with a fresh token
  }
  if (r.status >= 200 && r.status < 300) {
    st.acks.push_back(seq);
    if (st.acks.size() >= max_ack_batch) {
      st.flush_acks();
    } else if (!st.ack_flush_scheduled) {
      st.ack_flush_scheduled = true;
      self->delayed_send(self, ack_flush_delay, flush_atom::value);
    }
    if (!was_dropped && st.queued > 0)
      --st.queued;
    st.consecutive_failures = 0;
    st.probing = false;
    std::lock_guard<std::mutex> guard(st.stats->mutex);
    ++st.stats->delivered;
    st.stats->last_success_at = now;
    st.stats->add_latency(std::max<int64_t>(0, now - e->ingest_ms));
  } else {
    std::string why = failure_text(r);
    if (!was_dropped) {
      if (now - e->ingest_ms > st.env->settings.max_age_ms)
        dead_letter(self, e, "older than retry.max_age; last error: " + why);
      else
        insert_sorted(st.pending, e);
    }
    record_failure(self, why, retry_after_ms(r));
  }
  pump(self);
  publish_stats(st);
}

caf::behavior subscriber_actor(self_ptr self, subscription sub, stats_ptr stats,
                               std::shared_ptr<const subscriber_env> env, bool recovered,
                               uint64_t queued) {
  auto& st = self->state;
  st.sub = std::move(sub);
  st.stats = std::move(stats);
  st.env = std::move(env);
  st.spilled = recovered;
  st.queued = queued;
  st.tokens_at = now_ms();
  st.tokens = 1;
  pump(self);
  publish_stats(st);
  return {
    [=](enqueue_atom, event_list& list) {
      auto& st = self->state;
      for (auto& e : list.events) {
        ++st.queued;
        if (e->seq <= st.loaded_through)
          continue; // already read back from the journal
        if (st.spilled || st.pending.size() >= st.env->settings.memory_queue) {
          st.spilled = true; // it stays in the journal until memory has room
          continue;
        }
        st.pending.push_back(std::move(e));
        st.loaded_through = st.pending.back()->seq;
      }
      pump(self);
      publish_stats(st);
    },
    [=](delivered_atom, uint64_t seq, const transport::client_response& r) {
      on_delivered(self, seq, r);
    },
    [=](wake_atom, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.wake_gen)
        return;
      st.backing_off = false;
      pump(self);
      publish_stats(st);
    },
    [=](tokens_atom, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.tokens_gen)
        return;
      st.waiting_for_tokens = false;
      pump(self);
      publish_stats(st);
    },
    [=](flush_atom) {
      auto& st = self->state;
      st.ack_flush_scheduled = false;
      st.flush_acks();
    },
    [=](token_atom, transport::client_response& r) {
      on_token(self, r);
      publish_stats(self->state);
    },
    [=](config_atom, subscription& updated) {
      auto& st = self->state;
      if (updated.auth != st.sub.auth) {
        st.token.clear();
        st.token_valid_until = 0;
        ++st.token_gen;
      }
      st.sub = std::move(updated);
      pump(self);
      publish_stats(st);
    },
    [=](purge_atom, const count_fn& reply) {
      auto& st = self->state;
      st.acks.clear(); // purge deletes every queue key
      st.pending.clear();
      st.spilled = false;
      for (auto& [seq, e] : st.in_flight)
        st.dropped.insert(seq);
      uint64_t n = st.env->journal->purge(st.sub.number);
      st.queued = 0;
      publish_stats(st);
      reply(n);
    },
    [=](replay_atom, const count_fn& reply) {
      auto& st = self->state;
      auto events = st.env->journal->replay_dead(st.sub.number, now_ms());
      for (auto& e : events)
        insert_sorted(st.pending, e);
      st.queued += events.size();
      pump(self);
      publish_stats(st);
      reply(events.size());
    },
  };
}

} // namespace

caf::actor spawn_subscriber(caf::actor_system& sys, subscription sub, stats_ptr stats,
                            std::shared_ptr<const subscriber_env> env, bool recovered,
                            uint64_t queued) {
  if (sub.delivery == core::delivery_mode::pull)
    return spawn_pull_subscriber(sys, std::move(sub), std::move(stats), std::move(env), recovered);
  return sys.spawn(subscriber_actor, std::move(sub), std::move(stats), std::move(env), recovered,
                   queued);
}

} // namespace sy::actors
