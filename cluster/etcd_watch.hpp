#pragma once
// A streaming watch of one etcd key prefix through the v3 JSON gateway
// (POST /v3/watch answers with a never-ending chunked body of one JSON
// message per line). The HTTP client reads whole bodies, so the watch owns
// its own plain-HTTP connection (Beast, loopback or trusted network; an
// https:// etcd is refused). It hands its owner a consistent picture: a
// snapshot (a range read of the prefix), then every change after it, in
// revision order. A broken stream is reopened from the last revision seen
// plus one; when etcd has compacted that revision away the watch reads a
// new snapshot and goes on from there, so no change is ever skipped
// silently.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/etcd_client.hpp"
#include "cluster/etcd_decode.hpp"

namespace boost::asio {
class io_context;
}

namespace sy::cluster {

/// Returns `endpoint` without trailing slashes: how a watch names its member.
std::string trimmed_endpoint(std::string endpoint);

/// What a watch tells its owner.
struct etcd_watch_handlers {
  /// Every key under the prefix at one revision: first at start, then again
  /// after a compaction made the changes since the last one unreadable.
  /// Replaces whatever the owner knew.
  std::function<void(const etcd_range&)> snapshot;
  /// Changes after the last snapshot or batch, in revision order.
  std::function<void(const std::vector<etcd_event>&)> events;
  /// A failure the watch is recovering from (for the log): the same one
  /// again only after 10 s, or after a stream opened; optional.
  std::function<void(const std::string&)> trouble;
  /// The member at `endpoint` (trailing slashes trimmed) refused the
  /// stream's connection: no etcd listens there now. The watch retries
  /// there unless moved (move_to); optional.
  std::function<void(const std::string& endpoint)> refused;
};

/// Watches a prefix until stopped. Owned by one object (membership); its
/// handlers run one at a time on the watch's strand of `ioc`, never inside
/// start(). stop() may be called from any thread: no handler starts after
/// it returned, but one already running is not waited for, so the owner
/// keeps what its handlers touch alive until its io_context stops.
class etcd_watch {
public:
  /// Makes a watch of every key starting with `prefix` on the etcd member
  /// at `endpoint` ("http://host:port"), reading snapshots with `client`.
  etcd_watch(boost::asio::io_context& ioc, etcd_client& client, std::string endpoint,
             std::string prefix, etcd_watch_handlers handlers,
             std::chrono::milliseconds retry = std::chrono::milliseconds(250));
  ~etcd_watch();
  etcd_watch(const etcd_watch&) = delete;
  etcd_watch& operator=(const etcd_watch&) = delete;

  /// Reads the snapshot and opens the stream.
  void start();
  /// Closes the stream; no snapshot or event is delivered after this.
  void stop();
  /// Watches through the etcd member at `endpoint` from now on (reading
  /// snapshots with `client`, which must outlive the watch): an open stream
  /// is closed and opened there from the revision after the last one seen,
  /// so nothing is skipped. For a member that stopped answering or lost its
  /// leader: its stream stays open but brings nothing new. Tells nothing
  /// (its owner logs the move, once for all its watches). Any thread.
  void move_to(std::string endpoint, etcd_client& client);
  /// Returns how many times the stream was opened (1 + reconnections).
  uint64_t streams_opened() const;
  /// Returns how many snapshots were read (1 + compactions survived).
  uint64_t snapshots_read() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace sy::cluster
