#pragma once
// The subscription registry in etcd (docs/cluster.md, ../shared/CLUSTER.md):
// in cluster mode every client subscription (native and dashboard) is the
// key /sy/subs/<id> whose value is its journal record without the node's
// journal number. The registry writes a change there first (a create only
// when the key does not exist, an update only when its mod_revision is the
// one the registry last saw), then applies it locally; every node watches
// the prefix and applies the others' changes. This header holds what the
// registry needs of that without knowing etcd: the mirror it writes
// through, and the pure rules that decide what a watched change does.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "actors/subscription.hpp"

namespace sy::actors {

/// The etcd prefix of the subscription registry.
inline constexpr std::string_view subs_prefix = "/sy/subs/";

/// Returns the etcd key of subscription `id`.
std::string subs_key(std::string_view id);

/// Returns the subscription id of etcd key `key`, or nullopt when it is not
/// directly under subs_prefix.
std::optional<std::string> subs_id_of(std::string_view key);

/// The etcd prefix of the Acoustic event types (/sy/event_types/<code>,
/// the record core::write_event_type makes).
inline constexpr std::string_view event_types_prefix = "/sy/event_types/";

/// Returns the etcd key of event type `code`.
std::string event_type_key(std::string_view code);

/// Returns the event type code of etcd key `key`, or nullopt when it is not
/// directly under event_types_prefix.
std::optional<std::string> event_type_code_of(std::string_view key);

/// The etcd prefix of the push associations of the Masiv contract
/// (/sy/associations/<the token in hex>, the record encode_association
/// makes): every node resolves a sendToList against all of them.
inline constexpr std::string_view associations_prefix = "/sy/associations/";

/// Returns the etcd key of the association of `token` (any bytes: hex).
std::string association_etcd_key(std::string_view token);

/// Returns `s` as etcd holds it: its journal record with number 0 (each
/// node gives its own journal number).
std::string mirror_record(const subscription& s);

/// How a write to the mirror ended.
struct mirror_outcome {
  enum class kind {
    ok,          ///< written; `revision` is the key's new mod_revision
    conflict,    ///< the key's mod_revision was not the expected one
    unreachable, ///< etcd did not answer or refused the call
  };
  kind result = kind::ok;
  int64_t revision = 0;
  std::string message; ///< why, for unreachable
};

/// Where the registry writes its subscription changes in cluster mode.
/// Callbacks run once, on another thread, never inside the call.
class subscription_mirror {
public:
  virtual ~subscription_mirror() = default;
  /// Writes `record` as subscription `id` if the key's mod_revision is
  /// still `mod_revision` (0 = the key must not exist).
  virtual void put(const std::string& id, std::string record, int64_t mod_revision,
                   std::function<void(mirror_outcome)> done) = 0;
  /// Deletes subscription `id`'s key.
  virtual void erase(const std::string& id, std::function<void(mirror_outcome)> done) = 0;
  /// Writes `record` as event type `code` (the last writer wins).
  virtual void put_event_type(const std::string& code, std::string record,
                              std::function<void(mirror_outcome)> done) = 0;
  /// Deletes event type `code`'s key.
  virtual void erase_event_type(const std::string& code,
                                std::function<void(mirror_outcome)> done) = 0;
  /// Writes `record` as the association of `token` (the last writer wins).
  virtual void put_association(const std::string& token, std::string record,
                               std::function<void(mirror_outcome)> done) = 0;
  /// Writes `record` as the association of `token` only if etcd holds none
  /// for it (`conflict` when it does).
  virtual void add_association(const std::string& token, std::string record,
                               std::function<void(mirror_outcome)> done) = 0;
};

/// What a watched put of a subscription record does to the local registry.
enum class remote_verdict {
  ignore, ///< stale (an older revision than the one applied, or deleted since)
  add,    ///< unknown here: store it
  adopt,  ///< the same record: only remember its revision
  replace ///< changed: store the new record
};

/// Decides what a watched put at `revision` of `incoming` does, given the
/// local record (null: none), the revision it was last written or seen at
/// (0: unknown, as after a restart) and the revision at which this node
/// last saw the id deleted (0: never). Records of kinds etcd does not hold
/// (subscription::is_mirrored), and ids a local subscription of another
/// kind holds, are ignored.
remote_verdict decide_put(const subscription* local, int64_t local_revision, int64_t deleted_at,
                          const subscription& incoming, int64_t revision);

/// Returns true when a watched delete at `revision` removes the local
/// record last written or seen at `local_revision`.
bool decide_delete(int64_t local_revision, int64_t revision);

/// Returns the ids of `local` (client subscription id → the revision it was
/// last written or seen at) that a snapshot at `revision` holding `present`
/// removes: absent from it and not written after it.
std::vector<std::string> absent_from_snapshot(const std::map<std::string, int64_t>& local,
                                              const std::set<std::string>& present,
                                              int64_t revision);

} // namespace sy::actors
