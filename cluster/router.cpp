#include "cluster/router.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <set>

#include "cluster/partition_entry.hpp"
#include "cluster/peer_links.hpp"
#include "cluster/protocol.hpp"
#include "cluster/replicator.hpp"
#include "cluster/request_deadlines.hpp"
#include "log/log.hpp"

namespace sy::cluster {

namespace {

/// Carries a route_job (local only).
using rt_route_atom = caf::atom_constant<caf::atom("rtroute")>;
/// A local append of a batch's partition ended (local only).
using rt_local_atom = caf::atom_constant<caf::atom("rtlocal")>;
/// A local append made for a peer's route_request ended (local only).
using rt_served_atom = caf::atom_constant<caf::atom("rtserved")>;
/// Sweeps the deadlines (local timer, while any is set).
using rt_tick_atom = caf::atom_constant<caf::atom("rttick")>;
/// Sends what the batches taken since the last flush hold (local only).
using rt_flush_atom = caf::atom_constant<caf::atom("rtflush")>;
/// Routes a batch's partition again after not_primary (local timer).
using rt_retry_atom = caf::atom_constant<caf::atom("rtretry")>;

using clock = std::chrono::steady_clock;

// How long a peer's route_request may wait for its appends (see serve()).
std::chrono::milliseconds serve_time(std::chrono::milliseconds timeout) { return timeout * 3 / 4; }

// How often the deadlines are swept while any is set: a deadline is met at
// most this late (100 ms for the 3 s default).
std::chrono::milliseconds tick_every(std::chrono::milliseconds timeout) {
  return std::clamp<std::chrono::milliseconds>(timeout / 20, std::chrono::milliseconds(5),
                                               std::chrono::milliseconds(100));
}

// What an entry costs in a route_request besides its bytes (its length).
constexpr std::size_t entry_overhead = 8;

} // namespace

// A route() on its way to the actor (never leaves the node).
struct route_job {
  routed_batch batch;
  std::function<void(route_outcomes)> done; // cleared once called
  // A job dropped unanswered (the actor had ended) still answers once.
  ~route_job() {
    if (!done)
      return;
    route_outcomes out;
    for (const auto& [p, entries] : batch)
      out[p] = route_outcome::failed;
    done(std::move(out));
  }
};

} // namespace sy::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<sy::cluster::route_job>)

namespace sy::cluster {

const char* to_string(route_outcome o) {
  switch (o) {
    case route_outcome::committed: return "committed";
    case route_outcome::not_primary: return "not_primary";
    case route_outcome::below_min_insync: return "below_min_insync";
    case route_outcome::failed: return "failed";
    case route_outcome::timeout: return "timeout";
    case route_outcome::unreachable: return "unreachable";
  }
  return "?";
}

namespace {

route_outcome outcome_of(append_outcome o) {
  switch (o) {
    case append_outcome::committed: return route_outcome::committed;
    case append_outcome::not_primary: return route_outcome::not_primary;
    case append_outcome::below_min_insync: return route_outcome::below_min_insync;
    case append_outcome::failed: return route_outcome::failed;
    // Its fate is not known here, as after a timeout: never routed again.
    case append_outcome::deposed: return route_outcome::timeout;
  }
  return route_outcome::failed;
}

// Returns the outcome a peer's answer byte names (`failed` when none).
route_outcome outcome_of(uint8_t wire) {
  return wire <= static_cast<uint8_t>(route_outcome::unreachable) ? static_cast<route_outcome>(wire)
                                                                  : route_outcome::failed;
}

// A batch this node took, until every partition answered or its deadline.
struct pending_batch {
  route_outcomes outcomes;              // committed until a part says otherwise
  std::map<uint32_t, uint32_t> waiting; // partition → its parts still unanswered
  std::function<void(route_outcomes)> done;
  clock::time_point taken;
  // With retries on: each partition's entries, routed again when every
  // part that did not commit was refused with nothing written (not_primary,
  // or unreachable before it was sent) and none committed (committed
  // counts its parts that committed); `uncertain` holds the partitions a
  // part of which may have been written (timeout, failed, a link lost with
  // it in flight), never routed again; `retrying` holds the partitions
  // waiting for their retry.
  std::map<uint32_t, std::vector<std::string>> kept;
  std::map<uint32_t, uint32_t> committed;
  std::set<uint32_t> uncertain;
  std::set<uint32_t> retrying;
};

// A batch's entries of one partition, waiting in the outbox for the flush.
struct outgoing {
  uint64_t batch = 0;
  uint32_t partition = 0;
  std::vector<std::string> entries;
};

// One part of a flush (a route_request's, or a local append): its partition
// and the batches whose entries it holds (all settle with its outcome).
struct flushed_part {
  uint32_t partition = 0;
  std::vector<uint64_t> batches;
};

// A route_request sent to a peer and not answered yet.
struct sent_request {
  std::string peer;
  std::vector<flushed_part> parts;
};

// A peer's route_request being appended here.
struct served_request {
  caf::response_promise promise;
  route_response response;
  std::size_t left = 0;
};

// The batches [from, to) taken in one round, due at `at`.
struct round_due {
  clock::time_point at;
  uint64_t from = 0, to = 0;
};

// A served request (by number), due at `at`.
struct serve_due {
  clock::time_point at;
  uint64_t id = 0;
};

struct counters_snapshot {
  std::mutex mutex;
  router_counters counters;
};

struct router_state {
  router_options options;
  caf::actor links;
  replicator* local = nullptr;
  std::shared_ptr<counters_snapshot> seen;
  std::map<uint32_t, configuration> configs;
  clock::time_point configs_read{};
  bool configs_ever_read = false;
  std::map<uint64_t, pending_batch> batches;
  std::map<uint64_t, served_request> served;
  // Requests sent and not answered, by number: a peer whose link drops
  // answers none of its own (peer_down_atom settles them at once).
  std::map<uint64_t, sent_request> sent;
  // The group commit: the entries of the batches taken since the last
  // flush, by the primary they go to (this node's own name: the local
  // replicator), in the order taken; a rt_flush_atom is on its way while
  // flush_scheduled. Batches from due_from on have no deadline yet.
  std::map<std::string, std::vector<outgoing>> outbox;
  bool flush_scheduled = false;
  // The deadlines, swept by a rt_tick_atom (on its way while
  // tick_scheduled) rather than a CAF timer each (request_deadlines.hpp):
  // the route_requests sent, each round's batches, the served requests.
  request_deadlines asks;
  std::deque<round_due> rounds;
  std::deque<serve_due> serves;
  bool tick_scheduled = false;
  uint64_t due_from = 1;
  uint64_t next_batch = 1;
  uint64_t next_served = 1;
  uint64_t next_sent = 1;
  ~router_state() {
    // The actor ended (stop()): every batch still waiting is answered.
    for (auto& [id, b] : batches) {
      for (auto& [p, n] : b.waiting)
        b.outcomes[p] = route_outcome::failed;
      b.done(std::move(b.outcomes));
    }
  }
};

using router_actor = caf::stateful_actor<router_state>;

const std::map<uint32_t, configuration>& configurations(router_actor* self) {
  auto& st = self->state;
  const auto now = clock::now();
  if (st.options.configurations &&
      (!st.configs_ever_read || now - st.configs_read >= st.options.refresh_every)) {
    st.configs = st.options.configurations();
    st.configs_read = now;
    st.configs_ever_read = true;
  }
  return st.configs;
}

// Returns whether partition p, refused below_min_insync, may take writes
// within moments: its configuration as this node sees it has min_insync
// in-sync replicas already (the primary has not applied it yet), or names
// a replica outside the in-sync set (one catching up, as a node that has
// just returned, whose primary's proposal lifts the partition).
bool may_lift(router_actor* self, uint32_t p) {
  const auto& configs = configurations(self);
  auto c = configs.find(p);
  if (c == configs.end())
    return false;
  const auto& in_sync = c->second.in_sync;
  return in_sync.size() >= self->state.options.min_insync ||
         std::any_of(c->second.replicas.begin(), c->second.replicas.end(), [&](const auto& n) {
           return std::find(in_sync.begin(), in_sync.end(), n) == in_sync.end();
         });
}

// Returns whether partition p of batch b is routed again now that all its
// parts answered: refused with nothing of it written (not_primary,
// unreachable before it was sent, or below_min_insync while may_lift()),
// and within router_options::retry_for.
bool retries(router_actor* self, const pending_batch& b, uint32_t p) {
  const auto& st = self->state;
  const auto o = b.outcomes.at(p);
  if ((o != route_outcome::not_primary && o != route_outcome::unreachable &&
       o != route_outcome::below_min_insync) ||
      b.uncertain.count(p) != 0 || b.committed.count(p) != 0 || b.kept.count(p) == 0)
    return false;
  if (clock::now() + st.options.retry_every - b.taken >= st.options.retry_for)
    return false;
  return o != route_outcome::below_min_insync || may_lift(self, p);
}

// Records one part's outcome (`unsent`: it never left this node); answers
// the batch once every part did.
void settle(router_actor* self, uint64_t id, uint32_t p, route_outcome o, bool unsent = false) {
  auto it = self->state.batches.find(id);
  if (it == self->state.batches.end())
    return; // answered already (its deadline passed)
  auto& b = it->second;
  auto w = b.waiting.find(p);
  if (w == b.waiting.end())
    return;
  if (o == route_outcome::committed)
    ++b.committed[p];
  else if (o != route_outcome::not_primary && o != route_outcome::below_min_insync && !unsent)
    b.uncertain.insert(p);
  // The first part that did not commit names the partition's outcome.
  if (b.outcomes[p] == route_outcome::committed)
    b.outcomes[p] = o;
  if (--w->second == 0) {
    if (retries(self, b, p)) {
      w->second = 1; // the retry
      b.retrying.insert(p);
      self->delayed_send(self, self->state.options.retry_every, rt_retry_atom::value, id, p);
      return;
    }
    b.waiting.erase(w);
  }
  if (!b.waiting.empty())
    return;
  auto done = std::move(b.done);
  auto outcomes = std::move(b.outcomes);
  self->state.batches.erase(it);
  done(std::move(outcomes));
}

// Settles every batch whose entries `part` held with its outcome.
void settle(router_actor* self, const flushed_part& part, route_outcome o, bool unsent = false) {
  for (auto id : part.batches)
    settle(self, id, part.partition, o, unsent);
}

// Makes sure a sweep of the deadlines comes while any is set.
void schedule_tick(router_actor* self) {
  auto& st = self->state;
  if (st.tick_scheduled || (st.asks.empty() && st.rounds.empty() && st.serves.empty()))
    return;
  st.tick_scheduled = true;
  self->delayed_send(self, tick_every(st.options.timeout), rt_tick_atom::value);
}

// The response (`mid`) to sent request `number` came: returns its parts,
// taken from those waiting, or nothing if the peer's link dropped first
// and settled them.
std::optional<std::vector<flushed_part>> take_sent(router_actor* self, uint64_t number,
                                                   caf::message_id mid) {
  self->state.asks.answered(mid);
  auto it = self->state.sent.find(number);
  if (it == self->state.sent.end())
    return std::nullopt;
  auto parts = std::move(it->second.parts);
  self->state.sent.erase(it);
  return parts;
}

// Sends one route_request to `peer`; each of `parts` (the request's parts,
// in order) settles with the answer.
void send_request(router_actor* self, const std::string& peer, route_request req,
                  std::vector<flushed_part> parts) {
  const auto number = self->state.next_sent++;
  auto& sent = self->state.sent[number];
  sent.peer = peer;
  sent.parts = std::move(parts);
  {
    std::lock_guard<std::mutex> guard(self->state.seen->mutex);
    ++self->state.seen->counters.sent[peer];
  }
  // No CAF timer: the sweep answers it request_timeout (request_deadlines).
  auto handle = self->request(self->state.links, caf::infinite, peer_route_atom::value, peer,
                              std::move(req));
  const auto mid = handle.id();
  self->state.asks.add(mid);
  schedule_tick(self);
  handle.then(
    [=](route_response& r) {
      auto taken = take_sent(self, number, mid);
      if (!taken)
        return;
      const auto& parts = *taken;
      // A part the peer did not answer (it should answer each) failed.
      std::size_t i = 0;
      for (; i < r.results.size() && i < parts.size(); ++i) {
        if (r.results[i].partition != parts[i].partition)
          break;
        settle(self, parts[i], outcome_of(r.results[i].outcome));
      }
      for (; i < parts.size(); ++i)
        settle(self, parts[i], route_outcome::failed);
    },
    [=](const caf::error& e) {
      auto taken = take_sent(self, number, mid);
      if (!taken)
        return;
      route_outcome o = route_outcome::failed;
      if (e == caf::sec::request_timeout)
        o = route_outcome::timeout;
      else if (e == caf::sec::request_receiver_down || e == caf::sec::no_route_to_receiving_node)
        o = route_outcome::unreachable;
      // Refused before it was sent (peer_links: no link to the peer yet,
      // or the peer's router not up yet): nothing of it was written.
      const bool unsent = e == caf::sec::no_route_to_receiving_node;
      for (const auto& part : *taken)
        settle(self, part, o, unsent);
    });
}

// Appends `entries` of `part` on this node; the outcome settles its batches.
void append_local(router_actor* self, flushed_part part, std::vector<std::string> entries) {
  auto me = caf::actor_cast<caf::actor>(self);
  const auto p = part.partition;
  self->state.local->append(p, std::move(entries),
                            [me, p, batches = std::move(part.batches)](append_outcome o) mutable {
                              caf::anon_send(me, rt_local_atom::value, p, std::move(batches),
                                             static_cast<uint8_t>(outcome_of(o)));
                            });
}

// Makes sure a flush comes (after the messages already queued).
void schedule_flush(router_actor* self) {
  if (self->state.flush_scheduled)
    return;
  self->state.flush_scheduled = true;
  self->send(self, rt_flush_atom::value);
}

// Puts partition p's entries of batch `id` in the outbox for `primary` and
// makes sure a flush comes.
void enqueue(router_actor* self, const std::string& primary, uint64_t id, uint32_t p,
             std::vector<std::string> entries) {
  auto& st = self->state;
  st.batches.at(id).waiting[p] = 0; // counted by the flush, part by part
  st.outbox[primary].push_back({id, p, std::move(entries)});
  schedule_flush(self);
}

// Adds `entry` to the part at the end of `entries`: merged into its last
// entry when both are entries of several events that fit together, so
// that concurrent requests for one partition cost its replicas one entry.
// Returns the bytes it added.
std::size_t add_entry(std::vector<std::string>& entries, std::string&& entry) {
  if (!entries.empty() && merge_partition_entries(entries.back(), entry))
    return entry.size() - partition_entry_header_bytes; // its events alone
  entries.push_back(std::move(entry));
  return entries.back().size() + entry_overhead;
}

// Sends the items of one primary's outbox (sorted by partition, each
// partition's in the order taken) as few route_requests as the size bound
// allows: a partition's entries of several batches travel as one part,
// merged (add_entry).
void flush_remote(router_actor* self, const std::string& peer, std::vector<outgoing>& items) {
  auto& st = self->state;
  std::vector<route_request> reqs;
  std::vector<std::vector<flushed_part>> parts; // each request's
  std::size_t bytes = 0;                        // of the last request's entries
  for (auto& item : items) {
    auto b = st.batches.find(item.batch);
    if (b == st.batches.end())
      continue;           // answered already (its deadline passed)
    bool counted = false; // the batch is among the current part's
    for (auto& e : item.entries) {
      const auto cost = e.size() + entry_overhead;
      if (reqs.empty() ||
          (bytes + cost > st.options.max_message_bytes && !reqs.back().parts.empty())) {
        reqs.push_back({st.options.node, item.batch, {}});
        parts.emplace_back();
        bytes = 0;
      }
      auto& req = reqs.back();
      if (req.parts.empty() || req.parts.back().partition != item.partition) {
        req.parts.push_back({item.partition, {}});
        parts.back().push_back({item.partition, {}});
        counted = false;
      }
      if (!counted) {
        parts.back().back().batches.push_back(item.batch);
        ++b->second.waiting[item.partition];
        counted = true;
      }
      bytes += add_entry(req.parts.back().entries, std::move(e));
    }
  }
  for (std::size_t i = 0; i < reqs.size(); ++i)
    send_request(self, peer, std::move(reqs[i]), std::move(parts[i]));
}

// Appends the items of this node's own outbox (sorted by partition): one
// append per partition, its batches' entries merged (add_entry).
void flush_local(router_actor* self, std::vector<outgoing>& items) {
  auto& st = self->state;
  for (std::size_t k = 0; k < items.size();) {
    flushed_part part{items[k].partition, {}};
    std::vector<std::string> entries;
    for (; k < items.size() && items[k].partition == part.partition; ++k) {
      auto b = st.batches.find(items[k].batch);
      if (b == st.batches.end())
        continue; // answered already (its deadline passed)
      ++b->second.waiting[part.partition];
      part.batches.push_back(items[k].batch);
      for (auto& e : items[k].entries)
        add_entry(entries, std::move(e));
    }
    if (!part.batches.empty())
      append_local(self, std::move(part), std::move(entries));
  }
}

// The group commit: sends what every batch taken since the last flush
// holds, one route_request per peer (split only at the size bound) and
// one local append per partition, and sets one deadline for those batches.
// The flush message queues behind the batches already in the mailbox, so
// under load a flush carries many.
void flush(router_actor* self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.due_from < st.next_batch) {
    st.rounds.push_back({clock::now() + st.options.timeout, st.due_from, st.next_batch});
    st.due_from = st.next_batch;
    schedule_tick(self);
  }
  auto outbox = std::move(st.outbox);
  st.outbox.clear();
  for (auto& [primary, items] : outbox) {
    std::stable_sort(items.begin(), items.end(), [](const outgoing& x, const outgoing& y) {
      return x.partition < y.partition;
    });
    if (primary == st.options.node)
      flush_local(self, items);
    else
      flush_remote(self, primary, items);
  }
}

// Routes partition p of batch `id` again (after not_primary), by the
// configurations as they are now.
void retry(router_actor* self, uint64_t id, uint32_t p) {
  auto& st = self->state;
  auto it = st.batches.find(id);
  if (it == st.batches.end())
    return;
  auto& b = it->second;
  b.retrying.erase(p);
  b.outcomes[p] = route_outcome::committed;
  {
    std::lock_guard<std::mutex> guard(st.seen->mutex);
    ++st.seen->counters.retried;
  }
  st.configs_ever_read = false; // read them now
  const auto& configs = configurations(self);
  auto c = configs.find(p);
  if (c == configs.end() || c->second.primary.empty())
    return settle(self, id, p, route_outcome::not_primary);
  enqueue(self, c->second.primary, id, p, b.kept.at(p)); // kept for a further retry
}

// Takes a batch: each partition's entries to the outbox of its primary
// (this node's own for the partitions it leads), sent at the next flush.
void take(router_actor* self, route_job& job) {
  auto& st = self->state;
  const uint64_t id = st.next_batch++;
  auto& b = st.batches[id];
  b.done = std::move(job.done);
  b.taken = clock::now();
  job.done = nullptr;
  const auto& configs = configurations(self);
  std::vector<std::pair<uint32_t, route_outcome>> refused;
  for (auto& [p, entries] : job.batch) {
    b.outcomes[p] = route_outcome::committed;
    if (entries.empty())
      continue; // nothing to commit
    if (st.options.retry_for.count() > 0)
      b.kept[p] = entries; // a copy: the entries below go to their primary
    auto c = configs.find(p);
    if (c == configs.end() || c->second.primary.empty()) {
      refused.emplace_back(p, route_outcome::not_primary);
      b.waiting[p] = 1;
      continue;
    }
    enqueue(self, c->second.primary, id, p, std::move(entries));
  }
  if (b.waiting.empty()) {
    auto done = std::move(b.done);
    auto outcomes = std::move(b.outcomes);
    st.batches.erase(id);
    return done(std::move(outcomes));
  }
  schedule_flush(self); // with only refused partitions too: the flush sets the deadline
  for (auto [p, o] : refused)
    settle(self, id, p, o);
}

// Appends a peer's parts to the local replicator; answers once each ended
// or at the deadline.
caf::result<route_response> serve(router_actor* self, route_request& req) {
  auto& st = self->state;
  auto rp = self->make_response_promise();
  {
    std::lock_guard<std::mutex> guard(st.seen->mutex);
    ++st.seen->counters.served;
  }
  const uint64_t id = st.next_served++;
  auto& s = st.served[id];
  s.promise = rp;
  s.response.node = st.options.node;
  s.left = req.parts.size();
  for (const auto& part : req.parts)
    s.response.results.push_back({part.partition, static_cast<uint8_t>(route_outcome::timeout)});
  if (s.left == 0) {
    rp.deliver(std::move(s.response));
    st.served.erase(id);
    return rp;
  }
  // Three quarters of the asker's time: the answer, with the parts that did
  // commit, must reach the asker before its own deadline, or one held
  // partition would make every part of the request `timeout` there.
  st.serves.push_back({clock::now() + serve_time(st.options.timeout), id});
  schedule_tick(self);
  auto me = caf::actor_cast<caf::actor>(self);
  for (std::size_t i = 0; i < req.parts.size(); ++i)
    st.local->append(req.parts[i].partition, std::move(req.parts[i].entries),
                     [me, id, i](append_outcome o) {
                       caf::anon_send(me, rt_served_atom::value, id, static_cast<uint64_t>(i),
                                      static_cast<uint8_t>(outcome_of(o)));
                     });
  return rp;
}

// A served request's deadline passed: it answers what committed, and
// `timeout` for the parts still appending (set when the request came).
void expire_served(router_actor* self, uint64_t id) {
  auto it = self->state.served.find(id);
  if (it == self->state.served.end())
    return;
  it->second.promise.deliver(std::move(it->second.response));
  self->state.served.erase(it);
}

// The deadline of the batches [from, to) passed: those still waiting are
// answered, their unanswered partitions `timeout`.
void expire_round(router_actor* self, uint64_t from, uint64_t to) {
  auto& batches = self->state.batches;
  for (auto it = batches.lower_bound(from); it != batches.end() && it->first < to;) {
    auto& b = it->second;
    for (const auto& [p, n] : b.waiting)
      if (b.retrying.count(p) != 0)
        continue; // keeps its refusal (not sent again yet: nothing written)
      else if (b.outcomes[p] == route_outcome::committed)
        b.outcomes[p] = route_outcome::timeout;
    auto done = std::move(b.done);
    auto outcomes = std::move(b.outcomes);
    it = batches.erase(it);
    done(std::move(outcomes));
  }
}

// Meets every deadline that passed.
void tick(router_actor* self) {
  auto& st = self->state;
  st.tick_scheduled = false;
  const auto now = clock::now();
  st.asks.sweep(self, now);
  while (!st.serves.empty() && st.serves.front().at <= now) {
    const auto id = st.serves.front().id;
    st.serves.pop_front();
    expire_served(self, id);
  }
  while (!st.rounds.empty() && st.rounds.front().at <= now) {
    const auto [at, from, to] = st.rounds.front();
    st.rounds.pop_front();
    expire_round(self, from, to);
  }
  schedule_tick(self);
}

caf::behavior router_behavior(router_actor* self, router_options options, caf::actor links,
                              replicator* local, std::shared_ptr<counters_snapshot> seen) {
  self->state.options = std::move(options);
  self->state.links = std::move(links);
  self->state.asks.set_timeout(self->state.options.timeout);
  self->state.local = local;
  self->state.seen = std::move(seen);
  self->send(self->state.links, router_attach_atom::value, caf::actor_cast<caf::actor>(self));
  return {
    [self](rt_route_atom, const std::shared_ptr<route_job>& job) { take(self, *job); },
    [self](rt_local_atom, uint32_t p, const std::vector<uint64_t>& batches, uint8_t o) {
      settle(self, flushed_part{p, batches}, outcome_of(o));
    },
    [self](rt_flush_atom) { flush(self); },
    [self](rt_retry_atom, uint64_t id, uint32_t p) { retry(self, id, p); },
    [self](rt_served_atom, uint64_t id, uint64_t i, uint8_t o) {
      auto it = self->state.served.find(id);
      if (it == self->state.served.end())
        return;
      auto& s = it->second;
      s.response.results.at(i).outcome = o;
      if (--s.left > 0)
        return;
      s.promise.deliver(std::move(s.response));
      self->state.served.erase(it);
    },
    [self](rt_tick_atom) { tick(self); },
    [self](route_request& req) -> caf::result<route_response> { return serve(self, req); },
    [self](peer_down_atom, const std::string& node) {
      // Its answers cannot come any more: the parts sent to it are
      // `unreachable` now rather than `timeout` later (their fate is as
      // unknown; neither is routed again).
      std::vector<sent_request> lost;
      for (auto it = self->state.sent.begin(); it != self->state.sent.end();) {
        if (it->second.peer == node) {
          lost.push_back(std::move(it->second));
          it = self->state.sent.erase(it);
        } else {
          ++it;
        }
      }
      for (const auto& r : lost)
        for (const auto& part : r.parts)
          settle(self, part, route_outcome::unreachable);
    },
  };
}

} // namespace

struct router::impl {
  explicit impl(caf::actor_system& sys) : system(sys) {}
  caf::actor_system& system;
  std::shared_ptr<counters_snapshot> seen = std::make_shared<counters_snapshot>();
  caf::actor actor;
  // Batches taken and not yet answered (in_flight()).
  std::shared_ptr<std::atomic<int64_t>> routing = std::make_shared<std::atomic<int64_t>>(0);
};

router::router(caf::actor_system& system, peer_links& links, replicator& local,
               router_options options)
    : impl_(std::make_unique<impl>(system)) {
  impl_->actor = system.spawn(router_behavior, std::move(options), links.actor(), &local,
                              impl_->seen);
}

router::~router() { stop(); }

void router::route(routed_batch batch, std::function<void(route_outcomes)> done) {
  auto job = std::make_shared<route_job>();
  job->batch = std::move(batch);
  impl_->routing->fetch_add(1, std::memory_order_relaxed);
  job->done = [routing = impl_->routing, done = std::move(done)](route_outcomes outcomes) {
    routing->fetch_sub(1, std::memory_order_release);
    done(std::move(outcomes));
  };
  if (!impl_->actor)
    return; // the job's destructor answers `failed`
  caf::anon_send(impl_->actor, rt_route_atom::value, std::move(job));
}

int64_t router::in_flight() const { return impl_->routing->load(std::memory_order_acquire); }

router_counters router::counters() const {
  std::lock_guard<std::mutex> guard(impl_->seen->mutex);
  return impl_->seen->counters;
}

void router::stop() {
  if (!impl_->actor)
    return;
  caf::scoped_actor waiter{impl_->system};
  waiter->send_exit(impl_->actor, caf::exit_reason::user_shutdown);
  waiter->wait_for(impl_->actor);
  impl_->actor = nullptr;
}

} // namespace sy::cluster
