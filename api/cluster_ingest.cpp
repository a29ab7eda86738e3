#include "api/cluster_ingest.hpp"

#include <algorithm>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/partition_entry.hpp"
#include "cluster/placement.hpp"
#include "cluster/router.hpp"
#include "storage/journal.hpp"

namespace sy::api {

namespace {

// What a producer reads in the 503 for each way a partition can fail.
std::string_view cause_of(std::string_view outcome) {
  if (outcome == "not_primary")
    return "its primary changed or is not known yet (a failover is under way)";
  if (outcome == "below_min_insync")
    return "fewer of its replicas are in sync than cluster.min_insync";
  if (outcome == "timeout")
    return "its replicas did not confirm it in time";
  if (outcome == "unreachable")
    return "this node has no link to its primary";
  return "its primary could not store it";
}

} // namespace

std::string cluster_ingest_error(uint32_t partition, const char* outcome, std::size_t failed,
                                 std::size_t total) {
  std::string out = "not acknowledged: partition " + std::to_string(partition) + " (" + outcome +
                    ") did not commit: " + std::string(cause_of(outcome));
  if (failed > 1)
    out += ", and " + std::to_string(failed - 1) + " other partition(s) of the " +
           std::to_string(total) + " this batch spans did not commit either";
  out += "; retry after Retry-After (events of partitions that did commit may be delivered "
         "twice unless they carry a clientId)";
  return out;
}

void submit_to_cluster(const cluster_ingest& c, actors::ingest_submission s) {
  const std::size_t n = s.events.size();
  // Durable numbers: the partition logs, not this journal, hold the events.
  auto reserved = n == 0 ? storage::expected<uint64_t>(0) : c.journal->reserve_durable_seqs(n);
  if (!reserved) {
    actors::ingest_outcome out;
    out.status = 503;
    out.error = "not acknowledged: cannot persist this node's event sequence counter (" +
                reserved.error().message + "); check the data directory's disk, then retry";
    return s.done(std::move(out));
  }
  const uint64_t first = *reserved;
  cluster::routed_batch batch;
  // Per event: its matched subscriptions' ids grouped by partition (reused).
  std::vector<std::pair<uint32_t, std::string_view>> subs;
  std::vector<std::string_view> ids;
  std::size_t record_begin = 0, match_begin = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const uint64_t seq = first + i;
    auto& e = *s.events[i];
    e.seq = seq;
    e.ev.id = actors::event_id(seq);
    std::span<char> record(s.records.data() + record_begin, s.record_ends[i] - record_begin);
    std::string respilled;
    std::string_view bytes(record.data(), record.size());
    if (!storage::set_record_seq(record, seq, e.ev.id)) {
      respilled = storage::encode_event(e);
      bytes = respilled;
    }
    subs.clear();
    for (std::size_t m = match_begin; m < s.match_ends[i]; ++m) {
      const auto& id = s.routes->index.entry(s.matches[m]).id;
      subs.emplace_back(cluster::partition_of(id, c.partitions), id);
    }
    record_begin = s.record_ends[i];
    match_begin = s.match_ends[i];
    std::sort(subs.begin(), subs.end());
    for (std::size_t k = 0; k < subs.size();) {
      const uint32_t p = subs[k].first;
      ids.clear();
      for (; k < subs.size() && subs[k].first == p; ++k)
        ids.push_back(subs[k].second);
      // One entry per partition for the whole request, closed at
      // max_partition_entry_bytes: the replicas write, fetch and trim
      // entries, so each costs them per request, not per event.
      auto& entries = batch[p];
      if (entries.empty() || entries.back().size() >= cluster::max_partition_entry_bytes)
        entries.emplace_back();
      cluster::append_to_partition_entry(entries.back(), bytes, ids);
    }
  }
  auto done = std::move(s.done);
  std::vector<uint64_t> seqs(n);
  for (std::size_t i = 0; i < n; ++i)
    seqs[i] = first + i;
  c.router->route(std::move(batch), [done = std::move(done), seqs = std::move(seqs)](
                                      cluster::route_outcomes outcomes) mutable {
    std::size_t failed = 0;
    std::optional<std::pair<uint32_t, cluster::route_outcome>> first_failed;
    for (const auto& [p, o] : outcomes)
      if (o != cluster::route_outcome::committed) {
        ++failed;
        if (!first_failed)
          first_failed = std::make_pair(p, o);
      }
    actors::ingest_outcome out;
    if (failed == 0) {
      out.seqs = std::move(seqs);
    } else {
      out.status = 503;
      out.error = cluster_ingest_error(
        first_failed->first, cluster::to_string(first_failed->second), failed, outcomes.size());
    }
    done(std::move(out));
  });
}

} // namespace sy::api
