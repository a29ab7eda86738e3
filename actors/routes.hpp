#pragma once
// The routing table: the subscription index plus, for each entry, where
// matching events go. Immutable once published.

#include <caf/actor.hpp>

#include <atomic>
#include <memory>

#include "core/subscription_index.hpp"

namespace sy::actors {

/// Where a matched event goes: the subscription's journal number and actor.
struct route_target {
  uint64_t number = 0;
  caf::actor actor;
};

/// An index snapshot and its targets (targets[i] belongs to index entry i).
/// Built by the registry, read concurrently by every ingest thread.
struct route_table {
  explicit route_table(std::vector<core::index_entry> entries) : index(std::move(entries)) {}
  core::subscription_index index;
  std::vector<route_target> targets;
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

} // namespace sy::actors
