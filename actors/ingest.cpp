#include "actors/ingest.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "actors/messages.hpp"
#include "actors/subscriber_slot.hpp"
#include "core/time_format.hpp"

namespace sy::actors {

using core::now_ms;

void write_event_id(char* out, uint64_t seq) {
  static constexpr char hex[] = "0123456789abcdef";
  std::memcpy(out, "evt_", 4);
  for (int i = 0; i < 16; ++i)
    out[4 + 15 - i] = hex[(seq >> (4 * i)) & 15];
}

std::string event_id(uint64_t seq) {
  std::string id(event_id_size, '0');
  write_event_id(id.data(), seq);
  return id;
}

void ingest_submission::reserve(std::size_t n, std::size_t bytes) {
  events.reserve(n);
  match_ends.reserve(n);
  record_ends.reserve(n);
  records.reserve(bytes);
}

void ingest_submission::add(std::shared_ptr<storage::stored_event> e,
                            std::span<const uint32_t> ords) {
  e->ev.id.assign(event_id_size, '0');
  storage::encode_event_into(records, *e);
  push(std::move(e), ords);
}

void ingest_submission::add_encoded(std::shared_ptr<storage::stored_event> e,
                                    std::string_view record, std::span<const uint32_t> ords) {
  records.append(record);
  push(std::move(e), ords);
}

void ingest_submission::add_referenced(std::shared_ptr<storage::stored_event> e,
                                       const storage::log_ref& ref,
                                       std::span<const uint32_t> ords) {
  refs.push_back(ref);
  push(std::move(e), ords);
}

void ingest_submission::push(std::shared_ptr<storage::stored_event> e,
                             std::span<const uint32_t> ords) {
  record_ends.push_back(records.size());
  matches.insert(matches.end(), ords.begin(), ords.end());
  match_ends.push_back(matches.size());
  events.push_back(std::move(e));
}

std::optional<uint64_t> seq_of_event_id(std::string_view id) {
  if (id.size() != 20 || id.substr(0, 4) != "evt_")
    return std::nullopt;
  uint64_t seq = 0;
  for (char c : id.substr(4)) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0)
      return std::nullopt;
    seq = (seq << 4) | static_cast<uint64_t>(digit);
  }
  return seq;
}

struct ingest_pipeline::written_round {
  std::vector<ingest_submission> group;
  std::vector<ingest_outcome> outcomes;
  // Per subscriber, in commit order; keyed by actor address for grouping.
  std::unordered_map<caf::actor_addr, std::pair<caf::actor, event_list>> deliveries;
  uint64_t ingested = 0, routed = 0, deduped = 0;
  bool needs_sync = true; // false: every submission was durable_elsewhere
};

ingest_pipeline::ingest_pipeline(storage::journal& journal, int64_t dedupe_window_ms,
                                 std::size_t max_pending_events)
    : journal_(journal), dedupe_window_ms_(dedupe_window_ms),
      max_pending_events_(max_pending_events), sync_thread_([this] { run_sync(); }),
      thread_([this] { run(); }) {}

ingest_pipeline::~ingest_pipeline() { stop(); }

void ingest_pipeline::submit(ingest_submission s) {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (!stopping_ && queued_events_ + s.events.size() <= max_pending_events_) {
      queued_events_ += s.events.size();
      queue_.push_back(std::move(s));
      // Only the first submission of a round wakes the commit thread: it
      // takes the whole queue once the commit in progress is written.
      if (queue_.size() == 1)
        wake_.notify_one();
      return;
    }
  }
  ingest_outcome out;
  out.status = 503;
  out.error = "the journal is saturated; retry shortly";
  s.done(std::move(out));
}

void ingest_pipeline::stop() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    stopping_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable())
    thread_.join();
  {
    std::lock_guard<std::mutex> guard(sync_mutex_);
    sync_stopping_ = true;
    sync_wake_.notify_one();
  }
  if (sync_thread_.joinable())
    sync_thread_.join();
}

void ingest_pipeline::run_sync() {
  for (;;) {
    std::unique_ptr<written_round> round;
    {
      std::unique_lock<std::mutex> lock(sync_mutex_);
      sync_wake_.wait(lock, [&] { return sync_stopping_ || written_; });
      if (!written_)
        return; // stopping, and every written round has been synced
      round = std::move(written_);
      sync_taken_.notify_one();
    }
    // Covers every write made before it began, so the whole round.
    if (auto err = round->needs_sync ? journal_.sync_appends() : std::nullopt) {
      fail(round->group, err->kind == storage::errc::no_space
                           ? "the journal's disk is full; retry once space is freed"
                           : "the journal could not write: " + err->message + "; retry shortly");
      continue;
    }
    counters_.ingested.fetch_add(round->ingested, std::memory_order_relaxed);
    counters_.routed.fetch_add(round->routed, std::memory_order_relaxed);
    counters_.deduplicated.fetch_add(round->deduped, std::memory_order_relaxed);
    counters_.commits.fetch_add(1, std::memory_order_relaxed);
    // Subscribers hear of the events before producers hear 202: a client that
    // publishes and then pauses or purges finds its events already queued.
    for (auto& [addr, d] : round->deliveries)
      caf::anon_send(d.first, enqueue_atom::value, std::move(d.second));
    for (std::size_t g = 0; g < round->group.size(); ++g)
      round->group[g].done(std::move(round->outcomes[g]));
  }
}

void ingest_pipeline::run() {
  std::vector<ingest_submission> group;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return; // stopping, and everything submitted has been committed
      group.swap(queue_);
      queued_events_ = 0;
    }
    commit(group);
    group.clear();
  }
}

void ingest_pipeline::fail(std::vector<ingest_submission>& group, const std::string& why) {
  for (auto& s : group) {
    ingest_outcome out;
    out.status = 503;
    out.error = why;
    s.done(std::move(out));
  }
}

void ingest_pipeline::commit(std::vector<ingest_submission>& group) {
  std::size_t total = 0, total_matches = 0;
  for (auto& s : group) {
    total += s.events.size();
    total_matches += s.matches.size();
  }
  // Held until the append below is written (garbage collection waits).
  auto reservation = journal_.reserve(total);
  uint64_t seq = reservation.first();
  const int64_t now = now_ms();

  records_.clear();
  records_.reserve(total);
  meta_.clear();
  for (auto& s : group)
    for (auto& [name, value] : s.meta)
      meta_.emplace_back(name, value);
  subs_.clear();
  subs_.reserve(total_matches);      // never grows below: the spans into it stay valid
  std::deque<std::string> respilled; // records encoded again here (not expected)
  auto round = std::make_unique<written_round>();
  auto& outcomes = round->outcomes;
  outcomes.resize(group.size());
  auto& deliveries = round->deliveries;
  std::unordered_map<std::string_view, uint64_t> ids_in_group;
  uint64_t routed = 0, deduped = 0;

  for (std::size_t g = 0; g < group.size(); ++g) {
    auto& s = group[g];
    auto& out = outcomes[g];
    out.seqs.reserve(s.events.size());
    std::size_t record_begin = 0, match_begin = 0;
    for (std::size_t i = 0; i < s.events.size(); ++i, ++seq) {
      auto& e = s.events[i];
      const std::span<char> record(s.records.data() + record_begin,
                                   s.record_ends[i] - record_begin);
      const std::span<const uint32_t> ords(s.matches.data() + match_begin,
                                           s.match_ends[i] - match_begin);
      record_begin = s.record_ends[i];
      match_begin = s.match_ends[i];
      const std::string_view cid = e->ev.client_id.empty() || s.dedupe_keys.empty()
                                     ? e->ev.client_id
                                     : s.dedupe_keys[i];
      if (!cid.empty()) {
        // A repeated client id is acknowledged with its first id, routed once.
        auto seen = ids_in_group.find(cid);
        std::optional<uint64_t> prior;
        if (seen != ids_in_group.end())
          prior = seen->second;
        else if (auto found = journal_.find_client_id(cid, now, dedupe_window_ms_))
          prior = *found;
        else if (!found.error().not_found())
          return fail(group, "the journal could not read client ids: " + found.error().message +
                               "; retry shortly");
        if (prior) {
          out.seqs.push_back(*prior);
          ++deduped;
          continue;
        }
        ids_in_group.emplace(cid, seq);
      }
      e->seq = seq;
      if (!s.keep_ids) {
        if (e->ev.id.size() != event_id_size)
          e->ev.id.resize(event_id_size);
        write_event_id(e->ev.id.data(), seq);
      }
      const storage::log_ref* ref = s.refs.empty() ? nullptr : &s.refs[i];
      std::string_view bytes(record.data(), record.size());
      if (!ref && !storage::set_record_seq(record, seq, e->ev.id))
        bytes = respilled.emplace_back(storage::encode_event(*e));
      const std::size_t subs_begin = subs_.size();
      for (uint32_t ord : ords) {
        const auto& target = s.routes->targets[ord];
        subs_.push_back(target.number);
        // An idle subscription's actor is spawned here, by its first event.
        const auto& actor = target.slot->get();
        auto& d = deliveries[actor.address()];
        if (!d.first)
          d.first = actor;
        d.second.events.push_back(e);
      }
      routed += ords.size();
      out.seqs.push_back(seq);
      records_.push_back({seq, e->ingest_ms, bytes, cid,
                          std::span<const uint64_t>(subs_.data() + subs_begin, ords.size()), ref});
    }
  }

  // Unsynced: the sync thread makes it durable before anyone hears of it.
  // Even a round that wrote nothing waits for that sync: a repeated client
  // id may have been answered from a round still being synced. A round of
  // submissions durable elsewhere is not synced (the rounds before it are,
  // before it is answered: the sync thread takes them in order).
  round->needs_sync = std::any_of(group.begin(), group.end(),
                                  [](const ingest_submission& s) { return !s.durable_elsewhere; });
  const auto sync = round->needs_sync ? storage::append_sync::later
                                      : storage::append_sync::elsewhere;
  auto err = records_.empty() && meta_.empty() ? std::nullopt
                                               : journal_.append_records(records_, sync, meta_);
  if (err) {
    if (err->kind == storage::errc::no_space)
      return fail(group, "the journal's disk is full; retry once space is freed");
    return fail(group, "the journal could not write: " + err->message + "; retry shortly");
  }
  round->ingested = records_.size();
  round->routed = routed;
  round->deduped = deduped;
  round->group = std::move(group);
  std::unique_lock<std::mutex> lock(sync_mutex_);
  // One round waits while one syncs: what arrives meanwhile makes the next.
  sync_taken_.wait(lock, [&] { return !written_; });
  written_ = std::move(round);
  sync_wake_.notify_one();
}

} // namespace sy::actors
