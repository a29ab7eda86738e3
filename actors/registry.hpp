#pragma once
// The registry actor: owns every subscription and the Acoustic event-type
// catalog, persists them, spawns the subscriber actors and publishes the
// routing table and the catalog.

#include <caf/fwd.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "actors/associations.hpp"
#include "actors/messages.hpp"
#include "actors/routes.hpp"
#include "actors/subscriber.hpp"
#include "core/subscription_codec.hpp"

namespace sy::actors {

/// The registry's state. Only the registry actor touches it: API handlers
/// reach it with `run_in_registry`, which queues a task into the actor.
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
  };

  registry_state() = default;
  /// Stops every subscriber actor. CAF destroys an actor's state when it
  /// quits, before its attached functors run, so this is the one place
  /// that still sees the subscriptions, whichever way the registry ends.
  ~registry_state();
  registry_state(const registry_state&) = delete;
  registry_state& operator=(const registry_state&) = delete;

  /// Loads every stored subscription and event type, spawns the
  /// subscribers and publishes both tables; then sets ready.
  void start(caf::event_based_actor* self, env_t env);
  /// Stops every subscriber actor.
  void stop();

  void create_native(core::subscription_spec spec, const reply_fn& reply);
  void create_dashboard(core::dashboard_spec spec, const reply_fn& reply);
  void list(subscription_kind kind, const reply_fn& reply) const;
  void get(subscription_kind kind, const std::string& id, const reply_fn& reply) const;
  void patch(const std::string& id, core::subscription_spec spec, const reply_fn& reply);
  void remove(subscription_kind kind, const std::string& id, const reply_fn& reply);
  void verify(const std::string& id, const reply_fn& reply);
  void pause(const std::string& id, const reply_fn& reply);
  void activate(const std::string& id, const reply_fn& reply);
  void purge(const std::string& id, const reply_fn& reply);
  void dead_letters(const std::string& id, const reply_fn& reply) const;
  void replay(const std::string& id, const reply_fn& reply);

  /// Registers (201) or replaces (200) the change-notification watcher
  /// (API.md §4); its queued notifications go to the new URL.
  void put_watcher(core::watcher_spec spec, const reply_fn& reply);
  /// Answers the watcher (secrets redacted), or 404 when none is registered.
  void get_watcher(const reply_fn& reply) const;
  /// Removes the watcher and the notifications it had not received (204, idempotent).
  void remove_watcher(const reply_fn& reply);

  /// Registers (or replaces, by code) an Acoustic event type: 201 when new,
  /// 200 when it replaced one, with the event type as JSON.
  void register_event_type(core::event_type_def type, const reply_fn& reply);
  /// Deletes the event type `code`: 200 `true` if it was registered, else `false`.
  void remove_event_type(const std::string& code, const reply_fn& reply);
  /// Answers the registered event types that at least one event-receiving
  /// subscription matches: their codes, or (`full`) the whole event types.
  void subscribed_event_types(bool full, const reply_fn& reply) const;

  /// Stores `a` (replacing its token's previous association) and keeps it
  /// for look-ups; returns the storage error, if any, leaving both unchanged.
  std::optional<std::string> put_association(core::association_spec a);
  /// Returns the associations, for resolving a sendToList.
  const association_store& associations() const { return associations_; }

  /// Returns the actor of the pull subscription whose accessKey is
  /// `access_key`, or an invalid handle when there is none.
  caf::actor pull_subscriber(std::string_view access_key) const;

  /// Returns the journal (for garbage collection).
  storage::journal* journal() const { return env_.journal; }

  /// Calls `f` with each subscription and its stats (for /metrics).
  void for_each(const std::function<void(const subscription&, const subscription_stats&)>& f) const;

  static inline const char* name = "registry";

private:
  struct entry {
    subscription sub;
    stats_ptr stats;
    caf::actor actor;
  };

  entry* find(const std::string& id, subscription_kind kind);
  const entry* find(const std::string& id, subscription_kind kind) const;
  std::string render(const entry& e, bool show_private_key) const;
  void change_state(const std::string& id, core::subscription_state to, const reply_fn& reply);
  bool persist(const subscription& sub, const reply_fn& reply);
  /// Persists `next` as `e`'s record, adopts it, tells its subscriber and
  /// the watcher (CHANGE); on a storage error answers `reply` and leaves `e`
  /// unchanged.
  bool update(entry& e, subscription next, const reply_fn& reply);
  /// Journals a notification of `change` (REGISTER, CHANGE, DELETE) to `sub`
  /// for the watcher, if one is registered and `sub` is a client's.
  void notify_watcher(std::string_view change, const subscription& sub);
  void publish_routes();
  void load_event_types();
  void load_associations();
  void configure_push_gateway();
  void spawn(entry& e, bool recovered, uint64_t queued);
  void finish_verify(const std::string& id, const std::string& public_key,
                     const std::string& challenge, const transport::client_response& r,
                     const reply_fn& reply);

  caf::event_based_actor* self_ = nullptr;
  env_t env_;
  std::map<std::string, entry> subs_;
  // The catalog as last published: replaced, never changed in place, since
  // ingest threads may still read the previous one.
  event_types_ptr event_types_;
  // Owned here rather than published as a snapshot: associations are written
  // often (every app install) and may be many, so copying them on every
  // write would cost O(n); a sendToList by association pays one actor hop
  // instead, which its group commit dwarfs.
  association_store associations_;
};

/// A task run inside the registry actor.
using registry_task = std::function<void(registry_state&)>;

/// Spawns the registry actor; it loads the journal's subscriptions first.
caf::actor spawn_registry(caf::actor_system& sys, registry_state::env_t env);

/// Queues `task` to run inside the registry actor.
void run_in_registry(const caf::actor& registry, registry_task task);


} // namespace sy::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::registry_task)
