#pragma once
// The set check of a fault run (../shared/CLUSTER.md, "Testing on one
// machine"): every acknowledged event must reach every subscription it
// matches at least once. Counts what was lost (an acknowledged event never
// delivered to a matching subscription) and what was duplicated (a
// delivery beyond the first of one event to one subscription). Shared by
// tests/integration/cluster_kill_test.cpp and the lab's
// switchyard-set-check (tests/integration/set_check_main.cpp). Standard
// library only.
//
// An event is named by a key that must be unique across the run. In the
// cluster preview an event id is the id of the node's own journal sequence
// (`evt_` + 16 hex digits), so two nodes hand out the same ids: a run that
// publishes through several nodes keys each event by the node it was sent
// to and its id ("n2 evt_…"), never by its id alone; and a node that
// restarts on an empty journal hands out its ids again, so a test that may
// lose a journal adds a number of the publisher's own that the delivery
// echoes (cluster_kill_test puts it in the event's data).

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sy::test {

/// What a set check found.
struct set_check_result {
  std::size_t acknowledged = 0;   ///< distinct events acknowledged (a 202 named them)
  std::size_t expected = 0;       ///< (subscription, event) pairs that must be delivered
  std::size_t deliveries = 0;     ///< delivered requests counted, duplicates included
  std::size_t delivered = 0;      ///< distinct expected pairs delivered at least once
  std::size_t lost = 0;           ///< expected pairs never delivered
  std::size_t duplicates = 0;     ///< deliveries beyond the first of one pair
  std::size_t unacknowledged = 0; ///< distinct delivered pairs not expected (e.g. no 202 came)
  std::vector<std::string> lost_examples; ///< "subscription key" of the first lost pairs (≤ 10)
  std::vector<std::string>
    duplicate_examples; ///< "subscription key xN" of the first duplicated (≤ 10)
};

/// Collects what was acknowledged and what was delivered, then counts.
/// Not thread-safe: fill it from one thread (or under the caller's lock).
class set_checker {
public:
  /// Records that event `key` was acknowledged; it must reach every
  /// subscription in `subscriptions` (those it matches; none is fine).
  void acknowledged(const std::string& key, const std::vector<std::string>& subscriptions) {
    acknowledged_.insert(key);
    for (const auto& s : subscriptions)
      expected_.emplace(s, key);
  }

  /// Records one delivered request of event `key` to `subscription`.
  void delivered(const std::string& subscription, const std::string& key) {
    ++deliveries_[{subscription, key}];
  }

  /// Returns the counts over everything recorded so far.
  set_check_result result() const {
    set_check_result r;
    r.acknowledged = acknowledged_.size();
    r.expected = expected_.size();
    for (const auto& pair : expected_) {
      auto it = deliveries_.find(pair);
      if (it != deliveries_.end())
        continue;
      ++r.lost;
      if (r.lost_examples.size() < 10)
        r.lost_examples.push_back(pair.first + " " + pair.second);
    }
    for (const auto& [pair, n] : deliveries_) {
      r.deliveries += n;
      r.duplicates += n - 1;
      if (n > 1 && r.duplicate_examples.size() < 10)
        r.duplicate_examples.push_back(pair.first + " " + pair.second + " x" + std::to_string(n));
      if (expected_.count(pair))
        ++r.delivered;
      else
        ++r.unacknowledged;
    }
    return r;
  }

private:
  using pair_type = std::pair<std::string, std::string>; // subscription, key
  std::set<std::string> acknowledged_;
  std::set<pair_type> expected_;
  std::map<pair_type, std::size_t> deliveries_;
};

} // namespace sy::test
