#pragma once
// Cluster mode's subscription registry in etcd (docs/cluster.md): the
// registry's mirror (actors/cluster_subs.hpp) on etcd's JSON gateway, and
// the watch of /sy/subs/ whose snapshot and changes it hands the registry.
// Made by app/server.cpp only with [cluster].

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "actors/cluster_subs.hpp"
#include "core/expected.hpp"
#include "actors/messages.hpp"

namespace boost::asio {
class io_context;
}

namespace sy::transport {
class http_client;
}

namespace sy::cluster {
class etcd_client;
class etcd_watch;
struct etcd_watch_handlers;
struct etcd_txn;
struct etcd_error;
} // namespace sy::cluster

namespace sy::app {

/// Writes subscription, Acoustic event type and push association changes
/// to etcd and feeds the registry what the watches of /sy/subs/,
/// /sy/event_types/ and /sy/associations/ read.
class subscription_sync final : public actors::subscription_mirror {
public:
  /// Makes the mirror on the etcd members `etcd` (the next is tried when
  /// one does not answer), calling through `http`; both outlive it.
  subscription_sync(boost::asio::io_context& ioc, transport::http_client& http,
                    std::vector<std::string> etcd);
  ~subscription_sync() override;
  subscription_sync(const subscription_sync&) = delete;
  subscription_sync& operator=(const subscription_sync&) = delete;

  /// Starts the watches of /sy/subs/, /sy/event_types/ and
  /// /sy/associations/ on the etcd member follow() named last (the first
  /// before any); their snapshots and changes go to `registry`.
  void start(actors::registry_actor registry);
  /// Stops the watches; nothing reaches the registry afterwards.
  void stop();
  /// Watches through etcd member `index` (of the list it was made with)
  /// from now on, and writes there first: the membership's watch moved
  /// there (cluster::membership_options::watch_moved). The watches go on
  /// from the revision after the last one they saw, so no change is
  /// skipped. Any thread; before start(), only picks the member.
  void follow(std::size_t index);

  /// Writes `record` as /sy/subs/<id> if its mod_revision is `mod_revision`.
  void put(const std::string& id, std::string record, int64_t mod_revision,
           std::function<void(actors::mirror_outcome)> done) override;
  /// Deletes /sy/subs/<id>.
  void erase(const std::string& id, std::function<void(actors::mirror_outcome)> done) override;
  /// Writes `record` as /sy/event_types/<code>.
  void put_event_type(const std::string& code, std::string record,
                      std::function<void(actors::mirror_outcome)> done) override;
  /// Deletes /sy/event_types/<code>.
  void erase_event_type(const std::string& code,
                        std::function<void(actors::mirror_outcome)> done) override;
  /// Writes `record` as /sy/associations/<token in hex>.
  void put_association(const std::string& token, std::string record,
                       std::function<void(actors::mirror_outcome)> done) override;
  /// Writes `record` as /sy/associations/<token in hex> if that key does not exist.
  void add_association(const std::string& token, std::string record,
                       std::function<void(actors::mirror_outcome)> done) override;

private:
  cluster::etcd_client& etcd();
  void rotate(int status);
  // The callback of a compared write: `done` with ok, conflict (the
  // compare failed) or unreachable (after rotating to the next member).
  std::function<void(core::expected<cluster::etcd_txn, cluster::etcd_error>)> txn_outcome(
    std::function<void(actors::mirror_outcome)> done);
  // Makes and starts the watch of `prefix` on the member watching_ names
  // (watches_mutex_ held).
  std::unique_ptr<cluster::etcd_watch> open_watch(std::string_view prefix,
                                                  cluster::etcd_watch_handlers handlers);
  // Writes `record` under `key` (the last writer wins).
  void put_key(const std::string& key, std::string record,
               std::function<void(actors::mirror_outcome)> done);

  boost::asio::io_context& ioc_;
  std::vector<std::string> urls_;
  std::vector<std::unique_ptr<cluster::etcd_client>> clients_;
  std::atomic<std::size_t> current_{0};
  std::mutex watches_mutex_; // guards watching_ and the watches
  std::size_t watching_ = 0; // the member the watches read from
  std::unique_ptr<cluster::etcd_watch> watch_;
  std::unique_ptr<cluster::etcd_watch> types_watch_;
  std::unique_ptr<cluster::etcd_watch> associations_watch_;
};

} // namespace sy::app
