#pragma once
// The registry actor: owns every subscription, persists them, spawns their
// subscriber actors and publishes the routing table; beside them it keeps
// the Acoustic event-type catalog (actors/catalog.hpp), the push
// associations (actors/associations.hpp) and the change-notification
// watcher. It speaks the typed protocol of actors/messages.hpp
// (`registry_actor`): each request is one handler, each answer a domain
// value or a domain error (actors/errors.hpp).
//
// Its synced journal writes (subscription records and numbers, watcher
// notifications, event types, associations, dropped dead letters) run on
// storage::blocking_worker (actors/off_worker.hpp), never on a CAF worker.
// A change is applied and answered only once its write is durable, and
// while a write runs the registry skips (leaves in its mailbox) every
// request that changes something, so changes apply one at a time in the
// order they came; reads are answered meanwhile, from the state before the
// change.
//
// In cluster mode (env_t::mirror set) a client subscription's change is
// first written to etcd's /sy/subs/<id> (actors/cluster_subs.hpp), with
// changes held as during a journal write, then applied here as above; the
// watch of that prefix brings the other nodes' changes, applied one at a
// time between this node's own (apply_cluster).
//
// The code is split by concern: registry.cpp (start-up, the one way a
// subscription is added, routes, the behavior), registry_subscriptions.cpp
// (the subscription life cycle), registry_watcher.cpp (change
// notifications), catalog.cpp and associations.cpp. Garbage collection is
// its own actor (actors/gc.hpp).

#include <caf/fwd.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "actors/associations.hpp"
#include "actors/catalog.hpp"
#include "actors/cluster_subs.hpp"
#include "actors/messages.hpp"
#include "actors/off_worker.hpp"
#include "actors/routes.hpp"
#include "actors/subscriber.hpp"
#include "actors/subscriber_slot.hpp"
#include "core/subscription_codec.hpp"

namespace sy::actors {

/// The registry's state. Only the registry actor touches it, one message at
/// a time; the stats it shows are written by the subscribers under their
/// own mutex.
class registry_state {
public:
  /// Everything the registry needs; it outlives the actor.
  struct env_t {
    storage::journal* journal = nullptr;
    transport::http_client* client = nullptr;
    route_publisher* routes = nullptr;
    event_type_publisher* event_types = nullptr;
    std::shared_ptr<const actors::subscriber_env> subscriber_env;
    caf::actor_system* system = nullptr;
    std::atomic<bool>* ready = nullptr;
    /// push.gateway_url; "" = push delivery is not configured.
    std::string push_gateway_url;
    /// Cluster mode: where client subscription changes are written first
    /// (etcd's /sy/subs/, actors/cluster_subs.hpp); null on a single node.
    subscription_mirror* mirror = nullptr;
  };

  registry_state() = default;
  /// Stops every subscriber actor. CAF destroys an actor's state when it
  /// quits, before its attached functors run, so this is the one place
  /// that still sees the subscriptions, whichever way the registry ends.
  ~registry_state();
  registry_state(const registry_state&) = delete;
  registry_state& operator=(const registry_state&) = delete;

  /// Loads every stored subscription, event type and association, spawns
  /// the subscribers and publishes the tables; then sets ready.
  void start(registry_actor::pointer self, env_t env);

  // -- subscriptions (registry_subscriptions.cpp) --------------------------

  /// Creates a native subscription (private key shown).
  caf::result<subscription_view> create(core::subscription_spec spec);
  /// Creates a dashboard-facade subscription (active at once).
  caf::result<subscription_view> create_dashboard(core::dashboard_spec spec);
  /// Returns the subscriptions of `kind` in id order.
  subscription_list list(subscription_kind kind) const;
  /// Returns one subscription, or not_found.
  caf::expected<subscription_view> get(subscription_kind kind, const std::string& id) const;
  /// Applies the members `spec` sets; a new url rotates the keys and, when
  /// verification is required, asks for it again.
  caf::result<subscription_view> patch(const std::string& id, core::subscription_spec spec);
  /// Deletes a subscription and its queue (idempotent).
  caf::result<done> remove(subscription_kind kind, const std::string& id);
  /// Sends the challenge; the answer arrives as a verification_answer.
  caf::result<subscription_view> verify(const std::string& id);
  /// Completes the verification `answer.ticket` names.
  void finish_verify(const verification_answer& answer);
  /// Pauses or activates a verified subscription.
  caf::result<subscription_view> change_state(const std::string& id, core::subscription_state to);
  /// Asks the subscriber to drop its queue.
  caf::result<purged> purge(const std::string& id);
  /// Returns the dead letters, oldest first (at most storage::max_listed_dead_letters).
  caf::expected<dead_letter_list> dead_letters(const list_dead_letters& q) const;
  /// Asks the subscriber to requeue its dead letters.
  caf::result<replayed> replay(const replay_subscription& q);
  /// Asks the subscriber to requeue the dead letter of `event_id`.
  caf::result<replayed> replay_one(const std::string& id, const std::string& event_id);
  /// Deletes every dead letter of `id`; returns how many there were.
  caf::result<purged> drop_dead(const std::string& id);
  /// Asks the subscriber for its newest `limit` attempts.
  caf::result<attempt_list> attempts(const std::string& id, uint64_t limit);
  /// Gives `id` new keys; the old private key keeps signing
  /// webhook-signature for `grace_seconds` (journaled with the record).
  caf::result<subscription_view> rotate(const std::string& id, int64_t grace_seconds);

  // -- the change-notification watcher (registry_watcher.cpp) -------------

  /// Registers (created) or replaces the watcher; its queued notifications
  /// go to the new URL.
  caf::result<watcher_view> put_watcher(core::watcher_spec spec);
  /// Returns the watcher, or not_found when none is registered.
  caf::expected<watcher_view> get_watcher() const;
  /// Removes the watcher and the notifications it had not received.
  caf::result<done> remove_watcher();

  // -- event types and associations -----------------------------------------

  /// Registers (or replaces, by code) an event type and publishes the catalog.
  caf::result<event_type_stored> put_event_type(core::event_type_def type);
  /// Deletes an event type and publishes the catalog.
  caf::result<event_type_deleted> remove_event_type(const std::string& code);
  /// Returns the registered event types that some event-receiving client
  /// subscription's patterns match (the country filter is ignored).
  event_type_list subscribed_event_types() const;
  /// Stores an association, replacing its token's previous one.
  caf::result<done> put_association(core::association_spec a);
  /// Returns the distinct tokens a sendToList addresses.
  push_tokens resolve(const core::send_to_list_spec& spec) const;

  // -- reads for other parts of the node ------------------------------------

  /// Returns the actor of the pull subscription whose accessKey is
  /// `access_key`, or unauthorized.
  caf::expected<pull_subscriber_found> pull_subscriber(std::string_view access_key) const;
  /// Returns every subscription's stats.
  stats_table stats() const;

  // -- the cluster's subscription registry (cluster mode) --------------------

  /// Queues what the watch of /sy/subs/ read and applies it, one change at
  /// a time, between the registry's own changes.
  void apply_cluster(cluster_subscriptions changes);

  /// Queues what the watch of /sy/event_types/ read and applies it in
  /// order with the subscription changes (a snapshot also removes the
  /// types it does not hold).
  void apply_cluster_types(cluster_event_types changes);

  /// Queues what the watch of /sy/associations/ read and applies it in
  /// order with the other changes: the associations that differ from this
  /// node's, in one unsynced write (etcd holds them; its next snapshot
  /// writes again what a crash lost).
  void apply_cluster_associations(cluster_associations changes);

  /// Returns true while a synced write runs: the behavior then skips every
  /// request that changes something until it is done.
  bool writing() const { return writing_; }

  static inline const char* name = "registry";

private:
  /// An entry's ordinal while it is not in the routing index.
  static constexpr uint32_t unrouted = UINT32_MAX;

  struct entry {
    /// Changed only through slot->update() once the slot exists (the slot
    /// reads it when it spawns the actor, on whichever thread asks first).
    subscription sub;
    /// Lives in the slot's allocation.
    stats_ptr stats;
    /// Its subscriber actor, spawned on first need (actors/subscriber_slot.hpp).
    std::shared_ptr<subscriber_slot> slot;
    uint32_t ordinal = unrouted; ///< in index_ and targets_
    /// Cluster mode: the mod_revision of /sy/subs/<id> this record was
    /// last written or seen at; 0 = unknown (loaded from the journal).
    int64_t revision = 0;
  };

  /// One step of applying the watch: a change, or (reconcile) the end of
  /// a snapshot, which removes what it did not hold.
  struct remote_step {
    remote_subscription change;
    std::optional<remote_event_type> type; ///< set: an event type change instead
    /// set: association records instead (`associations_snapshot`: a
    /// snapshot's, after which the node may be ready)
    std::optional<std::vector<std::string>> associations;
    bool associations_snapshot = false;
    bool types_loaded = false; ///< the end of an event type snapshot
    bool reconcile = false;
    int64_t revision = 0;
    std::set<std::string> present;
  };

  /// A verification waiting for its endpoint's answer.
  struct pending_verification {
    std::string id;
    std::string public_key; ///< the keys it was sent with; a change voids it
    std::string challenge;
    caf::typed_response_promise<subscription_view> promise;
  };

  /// A change notification for the watcher, journaled by the job that
  /// stores the change (REGISTER, CHANGE, DELETE).
  struct watcher_note {
    uint64_t watcher_number = 0;
    std::string notification_key;
    std::string change;
  };

  /// What a subscription write did: the error that stopped it, else the
  /// number it gave (add) and the notification it journaled (none: null).
  struct stored {
    caf::error error;
    uint64_t number = 0;
    storage::event_ptr note;
  };

  using added_fn = std::function<void(caf::expected<entry*>)>;
  using mirrored_fn = std::function<void(caf::error, int64_t revision)>;
  using updated_fn = std::function<void(caf::expected<void>)>;

  /// Runs `job` (synced journal writes) on the writer, then `then(result)`
  /// in the registry; writing() is true in between.
  template <class Job, class Then>
  void write(Job job, Then then);

  /// Logs how verification `pending` ended and answers its request.
  void end_verify(pending_verification& pending, caf::expected<subscription_view> outcome,
                  const std::string& host, std::string reason);

  entry* find(const std::string& id, subscription_kind kind);
  const entry* find(const std::string& id, subscription_kind kind) const;
  subscription_view view(const entry& e, bool show_private_key) const;
  /// Gives `s` its journal number, keys and creation time, stores it, spawns
  /// its subscriber, publishes the routes and tells the watcher (REGISTER),
  /// then calls `then` with the new entry or the storage error: the one way
  /// a subscription comes into being.
  void add(subscription s, added_fn then);
  /// Whether a stored change tells the watcher: a change made through
  /// this node's API does; another node's, read from etcd, does not (that
  /// node told its copy of the watcher, so each change is told once).
  enum class told { watcher, not_here };
  /// Stores new subscription `s` as it is (no keys given), seen in etcd at
  /// `revision` (0: not mirrored), then calls `then`.
  void store_new(subscription s, int64_t revision, added_fn then, told tell = told::watcher);
  /// Stores other nodes' new subscriptions (with the revision each was
  /// read at) in one journal write, as store_new does each, telling the
  /// watcher nothing: a snapshot's thousands of adds pay one fsync per
  /// batch instead of one each.
  void store_new_batch(std::vector<std::pair<subscription, int64_t>> batch);
  /// Returns the revision at which this node last saw `id` deleted in
  /// etcd (0: never).
  int64_t deleted_at(const std::string& id) const;
  /// Moves the watch steps after the current one that add subscriptions
  /// too (up to a batch) from remote_ to `batch`.
  void take_remote_adds(std::vector<std::pair<subscription, int64_t>>& batch);
  /// Stores `next` as `e`'s record, seen in etcd at `revision`.
  void store_update(entry& e, subscription next, int64_t revision, updated_fn then,
                    told tell = told::watcher);
  /// Deletes `id`'s record and queue and forgets it, then calls `then`.
  void drop(const std::string& id, std::function<void(caf::error)> then, told tell = told::watcher);
  /// Cluster mode: writes `sub` (or, when `erase`, deletes its key) in
  /// etcd, then calls `then` in the registry with the error that stopped
  /// it or the key's new revision; changes wait meanwhile. Calls `then`
  /// at once with revision 0 on a single node or for node-local kinds.
  void mirror(const subscription& sub, int64_t expected_revision, bool erase, mirrored_fn then);
  /// As mirror(), for event type `code`: `record` written, or deleted when
  /// empty (no compare: the last writer wins); `then(error)`.
  void mirror_event_type(const std::string& code, std::string record,
                         std::function<void(caf::error)> then);
  /// Returns the callback of an etcd write without compare: changes wait
  /// (writing_) until it calls `then` in the registry with the error that
  /// stopped it, if any.
  std::function<void(mirror_outcome)> last_writer_wins(std::function<void(caf::error)> then);
  /// Cluster mode: writes `record` to etcd as `token`'s association, then
  /// calls `then` in the registry with the error that stopped it; changes
  /// wait meanwhile.
  void mirror_association(const std::string& token, std::string record,
                          std::function<void(caf::error)> then);
  /// Stores event type `type` in the journal and adopts it in the catalog;
  /// `then(error, added)`.
  void store_event_type(core::event_type_def type, std::function<void(caf::error, bool)> then);
  /// Deletes event type `code` from the journal and the catalog; `then(error)`.
  void forget_event_type(const std::string& code, std::function<void(caf::error)> then);
  /// Applies one watched event type change.
  void apply_type_step(remote_event_type change);
  /// Applies one watched batch of associations.
  void apply_association_step(std::vector<std::string> records, bool snapshot);
  /// Applies queued watch steps until one starts a write.
  void drain_remote();
  /// Applies one watch step.
  void apply_step(remote_step step);
  /// Persists `next` as `e`'s record, adopts it, tells its subscriber and
  /// the watcher (CHANGE) and publishes the routes, then calls `then`; on a
  /// storage error passes it and leaves `e` unchanged.
  void update(entry& e, subscription next, updated_fn then);
  /// Returns the watcher notification of `change` to `sub`, or nullopt when
  /// no watcher is registered or `sub` is not a client's.
  std::optional<watcher_note> note_for(std::string_view change, const subscription& sub) const;
  /// Journals `note` about `sub` (on the writer's thread); returns the
  /// event, or null when it could not be written (logged: the change itself
  /// is stored, only its notification is lost).
  static storage::event_ptr journal_note(storage::journal& journal, const watcher_note& note,
                                         const subscription& sub);
  /// Hands a journaled notification to the watcher's subscriber.
  void deliver_note(storage::event_ptr note);
  /// Takes `e` out of the routing index and puts it back as its record now
  /// says (client subscriptions that receive events, the active push
  /// gateway); returns true when the routes changed (publish_routes is due).
  bool route(entry& e);
  /// Takes `e` out of the routing index; returns true when it was in it.
  bool unroute(entry& e);
  /// Publishes the routing index's current version with its targets.
  void publish_routes();
  /// Adds (remember) or removes (forget) `sub`'s accessKey in pull_keys_.
  void remember_key(const subscription& sub);
  void forget_key(const subscription& sub);
  /// Shows the open /v1/stream connections that `change` ("created",
  /// "verified", "paused", …) happened to native subscription `sub`.
  void tell_streams(std::string_view change, const subscription& sub) const;
  /// Loads every stored subscription; the error when the journal cannot be read.
  std::optional<storage::error> load_subscriptions();
  /// Loads every stored association; the error when the journal cannot be read.
  std::optional<storage::error> load_associations();
  /// Creates, updates or pauses the push gateway's subscription as
  /// push.gateway_url says, then calls `then`.
  void configure_push_gateway(std::function<void()> then);
  /// Gives `e` its subscriber slot; when it `recovered` `queued` events
  /// (or is a pull subscription, whose files recovery reads) its actor is
  /// spawned now, else on its first event or request.
  void spawn(entry& e, bool recovered, uint64_t queued);

  registry_actor::pointer self_ = nullptr;
  env_t env_;
  std::map<std::string, entry> subs_;
  // The routing index and its targets, changed one subscription at a time;
  // publish_routes() publishes a version that shares what did not change.
  core::index_builder index_;
  core::chunked_writer<route_target> targets_;
  std::optional<uint32_t> gateway_ordinal_;
  // Pull subscriptions by std::hash of their accessKey (→ id): a lookup
  // compares hashes, then the stored key in constant time, so a guess's
  // timing tells nothing of the key beyond its hash's bucket.
  std::unordered_multimap<std::size_t, std::string> pull_keys_;
  event_type_catalog catalog_;
  // Owned here rather than published as a snapshot: associations are written
  // often (every app install) and may be many, so copying them on every
  // write would cost O(n); a sendToList by association pays one actor hop
  // instead, which its group commit dwarfs.
  association_store associations_;
  std::map<uint64_t, pending_verification> verifications_;
  // Cluster mode: watch steps not applied yet, and the revision at which
  // each id was last seen deleted (so that an older put does not revive it).
  std::deque<remote_step> remote_;
  std::map<std::string, int64_t> deleted_at_;
  uint64_t next_ticket_ = 0;
  bool writing_ = false;
  // Ready (env_.ready) once started and, in cluster mode, once the first
  // snapshots of the subscriptions, the event types and the associations
  // in etcd are applied.
  bool started_ = false;
  bool cluster_loaded_ = false;
  bool types_loaded_ = false;
  bool associations_loaded_ = false;
  void maybe_ready();
};

template <class Job, class Then>
void registry_state::write(Job job, Then then) {
  writing_ = true;
  auto* writer = env_.subscriber_env ? env_.subscriber_env->writer : nullptr;
  off_worker(writer, caf::actor_cast<registry_actor>(self_), std::move(job),
             [this, then = std::move(then)](auto& result) mutable {
               writing_ = false;
               then(result);
               drain_remote();
             });
}

/// Spawns the registry actor; it loads the journal's subscriptions first.
registry_actor spawn_registry(caf::actor_system& sys, registry_state::env_t env);

} // namespace sy::actors
