#include "actors/cluster_apply.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <time.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "actors/delivery_gate.hpp"
#include "actors/messages.hpp"
#include "actors/subscriber_slot.hpp"
#include "cluster/partition_entry.hpp"
#include "cluster/placement.hpp"
#include "log/log.hpp"
#include "storage/journal.hpp"

namespace sy::actors {

namespace {

using steady = std::chrono::steady_clock;

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// The CPU time the calling thread has used.
steady::duration thread_cpu_time() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::duration_cast<steady::duration>(std::chrono::seconds(ts.tv_sec) +
                                                      std::chrono::nanoseconds(ts.tv_nsec));
}

uint64_t get_be64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

// The prefix of partition `p`'s client-id dedupe keys in `epoch`: a NUL
// first, which the API's client ids (JSON strings of printable text) do
// not start with, so that they never meet a single node's plain keys.
std::string dedupe_scope(uint32_t p, uint64_t epoch) {
  std::string s("\0P", 2);
  put_be(s, p, 4);
  put_be(s, epoch, 8);
  return s;
}

// Heterogeneous lookup: an entry's subscription ids are string_views.
struct id_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// One apply() call.
struct batch {
  uint64_t epoch = 0;
  uint64_t first = 0;
  std::vector<std::string> entries;
};

// Applied offsets up to `end` (from the previous segment's end), the
// highest local seq any of them became, and when they were applied.
struct segment {
  uint64_t end = 0;
  uint64_t max_seq = 0;
  steady::time_point at{};
};

// What one submission covers: the batches it was built from (kept to build
// it again when the journal refuses it), the offsets it moves the watermark
// over, and the subscriptions (journal numbers) its events were queued for.
struct pass {
  uint64_t epoch = 0;
  uint64_t next_before = 0; // the watermark before it (restored on failure)
  uint64_t to = 0;          // the watermark after it
  uint64_t floor_seq = 0;   // the seq entries below the watermark count as (see skipped)
  std::vector<batch> batches;
  std::vector<uint64_t> subs;
};

struct partition_state {
  // Guarded by impl::mu_.
  uint64_t fenced = 0; // the newest epoch demote() named: older entries are stale
  uint64_t newest = 0; // the newest epoch apply() was given: older entries are stale too
  std::deque<batch> incoming;
  bool demote_pending = false;
  bool in_flight = false; // a pass is being built or is in the pipeline
  steady::time_point retry_at{};
  // The applier's thread only.
  uint64_t epoch = 0; // the tenure this node applies as primary; 0: none
  uint64_t next = 0;  // the next offset to apply (the watermark)
  uint64_t released = 0;
  // The first check of the current run of checks that each left the
  // release lagging progress_after (none: the last one did not), and
  // whether that run logged cluster.release_held.
  std::optional<steady::time_point> lagging_since;
  bool held_logged = false;
  std::optional<pass> current;
  std::deque<segment> segments;
  // Subscription number → the highest seq queued for it that the release
  // check has not yet seen it pass.
  std::unordered_map<uint64_t, uint64_t> watch;
  // Subscription number → where the release check's next seek for it starts:
  // the head it last saw (a queue's head only rises: new keys have higher
  // seqs, and a dead letter replayed below it was released already). Without
  // it each seek walks every key deleted since the memtable's last flush.
  std::unordered_map<uint64_t, uint64_t> seek_from;
  // When delivery was last recorded, and what; when a record was last
  // considered (made or found the same as the last one).
  steady::time_point recorded_at{};
  steady::time_point considered_at{};
  delivered_offsets recorded;
  // A new tenure's skips from an earlier primary's record: subscription id
  // → the offset below which its entries are not queued; skip_below is the
  // highest such offset (entries from it on need no lookup).
  std::unordered_map<std::string, uint64_t, id_hash, std::equal_to<>> skip;
  uint64_t skip_below = 0;
};

struct completion {
  uint32_t partition = 0;
  ingest_outcome outcome;
};

} // namespace

struct partition_apply::impl : std::enable_shared_from_this<partition_apply::impl> {
  impl(caf::actor_system& sys, storage::journal& journal, ingest_pipeline& pipeline,
       const route_publisher& routes, uint32_t partitions,
       std::function<void(uint32_t, uint64_t, uint64_t)> release, partition_apply_options options)
      : sys_(sys), journal_(journal), pipeline_(pipeline), routes_(routes), partitions_(partitions),
        release_(std::move(release)), options_(options), parts_(partitions) {
    // Events journaled before this process started have lower seqs: an entry
    // found below the watermark counts as this seq until its queues pass it.
    high_seq_ = journal_.next_seq() - 1;
  }

  void start() {
    thread_ = std::thread([self = shared_from_this()] { self->run(); });
  }

  void apply(uint32_t p, uint64_t epoch, uint64_t first, std::vector<std::string> entries) {
    if (p >= partitions_ || entries.empty())
      return;
    std::lock_guard lock(mu_);
    auto& st = parts_[p];
    if (epoch <= st.fenced || epoch < st.newest) {
      counters_.stale.fetch_add(entries.size(), std::memory_order_relaxed);
      return;
    }
    st.newest = epoch;
    st.incoming.push_back({epoch, first, std::move(entries)});
    cv_.notify_one();
  }

  void demote(uint32_t p, uint64_t epoch) {
    if (p >= partitions_)
      return;
    std::lock_guard lock(mu_);
    auto& st = parts_[p];
    if (epoch < st.newest)
      return; // a tenure of a newer epoch has begun here: that one stands
    if (options_.gate)
      options_.gate->set(p, false);
    st.fenced = std::max(st.fenced, epoch);
    while (!st.incoming.empty() && st.incoming.front().epoch <= st.fenced) {
      counters_.stale.fetch_add(st.incoming.front().entries.size(), std::memory_order_relaxed);
      st.incoming.pop_front();
    }
    st.demote_pending = true;
    cv_.notify_one();
  }

  // partition_apply::check_releases_now().
  bool check_releases_now(steady::time_point deadline) {
    const uint64_t first = counters_.checks.load(std::memory_order_acquire);
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (stopping_)
          return false;
        check_now_ = true;
        cv_.notify_one();
      }
      // One check may have been under way already: it may have read the
      // queues before the caller's acks; the second began after the call.
      if (counters_.checks.load(std::memory_order_acquire) >= first + 2)
        return true;
      if (steady::now() >= deadline)
        return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
      thread_.join();
  }

  // The pipeline's answer to a pass, on its sync thread (or on ours, inside
  // submit(), when it refuses at once: then mu_ is already held).
  void on_done(uint32_t p, ingest_outcome out) {
    if (std::this_thread::get_id() == thread_id_) {
      completions_.push_back({p, std::move(out)});
      return;
    }
    std::lock_guard lock(mu_);
    completions_.push_back({p, std::move(out)});
    cv_.notify_one();
  }

  void run() {
    thread_id_ = std::this_thread::get_id();
    auto next_tick = steady::now() + options_.release_interval;
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait_until(lock, next_tick, [&] { return stopping_ || check_now_ || ready_locked(); });
      if (stopping_)
        return;
      auto done = std::move(completions_);
      completions_.clear();
      for (auto& c : done)
        complete_locked(c);
      for (uint32_t p = 0; p < partitions_ && !stopping_; ++p)
        step_locked(p, lock);
      if (steady::now() >= next_tick || check_now_) {
        check_now_ = false;
        lock.unlock();
        const auto began = thread_cpu_time();
        check_releases();
        counters_.checks.fetch_add(1, std::memory_order_relaxed);
        const auto took = thread_cpu_time() - began;
        lock.lock();
        // A check that grew costly (many subscriptions behind) runs at most
        // a fifth of the time: the interval stretches to four times its cost,
        // up to check_gap_most. Its cost is this thread's CPU time, not the
        // clock's: a process stopped (SIGSTOP, a VM paused) or preempted
        // during a check did not spend that time checking. Measured on the
        // clock, a 10 s stop in a check held every release and progress
        // record of the node for 40 s, and a takeover then delivered all of
        // it again.
        next_tick = steady::now() + std::clamp<steady::duration>(
                                      4 * took, options_.release_interval, options_.check_gap_most);
      }
    }
  }

  bool ready_locked() const {
    if (!completions_.empty())
      return true;
    const auto now = steady::now();
    for (const auto& st : parts_)
      if (!st.in_flight && (st.demote_pending || (!st.incoming.empty() && st.retry_at <= now)))
        return true;
    return false;
  }

  // Moves partition `p` on by one step: a pending demote, a new tenure, or
  // the next pass. Called with `lock` held; releases it around waits and work.
  void step_locked(uint32_t p, std::unique_lock<std::mutex>& lock) {
    auto& st = parts_[p];
    if (st.in_flight)
      return;
    if (st.demote_pending) {
      st.demote_pending = false;
      st.epoch = 0;
      st.segments.clear();
      st.watch.clear();
      st.seek_from.clear();
      st.skip.clear();
      st.skip_below = 0;
      lock.unlock();
      reset_subscribers(p);
      lock.lock();
      return;
    }
    if (st.incoming.empty() || st.retry_at > steady::now())
      return;
    const uint64_t epoch = st.incoming.front().epoch;
    if (epoch != st.epoch && !start_tenure(p, epoch, lock))
      return;
    // Every batch of this tenure that is waiting makes one pass.
    pass ps;
    ps.epoch = epoch;
    while (!st.incoming.empty() && st.incoming.front().epoch == epoch) {
      ps.batches.push_back(std::move(st.incoming.front()));
      st.incoming.pop_front();
    }
    st.in_flight = true;
    lock.unlock();
    auto submission = build(p, st, ps);
    lock.lock();
    if (st.fenced >= epoch) {
      // Demoted while it was built: nothing of it is submitted.
      st.in_flight = false;
      for (const auto& b : ps.batches)
        counters_.stale.fetch_add(b.entries.size(), std::memory_order_relaxed);
      return;
    }
    if (!submission) {
      // Nothing to write (every entry below the watermark, or for no
      // subscription known here): the pass completes as it stands.
      st.in_flight = false;
      st.current = std::move(ps);
      completion c{p, {}};
      complete_locked(c);
      return;
    }
    st.current = std::move(ps);
    submission->done = [weak = weak_from_this(), p](ingest_outcome out) {
      if (auto self = weak.lock())
        self->on_done(p, std::move(out));
    };
    // Under mu_: a demote() that returned before this point fenced it above.
    pipeline_.submit(std::move(*submission));
  }

  // Starts the tenure of `epoch` on partition `p` (lock held, released
  // around the reset); false when a demote came meanwhile.
  bool start_tenure(uint32_t p, uint64_t epoch, std::unique_lock<std::mutex>& lock) {
    auto& st = parts_[p];
    const uint64_t first = st.incoming.front().first;
    auto wm = journal_.get_meta(watermark_key(p));
    const bool resumed = wm && wm->size() == 16 && get_be64(*wm) == epoch;
    st.epoch = epoch;
    st.released = first;
    st.segments.clear();
    st.watch.clear();
    st.seek_from.clear();
    st.recorded.clear();
    st.skip.clear();
    st.skip_below = 0;
    st.next = resumed ? get_be64(std::string_view(*wm).substr(8)) : first;
    if (!resumed && options_.recorded_progress) {
      // What an earlier primary recorded delivered is not queued again (a
      // restart within the tenure has its own queues and watermark).
      for (auto& [id, offset] : options_.recorded_progress(p)) {
        st.skip_below = std::max(st.skip_below, offset);
        st.skip[std::move(id)] = offset;
      }
    }
    if (!resumed) {
      // A new tenure re-applies the log from its start: whatever an earlier
      // tenure left queued here goes first, or it would be delivered twice
      // (and a late purge could delete this tenure's keys).
      if (options_.gate)
        options_.gate->set(p, false);
      lock.unlock();
      reset_subscribers(p);
      lock.lock();
      if (st.fenced >= epoch) {
        st.epoch = 0;
        return false;
      }
    }
    if (options_.gate) {
      options_.gate->set(p, true);
      // Events recovered from before a restart wait behind the gate: their
      // subscribers look again (an empty hand-over runs their pump).
      if (resumed)
        nudge_subscribers(p);
    }
    return true;
  }

  void nudge_subscribers(uint32_t p) {
    auto table = routes_.current();
    refresh_index(table);
    if (!table)
      return;
    for (uint32_t ord : by_partition_[p]) {
      if (ord >= table->targets.size())
        continue;
      const auto& target = table->targets[ord];
      if (target.slot && target.slot->spawned())
        caf::anon_send(target.slot->get(), enqueue_atom::value, event_list{});
    }
  }

  // Builds the submission of `ps` (without mu_: the partition's state is
  // this thread's while in_flight is set); nullopt when it writes nothing.
  std::optional<ingest_submission> build(uint32_t p, partition_state& st, pass& ps) {
    auto table = routes_.current();
    refresh_index(table);
    ps.next_before = st.next;
    ingest_submission s;
    s.keep_ids = true;
    // The partition log holds the entries durably; a crash that loses this
    // write loses its applied watermark with it, and on_commit's replay
    // from the log's start applies them again (no fsync of its own).
    s.durable_elsewhere = true;
    s.routes = table;
    const std::string scope = dedupe_scope(p, ps.epoch);
    std::vector<uint32_t> ords;
    bool skipped = false;
    for (const auto& b : ps.batches) {
      for (std::size_t i = 0; i < b.entries.size(); ++i) {
        const uint64_t offset = b.first + i;
        auto events = cluster::decode_partition_entry(b.entries[i]);
        const bool below = offset < st.next;
        if (!below)
          st.next = offset + 1;
        if (!events) {
          malformed(p, offset, "not a partition entry of a version this node reads");
          continue;
        }
        for (const auto& event : *events) {
          ords.clear();
          for (auto id : event.subscriptions) {
            if (!below && offset < st.skip_below) {
              auto skip = st.skip.find(id);
              if (skip != st.skip.end() && offset < skip->second) {
                counters_.skipped_delivered.fetch_add(1, std::memory_order_relaxed);
                continue;
              }
            }
            auto found = ordinals_.find(id);
            if (found == ordinals_.end() || !table || found->second >= table->targets.size() ||
                !table->targets[found->second].slot) {
              if (!below)
                counters_.unknown_subscriptions.fetch_add(1, std::memory_order_relaxed);
              continue;
            }
            ords.push_back(found->second);
            ps.subs.push_back(table->targets[found->second].number);
          }
          // An id listed twice is queued once.
          std::sort(ords.begin(), ords.end());
          ords.erase(std::unique(ords.begin(), ords.end()), ords.end());
          if (below) {
            // Applied before (this tenure, before a restart): queued here
            // already, and counted delivered once its queues pass floor_seq.
            counters_.replayed.fetch_add(1, std::memory_order_relaxed);
            skipped = true;
            continue;
          }
          if (ords.empty())
            continue;
          auto ev = storage::decode_event(event.record);
          if (!ev || ev->ev.id.size() != event_id_size) {
            malformed(p, offset, "an event record in it does not decode");
            continue;
          }
          auto e = std::make_shared<storage::stored_event>(std::move(*ev));
          s.dedupe_keys.push_back(e->ev.client_id.empty() ? std::string()
                                                          : scope + e->ev.client_id);
          if (options_.reference_log) {
            const auto at = static_cast<uint32_t>(event.record.data() - b.entries[i].data());
            // The id views the event, which the submission keeps alive.
            const storage::log_ref ref{p, offset, at, static_cast<uint32_t>(event.record.size()),
                                       e->ev.id};
            s.add_referenced(std::move(e), ref, ords);
          } else {
            s.add_encoded(std::move(e), event.record, ords);
          }
          counters_.applied.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    ps.to = st.next;
    ps.floor_seq = skipped ? high_seq_ : 0;
    if (s.events.empty())
      return std::nullopt;
    std::string wm;
    put_be(wm, ps.epoch, 8);
    put_be(wm, ps.to, 8);
    s.meta.emplace_back(watermark_key(p), std::move(wm));
    return s;
  }

  void malformed(uint32_t p, uint64_t offset, const char* why) {
    counters_.malformed.fetch_add(1, std::memory_order_relaxed);
    log::write(
      log::level::error, "cluster.apply_malformed",
      "a committed partition entry was skipped: it cannot be applied",
      {{"partition", std::to_string(p)}, {"offset", std::to_string(offset)}, {"why", why}});
  }

  // Records the outcome of partition `c.partition`'s current pass (mu_ held).
  void complete_locked(completion& c) {
    auto& st = parts_[c.partition];
    if (!st.current)
      return;
    pass ps = std::move(*st.current);
    st.current.reset();
    st.in_flight = false;
    if (c.outcome.status != 202) {
      if (st.fenced >= ps.epoch) {
        for (const auto& b : ps.batches)
          counters_.stale.fetch_add(b.entries.size(), std::memory_order_relaxed);
        return;
      }
      // Nothing of it was queued: built again, from the same watermark, after a pause.
      log::write(log::level::warn, "cluster.apply_retry",
                 "the journal refused committed entries; retrying",
                 {{"partition", std::to_string(c.partition)}, {"error", c.outcome.error}});
      st.next = ps.next_before;
      for (auto it = ps.batches.rbegin(); it != ps.batches.rend(); ++it)
        st.incoming.push_front(std::move(*it));
      st.retry_at = steady::now() + options_.retry_after;
      return;
    }
    uint64_t max_seq = ps.floor_seq;
    for (uint64_t seq : c.outcome.seqs)
      max_seq = std::max(max_seq, seq);
    high_seq_ = std::max(high_seq_, max_seq);
    if (ps.epoch != st.epoch)
      return;
    st.segments.push_back({ps.to, max_seq, steady::now()});
    for (uint64_t n : ps.subs) {
      auto& w = st.watch[n];
      w = std::max(w, max_seq);
    }
  }

  // For every partition this node applies: releases the offsets below the
  // first segment some subscription of it has not passed. Its cost is one
  // RocksDB seek per subscription that still has an undelivered event of
  // the partition (a subscription is dropped from the watch once its queue
  // head passes the highest seq queued for it), per tick: with 100 000
  // subscriptions all behind, 100 000 seeks every release_interval (a few
  // hundred ms of one core); an idle or caught-up one costs nothing.
  void check_releases() {
    const auto now = steady::now();
    // Each lagging partition records every progress_every, or less often
    // when that would make more than progress_rate records a second (from
    // the count of the previous check: one tick late at worst).
    const double spread_s = options_.progress_rate > 0
                              ? static_cast<double>(lagging_) / options_.progress_rate
                              : 0;
    const auto record_every = std::max<steady::duration>(
      options_.progress_every,
      std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(spread_s)));
    lagging_ = 0;
    for (uint32_t p = 0; p < partitions_; ++p) {
      auto& st = parts_[p];
      // The applier's thread owns these; demote only flags (demote_pending).
      if (st.epoch == 0 || st.segments.empty())
        continue;
      // A release that lags its applied entries by progress_after or more
      // (a subscription paused, failing or slow): each subscription's
      // delivery is recorded, from the watched heads kept here.
      const bool lags = now - st.segments.front().at >= options_.progress_after;
      lagging_ += lags ? 1 : 0;
      const bool record = options_.record_progress && lags &&
                          now - st.considered_at >= record_every;
      // Only when recording: an unordered_map's clear() walks all its
      // buckets, and this runs at every check for each partition with
      // unreleased entries.
      if (record)
        heads_.clear();
      uint64_t min_head = std::numeric_limits<uint64_t>::max();
      uint64_t holder = 0; // the subscription whose head is min_head
      bool known = true;
      for (auto it = st.watch.begin(); it != st.watch.end();) {
        auto& from = st.seek_from[it->first];
        auto head = journal_.queue_head(it->first, from);
        if (!head) {
          min_head = 0; // unknown: nothing is released this tick
          known = false;
          break;
        }
        if (!*head || **head > it->second) {
          // Everything up to it->second was acknowledged; later keys are higher.
          from = *head ? **head : it->second + 1;
          it = st.watch.erase(it);
          continue;
        }
        from = **head;
        if (**head < min_head) {
          min_head = **head;
          holder = it->first;
        }
        if (record)
          heads_.emplace(it->first, **head);
        ++it;
      }
      if (record && known) {
        st.considered_at = now;
        record_delivered(p, st, now);
      }
      uint64_t released = st.released;
      while (!st.segments.empty() && st.segments.front().max_seq < min_head) {
        released = st.segments.front().end;
        st.segments.pop_front();
      }
      if (released > st.released) {
        st.released = released;
        counters_.releases.fetch_add(1, std::memory_order_relaxed);
        if (release_)
          release_(p, st.epoch, released);
      }
      // A hold counts from the check that first found the release lagging,
      // not from the entry's age: after this process was stopped, every
      // entry is old, and the backlog is released within a few checks.
      if (st.segments.empty() || now - st.segments.front().at < options_.progress_after) {
        st.lagging_since.reset();
        st.held_logged = false;
      } else if (!st.lagging_since) {
        st.lagging_since = now;
      } else if (known && holder != 0 && !st.held_logged &&
                 now - *st.lagging_since >= options_.held_after) {
        st.held_logged = true;
        log_held(p, st, holder, min_head, now);
      }
    }
  }

  // Logs which subscription holds partition `p`'s release (its queue's
  // head, seq `head`, is not delivered).
  void log_held(uint32_t p, const partition_state& st, uint64_t holder, uint64_t head,
                steady::time_point now) {
    auto table = routes_.current();
    refresh_index(table);
    std::string id = "#" + std::to_string(holder); // not in the routing table (deleted)
    if (table)
      for (uint32_t ord : by_partition_[p])
        if (ord < table->targets.size() && table->targets[ord].number == holder)
          id = table->index.entry(ord).id;
    std::string event = "unknown";
    if (auto read = journal_.read_queue(holder, head - 1, 1);
        read && !read->empty() && read->front()->seq == head)
      event = read->front()->ev.id;
    const auto held_s =
      std::chrono::duration_cast<std::chrono::seconds>(now - st.segments.front().at).count();
    counters_.holds.fetch_add(1, std::memory_order_relaxed);
    log::write(log::level::warn, "cluster.release_held",
               "partition " + std::to_string(p) + " has released nothing for " +
                 std::to_string(held_s) + " s: subscription " + id + " has not delivered event " +
                 event + "; a takeover would deliver offsets " + std::to_string(st.released) +
                 " to " + std::to_string(st.segments.back().end) + " again",
               {{"partition", std::to_string(p)},
                {"subscription", id},
                {"event", event},
                {"held_from", std::to_string(st.released)},
                {"applied_to", std::to_string(st.segments.back().end)}});
  }

  // Records the delivered offset of each subscription of partition `p`
  // that is ahead of its release; heads_ holds the queue heads of those it
  // watches. A subscription not watched has passed every seq queued for it:
  // it has every applied entry. A watched one has the segments before the
  // first whose highest seq its head has not passed (a segment's entries
  // became seqs up to its max_seq; the head is its lowest undelivered seq).
  void record_delivered(uint32_t p, partition_state& st, steady::time_point now) {
    auto table = routes_.current();
    refresh_index(table);
    if (!table)
      return;
    const uint64_t all = st.segments.back().end;
    delivered_offsets offsets;
    for (uint32_t ord : by_partition_[p]) {
      if (ord >= table->targets.size() || !table->targets[ord].slot)
        continue;
      uint64_t at = all;
      if (auto h = heads_.find(table->targets[ord].number); h != heads_.end()) {
        at = st.released;
        for (const auto& seg : st.segments) {
          if (seg.max_seq >= h->second)
            break;
          at = seg.end;
        }
      }
      if (at > st.released)
        offsets.emplace_back(table->index.entry(ord).id, at);
    }
    if (offsets.size() > options_.progress_most) {
      std::nth_element(offsets.begin(), offsets.begin() + options_.progress_most, offsets.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
      offsets.resize(options_.progress_most);
    }
    std::sort(offsets.begin(), offsets.end());
    // The same offsets again only after a while: a write etcd missed is
    // made good, and the membership writes nothing when etcd holds them.
    if (offsets.empty() ||
        (offsets == st.recorded && now - st.recorded_at < options_.progress_repeat))
      return;
    st.recorded = std::move(offsets);
    st.recorded_at = now;
    counters_.progress_records.fetch_add(1, std::memory_order_relaxed);
    options_.record_progress(p, st.epoch, st.recorded);
  }

  // Drops the queues of partition `p`'s subscriptions that have an actor
  // (one without has nothing queued: recovery and every hand-over spawn it),
  // as POST …/purge does, and waits for each to answer.
  void reset_subscribers(uint32_t p) {
    auto table = routes_.current();
    refresh_index(table);
    if (!table)
      return;
    caf::scoped_actor self{sys_};
    for (uint32_t ord : by_partition_[p]) {
      if (ord >= table->targets.size())
        continue;
      const auto& target = table->targets[ord];
      if (!target.slot || !target.slot->spawned())
        continue;
      auto actor = target.slot->get();
      if (!actor)
        continue;
      self->request(actor, options_.reset_timeout, purge_queue{})
        .receive([&](purged&) { counters_.resets.fetch_add(1, std::memory_order_relaxed); },
                 [&](caf::error& err) {
                   log::write(log::level::error, "cluster.apply_reset_failed",
                              "a subscriber of a partition this node no longer leads did not "
                              "drop its queue; it may deliver duplicates",
                              {{"partition", std::to_string(p)},
                               {"subscription", table->index.entry(ord).id},
                               {"error", caf::to_string(err)}});
                 });
    }
  }

  // Rebuilds the id → ordinal map and the ordinals of each partition when
  // the routing table changed: O(subscriptions), once per table version
  // that reaches an apply (a hash map, not a scan per entry).
  void refresh_index(const route_ptr& table) {
    if (table == indexed_)
      return;
    indexed_ = table;
    ordinals_.clear();
    for (auto& v : by_partition_)
      v.clear();
    by_partition_.resize(partitions_);
    if (!table)
      return;
    const auto n = std::min<std::size_t>(table->index.size(), table->targets.size());
    ordinals_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto& id = table->index.entry(static_cast<uint32_t>(i)).id;
      if (id.empty())
        continue;
      ordinals_.emplace(id, static_cast<uint32_t>(i));
      by_partition_[cluster::partition_of(id, partitions_)].push_back(static_cast<uint32_t>(i));
    }
  }

  caf::actor_system& sys_;
  storage::journal& journal_;
  ingest_pipeline& pipeline_;
  const route_publisher& routes_;
  const uint32_t partitions_;
  std::function<void(uint32_t, uint64_t, uint64_t)> release_;
  const partition_apply_options options_;
  partition_apply_counters counters_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool check_now_ = false; // check_releases_now() wants a check before the next tick
  std::vector<partition_state> parts_;
  std::vector<completion> completions_; // guarded by mu_
  std::thread thread_;
  std::thread::id thread_id_;

  // The applier's thread only.
  uint64_t high_seq_ = 0;
  std::unordered_map<uint64_t, uint64_t> heads_; // check_releases(): number → queue head
  uint32_t lagging_ = 0; // partitions the last check_releases() found lagging progress_after
  route_ptr indexed_;
  std::unordered_map<std::string, uint32_t, id_hash, std::equal_to<>> ordinals_;
  std::vector<std::vector<uint32_t>> by_partition_;
};

partition_apply::partition_apply(caf::actor_system& system, storage::journal& journal,
                                 ingest_pipeline& pipeline, const route_publisher& routes,
                                 uint32_t partitions,
                                 std::function<void(uint32_t, uint64_t, uint64_t)> release,
                                 partition_apply_options options)
    : impl_(std::make_shared<impl>(system, journal, pipeline, routes, partitions,
                                   std::move(release), options)) {
  impl_->start();
}

partition_apply::~partition_apply() { stop(); }

void partition_apply::apply(uint32_t partition, uint64_t epoch, uint64_t first_offset,
                            std::vector<std::string> entries) {
  impl_->apply(partition, epoch, first_offset, std::move(entries));
}

void partition_apply::demote(uint32_t partition, uint64_t epoch) {
  impl_->demote(partition, epoch);
}

bool partition_apply::check_releases_now(std::chrono::steady_clock::time_point deadline) {
  return impl_->check_releases_now(deadline);
}

void partition_apply::stop() { impl_->stop(); }

const partition_apply_counters& partition_apply::counters() const { return impl_->counters_; }

std::string partition_apply::watermark_key(uint32_t partition) {
  return "cluster_applied." + std::to_string(partition);
}

} // namespace sy::actors
