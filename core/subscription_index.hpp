#pragma once
// Matches events to subscriptions through a segment trie.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sy::core {

/// What the index needs of one subscription.
struct index_entry {
  std::string id;
  std::vector<std::string> patterns; ///< valid type patterns
  std::string country;               ///< empty = every country; else ≤ 4 bytes
};

/// An immutable index over a set of subscriptions. Built once by the registry,
/// then shared read-only (through a shared_ptr) by every router thread.
class subscription_index {
public:
  /// Builds the trie; every pattern of every entry must be valid.
  explicit subscription_index(std::vector<index_entry> entries);
  ~subscription_index();
  subscription_index(const subscription_index&) = delete;
  subscription_index& operator=(const subscription_index&) = delete;

  /// Replaces `out` with the ordinals (ascending, unique) of every entry whose
  /// patterns match `type` and whose country is empty or equals `country`.
  void match(std::string_view type, std::string_view country, std::vector<uint32_t>& out) const;

  /// Returns the entry at `ordinal`, as given to the constructor.
  const index_entry& entry(uint32_t ordinal) const { return entries_[ordinal]; }

  /// Returns the number of entries.
  std::size_t size() const { return entries_.size(); }

private:
  struct node;
  std::vector<index_entry> entries_;
  std::unique_ptr<std::vector<node>> nodes_;
};

/// Shared immutable snapshot, as published by the registry.
using index_snapshot = std::shared_ptr<const subscription_index>;

} // namespace sy::core
