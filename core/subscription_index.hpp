#pragma once
// Matches events to subscriptions through a segment trie whose versions
// share everything a change did not touch (copy-on-write by chunk).

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

/// An immutable vector stored in chunks of 2^Bits elements that other
/// versions share: copying one copies a chunk pointer per chunk, never an
/// element. Made by a chunked_writer; read from any thread.
template <class T, unsigned Bits = 7>
class chunked_vector {
public:
  /// Returns element `i` (i < size()).
  const T& operator[](std::size_t i) const { return (*chunks_[i >> Bits])[i & mask]; }
  /// Returns the number of elements.
  std::size_t size() const { return size_; }

private:
  template <class, unsigned>
  friend class chunked_writer;
  static constexpr std::size_t mask = (std::size_t{1} << Bits) - 1;
  std::vector<std::shared_ptr<const std::vector<T>>> chunks_;
  std::size_t size_ = 0;
};

/// The one writer of a chunked_vector's versions. A chunk that the last
/// published version shares is copied on its first write after publish();
/// later writes to it, until the next publish(), change the copy in place.
/// Owned by one thread (the registry actor); the versions it publishes are
/// never written again.
template <class T, unsigned Bits = 7>
class chunked_writer {
public:
  /// Returns element `i` for writing, growing the vector to i + 1 elements
  /// (new ones value-initialised) when it is shorter.
  T& at(std::size_t i) {
    if (i >= size_)
      grow(i + 1);
    const std::size_t c = i >> Bits;
    if (!owned_[c]) {
      chunks_[c] = std::make_shared<std::vector<T>>(*chunks_[c]);
      owned_[c] = true;
      touched_.push_back(c);
    }
    return (*chunks_[c])[i & mask];
  }
  /// Returns element `i` for reading (i < size()).
  const T& get(std::size_t i) const { return (*chunks_[i >> Bits])[i & mask]; }
  /// Returns the number of elements.
  std::size_t size() const { return size_; }
  /// Returns the current version; every chunk is shared with it from now on.
  chunked_vector<T, Bits> publish() {
    chunked_vector<T, Bits> out;
    out.chunks_.assign(chunks_.begin(), chunks_.end());
    out.size_ = size_;
    for (auto c : touched_)
      owned_[c] = false;
    touched_.clear();
    return out;
  }

private:
  static constexpr std::size_t chunk = std::size_t{1} << Bits;
  static constexpr std::size_t mask = chunk - 1;
  void grow(std::size_t n) {
    while (chunks_.size() * chunk < n) {
      chunks_.push_back(std::make_shared<std::vector<T>>(chunk));
      owned_.push_back(true);
      touched_.push_back(chunks_.size() - 1);
    }
    size_ = n;
  }
  std::vector<std::shared_ptr<std::vector<T>>> chunks_;
  std::vector<bool> owned_; // not shared with a published version
  std::vector<std::size_t> touched_;
  std::size_t size_ = 0;
};

class index_builder;

/// An immutable index over a set of subscriptions, published by the
/// registry and shared read-only (inside its route table) by every router
/// thread. A version shares its unchanged chunks with the versions before
/// and after it (index_builder), so a subscription change costs the chunks
/// it touches, not the whole index. Cheap to copy.
class subscription_index {
public:
  /// Builds the trie of `entries` (entry i gets ordinal i); every pattern
  /// of every entry must be valid.
  explicit subscription_index(std::vector<index_entry> entries);
  subscription_index(const subscription_index&);
  subscription_index& operator=(const subscription_index&);
  ~subscription_index();

  /// Replaces `out` with the ordinals (ascending, unique) of every entry whose
  /// patterns match `type` and whose country is empty or equals `country`.
  void match(std::string_view type, std::string_view country, std::vector<uint32_t>& out) const;

  /// Returns the entry at `ordinal` (ordinal < size()); a free ordinal's
  /// entry has an empty id and no patterns.
  const index_entry& entry(uint32_t ordinal) const { return entries_[ordinal]; }

  /// Returns one past the highest ordinal in use (free ordinals included).
  std::size_t size() const { return entries_.size(); }

  /// One trie node and one shard of literal edges (subscription_index.cpp).
  struct node;
  struct edge_shard;

private:
  friend class index_builder;
  // Two parameters, not a default constructor: `subscription_index({})`
  // must mean "no entries", unambiguously.
  subscription_index(const index_builder&, int) {}
  chunked_vector<node> nodes_;
  chunked_vector<index_entry> entries_;
  // Literal edges (parent node, segment) → child, split by hash into
  // shards so that a change copies one shard, not every edge.
  std::vector<std::shared_ptr<const edge_shard>> shards_;
};

/// Keeps the current set of entries and publishes subscription_index
/// versions of it. Owned by one thread (the registry actor). An add or a
/// remove walks the entry's patterns only; snapshot() then costs the chunk
/// pointers plus a copy of each chunk touched since the last snapshot.
class index_builder {
public:
  /// Starts with no entries.
  index_builder();
  ~index_builder();
  index_builder(const index_builder&) = delete;
  index_builder& operator=(const index_builder&) = delete;

  /// Adds `e` (its patterns must be valid) and returns its ordinal: a
  /// freed one when there is one, else the next.
  uint32_t add(index_entry e);
  /// Removes the entry at `ordinal` (which add returned); its ordinal is free.
  void remove(uint32_t ordinal);
  /// Returns the index of the entries added and not removed.
  subscription_index snapshot();

private:
  struct state;
  std::unique_ptr<state> s_;
};

/// Shared immutable snapshot, as published by the registry.
using index_snapshot = std::shared_ptr<const subscription_index>;

} // namespace sy::core
