#pragma once
// The Acoustic event-type catalog (docs/api.md §4): registered event types
// by code, stored in the journal's meta family and published to the ingest
// threads as an immutable snapshot, so POST /v1/event looks codes up
// without an actor hop.

#include <functional>
#include <string>

#include "storage/error.hpp"
#include "actors/errors.hpp"
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

  /// Stores `type` (replacing the one with its code) and publishes the new
  /// catalog before returning, so a client that registers and then
  /// publishes finds its code. Returns true when the code is new.
  caf::expected<bool> put(core::event_type_def type);

  /// Deletes the event type `code`; returns whether it was registered.
  caf::expected<bool> remove(const std::string& code);

  /// Calls `f` with every registered event type, in code order.
  void for_each(const std::function<void(const core::event_type_def&)>& f) const;

private:
  void publish(event_types_ptr next);

  storage::journal* journal_ = nullptr;
  event_type_publisher* publisher_ = nullptr;
  // As last published: replaced, never changed in place, since ingest
  // threads may still read the previous one.
  event_types_ptr current_ = std::make_shared<const event_type_map>();
};

} // namespace sy::actors
