#pragma once
// The routing table: the subscription index plus, for each entry, where
// matching events go; and the Acoustic event-type catalog. Both immutable
// once published.

#include <caf/actor.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/acoustic_codec.hpp"
#include "core/subscription_index.hpp"

namespace sy::actors {

class subscriber_slot;

/// Where a matched event goes: the subscription's journal number and the
/// slot of its subscriber actor (actors/subscriber_slot.hpp: spawned by
/// the first event routed to it).
struct route_target {
  uint64_t number = 0;
  std::shared_ptr<subscriber_slot> slot;
};

/// An index snapshot and its targets (targets[i] belongs to index entry i).
/// Built by the registry, read concurrently by every ingest thread. Both
/// share their unchanged chunks with the tables published before and after
/// (core::index_builder, core::chunked_writer), so publishing after one
/// subscription changed costs that change, not the registry's size.
struct route_table {
  /// Builds a table of `entries` with no targets (tests).
  explicit route_table(std::vector<core::index_entry> entries) : index(std::move(entries)) {}
  /// Adopts an index version and its targets.
  route_table(core::subscription_index idx, core::chunked_vector<route_target> t,
              std::optional<uint32_t> gateway)
      : index(std::move(idx)), targets(std::move(t)), push_gateway(gateway) {}
  core::subscription_index index;
  core::chunked_vector<route_target> targets;
  /// The ordinal in `targets` of the push gateway (docs/api.md §5), or nullopt
  /// when push.gateway_url is not configured. Its index entry has no
  /// pattern, so no event type ever matches it: only sendToList names it.
  std::optional<uint32_t> push_gateway;
};

using route_ptr = std::shared_ptr<const route_table>;

/// Publishes route tables from the registry to the ingest threads.
class route_publisher {
public:
  /// Replaces the current table.
  void publish(route_ptr table) { current_.store(std::move(table), std::memory_order_release); }
  /// Returns the current table (never null once the registry has started).
  route_ptr current() const { return current_.load(std::memory_order_acquire); }

private:
  std::atomic<route_ptr> current_;
};

/// The registered Acoustic event types by code (heterogeneous lookup, so a
/// code read as a string_view from a request needs no copy).
using event_type_map = std::map<std::string, core::event_type_def, std::less<>>;

using event_types_ptr = std::shared_ptr<const event_type_map>;

/// Publishes event-type catalogs from the registry to the ingest threads, so
/// POST /v1/event looks codes up without an actor hop.
class event_type_publisher {
public:
  /// Replaces the current catalog.
  void publish(event_types_ptr catalog) {
    current_.store(std::move(catalog), std::memory_order_release);
  }
  /// Returns the current catalog (never null once the registry has started).
  event_types_ptr current() const { return current_.load(std::memory_order_acquire); }

private:
  std::atomic<event_types_ptr> current_;
};

} // namespace sy::actors
