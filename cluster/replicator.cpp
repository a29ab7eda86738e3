#include "cluster/replicator.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "cluster/membership.hpp"
#include "cluster/peer_links.hpp"
#include "cluster/protocol.hpp"
#include "cluster/request_deadlines.hpp"
#include "log/log.hpp"
#include "storage/partition_log.hpp"

namespace sy::cluster {

namespace {

/// Re-reads the configurations and ends parked fetches (local: the actor's own timer).
using repl_tick_atom = caf::atom_constant<caf::atom("repltick")>;
/// Starts a partition's backup again after a refusal (local timer).
using repl_retry_atom = caf::atom_constant<caf::atom("replretry")>;
/// Carries an append_job (local only).
using repl_append_atom = caf::atom_constant<caf::atom("replappend")>;
/// Carries a release(partition, epoch, offset) (local only).
using repl_release_atom = caf::atom_constant<caf::atom("replrel")>;
/// Syncs the partition logs written since the last sync (local only).
using repl_sync_atom = caf::atom_constant<caf::atom("replsync")>;
/// Asks whether the backups learned the log starts (replicator::hand_over; local only).
using repl_handover_atom = caf::atom_constant<caf::atom("replhand")>;

using clock = std::chrono::steady_clock;

} // namespace

// An append() on its way to the actor (never leaves the node).
struct append_job {
  uint32_t partition = 0;
  std::vector<std::string> entries;
  std::function<void(append_outcome)> done; // cleared once called
  // A job dropped unanswered (the actor had ended) still answers once.
  ~append_job() {
    if (done)
      done(append_outcome::failed);
  }
};

} // namespace sy::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<sy::cluster::append_job>)

namespace sy::cluster {

std::map<uint32_t, configuration> configurations_of(const cluster_view& view) {
  std::map<uint32_t, configuration> out;
  for (const auto& p : view.partitions)
    if (p.epoch > 0)
      out[p.partition] = {static_cast<uint64_t>(p.epoch), p.primary, p.replicas, p.in_sync};
  return out;
}

const char* to_string(append_outcome o) {
  switch (o) {
    case append_outcome::committed: return "committed";
    case append_outcome::not_primary: return "not_primary";
    case append_outcome::below_min_insync: return "below_min_insync";
    case append_outcome::failed: return "failed";
    case append_outcome::deposed: return "deposed";
  }
  return "?";
}

namespace {

// A fetch the primary holds until entries arrive or long_poll passes.
struct parked_fetch {
  fetch_request request;
  caf::response_promise promise;
  clock::time_point until;
};

// An append admitted as primary: its entries are at [first, end).
struct append_waiter {
  std::function<void(append_outcome)> done;
  uint64_t first = 0;
  uint64_t end = 0;
};

// An append this node wrote as primary and had not committed when it was
// deposed. Its fate is the successor's: this node, following the successor
// as a backup, learns it from its own log (settle_cut, settle_committed
// below) or answers `deposed` at `until`.
struct held_append {
  std::function<void(append_outcome)> done;
  uint64_t first = 0;
  uint64_t end = 0;
  clock::time_point until;
};

// One partition this node replicates.
struct partition {
  configuration config; // the newest applied
  std::unique_ptr<storage::partition_log> log;
  std::optional<primary_state> primary;
  std::optional<backup_state> backup;
  uint64_t generation = 0; // bumped when the backup restarts: older replies are stale
  bool retry_pending = false;
  // The primary the backup's request in flight went to, in generation
  // asking_generation (empty: none): if the link to it drops
  // (peer_down_atom), no answer can come.
  std::string asking;
  uint64_t asking_generation = 0;
  std::vector<parked_fetch> parked;
  std::map<uint64_t, append_waiter> waiters;
  std::vector<held_append> held; // since the last tenure as primary ended
  // As primary: the epoch its tenure began in, and the next offset to
  // hand to on_commit (from the log's start when the tenure begins).
  uint64_t tenure_epoch = 0;
  uint64_t emitted = 0;
  std::optional<clock::time_point> fenced_since;
  // As primary: the in-sync proposal last handed to on_propose (epoch, add,
  // drop), and when (sent again after proposal_every while the
  // configuration does not match it).
  std::tuple<uint64_t, std::vector<std::string>, std::vector<std::string>> proposed;
  clock::time_point proposed_at;
  // As primary: when each backup was last heard (a fetch or an epoch-end
  // query), and when this tenure began (a backup not heard yet counts from
  // there): lagging() reads them.
  std::map<std::string, clock::time_point> heard;
  clock::time_point primary_since;
  // As primary: the log start the last fetch response to each backup
  // carried, and the one each backup has trimmed to (the start its last
  // answer carried when it fetched again: one fetch in flight per
  // partition, trimmed before the next). hand_over() reads them.
  std::map<std::string, uint64_t> start_told;
  std::map<std::string, uint64_t> start_known;
};

constexpr auto proposal_every = std::chrono::milliseconds(1000);

struct snapshot {
  std::mutex mutex;
  std::map<uint32_t, replica_status> parts;
};

struct repl_state {
  replicator_options options;
  storage::journal* journal = nullptr;
  caf::actor links;
  std::shared_ptr<snapshot> seen;
  std::map<uint32_t, partition> parts;
  uint64_t next_waiter = 1;
  // The group commit (sync_logs): partitions appended to as primary, and
  // backups (partition, generation) whose append waits, since the last
  // WAL sync; a repl_sync_atom is on its way while sync_scheduled.
  std::set<uint32_t> unsynced_primaries;
  std::vector<std::pair<uint32_t, uint64_t>> unsynced_backups;
  bool sync_scheduled = false;
  // The backups' requests to their primaries in flight, each answered
  // request_timeout by the tick's sweep rather than by a CAF timer
  // (request_deadlines.hpp).
  request_deadlines asks;
  // When cluster.insync_shrink was last logged for each backup.
  std::map<std::string, clock::time_point> shrink_logged;
  // When each peer's link last dropped (peer_down_atom): a backup not heard
  // from since is cut off (lagging()).
  std::map<std::string, clock::time_point> link_lost;
  // hand_over() began: new appends are refused (not_primary), the ones
  // written wait to commit.
  bool handing_over = false;
  ~repl_state() {
    // The actor ended (stop()): every append still waiting is answered.
    for (auto& [p, part] : parts) {
      for (auto& [id, w] : part.waiters)
        w.done(append_outcome::failed);
      for (auto& h : part.held)
        h.done(append_outcome::deposed);
    }
  }
};

using repl_actor = caf::stateful_actor<repl_state>;

epoch_history history_of(const storage::partition_log& log) {
  std::vector<epoch_start> starts;
  for (const auto& e : log.epochs())
    starts.push_back({e.epoch, e.start_offset});
  return epoch_history(starts);
}

void publish(repl_actor* self, uint32_t p) {
  auto& part = self->state.parts.at(p);
  replica_status s;
  s.epoch = part.config.epoch;
  if (part.log) {
    s.log_start = part.log->start_offset();
    s.log_end = part.log->end_offset();
  }
  if (part.primary && part.primary->active()) {
    s.role = "primary";
    s.epoch = part.primary->epoch();
    s.commit = part.primary->commit_offset();
    for (const auto& node : part.config.replicas)
      if (node != self->state.options.node)
        s.replica_offsets[node] = part.primary->replica_offset(node);
  } else if (part.backup) {
    s.role = "backup";
    s.epoch = part.backup->known_epoch();
    s.commit = part.backup->commit_offset();
  }
  std::lock_guard<std::mutex> guard(self->state.seen->mutex);
  self->state.seen->parts[p] = std::move(s);
}

void answer(partition& part, const std::vector<uint64_t>& waiters, append_outcome o) {
  for (auto w : waiters) {
    auto it = part.waiters.find(w);
    if (it == part.waiters.end())
      continue;
    auto done = std::move(it->second.done);
    part.waiters.erase(it);
    done(o);
  }
}

// Answers the held appends `fate` returns an outcome for (in the order they
// were written), and keeps the others.
template <class Fate>
void settle_held(partition& part, Fate fate) {
  std::vector<std::pair<std::function<void(append_outcome)>, append_outcome>> told;
  std::erase_if(part.held, [&](held_append& h) {
    std::optional<append_outcome> o = fate(h);
    if (!o)
      return false;
    told.emplace_back(std::move(h.done), *o);
    return true;
  });
  for (auto& [done, o] : told)
    done(o);
}

// The held appends' fates as this node's log, following the successor,
// tells them (CLUSTER.md rule 5; a deposed primary's uncommitted appends
// otherwise all answer 503 and their producers send again what the
// successor may deliver):
// - the log was cut at `cut` (the successor's log diverges there): an
//   append wholly beyond it is in no log the successor commits, so
//   not_primary (the asker routes it again); one the cut splits, deposed;
void settle_cut(partition& part, uint64_t cut) {
  settle_held(part, [cut](const held_append& h) -> std::optional<append_outcome> {
    if (h.end <= cut)
      return std::nullopt;
    return h.first >= cut ? append_outcome::not_primary : append_outcome::deposed;
  });
}
// - the successor's commit offset, as this backup learned it after its
//   epoch-end query and cut, reached an append's end: committed (every
//   in-sync replica of the successor's epoch stored it; it delivers it).
void settle_committed(partition& part, uint64_t commit) {
  settle_held(part, [commit](const held_append& h) -> std::optional<append_outcome> {
    return h.end <= commit ? std::optional(append_outcome::committed) : std::nullopt;
  });
}
// - nothing told its fate within request_timeout, or this node leads or
//   leaves the partition before: deposed (503), as without the hold.
void settle_all(partition& part, clock::time_point until = clock::time_point::max()) {
  settle_held(part, [until](const held_append& h) -> std::optional<append_outcome> {
    return h.until <= until ? std::optional(append_outcome::deposed) : std::nullopt;
  });
}

// Hands the entries committed since the last call to on_commit, in offset
// order and bounded batches (primary only). A failed read is logged and
// retried at the next commit or tick.
void emit_commits(repl_actor* self, uint32_t p, partition& part) {
  if (!part.primary || !part.primary->active())
    return;
  const uint64_t commit = part.primary->commit_offset();
  const auto& on_commit = self->state.options.on_commit;
  if (!on_commit) {
    part.emitted = std::max(part.emitted, commit);
    return;
  }
  while (part.emitted < commit) {
    auto read = part.log->read(part.emitted, commit, max_commit_bytes, max_commit_entries);
    if (!read) {
      log::write(log::level::error, "cluster.replica_failed",
                 "cannot read committed entries of partition " + std::to_string(p) + " from " +
                   std::to_string(part.emitted) + ": " + read.error().message,
                 {});
      return;
    }
    const uint64_t first = part.emitted;
    part.emitted += read->size();
    on_commit(p, part.tenure_epoch, first, std::move(*read));
  }
}

// Hands the newly committed entries on and answers the waiters they
// released, after publishing: a caller told `committed` reads a status
// that shows it.
void committed(repl_actor* self, uint32_t p, partition& part,
               const std::vector<uint64_t>& waiters) {
  emit_commits(self, p, part);
  if (waiters.empty())
    return;
  publish(self, p);
  answer(part, waiters, append_outcome::committed);
}

// Writes the epochs the primary started that its log does not hold yet.
bool record_epochs(partition& part) {
  for (const auto& e : part.primary->history().starts()) {
    const auto& have = part.log->epochs();
    if (!have.empty() && e.epoch <= have.back().epoch)
      continue;
    if (auto err = part.log->put_epoch(e.epoch, e.start_offset)) {
      log::write(log::level::error, "cluster.replica_failed",
                 "cannot record epoch " + std::to_string(e.epoch) + " of partition " +
                   std::to_string(part.log->partition()) + ": " + err->message,
                 {});
      return false;
    }
  }
  return true;
}

// Returns when the primary of `part` last heard from backup `n` (the
// tenure's start when not yet in this tenure).
clock::time_point last_heard(const partition& part, const std::string& n) {
  auto it = part.heard.find(n);
  return it == part.heard.end() ? part.primary_since : it->second;
}

// Says whether backup `n` is cut off from this primary: its link dropped
// after its last fetch (or this tenure's start) and it has not been heard
// for two long polls since (a caught-up backup is heard once per long poll;
// a link that flapped is fetched through again within retry_after).
bool cut_off(const repl_actor* self, const partition& part, const std::string& n,
             clock::time_point now) {
  auto lost = self->state.link_lost.find(n);
  if (lost == self->state.link_lost.end())
    return false;
  const auto heard = last_heard(part, n);
  return lost->second > heard && now - heard >= 2 * self->state.options.long_poll;
}

// Returns the in-sync backups (as the configuration stores them) that lack
// entries the primary holds durably and are cut off (cut_off()) or unheard
// for lag_max: they hold its commits back (a backup cut off from its
// primary but not from etcd, stopped, or stuck), so the primary proposes
// dropping them.
std::vector<std::string> lagging(repl_actor* self, partition& part, clock::time_point now) {
  std::vector<std::string> out;
  const auto& node = self->state.options.node;
  for (const auto& n : part.config.in_sync) {
    if (n == node || part.primary->replica_offset(n) >= part.primary->durable_end())
      continue;
    if (cut_off(self, part, n, now) || now - last_heard(part, n) > self->state.options.lag_max)
      out.push_back(n);
  }
  return out;
}

// Hands the controller the backups that caught up with the primary's
// durable end and the in-sync ones that stopped fetching (rule: the in-sync
// set changes only through etcd), each proposal once per proposal_every
// while the configuration does not match it.
void propose(repl_actor* self, uint32_t p, partition& part) {
  const auto& on_propose = self->state.options.on_propose;
  if (!on_propose || !part.primary || !part.primary->active())
    return;
  const auto now = clock::now();
  // Backups not heard within two long polls (a caught-up one is heard at
  // least once per long poll) are not proposed: their offset may be a
  // stopped node's. (One not heard yet in this tenure has no offset here.)
  std::vector<std::string> unheard;
  for (const auto& n : part.config.replicas)
    if (now - last_heard(part, n) > 2 * self->state.options.long_poll)
      unheard.push_back(n);
  auto nodes = part.primary->propose_in_sync(unheard);
  auto drop = lagging(self, part, now);
  if (nodes.empty() && drop.empty())
    return;
  std::sort(nodes.begin(), nodes.end());
  std::sort(drop.begin(), drop.end());
  std::tuple<uint64_t, std::vector<std::string>, std::vector<std::string>> proposal{
    part.primary->epoch(), nodes, drop};
  if (proposal == part.proposed && now - part.proposed_at < proposal_every)
    return;
  if (!drop.empty() && proposal != part.proposed) {
    // One line per backup per 10 s, not one per partition it holds back.
    auto& last = self->state.shrink_logged[drop.front()];
    if (now - last > std::chrono::seconds(10)) {
      last = now;
      std::string names;
      for (const auto& n : drop)
        names += (names.empty() ? "" : ", ") + n;
      const auto why = cut_off(self, part, drop.front(), now)
                         ? std::string("its link dropped and it has not fetched since")
                         : "no fetch for " + std::to_string(self->state.options.lag_max.count()) +
                             " ms";
      log::write(log::level::warn, "cluster.insync_shrink",
                 "proposing to drop " + names + " from the in-sync set of partition " +
                   std::to_string(p) + " and of any other it holds back (" + why +
                   "); check the link between this node and " + names,
                 {{"partition", std::to_string(p)}});
    }
  }
  part.proposed = std::move(proposal);
  part.proposed_at = now;
  on_propose(p, part.primary->epoch(), std::move(nodes), std::move(drop));
}

// Answers a fetch now (entries, or a refusal), or parks it (nothing new).
void serve_fetch(repl_actor* self, partition& part, const fetch_request& req,
                 caf::response_promise rp, bool may_park) {
  if (!part.primary || !part.primary->active()) {
    fetch_response r;
    r.partition = req.partition;
    r.epoch = part.config.epoch;
    r.status = static_cast<uint8_t>(reply_status::not_primary);
    r.from_offset = req.from_offset;
    rp.deliver(std::move(r));
    return;
  }
  auto plan = part.primary->fetch(req);
  committed(self, req.partition, part, plan.committed);
  propose(self, req.partition, part);
  auto reply = std::move(plan.reply);
  if (plan.read_to > plan.read_from) {
    auto read = part.log->read(plan.read_from, plan.read_to, max_fetch_bytes, max_fetch_entries);
    if (!read) {
      rp.deliver(caf::make_error(caf::sec::runtime_error, read.error().message));
      return;
    }
    reply.entries = std::move(*read);
    reply.epochs = part.primary->epochs_for(plan.read_from, reply.entries.size());
  } else if (may_park && reply.status == static_cast<uint8_t>(reply_status::ok)) {
    part.parked.push_back({req, std::move(rp), clock::now() + self->state.options.long_poll});
    publish(self, req.partition);
    return;
  }
  publish(self, req.partition);
  if (reply.status == static_cast<uint8_t>(reply_status::ok))
    part.start_told[req.node] = reply.log_start;
  rp.deliver(std::move(reply));
}

// Answers the parked fetches again: with entries now, or empty at their deadline.
void wake_parked(repl_actor* self, partition& part, bool expired_only) {
  const auto now = clock::now();
  auto parked = std::move(part.parked);
  part.parked.clear();
  for (auto& f : parked) {
    if (expired_only && f.until > now) {
      part.parked.push_back(std::move(f));
      continue;
    }
    serve_fetch(self, part, f.request, std::move(f.promise), !expired_only && f.until > now);
  }
}

// Answers now each parked fetch of a backup that has not been told the
// log's current start, so that it trims at once: a new primary redelivers
// from its own start, so a backup's start lagging the primary's by a long
// poll would redeliver that much after a takeover.
void tell_start(repl_actor* self, partition& part) {
  const uint64_t start = part.log->start_offset();
  auto parked = std::move(part.parked);
  part.parked.clear();
  for (auto& f : parked) {
    auto told = part.start_told.find(f.request.node);
    const bool tell = told == part.start_told.end() || told->second < start;
    serve_fetch(self, part, f.request, std::move(f.promise), !tell);
  }
}

// A graceful stop's hand-over (replicator::hand_over): refuses appends from
// now on, answers now each parked fetch of a backup that has not been told
// the log's current start, and returns whether, for every partition this
// node leads, every append written has committed and every in-sync backup
// heard within two long polls has trimmed to that start.
bool hand_over_starts(repl_actor* self) {
  const auto& node = self->state.options.node;
  const auto now = clock::now();
  self->state.handing_over = true;
  bool done = true;
  for (auto& [p, part] : self->state.parts) {
    if (!part.primary || !part.primary->active())
      continue;
    if (!part.waiters.empty())
      done = false;
    const uint64_t start = part.log->start_offset();
    tell_start(self, part);
    for (const auto& n : part.config.in_sync) {
      if (n == node || now - last_heard(part, n) > 2 * self->state.options.long_poll)
        continue;
      auto known = part.start_known.find(n);
      if (known == part.start_known.end() || known->second < start)
        done = false;
    }
  }
  return done;
}

void drive(repl_actor* self, uint32_t p, backup_step step);

// Asks for a sync of the partition logs after the messages already queued:
// every append they carry shares its fsync (group commit).
void schedule_sync(repl_actor* self) {
  if (self->state.sync_scheduled)
    return;
  self->state.sync_scheduled = true;
  self->send(self, repl_sync_atom::value);
}

bool sync_pending(const repl_actor* self) {
  return !self->state.unsynced_primaries.empty() || !self->state.unsynced_backups.empty();
}

// The group commit: one WAL fsync makes every partition log write since
// the last one durable; then each primary counts its log durable to its end
// (which may commit waiters and lets parked fetches read on) and each
// backup goes on from its append (its next fetch reports the new end). A
// failed sync keeps everything pending and tries again after retry_after:
// the journal refuses writes until it recovered, and waiters meanwhile
// time out at the router (503), never hearing `committed` early.
void sync_logs(repl_actor* self) {
  auto& st = self->state;
  st.sync_scheduled = false;
  if (!sync_pending(self))
    return;
  if (auto err = st.journal->sync_wal()) {
    log::write(log::level::error, "cluster.replica_failed",
               "cannot sync the partition logs: " + err->message + "; retrying", {});
    st.sync_scheduled = true;
    self->delayed_send(self, st.options.retry_after, repl_sync_atom::value);
    return;
  }
  auto primaries = std::move(st.unsynced_primaries);
  auto backups = std::move(st.unsynced_backups);
  st.unsynced_primaries.clear();
  st.unsynced_backups.clear();
  for (auto p : primaries) {
    auto it = st.parts.find(p);
    if (it == st.parts.end() || !it->second.primary || !it->second.primary->active())
      continue;
    auto& part = it->second;
    committed(self, p, part, part.primary->durable(part.log->end_offset()));
    wake_parked(self, part, false);
    publish(self, p);
  }
  for (auto [p, gen] : backups) {
    auto it = st.parts.find(p);
    if (it == st.parts.end() || it->second.generation != gen || !it->second.backup)
      continue;
    drive(self, p, it->second.backup->appended(it->second.log->end_offset()));
  }
}

// Syncs now what waits for the group commit: before a role change or a
// restart reads the log's end as durable.
void sync_now(repl_actor* self) {
  while (sync_pending(self)) {
    sync_logs(self);
    if (self->state.sync_scheduled && sync_pending(self))
      return; // the sync failed: retried later, nothing is claimed durable
  }
}

// Starts partition `p`'s backup again from its log after retry_after.
void retry_later(repl_actor* self, uint32_t p) {
  auto& part = self->state.parts.at(p);
  if (part.retry_pending)
    return;
  part.retry_pending = true;
  self->delayed_send(self, self->state.options.retry_after, repl_retry_atom::value, p,
                     ++part.generation);
}

// Sends `request` to partition p's primary and drives the backup with what
// `on_reply(backup, reply)` says, unless the partition's backup changed
// meanwhile; a failed or refused exchange retries later.
template <class Response, class Request, class OnReply>
void ask_primary(repl_actor* self, uint32_t p, const std::string& primary, const Request& request,
                 OnReply on_reply) {
  auto& part = self->state.parts.at(p);
  const auto gen = part.generation;
  part.asking = primary;
  part.asking_generation = gen;
  // No CAF timer: the tick's sweep answers it request_timeout.
  auto handle = self->request(self->state.links, caf::infinite, peer_route_atom::value, primary,
                              request);
  const auto mid = handle.id();
  self->state.asks.add(mid);
  handle.then(
    [=](Response& r) {
      self->state.asks.answered(mid);
      auto it = self->state.parts.find(p);
      if (it == self->state.parts.end() || it->second.generation != gen || !it->second.backup)
        return;
      it->second.asking.clear();
      auto next = on_reply(*it->second.backup, r);
      if (next.action == backup_action::none)
        return retry_later(self, p);
      drive(self, p, std::move(next));
    },
    [=](const caf::error&) {
      self->state.asks.answered(mid);
      auto it = self->state.parts.find(p);
      if (it == self->state.parts.end() || it->second.generation != gen)
        return;
      it->second.asking.clear();
      retry_later(self, p);
    });
}

void restart_backup(repl_actor* self, uint32_t p) {
  sync_now(self);
  auto& part = self->state.parts.at(p);
  part.backup.emplace(self->state.options.node, p, part.log->end_offset(), history_of(*part.log));
  ++part.generation;
  drive(self, p, part.backup->apply(part.config));
}

// Does what the backup said, until it waits for a reply.
void drive(repl_actor* self, uint32_t p, backup_step step) {
  for (;;) {
    auto& part = self->state.parts.at(p);
    if (!part.backup)
      return;
    auto& b = *part.backup;
    switch (step.action) {
      case backup_action::none: publish(self, p); return;
      case backup_action::promote: return; // apply_configuration makes the primary
      case backup_action::truncate:
        if (auto err = part.log->truncate(step.truncate_to)) {
          log::write(log::level::error, "cluster.replica_failed",
                     "cannot truncate partition " + std::to_string(p) + ": " + err->message, {});
          return retry_later(self, p);
        }
        step = b.truncated(part.log->end_offset());
        settle_cut(part, part.log->end_offset());
        publish(self, p);
        break;
      case backup_action::append: {
        std::vector<storage::partition_epoch> epochs;
        for (const auto& e : step.epochs)
          epochs.push_back({e.epoch, e.start_offset});
        if (auto err = part.log->append_unsynced(part.log->end_offset(), step.entries, epochs)) {
          log::write(log::level::error, "cluster.replica_failed",
                     "cannot append to partition " + std::to_string(p) + ": " + err->message, {});
          return retry_later(self, p);
        }
        // Goes on (appended: the next fetch reports the new end) once the
        // group commit made it durable.
        self->state.unsynced_backups.emplace_back(p, part.generation);
        schedule_sync(self);
        publish(self, p);
        return;
      }
      case backup_action::reset:
        if (auto err = part.log->reset(step.truncate_to)) {
          log::write(log::level::error, "cluster.replica_failed",
                     "cannot reset partition " + std::to_string(p) + ": " + err->message, {});
          return retry_later(self, p);
        }
        log::write(log::level::info, "cluster.replica_reset",
                   "partition " + std::to_string(p) + " copies its log afresh from offset " +
                     std::to_string(step.truncate_to) + ", the primary's start",
                   {});
        step = b.reset_done(part.log->start_offset());
        publish(self, p);
        break;
      case backup_action::query:
        return ask_primary<epoch_end_response>(
          self, p, b.primary(), step.query,
          [](backup_state& backup, epoch_end_response& r) { return backup.on_epoch_end(r); });
      case backup_action::fetch:
        settle_committed(part, b.commit_offset());
        // The primary delivered everything below its start: trim to it
        // (lazily, here, unsynced: see partition_log::trim).
        if (b.trim_point() > part.log->start_offset()) {
          if (auto err = part.log->trim(b.trim_point()))
            log::write(log::level::error, "cluster.replica_failed",
                       "cannot trim partition " + std::to_string(p) + ": " + err->message, {});
          publish(self, p);
        }
        return ask_primary<fetch_response>(
          self, p, b.primary(), step.fetch,
          [](backup_state& backup, fetch_response& r) { return backup.on_fetch(std::move(r)); });
    }
  }
}

// Ends partition p's tenure as primary: holds what waits (written, not
// committed) until the log, following the successor, tells its fate
// (settle_cut, settle_committed), tells the owner.
void demote(repl_actor* self, uint32_t p, partition& part, uint64_t tenure_end) {
  const auto until = clock::now() + self->state.options.request_timeout;
  for (auto& [id, w] : part.waiters)
    part.held.push_back({std::move(w.done), w.first, w.end, until});
  part.waiters.clear();
  part.primary.reset();
  part.fenced_since.reset();
  wake_parked(self, part, false); // refused: not_primary
  if (self->state.options.on_demote)
    self->state.options.on_demote(p, tenure_end);
}

// Demotes a primary that stayed fenced (a newer epoch exists that this
// node's configurations do not show) for fenced_grace.
void check_fenced(repl_actor* self, uint32_t p, partition& part) {
  if (!part.primary || !part.primary->fenced()) {
    part.fenced_since.reset();
    return;
  }
  const auto now = clock::now();
  if (!part.fenced_since) {
    part.fenced_since = now;
    return;
  }
  if (now - *part.fenced_since < self->state.options.fenced_grace)
    return;
  log::write(log::level::error, "cluster.primary_fenced",
             "stops being primary of partition " + std::to_string(p) +
               ": a peer showed a newer epoch than " + std::to_string(part.primary->epoch()) +
               " and no configuration explained it within " +
               std::to_string(self->state.options.fenced_grace.count()) +
               " ms; check this node's link to etcd",
             {});
  demote(self, p, part, part.primary->epoch());
  publish(self, p);
}

void do_release(repl_actor* self, uint32_t p, uint64_t epoch, uint64_t offset) {
  auto it = self->state.parts.find(p);
  if (it == self->state.parts.end() || !it->second.primary || !it->second.primary->active())
    return;
  auto& part = it->second;
  if (epoch < part.tenure_epoch || epoch > part.primary->epoch())
    return; // another tenure's release
  const uint64_t to = std::min(offset, part.emitted);
  if (to <= part.log->start_offset())
    return;
  if (auto err = part.log->trim(to)) {
    log::write(log::level::error, "cluster.replica_failed",
               "cannot trim partition " + std::to_string(p) + ": " + err->message, {});
    return;
  }
  part.primary->set_log_start(part.log->start_offset());
  tell_start(self, part);
  publish(self, p);
}

bool replicates(const configuration& c, const std::string& node) {
  return std::find(c.replicas.begin(), c.replicas.end(), node) != c.replicas.end();
}

// Applies one partition's configuration: keeps, makes or hands over the
// primary and backup states.
void apply_configuration(repl_actor* self, uint32_t p, const configuration& config) {
  const auto& node = self->state.options.node;
  auto found = self->state.parts.find(p);
  if (found != self->state.parts.end() && config.epoch <= found->second.config.epoch)
    return;
  // A role made below reads the log's end as durable.
  sync_now(self);
  if (sync_pending(self))
    return; // the sync failed: applied on a later tick
  if (found == self->state.parts.end()) {
    if (!replicates(config, node))
      return;
    auto log = storage::partition_log::open(*self->state.journal, p);
    if (!log) {
      log::write(
        log::level::error, "cluster.replica_failed",
        "cannot open the log of partition " + std::to_string(p) + ": " + log.error().message, {});
      return;
    }
    found = self->state.parts.emplace(p, partition{}).first;
    found->second.log = std::move(*log);
  }
  auto& part = found->second;
  part.config = config;
  if (part.primary) {
    const uint64_t tenure_end = part.primary->epoch();
    auto applied = part.primary->apply(config);
    committed(self, p, part, applied.committed);
    if (!applied.deposed) // else demote() below holds them
      answer(part, applied.failed, append_outcome::deposed);
    if (!applied.deposed && config.primary == node) {
      // The same primary in a newer epoch: its tenure, waiters and
      // on_commit position go on. The epoch's start is persisted (a
      // failure only costs a longer truncation after a restart).
      (void)record_epochs(part);
      part.fenced_since.reset();
      wake_parked(self, part, false);
      return publish(self, p);
    }
    demote(self, p, part, tenure_end);
  }
  if (!replicates(config, node)) {
    settle_all(part); // no log here follows the successor
    part.backup.reset();
    ++part.generation;
    return publish(self, p);
  }
  if (config.primary == node) {
    settle_all(part); // a new tenure commits its log anew
    const uint64_t commit = part.backup ? part.backup->commit_offset() : 0;
    part.backup.reset();
    ++part.generation;
    part.primary.emplace(node, p, self->state.options.min_insync, config, part.log->end_offset(),
                         history_of(*part.log), commit);
    if (!record_epochs(part)) {
      part.primary.reset();
      return publish(self, p);
    }
    // A new tenure: on_commit from the log's start, as each entry commits
    // (CLUSTER.md rule 4: an in-sync set holding this log's entries).
    part.primary->set_log_start(part.log->start_offset());
    part.tenure_epoch = config.epoch;
    part.emitted = part.log->start_offset();
    part.fenced_since.reset();
    part.heard.clear();
    part.primary_since = clock::now();
    committed(self, p, part, part.primary->durable(part.log->end_offset()));
    return publish(self, p);
  }
  if (!part.backup) {
    part.backup.emplace(node, p, part.log->end_offset(), history_of(*part.log));
  }
  ++part.generation;
  part.retry_pending = false;
  drive(self, p, part.backup->apply(config));
}

void do_append(repl_actor* self, append_job& job) {
  auto done = std::move(job.done);
  job.done = nullptr;
  if (self->state.handing_over) // the successor takes it (the asker's producer retries)
    return done(append_outcome::not_primary);
  auto it = self->state.parts.find(job.partition);
  if (it == self->state.parts.end() || !it->second.primary || !it->second.primary->active())
    return done(append_outcome::not_primary);
  auto& part = it->second;
  const auto waiter = self->state.next_waiter++;
  auto ticket = part.primary->append(job.entries.size(), waiter);
  if (ticket.refused == append_refusal::not_primary)
    return done(append_outcome::not_primary);
  if (ticket.refused == append_refusal::below_min_insync)
    return done(append_outcome::below_min_insync);
  part.waiters.emplace(
    waiter, append_waiter{std::move(done), ticket.first, ticket.first + job.entries.size()});
  if (auto err = part.log->append_unsynced(ticket.first, job.entries)) {
    log::write(log::level::error, "cluster.replica_failed",
               "cannot append to partition " + std::to_string(job.partition) + ": " + err->message,
               {});
    answer(part, part.primary->abandon_unwritten(), append_outcome::failed);
    return publish(self, job.partition);
  }
  // Durable (and served to the backups) at the group commit.
  self->state.unsynced_primaries.insert(job.partition);
  schedule_sync(self);
  publish(self, job.partition);
}

caf::behavior repl_behavior(repl_actor* self, replicator_options options, storage::journal* journal,
                            caf::actor links, std::shared_ptr<snapshot> seen) {
  self->state.options = std::move(options);
  self->state.asks.set_timeout(self->state.options.request_timeout);
  self->state.journal = journal;
  self->state.links = std::move(links);
  self->state.seen = std::move(seen);
  self->send(self->state.links, peer_attach_atom::value, caf::actor_cast<caf::actor>(self));
  self->send(self, repl_tick_atom::value);
  return {
    [self](repl_tick_atom) {
      if (self->state.options.configurations)
        for (const auto& [p, config] : self->state.options.configurations())
          apply_configuration(self, p, config);
      const auto now = clock::now();
      self->state.asks.sweep(self, now);
      for (auto& [p, part] : self->state.parts) {
        settle_all(part, now); // held past request_timeout
        wake_parked(self, part, true);
        check_fenced(self, p, part);
        emit_commits(self, p, part); // after a failed read
        propose(self, p, part);      // a lagging backup sends nothing to trigger it
      }
      self->delayed_send(self, self->state.options.poll_every, repl_tick_atom::value);
    },
    [self](peer_down_atom, const std::string& node) {
      // The answers of requests in flight to it cannot come any more: ask
      // again (its successor, or it once linked again) after retry_after
      // rather than after request_timeout.
      const auto now = clock::now();
      self->state.link_lost[node] = now;
      for (auto& [p, part] : self->state.parts)
        if (part.backup && part.asking == node && part.asking_generation == part.generation) {
          part.asking.clear();
          retry_later(self, p);
        }
      // As a primary, a backup it has not heard from since is cut off: it
      // is proposed out now (CAF's heartbeats took connection-timeout to
      // say so) rather than after lag_max; the tick proposes the ones
      // heard too lately for that.
      for (auto& [p, part] : self->state.parts)
        if (part.primary && part.primary->active() && cut_off(self, part, node, now))
          propose(self, p, part);
    },
    [self](repl_retry_atom, uint32_t p, uint64_t gen) {
      auto it = self->state.parts.find(p);
      if (it == self->state.parts.end() || it->second.generation != gen)
        return;
      it->second.retry_pending = false;
      if (it->second.backup)
        restart_backup(self, p);
    },
    [self](repl_append_atom, const std::shared_ptr<append_job>& job) { do_append(self, *job); },
    [self](repl_sync_atom) { sync_logs(self); },
    [self](repl_release_atom, uint32_t p, uint64_t epoch, uint64_t offset) {
      do_release(self, p, epoch, offset);
    },
    [self](repl_handover_atom) { return hand_over_starts(self); },
    [self](const fetch_request& req) -> caf::result<fetch_response> {
      auto rp = self->make_response_promise();
      auto it = self->state.parts.find(req.partition);
      if (it == self->state.parts.end()) {
        fetch_response r;
        r.partition = req.partition;
        r.status = static_cast<uint8_t>(reply_status::not_primary);
        r.from_offset = req.from_offset;
        rp.deliver(std::move(r));
        return rp;
      }
      it->second.heard[req.node] = clock::now();
      if (auto told = it->second.start_told.find(req.node); told != it->second.start_told.end())
        it->second.start_known[req.node] = told->second;
      serve_fetch(self, it->second, req, rp, true);
      return rp;
    },
    [self](const epoch_end_request& req) -> epoch_end_response {
      auto it = self->state.parts.find(req.partition);
      if (it != self->state.parts.end())
        it->second.heard[req.node] = clock::now();
      if (it == self->state.parts.end() || !it->second.primary || !it->second.primary->active()) {
        epoch_end_response r;
        r.partition = req.partition;
        r.epoch = it == self->state.parts.end() ? 0 : it->second.config.epoch;
        r.status = static_cast<uint8_t>(reply_status::not_primary);
        return r;
      }
      return it->second.primary->epoch_end(req);
    },
  };
}

} // namespace

struct replicator::impl {
  explicit impl(caf::actor_system& sys) : system(sys) {}
  caf::actor_system& system;
  std::shared_ptr<snapshot> seen = std::make_shared<snapshot>();
  caf::actor actor;
};

replicator::replicator(caf::actor_system& system, storage::journal& journal, peer_links& links,
                       replicator_options options)
    : impl_(std::make_unique<impl>(system)) {
  impl_->actor = system.spawn(repl_behavior, std::move(options), &journal, links.actor(),
                              impl_->seen);
}

replicator::~replicator() { stop(); }

void replicator::append(uint32_t partition, std::vector<std::string> entries,
                        std::function<void(append_outcome)> done) {
  auto job = std::make_shared<append_job>();
  job->partition = partition;
  job->entries = std::move(entries);
  job->done = std::move(done);
  if (!impl_->actor)
    return; // the job's destructor answers `failed`
  caf::anon_send(impl_->actor, repl_append_atom::value, std::move(job));
}

void replicator::release(uint32_t partition, uint64_t epoch, uint64_t offset) {
  if (impl_->actor)
    caf::anon_send(impl_->actor, repl_release_atom::value, partition, epoch, offset);
}

bool replicator::hand_over(std::chrono::steady_clock::time_point deadline) {
  if (!impl_->actor)
    return false;
  caf::scoped_actor asker{impl_->system};
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                            clock::now());
    if (left.count() <= 0)
      return false;
    bool done = false;
    asker->request(impl_->actor, left, repl_handover_atom::value)
      .receive([&](bool d) { done = d; }, [](caf::error&) {});
    if (done)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

replica_status replicator::status(uint32_t partition) const {
  std::lock_guard<std::mutex> guard(impl_->seen->mutex);
  auto it = impl_->seen->parts.find(partition);
  return it == impl_->seen->parts.end() ? replica_status{} : it->second;
}

void replicator::stop() {
  if (!impl_->actor)
    return;
  caf::scoped_actor waiter{impl_->system};
  waiter->send_exit(impl_->actor, caf::exit_reason::user_shutdown);
  waiter->wait_for(impl_->actor);
  impl_->actor = nullptr;
}

} // namespace sy::cluster
