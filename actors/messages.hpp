#pragma once
// Every CAF atom and message type switchyard's actors exchange.
//
// The protocol — what the registry, subscriber and pull subscriber actors
// are asked and what they answer — is made of plain structs with CAF
// 0.17-form `inspect` overloads, declared in the type-ID block `switchyard`
// at the end of this file and registered at run time with
// `register_protocol(cfg)`: every one of them can cross nodes. A request
// names what it wants; the answer is a domain value or a `caf::error` of the
// category `switchyard` (actors/errors.hpp), never an HTTP status: api/
// alone maps results to HTTP. docs/architecture.md lists the protocol
// message by message.
//
// Local-only messages carry pointers (event batches shared with the
// journal, HTTP client answers) or serve an actor's own timers; they are
// marked CAF_ALLOW_UNSAFE_MESSAGE_TYPE and never leave their node.

#include <caf/all.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "actors/errors.hpp"
#include "actors/live_feed.hpp"
#include "actors/subscription.hpp"
#include "core/event_type_codec.hpp"
#include "core/push_codec.hpp"
#include "core/subscription_codec.hpp"
#include "storage/journal.hpp"
#include "transport/http_types.hpp"

namespace sy::actors {

// -- local-only atoms: an actor's own timers and node-local hand-overs --------

/// Delivers new events to a subscriber (one message per commit group).
using enqueue_atom = caf::atom_constant<caf::atom("enqueue")>;
/// Reports the outcome of one webhook POST to its subscriber.
using delivered_atom = caf::atom_constant<caf::atom("delivered")>;
/// Ends a backoff period (carries the timer generation).
using wake_atom = caf::atom_constant<caf::atom("wake")>;
/// Ends a failed event's own retry wait (carries the timer generation).
using retry_atom = caf::atom_constant<caf::atom("retry")>;
/// Ends a rate-limit wait (carries the timer generation).
using tokens_atom = caf::atom_constant<caf::atom("tokens")>;
/// Reports a token endpoint's answer to its subscriber (OAuth egress auth).
using token_atom = caf::atom_constant<caf::atom("token")>;
/// Writes a subscriber's batched acks to the journal.
using flush_atom = caf::atom_constant<caf::atom("flushacks")>;
/// Writes a subscriber's deferred failure-streak end line (carries the timer generation).
using streak_atom = caf::atom_constant<caf::atom("streak")>;
/// Triggers journal garbage collection.
using gc_atom = caf::atom_constant<caf::atom("gc")>;
/// Seals a pull subscriber's open file once it is old enough (carries the timer generation).
using rotate_atom = caf::atom_constant<caf::atom("rotate")>;

/// Events for one subscriber, in sequence order. Local-only: the events are
/// shared with the journal's commit thread.
struct event_list {
  std::vector<storage::event_ptr> events;
};

// -- inspection helpers ---------------------------------------------------------

/// Lets an inspector read and write a std::optional member, which CAF 0.17
/// does not know: a presence flag, then the value (default-made when absent).
template <class T>
struct optional_field {
  std::optional<T>* target;
};

/// Returns the inspection proxy of `x`.
template <class T>
optional_field<T> optional_of(std::optional<T>& x) {
  return {&x};
}

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, optional_field<T> x) {
  bool present = x.target->has_value();
  T value = present ? **x.target : T{};
  return f(present, value, caf::meta::load_callback([&]() -> caf::error {
             if (present)
               *x.target = std::move(value);
             else
               x.target->reset();
             return caf::none;
           }));
}

// -- values the protocol carries ------------------------------------------------

/// A subscription as one request saw it: its record, its stats, and whether
/// the answer may show the private key (only on create and on a key change).
struct subscription_view {
  subscription sub;
  stats_snapshot stats;
  bool show_private_key = false;
};

/// Every subscription of one kind, in id order.
struct subscription_list {
  std::vector<subscription_view> items;
};

/// The answer to a request that has no value to return.
struct done {};

/// How many events a purge dropped.
struct purged {
  uint64_t count = 0;
};

/// How many dead letters a replay requeued.
struct replayed {
  uint64_t count = 0;
};

/// One dead letter: the event, why it was given up and how delivery went.
struct dead_letter_view {
  std::string id;
  std::string type;
  std::string country;
  std::string data; ///< raw JSON
  int64_t timestamp_ms = 0;
  std::string reason;
  uint64_t attempts = 0;  ///< failed attempts before it was given up
  std::string last_error; ///< of the last failed attempt; "" when none
  int64_t dead_ms = 0;    ///< wall ms when given up; 0 when not recorded (older records)
};

/// A page of a subscription's dead letters, oldest first; `more` when
/// others follow the last one.
struct dead_letter_list {
  std::vector<dead_letter_view> items;
  bool more = false;
};

/// The change-notification watcher and whether the request created it.
struct watcher_view {
  subscription sub;
  bool created = false;
};

/// An event type as stored, and whether the request added it (not replaced).
struct event_type_stored {
  core::event_type_def type;
  bool added = false;
};

/// Whether a deleted event type had been registered.
struct event_type_deleted {
  bool existed = false;
};

/// Event types, in code order.
struct event_type_list {
  std::vector<core::event_type_def> items;
};

/// The distinct device tokens a sendToList addresses.
struct push_tokens {
  std::vector<std::string> tokens;
};

/// One subscription's stats, for /metrics.
struct stats_row {
  std::string id;
  stats_snapshot stats;
};

/// Every subscription's stats, for /metrics.
struct stats_table {
  std::vector<stats_row> rows;
};

/// A pull subscriber's sealed files, oldest first.
struct event_file_names {
  std::vector<std::string> names;
};

/// The NDJSON body of one event file.
struct event_file_body {
  std::string ndjson;
};

// -- registry requests ----------------------------------------------------------

/// Creates a native subscription → subscription_view (private key shown).
struct create_subscription {
  core::subscription_spec spec;
};

/// Creates a dashboard-facade subscription → subscription_view.
struct create_dashboard_subscription {
  core::dashboard_spec spec;
};

/// Lists the subscriptions of `kind` → subscription_list.
struct list_subscriptions {
  subscription_kind kind = subscription_kind::native;
};

/// Reads one subscription → subscription_view, or not_found.
struct get_subscription {
  subscription_kind kind = subscription_kind::native;
  std::string id;
};

/// Changes the members `spec` sets → subscription_view (the private key
/// shown when a new url rotated the keys).
struct patch_subscription {
  std::string id;
  core::subscription_spec spec;
};

/// Deletes a subscription and its queue → done (idempotent).
struct delete_subscription {
  subscription_kind kind = subscription_kind::native;
  std::string id;
};

/// Sends the verification challenge to the url → subscription_view (active),
/// or invalid{url} when the endpoint does not answer it correctly.
struct verify_subscription {
  std::string id;
};

/// Stops deliveries, keeps queuing → subscription_view, or conflict when unverified.
struct pause_subscription {
  std::string id;
};

/// Resumes deliveries → subscription_view, or conflict when unverified.
struct activate_subscription {
  std::string id;
};

/// Drops every queued event → purged.
struct purge_subscription {
  std::string id;
};

/// Lists at most `limit` dead letters after the event of seq `after_seq`
/// (0: from the first) → dead_letter_list.
struct list_dead_letters {
  std::string id;
  uint64_t limit = storage::max_listed_dead_letters;
  uint64_t after_seq = 0;
};

/// Requeues the dead letters whose event timestamp is within
/// [since_ms, until_ms) (every one by default) → replayed.
struct replay_subscription {
  std::string id;
  int64_t since_ms = std::numeric_limits<int64_t>::min();
  int64_t until_ms = std::numeric_limits<int64_t>::max();
};

/// Requeues the dead letter of event `event_id` → replayed, or not_found.
struct replay_dead_letter {
  std::string id;
  std::string event_id;
};

/// Deletes every dead letter → purged.
struct drop_dead_letters {
  std::string id;
};

/// Registers or replaces the change-notification watcher → watcher_view.
struct put_watcher {
  core::watcher_spec spec;
};

/// Reads the watcher → watcher_view, or not_found.
struct get_watcher {};

/// Removes the watcher and what it had not received → done.
struct delete_watcher {};

/// Registers (or replaces, by code) an Acoustic event type → event_type_stored.
struct put_event_type {
  core::event_type_def type;
};

/// Deletes an event type → event_type_deleted.
struct delete_event_type {
  std::string code;
};

/// Lists the registered event types some subscription receives → event_type_list.
struct list_subscribed_event_types {};

/// Stores a push association (replacing its token's) → done.
struct put_association {
  core::association_spec association;
};

/// Resolves a sendToList's recipients through the associations → push_tokens.
struct resolve_push_tokens {
  core::send_to_list_spec spec;
};

/// Finds the pull subscriber whose accessKey is `access_key` →
/// pull_subscriber_found, or unauthorized.
struct find_pull_subscriber {
  std::string access_key;
};

/// A pull subscription's actor and id (a cluster node passes the request on
/// to the id's partition primary, where its files are).
struct pull_subscriber_found {
  caf::actor subscriber;
  std::string id;
};

/// Reads every subscription's stats → stats_table.
struct list_stats {};

/// Reads the newest `limit` delivery attempts of subscription `id` →
/// attempt_list (newest first; memory only, empty after a restart).
struct get_attempts {
  std::string id;
  uint64_t limit = 20;
};

/// Gives subscription `id` new keys → subscription_view (private key
/// shown); the old private key still signs webhook-signature for
/// `grace_seconds`.
struct rotate_keys {
  std::string id;
  int64_t grace_seconds = 86400;
};

/// Delivery attempts, newest first.
struct attempt_list {
  std::vector<attempt_record> items;
};

/// The endpoint's answer to a verification challenge (the registry's own
/// message to itself; `ticket` names the waiting request).
struct verification_answer {
  uint64_t ticket = 0;
  int status = 0; ///< 0 = no answer (`error` says why)
  std::string body;
  std::string error;
};

// -- subscriber and pull subscriber requests ----------------------------------

/// Replaces a subscriber's copy of its subscription (no answer).
struct update_subscription {
  subscription sub;
};

/// Drops a subscriber's queue → purged.
struct purge_queue {};

/// Reads a subscriber's newest `limit` attempts → attempt_list.
struct list_attempts {
  uint64_t limit = 0;
};

/// A journal job's continuation, run by the actor that asked for the job
/// once the job is done on storage::blocking_worker (local only: it carries
/// a closure over the actor's state).
struct storage_done {
  std::function<void()> then;
};

/// One subscription change read from etcd's /sy/subs/ (actors/cluster_subs.hpp).
struct remote_subscription {
  std::string id;
  std::string record;   ///< mirror_record(); empty when deleted
  int64_t revision = 0; ///< the key's mod_revision (a delete's own revision)
  bool deleted = false;
};

/// What the watch of /sy/subs/ tells the registry: every key at `revision`
/// (snapshot: subscriptions absent from it are removed) or changes after
/// the last message, in revision order. Local only.
struct cluster_subscriptions {
  bool snapshot = false;
  int64_t revision = 0;
  std::vector<remote_subscription> changes;
};

/// One Acoustic event type read from etcd's /sy/event_types/ (the record
/// core::write_event_type makes; empty when deleted).
struct remote_event_type {
  std::string code;
  std::string record;
  bool deleted = false;
};

/// What the watch of /sy/event_types/ tells the registry: every key
/// (snapshot: types absent from it are removed) or the changes since the
/// last message, in revision order. Local only.
struct cluster_event_types {
  bool snapshot = false;
  std::vector<remote_event_type> changes;
};

/// What the watch of /sy/associations/ tells the registry: every key
/// (snapshot) or the puts since the last message, in revision order; each
/// the record encode_association makes. Local only.
struct cluster_associations {
  bool snapshot = false;
  std::vector<std::string> records;
};

/// Requeues a subscriber's dead letters (only that of `event_id` when it
/// is not empty; only those whose event timestamp is within [since_ms,
/// until_ms)) → replayed.
struct replay_dead_letters {
  std::string event_id;
  int64_t since_ms = std::numeric_limits<int64_t>::min();
  int64_t until_ms = std::numeric_limits<int64_t>::max();
};

/// Lists at most `max` sealed files of a pull subscriber → event_file_names.
struct list_event_files {
  uint64_t max = 0;
};

/// Reads one sealed file → event_file_body, or not_found.
struct read_event_file {
  std::string name;
};

/// Deletes one sealed file (the client has its events) → done, or not_found.
struct delete_event_file {
  std::string name;
};

/// The registry's typed interface: every request it answers, with its reply
/// (and storage_done, local only: its own synced writes coming back).
using registry_actor = caf::typed_actor<
  caf::replies_to<create_subscription>::with<subscription_view>,
  caf::replies_to<create_dashboard_subscription>::with<subscription_view>,
  caf::replies_to<list_subscriptions>::with<subscription_list>,
  caf::replies_to<get_subscription>::with<subscription_view>,
  caf::replies_to<patch_subscription>::with<subscription_view>,
  caf::replies_to<delete_subscription>::with<done>,
  caf::replies_to<verify_subscription>::with<subscription_view>,
  caf::replies_to<pause_subscription>::with<subscription_view>,
  caf::replies_to<activate_subscription>::with<subscription_view>,
  caf::replies_to<purge_subscription>::with<purged>,
  caf::replies_to<list_dead_letters>::with<dead_letter_list>,
  caf::replies_to<replay_subscription>::with<replayed>,
  caf::replies_to<replay_dead_letter>::with<replayed>,
  caf::replies_to<drop_dead_letters>::with<purged>, caf::replies_to<put_watcher>::with<watcher_view>,
  caf::replies_to<get_watcher>::with<watcher_view>, caf::replies_to<delete_watcher>::with<done>,
  caf::replies_to<put_event_type>::with<event_type_stored>,
  caf::replies_to<delete_event_type>::with<event_type_deleted>,
  caf::replies_to<list_subscribed_event_types>::with<event_type_list>,
  caf::replies_to<put_association>::with<done>,
  caf::replies_to<resolve_push_tokens>::with<push_tokens>,
  caf::replies_to<find_pull_subscriber>::with<pull_subscriber_found>,
  caf::replies_to<list_stats>::with<stats_table>, caf::replies_to<get_attempts>::with<attempt_list>,
  caf::replies_to<rotate_keys>::with<subscription_view>, caf::reacts_to<verification_answer>,
  caf::reacts_to<storage_done>, caf::reacts_to<cluster_subscriptions>,
  caf::reacts_to<cluster_event_types>, caf::reacts_to<cluster_associations>>;

// -- inspect overloads (CAF 0.17 form) ------------------------------------------

#define SY_INSPECT(type, ...)                                                                      \
  template <class Inspector>                                                                       \
  typename Inspector::result_type inspect(Inspector& f, type& x) {                                 \
    return f(caf::meta::type_name(#type), __VA_ARGS__);                                            \
  }
#define SY_INSPECT_EMPTY(type)                                                                     \
  template <class Inspector>                                                                       \
  typename Inspector::result_type inspect(Inspector& f, type&) {                                   \
    return f(caf::meta::type_name(#type));                                                         \
  }

SY_INSPECT(subscription, x.number, x.id, x.kind, x.service, x.url, x.types, x.country, x.delivery,
           x.verification_required, x.state, x.public_key, x.private_key, x.created_at,
           x.max_in_flight, x.rate_limit, x.auth, x.access_key, x.dashboard_event,
           x.notification_key, x.verified, x.previous_private_key, x.previous_key_until)
SY_INSPECT(stats_snapshot, x.queued, x.in_flight, x.delivered, x.failed_attempts, x.dead_lettered,
           x.last_success_at, x.last_failure_at, x.last_error, x.latency_p50_ms, x.latency_p99_ms,
           x.backing_off_until, x.probing, x.next_attempt_at, x.latency_buckets, x.latency_sum_ms)
SY_INSPECT(subscription_view, x.sub, x.stats, x.show_private_key)
SY_INSPECT(subscription_list, x.items)
SY_INSPECT_EMPTY(done)
SY_INSPECT(purged, x.count)
SY_INSPECT(replayed, x.count)
SY_INSPECT(dead_letter_view, x.id, x.type, x.country, x.data, x.timestamp_ms, x.reason, x.attempts,
           x.last_error, x.dead_ms)
SY_INSPECT(dead_letter_list, x.items, x.more)
SY_INSPECT(watcher_view, x.sub, x.created)
SY_INSPECT(event_type_stored, x.type, x.added)
SY_INSPECT(event_type_deleted, x.existed)
SY_INSPECT(event_type_list, x.items)
SY_INSPECT(push_tokens, x.tokens)
SY_INSPECT(stats_row, x.id, x.stats)
SY_INSPECT(stats_table, x.rows)
SY_INSPECT(event_file_names, x.names)
SY_INSPECT(event_file_body, x.ndjson)
SY_INSPECT(create_subscription, x.spec)
SY_INSPECT(create_dashboard_subscription, x.spec)
SY_INSPECT(list_subscriptions, x.kind)
SY_INSPECT(get_subscription, x.kind, x.id)
SY_INSPECT(patch_subscription, x.id, x.spec)
SY_INSPECT(delete_subscription, x.kind, x.id)
SY_INSPECT(verify_subscription, x.id)
SY_INSPECT(pause_subscription, x.id)
SY_INSPECT(activate_subscription, x.id)
SY_INSPECT(purge_subscription, x.id)
SY_INSPECT(list_dead_letters, x.id, x.limit, x.after_seq)
SY_INSPECT(replay_subscription, x.id, x.since_ms, x.until_ms)
SY_INSPECT(replay_dead_letter, x.id, x.event_id)
SY_INSPECT(drop_dead_letters, x.id)
SY_INSPECT(put_watcher, x.spec)
SY_INSPECT_EMPTY(get_watcher)
SY_INSPECT_EMPTY(delete_watcher)
SY_INSPECT(put_event_type, x.type)
SY_INSPECT(delete_event_type, x.code)
SY_INSPECT_EMPTY(list_subscribed_event_types)
SY_INSPECT(put_association, x.association)
SY_INSPECT(resolve_push_tokens, x.spec)
SY_INSPECT(find_pull_subscriber, x.access_key)
SY_INSPECT(pull_subscriber_found, x.subscriber, x.id)
SY_INSPECT_EMPTY(list_stats)
SY_INSPECT(attempt_record, x.event_id, x.type, x.attempt, x.at, x.duration_ms, x.status, x.error,
           x.response_excerpt)
SY_INSPECT(get_attempts, x.id, x.limit)
SY_INSPECT(rotate_keys, x.id, x.grace_seconds)
SY_INSPECT(attempt_list, x.items)
SY_INSPECT(list_attempts, x.limit)
SY_INSPECT(verification_answer, x.ticket, x.status, x.body, x.error)
SY_INSPECT(remote_subscription, x.id, x.record, x.revision, x.deleted)
SY_INSPECT(cluster_subscriptions, x.snapshot, x.revision, x.changes)
SY_INSPECT(remote_event_type, x.code, x.record, x.deleted)
SY_INSPECT(cluster_event_types, x.snapshot, x.changes)
SY_INSPECT(cluster_associations, x.snapshot, x.records)
SY_INSPECT(update_subscription, x.sub)
SY_INSPECT_EMPTY(purge_queue)
SY_INSPECT(replay_dead_letters, x.event_id, x.since_ms, x.until_ms)
SY_INSPECT(list_event_files, x.max)
SY_INSPECT(read_event_file, x.name)
SY_INSPECT(delete_event_file, x.name)

/// Adds every protocol type (the `switchyard` type-ID block) and the error
/// category to `cfg`; without it a message to another node fails to
/// serialize at run time.
void register_protocol(caf::actor_system_config& cfg);

} // namespace sy::actors

// The core request bodies the protocol carries, inspected where ADL finds them.
namespace sy::core {

SY_INSPECT(egress_auth, x.type, x.api_key, x.user_id, x.password, x.auth_url, x.client_id,
           x.client_secret, x.refresh_token, x.supplier_key)
SY_INSPECT(subscription_spec, actors::optional_of(x.service), actors::optional_of(x.url),
           actors::optional_of(x.types), actors::optional_of(x.country),
           actors::optional_of(x.delivery), actors::optional_of(x.verification_required),
           actors::optional_of(x.max_in_flight), actors::optional_of(x.rate_limit),
           actors::optional_of(x.auth), actors::optional_of(x.private_key))
SY_INSPECT(dashboard_spec, x.url, x.country, x.event)
SY_INSPECT(watcher_spec, x.notification_key, x.notification_url, x.auth)
SY_INSPECT(attribute_def, x.name, x.type)
SY_INSPECT(association_spec, x.app_id, x.token, x.cellphone, x.email, x.device_type)
SY_INSPECT(send_to_list_spec, x.tokens, x.has_tokens, x.by_association, x.app_id, x.device_types,
           x.cellphones, x.emails, x.title, x.message, x.image_url, x.data)

/// An event type's version is a double: a non-finite one would make CAF 0.17's
/// serializer loop forever, so it is refused before it is written (the codec
/// only accepts positive finite numbers).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_type_def& x) {
  return f(caf::meta::type_name("event_type_def"), caf::meta::save_callback([&]() -> caf::error {
             if (!std::isfinite(x.version))
               return caf::make_error(caf::sec::invalid_argument, "event_type_def.version");
             return caf::none;
           }),
           x.code, x.name, x.description, x.ns, x.version, x.registration_type, x.attributes);
}

} // namespace sy::core

#undef SY_INSPECT
#undef SY_INSPECT_EMPTY

CAF_BEGIN_TYPE_ID_BLOCK(switchyard, caf::first_custom_type_id)
CAF_ADD_TYPE_ID(switchyard, (sy::actors::subscription))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::subscription_view))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::subscription_list))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::done))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::purged))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::replayed))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::dead_letter_list))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::watcher_view))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::event_type_stored))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::event_type_deleted))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::event_type_list))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::push_tokens))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::stats_table))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::event_file_names))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::event_file_body))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::create_subscription))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::create_dashboard_subscription))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::list_subscriptions))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::get_subscription))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::patch_subscription))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::delete_subscription))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::verify_subscription))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::pause_subscription))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::activate_subscription))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::purge_subscription))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::list_dead_letters))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::replay_subscription))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::replay_dead_letter))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::drop_dead_letters))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::put_watcher))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::get_watcher))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::delete_watcher))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::put_event_type))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::delete_event_type))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::list_subscribed_event_types))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::put_association))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::resolve_push_tokens))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::find_pull_subscriber))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::list_stats))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::verification_answer))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::update_subscription))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::purge_queue))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::replay_dead_letters))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::list_event_files))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::read_event_file))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::delete_event_file))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::registry_actor))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::get_attempts))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::rotate_keys))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::attempt_list))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::list_attempts))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::remote_subscription))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::cluster_subscriptions))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::pull_subscriber_found))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::remote_event_type))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::cluster_event_types))
CAF_ADD_TYPE_ID(switchyard, (sy::actors::cluster_associations))
CAF_END_TYPE_ID_BLOCK(switchyard)

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::event_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::storage_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::transport::client_response)
