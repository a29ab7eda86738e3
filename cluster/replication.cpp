#include "cluster/replication.hpp"

#include <algorithm>
#include <utility>

namespace sy::cluster {

namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

} // namespace

// -- epoch_history -----------------------------------------------------------------

epoch_history::epoch_history(const std::vector<epoch_start>& starts) {
  for (const auto& s : starts)
    assign(s.epoch, s.start_offset);
}

bool epoch_history::assign(uint64_t epoch, uint64_t start_offset) {
  if (!starts_.empty() &&
      (epoch <= starts_.back().epoch || start_offset < starts_.back().start_offset))
    return false;
  starts_.push_back({epoch, start_offset});
  return true;
}

void epoch_history::truncate_from(uint64_t offset) {
  while (!starts_.empty() && starts_.back().start_offset >= offset)
    starts_.pop_back();
}

std::optional<epoch_start> epoch_history::end_of(uint64_t epoch, uint64_t log_end) const {
  // The last start whose epoch is not above `epoch`.
  auto it = std::upper_bound(starts_.begin(), starts_.end(), epoch,
                             [](uint64_t e, const epoch_start& s) { return e < s.epoch; });
  if (it == starts_.begin())
    return std::nullopt;
  const auto found = std::prev(it);
  return epoch_start{found->epoch, it == starts_.end() ? log_end : it->start_offset};
}

std::vector<epoch_start> epoch_history::covering(uint64_t from, uint64_t to) const {
  std::vector<epoch_start> out;
  if (from >= to)
    return out;
  // The last start at or below `from` holds it; later ones follow while they start before `to`.
  auto it = std::upper_bound(starts_.begin(), starts_.end(), from,
                             [](uint64_t o, const epoch_start& s) { return o < s.start_offset; });
  if (it != starts_.begin())
    --it;
  for (; it != starts_.end() && it->start_offset < to; ++it)
    out.push_back(*it);
  return out;
}

// -- primary_state -----------------------------------------------------------------

primary_state::primary_state(std::string self, uint32_t partition, uint32_t min_insync,
                             const configuration& config, uint64_t log_end, epoch_history history,
                             uint64_t commit)
    : self_(std::move(self)), partition_(partition), min_insync_(min_insync), epoch_(config.epoch),
      replicas_(config.replicas), in_sync_(config.in_sync), log_end_(log_end),
      durable_end_(log_end), commit_(std::min(commit, log_end)), history_(std::move(history)),
      deposed_(config.primary != self_) {
  // KIP-101: the new epoch starts at this primary's log end; everything
  // before it is kept (an in-sync replica holds every committed entry).
  if (history_.latest() < epoch_)
    history_.assign(epoch_, log_end_);
}

primary_state::applied primary_state::apply(const configuration& config) {
  applied out;
  if (config.epoch <= epoch_ || deposed_)
    return out;
  epoch_ = config.epoch;
  if (config.primary != self_) {
    deposed_ = true;
    out.deposed = true;
    out.failed = fail_all();
    return out;
  }
  fenced_ = false;
  replicas_ = config.replicas;
  in_sync_ = config.in_sync;
  proposed_.clear();
  std::erase_if(offsets_, [&](const auto& kv) { return !contains(replicas_, kv.first); });
  // The new epoch starts at the durable end: appends still being written
  // land after it and count as the new epoch's (the same primary wrote
  // both), and an abandoned write cannot leave the start past the log end.
  history_.assign(epoch_, durable_end_);
  out.committed = advance();
  return out;
}

append_ticket primary_state::append(uint64_t count, uint64_t waiter) {
  if (deposed_ || fenced_)
    return {append_refusal::not_primary, 0};
  if (in_sync_.size() < min_insync_)
    return {append_refusal::below_min_insync, 0};
  const uint64_t first = log_end_;
  log_end_ += count;
  waiters_.emplace_back(log_end_, waiter);
  return {append_refusal::none, first};
}

std::vector<uint64_t> primary_state::durable(uint64_t end) {
  durable_end_ = std::max(durable_end_, std::min(end, log_end_));
  return advance();
}

std::vector<uint64_t> primary_state::abandon_unwritten() {
  std::vector<uint64_t> failed;
  while (!waiters_.empty() && waiters_.back().first > durable_end_) {
    failed.push_back(waiters_.back().second);
    waiters_.pop_back();
  }
  std::reverse(failed.begin(), failed.end());
  log_end_ = durable_end_;
  return failed;
}

fetch_plan primary_state::fetch(const fetch_request& req) {
  fetch_plan plan;
  auto& r = plan.reply;
  r.partition = partition_;
  r.epoch = epoch_;
  r.from_offset = req.from_offset;
  r.commit_offset = commit_;
  r.log_end = durable_end_;
  r.log_start = start_;
  if (req.epoch > epoch_) {
    // A newer configuration exists that this primary has not applied:
    // nothing commits on the old one meanwhile (see fenced()).
    fenced_ = true;
    r.status = static_cast<uint8_t>(reply_status::not_primary);
    return plan;
  }
  if (deposed_) {
    r.status = static_cast<uint8_t>(reply_status::not_primary);
    return plan;
  }
  if (req.epoch < epoch_) {
    r.status = static_cast<uint8_t>(reply_status::stale_epoch);
    return plan;
  }
  if (req.node == self_ || !contains(replicas_, req.node)) {
    r.status = static_cast<uint8_t>(reply_status::not_replica);
    return plan;
  }
  if (req.from_offset > durable_end_) {
    r.status = static_cast<uint8_t>(reply_status::out_of_range);
    return plan;
  }
  if (req.from_offset < start_) {
    // It lacks entries this log no longer holds: it copies afresh from the
    // start. Its offset is not recorded (it holds a prefix, not a log).
    r.status = static_cast<uint8_t>(reply_status::below_start);
    return plan;
  }
  // What it reports is what it holds: a replica that lost its disk fetches
  // from lower and counts from there (the commit offset never goes back).
  offsets_[req.node] = req.from_offset;
  plan.committed = advance();
  r.status = static_cast<uint8_t>(reply_status::ok);
  r.commit_offset = commit_;
  plan.read_from = req.from_offset;
  plan.read_to = durable_end_;
  return plan;
}

void primary_state::set_log_start(uint64_t start) {
  start_ = std::max(start_, std::min(start, durable_end_));
  commit_ = std::max(commit_, start_);
}

std::vector<epoch_start> primary_state::epochs_for(uint64_t from, std::size_t count) const {
  return history_.covering(from, from + count);
}

epoch_end_response primary_state::epoch_end(const epoch_end_request& req) {
  epoch_end_response r;
  r.partition = partition_;
  r.epoch = epoch_;
  if (req.epoch > epoch_) {
    fenced_ = true;
    r.status = static_cast<uint8_t>(reply_status::not_primary);
    return r;
  }
  if (deposed_) {
    r.status = static_cast<uint8_t>(reply_status::not_primary);
    return r;
  }
  if (req.epoch < epoch_) {
    r.status = static_cast<uint8_t>(reply_status::stale_epoch);
    return r;
  }
  if (req.node == self_ || !contains(replicas_, req.node)) {
    r.status = static_cast<uint8_t>(reply_status::not_replica);
    return r;
  }
  r.status = static_cast<uint8_t>(reply_status::ok);
  if (auto end = history_.end_of(req.last_epoch, durable_end_)) {
    r.found_epoch = end->epoch;
    r.end_offset = end->start_offset;
  }
  return r;
}

std::vector<std::string> primary_state::propose_in_sync(const std::vector<std::string>& unheard) {
  std::vector<std::string> out;
  if (deposed_ || fenced_)
    return out;
  for (const auto& node : replicas_) {
    if (node == self_ || contains(in_sync_, node) || contains(unheard, node))
      continue;
    auto it = offsets_.find(node);
    if (it == offsets_.end() || it->second < commit_)
      continue;
    if (!contains(proposed_, node))
      proposed_.push_back(node);
    out.push_back(node);
  }
  return out;
}

uint64_t primary_state::replica_offset(const std::string& node) const {
  auto it = offsets_.find(node);
  return it == offsets_.end() ? 0 : it->second;
}

std::vector<uint64_t> primary_state::advance() {
  std::vector<uint64_t> committed;
  if (deposed_ || fenced_)
    return committed;
  // The minimum over the in-sync set stored in etcd, this primary at its
  // own durable end; a replica outside the set never holds it back.
  uint64_t low = durable_end_;
  for (const auto& node : in_sync_)
    if (node != self_)
      low = std::min(low, replica_offset(node));
  for (const auto& node : proposed_)
    low = std::min(low, replica_offset(node));
  commit_ = std::max(commit_, low);
  while (!waiters_.empty() && waiters_.front().first <= commit_) {
    committed.push_back(waiters_.front().second);
    waiters_.pop_front();
  }
  return committed;
}

std::vector<uint64_t> primary_state::fail_all() {
  std::vector<uint64_t> failed;
  failed.reserve(waiters_.size());
  for (const auto& w : waiters_)
    failed.push_back(w.second);
  waiters_.clear();
  return failed;
}

// -- backup_state ------------------------------------------------------------------

backup_state::backup_state(std::string self, uint32_t partition, uint64_t log_end,
                           epoch_history history)
    : self_(std::move(self)), partition_(partition), known_epoch_(history.latest()),
      log_end_(log_end), history_(std::move(history)) {}

fetch_request backup_state::next_fetch() const {
  return {partition_, known_epoch_, self_, log_end_};
}

backup_step backup_state::apply(const configuration& config) {
  backup_step step;
  if (config.epoch <= known_epoch_ && !(config.epoch == known_epoch_ && primary_.empty()))
    return step;
  known_epoch_ = config.epoch;
  primary_ = config.primary;
  pending_epochs_.clear();
  if (config.primary == self_) {
    phase_ = phase::idle;
    step.action = backup_action::promote;
    return step;
  }
  if (!contains(config.replicas, self_) || config.primary.empty()) {
    // Not a replica, or no primary (no live node was in sync): nothing to fetch.
    phase_ = phase::idle;
    return step;
  }
  // KIP-101: before fetching from a new primary, ask where the newest epoch
  // this log holds ends in the primary's log, and cut what lies beyond.
  phase_ = phase::querying;
  step.action = backup_action::query;
  step.query = {partition_, known_epoch_, self_, history_.latest()};
  return step;
}

backup_step backup_state::on_epoch_end(const epoch_end_response& r) {
  backup_step step;
  if (phase_ != phase::querying || r.epoch != known_epoch_ ||
      r.status != static_cast<uint8_t>(reply_status::ok))
    return step;
  uint64_t to = 0;
  if (history_.starts().empty()) {
    // No epoch: this log holds no entry (a new one, or one copied afresh
    // from a primary's start that held nothing beyond it yet), so nothing
    // in it can diverge. Cutting it to 0 would put the next fetch below the
    // primary's start and copy the log afresh a second time.
    to = log_end_;
  } else if (r.found_epoch != 0) {
    // KIP-279: the primary may know only an older epoch than this log's
    // newest; this log's own end of that epoch then bounds the cut too.
    auto own = history_.end_of(r.found_epoch, log_end_);
    to = own ? std::min(r.end_offset, own->start_offset) : 0;
  }
  to = std::min(to, log_end_);
  phase_ = phase::truncating;
  pending_truncate_ = to;
  step.action = backup_action::truncate;
  step.truncate_to = to;
  return step;
}

backup_step backup_state::truncated(uint64_t log_end) {
  backup_step step;
  if (phase_ != phase::truncating || log_end != pending_truncate_)
    return step;
  log_end_ = log_end;
  history_.truncate_from(log_end);
  commit_ = std::min(commit_, log_end_);
  phase_ = phase::fetching;
  step.action = backup_action::fetch;
  step.fetch = next_fetch();
  return step;
}

backup_step backup_state::on_fetch(fetch_response r) {
  backup_step step;
  // A reply to a fetch of an older epoch or offset (a duplicate, a late
  // one) is dropped: the fetch in flight answers for this one.
  if (phase_ != phase::fetching || r.epoch != known_epoch_ || r.from_offset != log_end_)
    return step;
  switch (static_cast<reply_status>(r.status)) {
    case reply_status::ok: break;
    case reply_status::out_of_range:
      if (history_.starts().empty()) {
        // An empty log starting beyond the primary's end: start it at 0,
        // where the primary's start or its entries take it on.
        phase_ = phase::truncating;
        pending_truncate_ = 0;
        step.action = backup_action::truncate;
        step.truncate_to = 0;
        return step;
      }
      // This log is longer than the primary's: find the divergence again.
      phase_ = phase::querying;
      step.action = backup_action::query;
      step.query = {partition_, known_epoch_, self_, history_.latest()};
      return step;
    case reply_status::below_start:
      // The primary trimmed what this log lacks: copy afresh from its start
      // (a log with a hole would be wrong, and the entries are delivered).
      if (r.log_start <= log_end_)
        return step; // not what the primary says: wait for the retry
      phase_ = phase::resetting;
      pending_truncate_ = r.log_start;
      step.action = backup_action::reset;
      step.truncate_to = r.log_start;
      return step;
    default: return step; // wait for the configuration that explains it
  }
  primary_start_ = std::max(primary_start_, r.log_start);
  if (r.entries.empty()) {
    commit_ = std::max(commit_, std::min(r.commit_offset, log_end_));
    step.action = backup_action::fetch;
    step.fetch = next_fetch();
    return step;
  }
  pending_epochs_.clear();
  for (const auto& e : r.epochs) {
    // An epoch holding `from` started before it: in this log it starts here.
    const epoch_start s{e.epoch, std::max(e.start_offset, r.from_offset)};
    const uint64_t last = pending_epochs_.empty() ? history_.latest()
                                                  : pending_epochs_.back().epoch;
    if (s.epoch > last)
      pending_epochs_.push_back(s);
  }
  pending_commit_ = r.commit_offset;
  phase_ = phase::appending;
  step.action = backup_action::append;
  step.entries = std::move(r.entries);
  step.epochs = pending_epochs_;
  return step;
}

backup_step backup_state::reset_done(uint64_t start) {
  backup_step step;
  if (phase_ != phase::resetting || start != pending_truncate_)
    return step;
  log_end_ = start;
  history_ = epoch_history();
  // Everything below the primary's start was committed (and delivered).
  commit_ = start;
  phase_ = phase::fetching;
  step.action = backup_action::fetch;
  step.fetch = next_fetch();
  return step;
}

backup_step backup_state::appended(uint64_t log_end) {
  backup_step step;
  if (phase_ != phase::appending || log_end < log_end_)
    return step;
  for (const auto& e : pending_epochs_)
    history_.assign(e.epoch, e.start_offset);
  pending_epochs_.clear();
  log_end_ = log_end;
  // Only now durable: the commit offset the primary sent counts up to here.
  commit_ = std::max(commit_, std::min(pending_commit_, log_end_));
  phase_ = phase::fetching;
  step.action = backup_action::fetch;
  step.fetch = next_fetch();
  return step;
}

} // namespace sy::cluster
