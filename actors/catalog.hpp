#pragma once
// The Acoustic event-type catalog (docs/api.md §4): registered event types
// by code, stored in the journal's meta family and published to the ingest
// threads as an immutable snapshot, so POST /v1/event looks codes up
// without an actor hop.

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "storage/error.hpp"
#include "actors/routes.hpp"
#include "core/event_type_codec.hpp"

namespace sy::storage {
class journal;
}

namespace sy::actors {

/// The catalog's owner-side copy. Not thread-safe: the registry actor owns
/// the one instance; readers use the snapshots it publishes.
class event_type_catalog {
public:
  /// Loads the stored event types (a corrupt record is skipped with a log
  /// line) and publishes them through `publisher`; returns the error when
  /// the journal cannot be read (nothing is published then).
  std::optional<storage::error> load(storage::journal& journal, event_type_publisher& publisher);

  /// Returns the meta name and the record under which `type` is stored
  /// (the registry writes them off the actor, then calls adopt()).
  static std::pair<std::string, std::string> record_of(const core::event_type_def& type);

  /// Returns the meta name of the event type `code`.
  static std::string key_of(std::string_view code);

  /// Returns whether the event type `code` is registered.
  bool contains(const std::string& code) const;

  /// Returns whether the event type `code` is registered with `record`
  /// (as record_of() makes it).
  bool holds(const std::string& code, const std::string& record) const;

  /// Adds `type` (replacing the one with its code), once its record is
  /// stored, and publishes the new catalog before returning, so a client
  /// that registers and then publishes finds its code. Returns true when
  /// the code is new.
  bool adopt(core::event_type_def type);

  /// Removes the event type `code`, once its record is deleted, and
  /// publishes the new catalog.
  void forget(const std::string& code);

  /// Calls `f` with every registered event type, in code order.
  void for_each(const std::function<void(const core::event_type_def&)>& f) const;

private:
  void publish(event_types_ptr next);

  event_type_publisher* publisher_ = nullptr;
  // As last published: replaced, never changed in place, since ingest
  // threads may still read the previous one.
  event_types_ptr current_ = std::make_shared<const event_type_map>();
};

} // namespace sy::actors
