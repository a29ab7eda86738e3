#pragma once
// A client of etcd 3.4's v3 JSON gateway (POST /v3/kv/range, /v3/kv/put,
// /v3/kv/txn, /v3/kv/deleterange, /v3/lease/grant, /v3/lease/keepalive,
// /v3/lease/revoke) on the project's Beast HTTP client: what cluster mode
// needs from etcd for membership leases, the controller key and fenced
// partition configurations (../shared/CLUSTER.md, docs/cluster.md). Keys
// and values are bytes; the gateway's base64 and its int64-as-string
// numbers stay inside the .cpp.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/expected.hpp"

namespace sy::transport {
class http_client;
}

namespace sy::cluster {

/// Why an etcd call failed: no answer (status 0, the transport's reason),
/// an error answer (its status and etcd's message) or an answer this client
/// could not read.
struct etcd_error {
  int status = 0;
  std::string message;
  /// The member refused the connection (status 0): no etcd listens there
  /// now, so no answer will come from it until it is started again.
  bool refused = false;
};

/// One key as etcd holds it.
struct etcd_kv {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0; ///< 0 = not attached to a lease
  friend bool operator==(const etcd_kv&, const etcd_kv&) = default;
};

/// What a range read found, at which store revision.
struct etcd_range {
  int64_t revision = 0;
  std::vector<etcd_kv> kvs;
};

/// The outcome of a transaction: whether its comparisons held (and so its
/// write happened), and the store revision after it.
struct etcd_txn {
  bool succeeded = false;
  int64_t revision = 0;
};

/// A lease: its id and the seconds it has left (0 = expired or unknown).
struct etcd_lease {
  int64_t id = 0;
  int64_t ttl = 0;
};

/// Calls one etcd member's JSON gateway. Thread-safe; every callback runs
/// once, on a thread of the HTTP client's io_context, never inside the call.
class etcd_client {
public:
  template <class T>
  using callback = std::function<void(core::expected<T, etcd_error>)>;

  /// Makes a client of the member at `endpoint` ("http://127.0.0.1:2379"),
  /// sending through `http`, which must outlive it; each call gives up
  /// after `timeout`. A prefix read asks for `range_page` keys at a time.
  etcd_client(transport::http_client& http, std::string endpoint,
              std::chrono::milliseconds timeout = std::chrono::milliseconds(2000),
              std::size_t range_page = 1000);

  /// Reads `key`, or every key starting with `key` when `prefix`. A prefix
  /// read takes as many requests as it has pages, every page at the
  /// revision of the first, so the answer is one consistent picture however
  /// large (each page must fit the HTTP client's max_response_bytes); a
  /// page compacted away meanwhile fails the read.
  void range(const std::string& key, bool prefix, callback<etcd_range> done);
  /// Writes `key` = `value` (attached to `lease` unless 0); answers the new revision.
  void put(const std::string& key, const std::string& value, int64_t lease, callback<int64_t> done);
  /// Writes `key` only if it does not exist (compare create_revision == 0):
  /// the election of a single holder, such as the controller.
  void create(const std::string& key, const std::string& value, int64_t lease,
              callback<etcd_txn> done);
  /// Writes `key` only if its mod_revision is still `mod_revision` (0 = it
  /// must not exist): a fenced update, whose revision is the next epoch.
  void compare_and_put(const std::string& key, int64_t mod_revision, const std::string& value,
                       int64_t lease, callback<etcd_txn> done);
  /// Deletes `key`, or every key starting with `key` when `prefix`;
  /// answers how many were deleted.
  void erase(const std::string& key, bool prefix, callback<int64_t> done);
  /// Grants a lease of `ttl`.
  void grant(std::chrono::seconds ttl, callback<etcd_lease> done);
  /// Renews lease `id` once; ttl 0 in the answer means it had expired.
  void keep_alive(int64_t id, callback<etcd_lease> done);
  /// Revokes lease `id`, deleting every key attached to it.
  void revoke(int64_t id, callback<bool> done);

private:
  void post(const char* path, std::string body, std::function<void(std::string)> read,
            std::function<void(etcd_error)> fail);

  struct paged_range;
  void next_page(std::shared_ptr<paged_range> read);

  transport::http_client& http_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  std::size_t range_page_;
};

/// Returns the first key after every key that starts with `prefix` (etcd's
/// range_end for a prefix read): `prefix` with its last byte below 0xff
/// incremented and what follows dropped; "\0" (every key) when there is none.
std::string prefix_end(const std::string& prefix);

} // namespace sy::cluster
