#include "actors/subscriber.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <unordered_set>

#include "actors/delivery_gate.hpp"
#include "actors/live_feed.hpp"
#include "actors/messages.hpp"
#include "actors/off_worker.hpp"
#include "core/circuit_breaker.hpp"
#include "core/clock.hpp"
#include "core/in_flight_window.hpp"
#include "core/json_writer.hpp"
#include "core/retry_queue.hpp"
#include "core/retry_schedule.hpp"
#include "core/token_bucket.hpp"
#include "core/oauth.hpp"
#include "core/signing.hpp"
#include "core/subscription_codec.hpp"
#include "core/time_format.hpp"
#include "core/url.hpp"
#include "log/log.hpp"
#include "storage/journal.hpp"
#include "transport/http_client.hpp"

namespace sy::actors {

namespace {

// Delivered events whose queue keys are deleted in one journal write: at
// most this many, or whatever was delivered within ack_flush_delay.
constexpr std::size_t max_ack_batch = 256;
constexpr auto ack_flush_delay = std::chrono::milliseconds(5);

// Returns why a request failed: "HTTP <status>" or the transport's error.
std::string failure_text(const transport::client_response& r) {
  return r.status ? "HTTP " + std::to_string(r.status) : r.error;
}

// Sends `req` through the injected sender when a test set one, else the
// shared HTTP client.
template <class Done>
void send_request(const subscriber_env& env, transport::client_request req, Done done) {
  if (env.send)
    env.send(std::move(req), std::move(done));
  else
    env.client->send(std::move(req), std::move(done));
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

// The subscriber's state: the queue it owns and the policies it composes
// (core/: retry schedule, per-event retries, circuit breaker, token bucket,
// in-flight window). Touched only by its actor; the actor is wiring.
struct subscriber_state {
  subscription sub;
  stats_ptr stats;
  std::shared_ptr<const subscriber_env> env;
  const core::clock* clock = &core::system_clock();

  std::deque<storage::event_ptr> pending;           // never tried or requeued, sorted by seq
  std::map<uint64_t, storage::event_ptr> in_flight; // seq → event
  std::unordered_map<uint64_t, storage::event_ptr> retrying; // failed, waiting in `retries`
  std::unordered_set<uint64_t> dropped;                      // purged while in flight
  bool spilled = false;        // the journal holds queued events not in memory
  uint64_t loaded_through = 0; // highest seq taken into memory
  uint64_t queued = 0;         // pending + retrying + spilled + in flight

  core::retry_schedule schedule;
  core::retry_queue retries;
  std::optional<core::circuit_breaker> breaker;
  std::optional<core::token_bucket> bucket;
  core::in_flight_window window;

  uint64_t wake_gen = 0;      // the breaker's timer
  uint64_t retry_gen = 0;     // the earliest failed event's timer
  int64_t retry_timer_at = 0; // steady ms it fires at; 0 = none armed
  bool waiting_for_tokens = false;
  uint64_t tokens_gen = 0;

  // Failures counted since the last publish_stats, so that a reader of the
  // stats never sees a failure before the in-flight and breaker state it
  // changed.
  uint64_t unpublished_failures = 0;
  int64_t last_failure_at = 0;
  std::string last_error;

  // OAuth egress auth: the access token fetched from auth.auth_url.
  std::string token;
  int64_t token_valid_until = 0; ///< wall ms; refetched after
  uint64_t token_gen = 0;        ///< which token a delivery carried
  bool token_after_401 = false;  ///< fetched because the one before got a 401
  bool refetch_after_401 = false;
  bool fetching_token = false;
  std::unordered_map<uint64_t, uint64_t> sent_with; // seq → token_gen, OAuth only

  // Delivered seqs whose queue keys are not deleted yet: written as one
  // batch (at-least-once: a crash before the write redelivers them).
  std::vector<uint64_t> acks;
  bool ack_flush_scheduled = false;
  // Events given up while handling one message: one journal write for all.
  std::vector<storage::dead_letter> dead;

  std::mt19937_64 rng;

  // The subscription's keys prepared for signing (made on first use, again
  // when a rotation changes them): the current key and the grace key.
  std::optional<core::delivery_signer> signer;
  std::optional<core::delivery_signer> previous_signer;

  // The last attempts, for GET …/attempts (memory only).
  attempt_ring attempts;

  // The failure streak as the log tells it (docs/operations.md): a start
  // line, "still failing" lines, an end line, at most one line per
  // settings.failure_log_interval_ms. A recovery inside the interval is
  // written when it ends, unless a failure comes first: then the streak
  // goes on (a flapping receiver is one streak, not a line per flap).
  struct failure_streak {
    bool failing = false;     // the last attempt failed
    bool logged = false;      // its start line was written
    bool end_pending = false; // recovered; the end line waits for the interval
    uint64_t failures = 0;    // failed attempts since the streak began
    int64_t started_wall = 0; // when it began (wall ms)
    int64_t last_line = 0;    // steady ms of the last line; 0 = none yet
    uint64_t gen = 0;         // the deferred end line's timer
  } streak;
  std::string host; // the url's host: the log names no path, query or credentials
  // Cluster mode: the partition whose gate holds this subscription's deliveries.
  std::optional<uint32_t> gate_partition;

  /// Returns false while this node may not start deliveries (cluster mode,
  /// a partition this node does not lead).
  bool gate_open() const { return !gate_partition || env->gate->open(*gate_partition); }
  /// Returns true while this node leads the partition but its membership
  /// lease is not known to be alive: nothing wakes the actor when it is
  /// renewed, so it looks again by itself (wait_for_lease).
  bool lease_lapsed() const {
    return gate_partition && env->gate->leads(*gate_partition) && !env->gate->lease_alive();
  }
  // What this actor last added to the gate's pending count: its deliveries
  // in flight and its delivered events whose queue keys are not deleted yet.
  int64_t gate_pending = 0;
  /// Brings the gate's pending count up to date (cluster mode; a graceful
  /// stop waits for it to reach zero, actors/delivery_gate.hpp).
  void count_pending() {
    if (!gate_partition)
      return;
    const auto now = static_cast<int64_t>(in_flight.size() + acks.size());
    if (now != gate_pending) {
      env->gate->add_pending(now - gate_pending);
      gate_pending = now;
    }
  }

  subscriber_state() = default;
  subscriber_state(const subscriber_state&) = delete;
  subscriber_state& operator=(const subscriber_state&) = delete;
  ~subscriber_state() {
    flush_acks();
    if (gate_partition && gate_pending != 0)
      env->gate->add_pending(-gate_pending); // deliveries in flight end with the actor
  }

  /// Deletes the queue keys of every delivered event in one write.
  void flush_acks() {
    if (!acks.empty() && env) {
      if (auto err = env->journal->ack_many(sub.number, acks); err && stats) {
        // The keys stay queued: delivered again after a restart, never lost.
        std::lock_guard<std::mutex> guard(stats->mutex);
        stats->last_error = "recording deliveries: " + err->message;
      }
    }
    acks.clear();
    count_pending();
  }

  /// Returns steady ms `steady` as wall ms (for what the stats show).
  int64_t to_wall(int64_t steady) const { return clock->wall_ms() + (steady - clock->steady_ms()); }

  static inline const char* name = "subscriber";
};

using self_ptr = caf::stateful_actor<subscriber_state>*;

// Returns when the next attempt waits for on a timer (steady ms), or 0.
int64_t next_timed_attempt(const subscriber_state& st) {
  if (auto until = st.breaker->open_until())
    return until;
  if (st.window.fifo()) {
    if (auto head = st.retries.head();
        head && (st.pending.empty() || head->first < st.pending.front()->seq))
      return head->second;
    return 0;
  }
  if (auto due = st.retries.next_due(); due && st.pending.empty())
    return *due;
  return 0;
}

void publish_stats(subscriber_state& st) {
  const int64_t until = st.breaker->open_until();
  const int64_t next = next_timed_attempt(st);
  std::lock_guard<std::mutex> guard(st.stats->mutex);
  if (st.unpublished_failures > 0) {
    st.stats->failed_attempts += st.unpublished_failures;
    st.stats->last_failure_at = st.last_failure_at;
    st.stats->last_error = st.last_error;
    st.unpublished_failures = 0;
  }
  st.stats->queued = st.queued;
  st.stats->in_flight = st.in_flight.size();
  st.stats->backing_off_until = until ? st.to_wall(until) : 0;
  st.stats->probing = st.breaker->probing();
  st.stats->next_attempt_at = next > st.clock->steady_ms() ? st.to_wall(next) : 0;
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
  auto read = st.env->journal->read_queue(st.sub.number, st.loaded_through, want);
  if (!read) {
    // Still spilled: the next refill reads from the same place again.
    std::lock_guard<std::mutex> guard(st.stats->mutex);
    st.stats->last_error = "reading the queue: " + read.error().message;
    return;
  }
  auto& page = *read;
  for (auto& e : page) {
    if (st.in_flight.count(e->seq) == 0 && st.retrying.count(e->seq) == 0)
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
    .key("id")
    .value(e.ev.id)
    .key("service")
    .value(sub.service)
    .key("type")
    .value(e.ev.type);
  if (!e.ev.country.empty())
    w.key("country").value(e.ev.country);
  w.key("data").raw(e.ev.data).key("timestamp").value(e.ev.timestamp_ms).end_object();
  return std::move(w).str();
}

namespace {

// Gives `e` up; the journal write waits for flush_dead, one per message.
void dead_letter(self_ptr self, const storage::event_ptr& e, std::string reason) {
  auto& st = self->state;
  st.dead.push_back({e, std::move(reason), static_cast<uint32_t>(st.retries.failures(e->seq)),
                     st.retries.last_error(e->seq), st.clock->wall_ms()});
  st.retries.forget(e->seq);
  if (st.queued > 0)
    --st.queued;
}

// Runs `job` (a synced journal write) off the CAF workers, then
// `then(result)` back in this actor (actors/off_worker.hpp).
template <class Job, class Then>
void off_worker(self_ptr self, Job job, Then then) {
  actors::off_worker(self->state.env->writer, caf::actor_cast<caf::actor>(self), std::move(job),
                     std::move(then));
}

// Moves the dead letters gathered while handling one message to the
// journal in one (synced) write, off the CAF workers.
void flush_dead(self_ptr self) {
  auto& st = self->state;
  if (st.dead.empty())
    return;
  auto* journal = st.env->journal;
  const uint64_t number = st.sub.number;
  std::vector<storage::dead_letter> dead;
  dead.swap(st.dead);
  const std::size_t n = dead.size();
  std::string reason = dead.front().reason;
  off_worker(
    self, [journal, number, dead = std::move(dead)] { return journal->kill_many(number, dead); },
    [self, n, reason = std::move(reason)](std::optional<storage::error>& err) {
      auto& st = self->state;
      if (err)
        log::write(
          log::level::error, "storage.error",
          "cannot write dead letters: they stay queued and age out again after a restart",
          {{"subscription", st.sub.id}, {"events", std::to_string(n)}, {"error", err->message}});
      else
        log::write(
          log::level::warn, "delivery.dead_lettered",
          "events given up as dead letters (GET /v1/subscriptions/{id}/dead-letters; replay "
          "with POST …/dead-letters/replay)",
          {{"subscription", st.sub.id},
           {"host", st.host},
           {"events", std::to_string(n)},
           {"reason", reason}});
      std::lock_guard<std::mutex> guard(st.stats->mutex);
      if (err) {
        // Their queue keys stay: they come back after a restart and age out again.
        st.stats->last_error = "writing dead letters: " + err->message;
      } else {
        st.stats->dead_lettered += n;
      }
    });
}

// Takes a rate-limit token, or arms the timer that ends the wait for one.
bool take_token(self_ptr self) {
  auto& st = self->state;
  if (st.bucket->try_take())
    return true;
  if (!st.waiting_for_tokens) {
    st.waiting_for_tokens = true;
    self->delayed_send(self, std::chrono::milliseconds(st.bucket->wait_ms()), tokens_atom::value,
                       ++st.tokens_gen);
  }
  return false;
}

// Returns the signer of `key`: `signer` itself when it holds that key
// already, else a new one (keys are prepared once per key, not per delivery).
core::delivery_signer& signer_for(std::optional<core::delivery_signer>& signer,
                                  const std::string& key) {
  if (!signer || signer->private_key() != key)
    signer.emplace(key);
  return *signer;
}

// Sets the envelope body and its signatures (docs/api.md §3).
void sign_envelope(transport::client_request& req, subscriber_state& st,
                   const storage::stored_event& e, int64_t wall_ms) {
  const subscription& sub = st.sub;
  req.body = envelope_body(sub, e);
  const int64_t ts = wall_ms / 1000;
  auto& signer = signer_for(st.signer, sub.private_key);
  std::string standard;
  signer.append_standard_webhooks_signature(standard, e.ev.id, ts, req.body);
  // During a rotate-keys grace the old key signs too, after the new one:
  // Standard Webhooks receivers accept any of the listed signatures.
  if (!sub.previous_private_key.empty() && wall_ms < sub.previous_key_until) {
    standard.push_back(' ');
    signer_for(st.previous_signer, sub.previous_private_key)
      .append_standard_webhooks_signature(standard, e.ev.id, ts, req.body);
  }
  // Emplaced, not an initializer list: that would copy every string once more.
  req.headers.reserve(7); // and one for egress auth
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("x-notificare-public-key", sub.public_key);
  req.headers.emplace_back("x-notificare-signature", signer.notificare_signature(req.body));
  req.headers.emplace_back("webhook-id", e.ev.id);
  req.headers.emplace_back("webhook-timestamp", std::to_string(ts));
  req.headers.emplace_back("webhook-signature", std::move(standard));
}

bool uses_oauth(const subscription& sub) {
  return sub.auth.type == "OAuth" || sub.auth.type == "OAuthRefreshTokenOnly";
}

// Adds the egress auth headers of `auth` (docs/api.md §3); `token` is the OAuth
// access token.
void add_auth(transport::client_request& req, const core::egress_auth& auth,
              const std::string& token) {
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
    sign_envelope(req, st, *e, st.clock->wall_ms());
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
  st.count_pending();
  st.breaker->sent(e->seq);
  caf::actor me = caf::actor_cast<caf::actor>(self);
  uint64_t seq = e->seq;
  const int64_t sent = st.clock->steady_ms();
  send_request(*st.env, std::move(req), [me, seq, sent](transport::client_response r) {
    caf::anon_send(me, delivered_atom::value, seq, sent, std::move(r));
  });
}

// Counts a failed attempt; the next publish_stats shows it.
void count_failure(subscriber_state& st, const std::string& why) {
  ++st.unpublished_failures;
  st.last_failure_at = st.clock->wall_ms();
  st.last_error = why;
}

// Returns the host of `url` for the log ("" when it does not parse).
std::string host_of(const std::string& url) {
  auto parts = core::parse_url(url);
  return parts ? parts->host : std::string();
}

bool line_due(const subscriber_state& st, int64_t now) {
  return st.streak.last_line == 0 ||
         now - st.streak.last_line >= st.env->settings.failure_log_interval_ms;
}

// Notes a failed attempt for the failure-streak lines; `host` is the host
// that failed (the webhook's, or the OAuth token endpoint's).
void note_failure(subscriber_state& st, const std::string& why, const std::string& host) {
  auto& k = st.streak;
  const int64_t now = st.clock->steady_ms();
  if (!k.failing && !k.end_pending) {
    k.failures = 0;
    k.started_wall = st.clock->wall_ms();
    k.logged = false;
  }
  k.failing = true;
  k.end_pending = false;
  ++k.failures;
  if (!line_due(st, now) || !log::enabled(log::level::warn))
    return;
  const auto n = std::to_string(k.failures);
  if (!k.logged) {
    log::write(log::level::warn, "delivery.failing", "deliveries to a subscription started failing",
               {{"subscription", st.sub.id}, {"host", host}, {"error", why}});
    k.logged = true;
  } else {
    log::write(log::level::warn, "delivery.still_failing",
               "deliveries to a subscription are still failing",
               {{"subscription", st.sub.id},
                {"host", host},
                {"error", why},
                {"failed_attempts", n},
                {"since", core::format_iso8601_ms(k.started_wall, "Z")}});
  }
  k.last_line = now;
}

void write_streak_end(subscriber_state& st) {
  auto& k = st.streak;
  log::write(log::level::info, "delivery.recovered", "deliveries to a subscription succeed again",
             {{"subscription", st.sub.id},
              {"host", st.host},
              {"failed_attempts", std::to_string(k.failures)},
              {"failing_for_s", std::to_string((st.clock->wall_ms() - k.started_wall) / 1000)}});
  k.logged = false;
  k.end_pending = false;
  k.last_line = st.clock->steady_ms();
}

// Notes a 2xx: ends the streak, at once or when the interval allows.
void note_success(self_ptr self) {
  auto& st = self->state;
  auto& k = st.streak;
  if (!k.failing)
    return; // the delivery path's only cost: this branch
  k.failing = false;
  if (!k.logged)
    return;
  const int64_t now = st.clock->steady_ms();
  if (line_due(st, now))
    return write_streak_end(st);
  k.end_pending = true;
  const int64_t wait = st.streak.last_line + st.env->settings.failure_log_interval_ms - now;
  self->delayed_send(self, std::chrono::milliseconds(std::max<int64_t>(1, wait)),
                     streak_atom::value, ++k.gen);
}

// Logs a breaker that opened from closed or closed after a probe; re-openings
// after a failed probe are debug lines (the streak lines cover them).
void note_breaker(subscriber_state& st, core::circuit_breaker::state before) {
  using bs = core::circuit_breaker::state;
  const auto after = st.breaker->current();
  if (after == before)
    return;
  if (after == bs::open) {
    const auto level = before == bs::closed ? log::level::warn : log::level::debug;
    const int64_t wait = std::max<int64_t>(0, st.breaker->open_until() - st.clock->steady_ms());
    log::write(
      level, "breaker.opened",
      before == bs::closed ? "circuit breaker opened: deliveries to the subscription pause"
                           : "circuit breaker opened again: the probe failed",
      {{"subscription", st.sub.id}, {"host", st.host}, {"retry_in_ms", std::to_string(wait)}});
  } else if (after == bs::closed) {
    log::write(log::level::info, "breaker.closed",
               "circuit breaker closed: the probe succeeded, deliveries resume",
               {{"subscription", st.sub.id}, {"host", st.host}});
  }
}

// Arms the timer that ends the breaker's wait (a newer one makes older stale).
void arm_wake(self_ptr self) {
  auto& st = self->state;
  const int64_t wait = std::max<int64_t>(1, st.breaker->open_until() - st.clock->steady_ms());
  self->delayed_send(self, std::chrono::milliseconds(wait), wake_atom::value, ++st.wake_gen);
}

// Arms the timer for the next failed event due, unless one as early is armed.
// A due event that waits for room, the breaker or a token needs none: a
// completion, the wake or the token timer pumps again.
void arm_retry_timer(self_ptr self, int64_t now) {
  auto& st = self->state;
  const int64_t at = next_timed_attempt(st);
  if (at <= now || st.breaker->open_until() != 0)
    return;
  if (st.retry_timer_at != 0 && st.retry_timer_at <= at)
    return;
  st.retry_timer_at = at;
  self->delayed_send(self, std::chrono::milliseconds(at - now), retry_atom::value, ++st.retry_gen);
}

// The OAuth token endpoint failed: nothing can go out, so the whole
// subscription backs off as it does on a connection failure.
void token_failure(self_ptr self, const std::string& why, int64_t retry_after) {
  auto& st = self->state;
  count_failure(st, why);
  note_failure(st, why, host_of(st.sub.auth.auth_url));
  const auto before = st.breaker->current();
  st.breaker->trip(retry_after, st.rng);
  note_breaker(st, before);
  arm_wake(self);
  publish_stats(st);
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
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.body = core::oauth_token_request(st.sub.auth);
  caf::actor me = caf::actor_cast<caf::actor>(self);
  send_request(*st.env, std::move(req), [me](transport::client_response r) {
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
    return token_failure(self, "oauth token endpoint " + url + ": " + failure_text(r),
                         retry_after_ms(r));
  }
  auto token = core::decode_oauth_token(r.body);
  if (!token)
    return token_failure(self, "oauth token endpoint " + url + ": " + token.error().what(), 0);
  st.token = std::move(token->access_token);
  // Refetched a little early, so that a token does not expire in flight.
  st.token_valid_until = st.clock->wall_ms() + token->expires_in_s * 900;
  ++st.token_gen;
  st.token_after_401 = st.refetch_after_401;
  st.refetch_after_401 = false;
  pump(self);
}

// The next event to send and where it waits: a failed event whose time has
// come, or the oldest fresh one. A FIFO subscription takes its lowest seq
// and waits for it when it is a failed event not due yet.
struct candidate {
  storage::event_ptr event;
  bool retry = false;
};

std::optional<candidate> next_candidate(subscriber_state& st, int64_t now) {
  if (st.window.fifo()) {
    auto head = st.retries.head();
    if (head && (st.pending.empty() || head->first < st.pending.front()->seq)) {
      if (head->second > now)
        return std::nullopt; // nothing overtakes a failing head
      return candidate{st.retrying.at(head->first), true};
    }
  } else if (auto seq = st.retries.peek_due(now)) {
    return candidate{st.retrying.at(*seq), true};
  }
  if (st.pending.empty())
    return std::nullopt;
  return candidate{st.pending.front(), false};
}

void remove_candidate(subscriber_state& st, const candidate& c) {
  if (c.retry) {
    st.retries.take(c.event->seq);
    st.retrying.erase(c.event->seq);
  } else {
    st.pending.pop_front();
  }
}

// How often a subscriber held back by a lapsed lease looks at it again.
constexpr int64_t lease_recheck_ms = 100;

// Cluster mode, the lease lapsed (delivery_gate.hpp): pumps again shortly,
// on the retry timer, unless it fires sooner anyway.
void wait_for_lease(self_ptr self, int64_t now) {
  auto& st = self->state;
  const int64_t at = now + lease_recheck_ms;
  if (st.retry_timer_at != 0 && st.retry_timer_at <= at)
    return;
  st.retry_timer_at = at;
  self->delayed_send(self, std::chrono::milliseconds(lease_recheck_ms), retry_atom::value,
                     ++st.retry_gen);
}

// Starts as many deliveries as the window, the breaker, the rate limit and
// the failed events' own delays allow.
void pump(self_ptr self) {
  auto& st = self->state;
  if (st.sub.state != core::subscription_state::active ||
      st.sub.delivery != core::delivery_mode::push || !st.breaker->may_send())
    return;
  if (!st.gate_open()) {
    if (st.lease_lapsed())
      wait_for_lease(self, st.clock->steady_ms());
    return;
  }
  refill(st);
  const int64_t now = st.clock->steady_ms();
  const int64_t wall = st.clock->wall_ms();
  if (uses_oauth(st.sub) && wall >= st.token_valid_until && next_candidate(st, now)) {
    // Deliveries wait for a token; the ones in flight finish with the old one.
    fetch_token(self);
    return;
  }
  while (st.breaker->may_send() && st.window.has_room(st.in_flight.size(), st.breaker->probing())) {
    // Read per delivery: once demote closed it, none starts (actors/cluster_apply.hpp).
    if (!st.gate_open()) {
      if (st.lease_lapsed())
        wait_for_lease(self, now);
      break;
    }
    auto c = next_candidate(st, now);
    if (!c)
      break;
    if (wall - c->event->ingest_ms > st.env->settings.max_age_ms) {
      remove_candidate(st, *c);
      dead_letter(self, c->event, "older than retry.max_age before delivery");
      continue;
    }
    if (!take_token(self))
      break;
    remove_candidate(st, *c);
    send_one(self, std::move(c->event));
    if (st.pending.empty())
      refill(st);
  }
  arm_retry_timer(self, now);
}

// Returns how the circuit breaker weighs answer `r` (docs/api.md "Retries").
core::attempt_outcome outcome_of(const transport::client_response& r, int64_t retry_after) {
  if (r.status >= 200 && r.status < 300)
    return core::attempt_outcome::success;
  if (r.status == 0)
    return core::attempt_outcome::connection_failure;
  if (r.status == 429 || retry_after > 0)
    return core::attempt_outcome::throttled;
  return core::attempt_outcome::failure;
}

// Keeps attempt `a` of `e` for GET …/attempts and shows it to open streams.
void record_attempt(subscriber_state& st, const storage::stored_event& e, int64_t sent,
                    const transport::client_response& r, int attempt) {
  attempt_record& a = st.attempts.next_slot(); // assigned over: no allocation once warm
  a.event_id.assign(e.ev.id);
  a.type.assign(e.ev.type);
  a.attempt = attempt;
  a.at = st.to_wall(sent);
  a.duration_ms = std::max<int64_t>(0, st.clock->steady_ms() - sent);
  a.status = r.status;
  if (r.status >= 200 && r.status < 300)
    a.error.clear();
  else
    a.error = failure_text(r);
  assign_utf8_excerpt(a.response_excerpt, r.body);
  auto* feed = st.env->feed;
  if (feed && feed->active()) {
    auto json = attempt_event_json(st.sub.id, a);
    feed->publish({"attempt", st.sub.id, json});
  }
}

void on_delivered(self_ptr self, uint64_t seq, int64_t sent, const transport::client_response& r) {
  auto& st = self->state;
  auto it = st.in_flight.find(seq);
  if (it == st.in_flight.end())
    return;
  auto e = it->second;
  st.in_flight.erase(it); // counted below, with the ack if it is one (count_pending)
  const bool was_dropped = st.dropped.erase(seq) > 0;
  const int64_t wall = st.clock->wall_ms();
  uint64_t sent_gen = 0;
  if (auto g = st.sent_with.find(seq); g != st.sent_with.end()) {
    sent_gen = g->second;
    st.sent_with.erase(g);
  }
  record_attempt(st, *e, sent, r, st.retries.failures(seq) + 1);
  if (r.status == 401 && uses_oauth(st.sub) && !was_dropped) {
    // A 401 to a token fetched on schedule: refresh it once and resend, no
    // failure counted. A 401 to a token fetched after a 401 is a failure.
    const bool stale = sent_gen != st.token_gen;
    if (stale || !st.token_after_401) {
      if (!stale) {
        st.token_valid_until = 0;
        st.refetch_after_401 = true;
      }
      st.breaker->withdraw(seq);
      insert_sorted(st.pending, e);
      st.count_pending();
      pump(self);
      flush_dead(self);
      publish_stats(st);
      return;
    }
    st.token_valid_until = 0; // the next attempt starts with a fresh token
  }
  const int64_t retry_after = retry_after_ms(r);
  const auto outcome = outcome_of(r, retry_after);
  if (outcome == core::attempt_outcome::success) {
    st.acks.push_back(seq);
    if (st.acks.size() >= max_ack_batch) {
      st.flush_acks();
    } else if (!st.ack_flush_scheduled) {
      st.ack_flush_scheduled = true;
      self->delayed_send(self, ack_flush_delay, flush_atom::value);
    }
    st.retries.forget(seq);
    if (!was_dropped && st.queued > 0)
      --st.queued;
    std::lock_guard<std::mutex> guard(st.stats->mutex);
    ++st.stats->delivered;
    st.stats->last_success_at = wall;
    st.stats->add_latency(std::max<int64_t>(0, wall - e->ingest_ms));
  } else {
    std::string why = failure_text(r);
    count_failure(st, why);
    note_failure(st, why, st.host);
    const int failures = st.retries.add_failure(seq, why);
    if (was_dropped) {
      st.retries.forget(seq);
    } else if (wall - e->ingest_ms > st.env->settings.max_age_ms) {
      dead_letter(self, e, "older than retry.max_age; last error: " + why);
    } else {
      // The event waits out its own delay; the others keep flowing.
      st.retries.defer(seq,
                       st.clock->steady_ms() + st.schedule.delay_ms(failures, retry_after, st.rng));
      st.retrying.emplace(seq, e);
    }
  }
  st.count_pending();
  if (outcome == core::attempt_outcome::success)
    note_success(self);
  const auto before = st.breaker->current();
  if (st.breaker->record(seq, outcome, retry_after, st.rng))
    arm_wake(self);
  note_breaker(st, before);
  pump(self);
  flush_dead(self);
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
  if (st.env->clock)
    st.clock = st.env->clock;
  const auto& s = st.env->settings;
  st.schedule = core::retry_schedule({s.initial_ms, s.multiplier, s.max_ms});
  st.breaker.emplace(
    *st.clock, core::breaker_settings{s.breaker_ratio, s.breaker_window_ms, s.breaker_min_attempts},
    st.schedule);
  st.bucket.emplace(*st.clock, st.sub.rate_limit);
  st.window.set_max(st.sub.max_in_flight);
  st.rng.seed(st.env->seed ^ (st.sub.number * 0x9e3779b97f4a7c15ULL));
  st.host = host_of(st.sub.url);
  if (st.env->gate && st.sub.is_client_kind())
    st.gate_partition = st.env->gate->partition_of(st.sub.id);
  pump(self);
  flush_dead(self);
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
      flush_dead(self);
      publish_stats(st);
    },
    [=](delivered_atom, uint64_t seq, int64_t sent, const transport::client_response& r) {
      on_delivered(self, seq, sent, r);
    },
    [=](const list_attempts& x) -> attempt_list {
      return attempt_list{self->state.attempts.newest(x.limit)};
    },
    [=](wake_atom, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.wake_gen)
        return;
      const auto before = st.breaker->current();
      const bool half_open = st.breaker->try_half_open();
      note_breaker(st, before);
      if (!half_open) {
        if (st.breaker->open_until() != 0)
          arm_wake(self); // a later Retry-After moved the end
        return;
      }
      pump(self);
      flush_dead(self);
      publish_stats(st);
    },
    [=](retry_atom, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.retry_gen)
        return;
      st.retry_timer_at = 0;
      pump(self);
      flush_dead(self);
      publish_stats(st);
    },
    [=](tokens_atom, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.tokens_gen)
        return;
      st.waiting_for_tokens = false;
      pump(self);
      flush_dead(self);
      publish_stats(st);
    },
    [=](streak_atom, uint64_t gen) {
      auto& st = self->state;
      if (gen == st.streak.gen && st.streak.end_pending)
        write_streak_end(st);
    },
    [=](flush_atom) {
      auto& st = self->state;
      st.ack_flush_scheduled = false;
      st.flush_acks();
    },
    [=](token_atom, transport::client_response& r) {
      on_token(self, r);
      flush_dead(self);
      publish_stats(self->state);
    },
    [=](update_subscription& msg) {
      auto& st = self->state;
      auto& updated = msg.sub;
      if (updated.auth != st.sub.auth) {
        st.token.clear();
        st.token_valid_until = 0;
        ++st.token_gen;
      }
      st.sub = std::move(updated);
      st.host = host_of(st.sub.url);
      st.window.set_max(st.sub.max_in_flight);
      st.bucket->set_rate(st.sub.rate_limit);
      pump(self);
      flush_dead(self);
      publish_stats(st);
    },
    [=](storage_done& done) { done.then(); },
    [=](purge_queue) -> caf::result<purged> {
      auto& st = self->state;
      // Memory is dropped now, the keys by the writer: an event that arrives
      // meanwhile may still be delivered, never lost.
      st.acks.clear(); // purge deletes every queue key
      st.count_pending();
      st.pending.clear();
      st.retries.clear();
      st.retrying.clear();
      st.spilled = false;
      for (auto& [seq, e] : st.in_flight)
        st.dropped.insert(seq);
      st.queued = 0;
      publish_stats(st);
      auto rp = self->make_response_promise<purged>();
      auto* journal = st.env->journal;
      const uint64_t number = st.sub.number;
      off_worker(
        self, [journal, number] { return journal->purge(number); },
        [self, rp](storage::expected<uint64_t>& n) mutable {
          if (!n) {
            // The keys are still there: read them back from the start.
            auto& st = self->state;
            st.spilled = true;
            st.loaded_through = 0;
            refill(st);
            pump(self);
            rp.deliver(
              make_error(errc::unavailable, "cannot purge the queue: " + n.error().message));
            return;
          }
          rp.deliver(purged{*n});
        });
      return rp;
    },
    [=](const replay_dead_letters& x) -> caf::result<replayed> {
      auto& st = self->state;
      auto rp = self->make_response_promise<replayed>();
      auto* journal = st.env->journal;
      const uint64_t number = st.sub.number;
      const int64_t now = st.clock->wall_ms();
      off_worker(
        self,
        [journal, number, now,
         filter = storage::replay_filter{x.event_id, x.since_ms, x.until_ms}] {
          return journal->replay_dead(number, now, filter);
        },
        [self, rp, only = x.event_id](
          storage::expected<std::vector<storage::event_ptr>>& replayed_events) mutable {
          if (!replayed_events) {
            rp.deliver(make_error(errc::unavailable, "cannot replay dead letters: " +
                                                       replayed_events.error().message));
            return;
          }
          auto& st = self->state;
          auto& events = *replayed_events;
          if (events.empty() && !only.empty()) {
            rp.deliver(make_error(errc::not_found, "no dead letter of event " + only +
                                                     "; GET …/dead-letters lists them"));
            return;
          }
          for (auto& e : events)
            insert_sorted(st.pending, e);
          st.queued += events.size();
          pump(self);
          flush_dead(self);
          publish_stats(st);
          rp.deliver(replayed{events.size()});
        });
      return rp;
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
