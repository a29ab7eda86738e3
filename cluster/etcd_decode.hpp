#pragma once
// Reading etcd's v3 JSON gateway answers that carry keys: a range read's
// page and one message of a watch stream. Free of Beast and CAF, so that
// the fuzz build (tests/fuzz/etcd_answers.cpp) reads them exactly as the
// client and the watch do.

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/etcd_client.hpp"

namespace sy::cluster {

/// One change a watch saw: a put (the key's new value) or a delete (only
/// key and mod_revision set).
struct etcd_event {
  bool deleted = false;
  etcd_kv kv;
  friend bool operator==(const etcd_event&, const etcd_event&) = default;
};

/// One answer of /v3/kv/range: its keys and whether more follow.
struct range_page {
  etcd_range range;
  bool more = false;
};

/// Reads one answer of /v3/kv/range (its first line); an unreadable one is
/// an etcd_error of status 200 saying why.
core::expected<range_page, etcd_error> read_range_page(const std::string& body);

/// What one newline-delimited message of the watch stream says: its events,
/// whether it created or canceled the watch, the compact revision of a
/// watch canceled by a compaction, or an error.
struct watch_line {
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;
  std::string error; ///< a gateway error message, or why the line was unreadable
  std::vector<etcd_event> events;
};

/// Returns what one newline-delimited message of the watch stream says.
watch_line parse_watch_line(const std::string& line);

} // namespace sy::cluster
