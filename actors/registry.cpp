#include "actors/registry.hpp"

#include <algorithm>
#include <cstdio>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "core/signing.hpp"
#include "core/time_format.hpp"
#include "core/type_pattern.hpp"
#include "log/log.hpp"
#include "storage/journal.hpp"

namespace sy::actors {

using core::now_ms;

namespace {

// The error of a change etcd did not confirm (a 503 for the API).
caf::error etcd_unreachable(const mirror_outcome& o) {
  return make_error(errc::unavailable, "etcd cannot be reached (cluster.etcd): " + o.message +
                                         "; the change is not confirmed; retry");
}

// The push gateway's public id: neither "sub_…" nor digits, so no API-made
// subscription can take it.
constexpr std::string_view push_gateway_id = "push_gateway";

} // namespace

void registry_state::start(registry_actor::pointer self, env_t env) {
  self_ = self;
  env_ = std::move(env);
  auto failed = load_subscriptions();
  if (!failed)
    failed = catalog_.load(*env_.journal, *env_.event_types);
  if (!failed)
    failed = load_associations();
  if (failed) {
    // Starting with part of the state would route events wrongly: the node
    // stays not ready (503 on /readyz and the API) rather than guess.
    std::fprintf(stderr,
                 "switchyard: cannot read the journal at start-up (%s); this node stays not "
                 "ready: check the data directory's disk, then restart\n",
                 failed->message.c_str());
    return;
  }
  publish_routes();
  // Ready once the gateway's subscription is stored: until then the API
  // answers 503, and requests that change something wait for the write.
  configure_push_gateway([this] {
    started_ = true;
    maybe_ready();
  });
}

void registry_state::maybe_ready() {
  // In cluster mode, also once the first snapshot of etcd's /sy/subs/ is
  // routed: a node that acknowledged events before it knew the cluster's
  // subscriptions would owe them to nobody (a new node on an empty data
  // directory did so in the fault lab, docs/cluster.md). And of
  // /sy/event_types/: one registered while this node was down would be
  // refused by POST /v1/event until then.
  if (started_ &&
      (env_.mirror == nullptr || (cluster_loaded_ && types_loaded_ && associations_loaded_)))
    env_.ready->store(true);
}

std::optional<storage::error> registry_state::load_subscriptions() {
  // Every queue counted in one scan, not one iterator per subscription.
  auto counts = env_.journal->count_queues();
  if (!counts)
    return counts.error();
  // The records are decoded as they are read, not held all at once.
  auto failed = env_.journal->scan_subscriptions([this](uint64_t number, std::string record) {
    auto sub = decode_subscription(std::move(record));
    if (!sub) {
      // A corrupt record must not stop the node; its queue stays on disk.
      std::fprintf(stderr, "switchyard: subscription record %llu is corrupt; skipped\n",
                   static_cast<unsigned long long>(number));
      return;
    }
    sub->number = number;
    auto id = sub->id;
    subs_.emplace(std::move(id), entry{std::move(*sub), nullptr, nullptr});
  });
  if (failed)
    // Nothing spawned or routed yet: the node stays not ready.
    return failed;
  auto queued_of = [&counts](uint64_t number) -> uint64_t {
    auto it = std::lower_bound(counts->begin(), counts->end(),
                               std::pair<uint64_t, uint64_t>{number, 0});
    return it != counts->end() && it->first == number ? it->second : 0;
  };
  std::vector<entry*> routed;
  routed.reserve(subs_.size());
  for (auto& [id, e] : subs_) {
    spawn(e, true, queued_of(e.sub.number));
    remember_key(e.sub);
    routed.push_back(&e);
  }
  // Added in pattern order, neighbours in the trie are added one after the
  // other and find their path in cache: the index build was a third of
  // start-up at 100 000 in id order (docs/performance.md, S6).
  std::sort(routed.begin(), routed.end(), [](const entry* a, const entry* b) {
    return std::tie(a->sub.types, a->sub.number) < std::tie(b->sub.types, b->sub.number);
  });
  for (auto* e : routed)
    route(*e);
  return std::nullopt;
}

std::optional<storage::error> registry_state::load_associations() {
  auto records = env_.journal->scan_meta(association_prefix);
  if (!records)
    return records.error();
  for (auto& [name, record] : *records) {
    auto a = decode_association_record(record);
    if (!a) {
      // As with subscriptions: one corrupt record must not stop the node.
      std::fprintf(stderr, "switchyard: association record %s is corrupt; skipped\n", name.c_str());
      continue;
    }
    associations_.put(std::move(*a));
  }
  return std::nullopt;
}

void registry_state::configure_push_gateway(std::function<void()> then) {
  const auto& url = env_.push_gateway_url;
  auto* e = find(std::string(push_gateway_id), subscription_kind::push_gateway);
  if (!e) {
    if (url.empty())
      return then();
    subscription s;
    s.id = push_gateway_id;
    s.kind = subscription_kind::push_gateway;
    s.service = "push-gateway";
    s.url = url;
    s.verification_required = false; // configured by the operator, not claimed by a client
    s.state = core::subscription_state::active;
    // Stored like any subscription, so that its queue number survives a
    // restart and what it had not delivered is delivered after it.
    add(std::move(s), [then](caf::expected<entry*> added) {
      if (!added)
        std::fprintf(stderr,
                     "switchyard: could not store the push gateway subscription: %s; "
                     "sendToList answers 503\n",
                     to_domain_error(added.error()).message.c_str());
      then();
    });
    return;
  }
  subscription s = e->sub;
  if (url.empty()) {
    // Paused, not deleted: its queue waits for a gateway to be configured again.
    s.state = core::subscription_state::paused;
  } else {
    s.url = url;
    s.state = core::subscription_state::active;
  }
  if (s.url == e->sub.url && s.state == e->sub.state)
    return then();
  update(*e, std::move(s), [then](caf::expected<void> updated) {
    if (!updated)
      std::fprintf(stderr, "switchyard: could not store the push gateway subscription: %s\n",
                   to_domain_error(updated.error()).message.c_str());
    then();
  });
}

registry_state::~registry_state() {
  for (auto& [id, e] : subs_)
    if (e.slot)
      e.slot->close();
}

void registry_state::spawn(entry& e, bool recovered, uint64_t queued) {
  // One allocation for the slot and the stats; the slot reads e.sub, which
  // stays where it is (a std::map node) until the slot is closed.
  e.slot = std::make_shared<subscriber_slot>(*env_.system, &e.sub, env_.subscriber_env);
  e.stats = e.slot->stats();
  {
    std::lock_guard<std::mutex> guard(e.stats->mutex);
    e.stats->queued = queued;
  }
  // A subscription with events waiting drains them without being asked;
  // an idle one waits for its first event. A pull subscriber is spawned
  // now all the same: its recovery also reads its files' records.
  if (recovered && (queued > 0 || e.sub.delivery == core::delivery_mode::pull))
    e.slot->start(queued);
}

registry_state::entry* registry_state::find(const std::string& id, subscription_kind kind) {
  auto it = subs_.find(id);
  return it == subs_.end() || it->second.sub.kind != kind ? nullptr : &it->second;
}

const registry_state::entry* registry_state::find(const std::string& id,
                                                  subscription_kind kind) const {
  auto it = subs_.find(id);
  return it == subs_.end() || it->second.sub.kind != kind ? nullptr : &it->second;
}

subscription_view registry_state::view(const entry& e, bool show_private_key) const {
  return subscription_view{e.sub, snapshot_of(*e.stats), show_private_key};
}

void registry_state::add(subscription s, added_fn then) {
  auto keys = core::generate_keys();
  s.public_key = keys.public_key;
  if (s.private_key.empty()) // else the client brought its own (POST privateKey)
    s.private_key = keys.private_key;
  s.created_at = now_ms();
  s.verified = s.state != core::subscription_state::pending_verification;
  // Cluster mode: etcd first (the key must not exist yet), then here.
  auto copy = s;
  mirror(
    copy, 0, false,
    [this, s = std::move(s), then = std::move(then)](caf::error err, int64_t revision) mutable {
      if (err)
        return then(std::move(err));
      store_new(std::move(s), revision, std::move(then));
    });
}

void registry_state::store_new(subscription s, int64_t revision, added_fn then, told tell) {
  auto note = tell == told::watcher ? note_for("REGISTER", s) : std::nullopt;
  auto* journal = env_.journal;
  write(
    [journal, s, note]() mutable {
      stored out;
      auto number = journal->add_subscription([&s](uint64_t n) {
        s.number = n;
        return encode_subscription(s);
      });
      if (!number) {
        out.error = make_error(errc::unavailable, "could not store the subscription: " +
                                                    number.error().message + "; retry");
        return out;
      }
      s.number = out.number = *number;
      if (note)
        out.note = journal_note(*journal, *note, s);
      return out;
    },
    [this, s, revision, then = std::move(then)](stored& result) mutable {
      if (result.error)
        return then(std::move(result.error));
      s.number = result.number;
      auto id = s.id;
      auto& placed = subs_.emplace(id, entry{std::move(s), nullptr, nullptr}).first->second;
      placed.revision = revision;
      spawn(placed, false, 0);
      remember_key(placed.sub);
      if (route(placed))
        publish_routes();
      deliver_note(std::move(result.note));
      then(&placed);
    });
}

void registry_state::update(entry& e, subscription next, updated_fn then) {
  // Cluster mode: etcd first, only if nobody changed the key since this
  // node last saw it (else 409), then here. `e` outlives the call: changes
  // wait for it.
  auto copy = next;
  mirror(copy, e.revision, false,
         [this, &e, next = std::move(next), then = std::move(then)](caf::error err,
                                                                    int64_t revision) mutable {
           if (err)
             return then(std::move(err));
           store_update(e, std::move(next), revision, std::move(then));
         });
}

void registry_state::store_update(entry& e, subscription next, int64_t revision, updated_fn then,
                                  told tell) {
  auto note = tell == told::watcher ? note_for("CHANGE", next) : std::nullopt;
  auto* journal = env_.journal;
  write(
    [journal, next, note] {
      stored out;
      if (auto err = journal->put_subscription(next.number, encode_subscription(next))) {
        out.error = make_error(errc::unavailable,
                               "could not store the subscription: " + err->message + "; retry");
        return out;
      }
      if (note)
        out.note = journal_note(*journal, *note, next);
      return out;
    },
    // `e` outlives the write: only a change erases an entry, and changes
    // wait for this write to end.
    [this, &e, next, revision, then = std::move(then)](stored& result) mutable {
      if (result.error)
        return then(std::move(result.error));
      const bool routing_changed = next.types != e.sub.types || next.country != e.sub.country ||
                                   next.state != e.sub.state;
      forget_key(e.sub);
      // Under the slot's lock: the commit thread may be spawning from e.sub.
      e.slot->update(std::move(next));
      if (revision > 0)
        e.revision = revision;
      remember_key(e.sub);
      if (routing_changed && route(e))
        publish_routes();
      deliver_note(std::move(result.note));
      then(caf::unit);
    });
}

void registry_state::mirror(const subscription& sub, int64_t expected_revision, bool erase,
                            mirrored_fn then) {
  if (!env_.mirror || !sub.is_mirrored())
    return then(caf::error{}, 0);
  writing_ = true; // changes wait for etcd's answer, as for a journal write
  auto me = caf::actor_cast<registry_actor>(self_);
  const bool create = !erase && !subs_.count(sub.id);
  auto done = [this, me, id = sub.id, create, then = std::move(then)](mirror_outcome o) {
    caf::anon_send(me, storage_done{[this, id, create, o, then]() mutable {
                     writing_ = false;
                     caf::error err;
                     if (o.result == mirror_outcome::kind::conflict)
                       err = make_error(
                         errc::conflict,
                         create
                           ? "subscription " + id + " exists in the cluster already (etcd); retry"
                           : "subscription " + id +
                               " was changed or deleted on another node meanwhile (or this "
                               "node has not read it from etcd yet); read it again and retry");
                     else if (o.result == mirror_outcome::kind::unreachable)
                       err = etcd_unreachable(o);
                     then(std::move(err), o.revision);
                     drain_remote();
                   }});
  };
  if (erase)
    env_.mirror->erase(sub.id, std::move(done));
  else
    env_.mirror->put(sub.id, mirror_record(sub), expected_revision, std::move(done));
}

void registry_state::drop(const std::string& id, std::function<void(caf::error)> then, told tell) {
  auto* journal = env_.journal;
  auto& e = subs_.at(id);
  auto note = tell == told::watcher ? note_for("DELETE", e.sub) : std::nullopt;
  write(
    [journal, sub = e.sub, note] {
      stored out;
      if (auto err = journal->delete_subscription(sub.number)) {
        out.error = make_error(errc::unavailable,
                               "could not delete the subscription: " + err->message + "; retry");
        return out;
      }
      if (note)
        out.note = journal_note(*journal, *note, sub);
      return out;
    },
    [this, id, then = std::move(then)](stored& result) mutable {
      if (result.error)
        return then(std::move(result.error));
      // Still there: only a change erases an entry, and changes waited.
      auto it = subs_.find(id);
      it->second.slot->close();
      if (it->second.sub.kind == subscription_kind::native)
        tell_streams("deleted", it->second.sub);
      forget_key(it->second.sub);
      const bool routed = unroute(it->second);
      subs_.erase(it);
      if (routed)
        publish_routes();
      deliver_note(std::move(result.note));
      then(caf::error{});
    });
}

void registry_state::apply_cluster(cluster_subscriptions changes) {
  auto step_of = [](remote_subscription change) {
    remote_step step;
    step.change = std::move(change);
    return step;
  };
  if (changes.snapshot) {
    remote_step end;
    end.reconcile = true;
    end.revision = changes.revision;
    for (auto& c : changes.changes) {
      end.present.insert(c.id);
      remote_.push_back(step_of(std::move(c)));
    }
    remote_.push_back(std::move(end));
  } else {
    for (auto& c : changes.changes)
      remote_.push_back(step_of(std::move(c)));
  }
  drain_remote();
}

void registry_state::drain_remote() {
  while (!writing_ && !remote_.empty()) {
    auto step = std::move(remote_.front());
    remote_.pop_front();
    apply_step(std::move(step));
  }
}

void registry_state::apply_step(remote_step step) {
  if (step.type)
    return apply_type_step(std::move(*step.type));
  if (step.associations)
    return apply_association_step(std::move(*step.associations), step.associations_snapshot);
  if (step.types_loaded) {
    types_loaded_ = true; // every type step before this one is applied
    return maybe_ready();
  }
  auto log_failure = [](const std::string& id, const caf::error& err) {
    if (err)
      log::write(log::level::warn, "cluster.subscription_not_applied",
                 "could not apply a subscription change read from etcd: " +
                   to_domain_error(err).message,
                 {{"subscription", id}});
  };
  if (step.reconcile) {
    // The end of a snapshot: what it did not hold was deleted meanwhile
    // (unless this node wrote it after the snapshot's revision).
    std::map<std::string, int64_t> local;
    for (const auto& [id, e] : subs_)
      if (e.sub.is_mirrored())
        local.emplace(id, e.revision);
    std::erase_if(deleted_at_, [&](const auto& d) { return d.second <= step.revision; });
    for (auto& id : absent_from_snapshot(local, step.present, step.revision)) {
      remote_step gone;
      gone.change.id = std::move(id);
      gone.change.deleted = true;
      gone.revision = step.revision; // removed only if still not written after it
      remote_.push_front(std::move(gone));
    }
    // Every put of the snapshot before this step is stored and routed.
    cluster_loaded_ = true;
    maybe_ready();
    return;
  }
  auto& c = step.change;
  auto it = subs_.find(c.id);
  entry* e = it == subs_.end() ? nullptr : &it->second;
  if (c.deleted) {
    bool remove = false;
    if (step.revision > 0) { // a snapshot's reconciliation
      remove = e && e->sub.is_mirrored() && e->revision <= step.revision;
    } else {
      auto& at = deleted_at_[c.id];
      at = std::max(at, c.revision);
      remove = e && e->sub.is_mirrored() && decide_delete(e->revision, c.revision);
    }
    if (remove)
      drop(
        c.id, [log_failure, id = c.id](caf::error err) { log_failure(id, err); }, told::not_here);
    return;
  }
  auto incoming = decode_subscription(c.record);
  if (!incoming || incoming->id != c.id) {
    log::write(log::level::warn, "cluster.subscription_corrupt",
               "a subscription record in etcd cannot be read; skipped", {{"subscription", c.id}});
    return;
  }
  switch (decide_put(e ? &e->sub : nullptr, e ? e->revision : 0, deleted_at(c.id), *incoming,
                     c.revision)) {
    case remote_verdict::ignore: return;
    case remote_verdict::adopt: e->revision = c.revision; return;
    case remote_verdict::add: {
      std::vector<std::pair<subscription, int64_t>> batch;
      batch.emplace_back(std::move(*incoming), c.revision);
      take_remote_adds(batch);
      if (batch.size() > 1)
        return store_new_batch(std::move(batch));
      store_new(
        std::move(batch.front().first), c.revision,
        [this, log_failure, id = c.id](caf::expected<entry*> added) {
          if (!added)
            return log_failure(id, added.error());
          tell_streams("created", (*added)->sub);
        },
        told::not_here);
      return;
    }
    case remote_verdict::replace:
      incoming->number = e->sub.number;
      store_update(
        *e, std::move(*incoming), c.revision,
        [this, log_failure, e, id = c.id](caf::expected<void> updated) {
          if (!updated)
            return log_failure(id, updated.error());
          tell_streams("updated", e->sub);
        },
        told::not_here);
      return;
  }
}

int64_t registry_state::deleted_at(const std::string& id) const {
  auto it = deleted_at_.find(id);
  return it == deleted_at_.end() ? 0 : it->second;
}

void registry_state::take_remote_adds(std::vector<std::pair<subscription, int64_t>>& batch) {
  constexpr std::size_t max_batch = 512;
  std::set<std::string> ids;
  for (const auto& [s, revision] : batch)
    ids.insert(s.id);
  while (batch.size() < max_batch && !remote_.empty()) {
    const auto& next = remote_.front();
    const auto& c = next.change;
    if (next.type || next.associations || next.types_loaded || next.reconcile || c.deleted ||
        subs_.count(c.id) || ids.count(c.id))
      return; // not an add (or its id is in the batch): applied on its own
    auto incoming = decode_subscription(c.record);
    if (!incoming || incoming->id != c.id)
      return; // apply_step logs it
    if (decide_put(nullptr, 0, deleted_at(c.id), *incoming, c.revision) != remote_verdict::add)
      return;
    ids.insert(c.id);
    batch.emplace_back(std::move(*incoming), c.revision);
    remote_.pop_front();
  }
}

void registry_state::store_new_batch(std::vector<std::pair<subscription, int64_t>> batch) {
  auto* journal = env_.journal;
  std::vector<subscription> subs;
  subs.reserve(batch.size());
  for (const auto& [s, revision] : batch)
    subs.push_back(s);
  write(
    [journal, subs = std::move(subs)]() mutable {
      stored out;
      auto first = journal->add_subscriptions(subs.size(), [&subs](uint64_t n, std::size_t i) {
        subs[i].number = n;
        return encode_subscription(subs[i]);
      });
      if (!first)
        out.error = make_error(errc::unavailable, "could not store " + std::to_string(subs.size()) +
                                                    " subscriptions: " + first.error().message);
      else
        out.number = *first;
      return out;
    },
    [this, batch = std::move(batch)](stored& result) mutable {
      if (result.error) {
        log::write(
          log::level::warn, "cluster.subscription_not_applied",
          "could not apply subscriptions read from etcd: " + to_domain_error(result.error).message +
            " (the next snapshot brings them again)",
          {{"subscriptions", std::to_string(batch.size())}});
        return;
      }
      bool routed = false;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        auto& s = batch[i].first;
        s.number = result.number + i;
        auto id = s.id;
        auto& placed = subs_.emplace(id, entry{std::move(s), nullptr, nullptr}).first->second;
        placed.revision = batch[i].second;
        spawn(placed, false, 0);
        remember_key(placed.sub);
        routed = route(placed) || routed;
        tell_streams("created", placed.sub);
      }
      if (routed)
        publish_routes();
    });
}

bool registry_state::unroute(entry& e) {
  if (e.ordinal == unrouted)
    return false;
  index_.remove(e.ordinal);
  targets_.at(e.ordinal) = route_target{};
  if (gateway_ordinal_ == e.ordinal)
    gateway_ordinal_.reset();
  e.ordinal = unrouted;
  return true;
}

bool registry_state::route(entry& e) {
  const bool was = unroute(e);
  const auto& s = e.sub;
  if (!s.receives_events())
    return was;
  if (s.is_client_kind()) {
    e.ordinal = index_.add(core::index_entry{s.id, s.types, s.country});
  } else if (s.kind == subscription_kind::push_gateway &&
             s.state == core::subscription_state::active) {
    // In the index without a pattern: ordinary events never reach the
    // gateway (nor the watcher, which is not routed at all).
    e.ordinal = index_.add(core::index_entry{s.id, {}, {}});
    gateway_ordinal_ = e.ordinal;
  } else {
    return was;
  }
  targets_.at(e.ordinal) = route_target{s.number, e.slot};
  return true;
}

void registry_state::publish_routes() {
  env_.routes->publish(
    std::make_shared<route_table>(index_.snapshot(), targets_.publish(), gateway_ordinal_));
}

void registry_state::remember_key(const subscription& sub) {
  if (sub.delivery == core::delivery_mode::pull && !sub.access_key.empty())
    pull_keys_.emplace(std::hash<std::string_view>{}(sub.access_key), sub.id);
}

void registry_state::forget_key(const subscription& sub) {
  if (sub.delivery != core::delivery_mode::pull || sub.access_key.empty())
    return;
  auto [lo, hi] = pull_keys_.equal_range(std::hash<std::string_view>{}(sub.access_key));
  for (auto it = lo; it != hi; ++it)
    if (it->second == sub.id) {
      pull_keys_.erase(it);
      return;
    }
}

void registry_state::store_event_type(core::event_type_def type,
                                      std::function<void(caf::error, bool)> then) {
  auto* journal = env_.journal;
  auto [name, record] = event_type_catalog::record_of(type);
  write([journal, name = std::move(name),
         record = std::move(record)] { return journal->put_meta(name, record); },
        [this, type = std::move(type),
         then = std::move(then)](std::optional<storage::error>& err) mutable {
          if (err)
            return then(make_error(errc::unavailable,
                                   "could not store the event type: " + err->message + "; retry"),
                        false);
          then(caf::error{}, catalog_.adopt(std::move(type)));
        });
}

void registry_state::forget_event_type(const std::string& code,
                                       std::function<void(caf::error)> then) {
  auto* journal = env_.journal;
  write([journal, name = event_type_catalog::key_of(code)] { return journal->delete_meta(name); },
        [this, code, then = std::move(then)](std::optional<storage::error>& err) mutable {
          if (err)
            return then(make_error(errc::unavailable,
                                   "could not delete the event type: " + err->message + "; retry"));
          catalog_.forget(code);
          then(caf::error{});
        });
}

std::function<void(mirror_outcome)> registry_state::last_writer_wins(
  std::function<void(caf::error)> then) {
  writing_ = true; // changes wait for etcd's answer, as for a journal write
  auto me = caf::actor_cast<registry_actor>(self_);
  return [this, me, then = std::move(then)](mirror_outcome o) {
    caf::anon_send(me, storage_done{[this, o, then]() mutable {
                     writing_ = false;
                     caf::error err;
                     if (o.result != mirror_outcome::kind::ok)
                       err = etcd_unreachable(o);
                     then(std::move(err));
                     drain_remote();
                   }});
  };
}

void registry_state::mirror_event_type(const std::string& code, std::string record,
                                       std::function<void(caf::error)> then) {
  if (!env_.mirror)
    return then(caf::error{});
  auto done = last_writer_wins(std::move(then));
  if (record.empty())
    env_.mirror->erase_event_type(code, std::move(done));
  else
    env_.mirror->put_event_type(code, std::move(record), std::move(done));
}

caf::result<event_type_stored> registry_state::put_event_type(core::event_type_def type) {
  auto rp = self_->make_response_promise<event_type_stored>();
  auto code = type.code;
  auto record = event_type_catalog::record_of(type).second;
  // In a cluster etcd first, so that every node (this one too, through its
  // watch) ends with the last write.
  mirror_event_type(
    code, std::move(record), [this, rp, type = std::move(type)](caf::error err) mutable {
      if (err) {
        rp.deliver(std::move(err));
        return;
      }
      auto copy = type;
      store_event_type(std::move(type),
                       [rp, copy = std::move(copy)](caf::error err, bool added) mutable {
                         if (err) {
                           rp.deliver(std::move(err));
                           return;
                         }
                         rp.deliver(event_type_stored{std::move(copy), added});
                       });
    });
  return rp;
}

caf::result<event_type_deleted> registry_state::remove_event_type(const std::string& code) {
  if (!catalog_.contains(code))
    return event_type_deleted{false};
  auto rp = self_->make_response_promise<event_type_deleted>();
  mirror_event_type(code, {}, [this, rp, code](caf::error err) mutable {
    if (err) {
      rp.deliver(std::move(err));
      return;
    }
    forget_event_type(code, [rp](caf::error err) mutable {
      if (err) {
        rp.deliver(std::move(err));
        return;
      }
      rp.deliver(event_type_deleted{true});
    });
  });
  return rp;
}

void registry_state::apply_cluster_types(cluster_event_types changes) {
  if (changes.snapshot) {
    std::set<std::string> present;
    for (const auto& c : changes.changes)
      present.insert(c.code);
    catalog_.for_each([&](const core::event_type_def& type) {
      if (present.count(type.code))
        return;
      remote_step gone;
      gone.type.emplace();
      gone.type->code = type.code;
      gone.type->deleted = true;
      remote_.push_back(std::move(gone));
    });
  }
  for (auto& c : changes.changes) {
    remote_step step;
    step.type = std::move(c);
    remote_.push_back(std::move(step));
  }
  if (changes.snapshot) {
    remote_step end;
    end.types_loaded = true;
    remote_.push_back(std::move(end));
  }
  drain_remote();
}

void registry_state::apply_type_step(remote_event_type change) {
  auto log_failure = [code = change.code](const caf::error& err) {
    if (err)
      log::write(log::level::warn, "cluster.event_type_not_applied",
                 "could not apply an event type change read from etcd: " +
                   to_domain_error(err).message,
                 {{"code", code}});
  };
  if (change.deleted) {
    if (catalog_.contains(change.code))
      forget_event_type(change.code, log_failure);
    return;
  }
  if (catalog_.holds(change.code, change.record))
    return; // this node's own write, or a repeat
  auto type = core::decode_event_type(change.record);
  if (!type || type->code != change.code) {
    log::write(log::level::warn, "cluster.event_type_corrupt",
               "an event type record in etcd cannot be read; skipped", {{"code", change.code}});
    return;
  }
  store_event_type(std::move(*type), [log_failure](caf::error err, bool) { log_failure(err); });
}

event_type_list registry_state::subscribed_event_types() const {
  // The country filter is ignored: a subscription on "acme.*" for NO still
  // consumes acme events. Control-plane sizes keep the full scan cheap.
  auto subscribed = [this](const std::string& type) {
    for (const auto& [id, e] : subs_) {
      if (!e.sub.receives_events() || !e.sub.is_client_kind())
        continue;
      for (const auto& pattern : e.sub.types)
        if (core::pattern_matches(pattern, type))
          return true;
    }
    return false;
  };
  event_type_list out;
  catalog_.for_each([&](const core::event_type_def& type) {
    if (subscribed(type.routed_type()))
      out.items.push_back(type);
  });
  return out;
}

caf::result<done> registry_state::put_association(core::association_spec a) {
  auto rp = self_->make_response_promise<done>();
  auto* journal = env_.journal;
  // Encoded before the call: the continuation below takes `a` by move, and
  // the order in which a call's arguments are made is unspecified.
  auto name = association_key(a.token);
  auto record = encode_association(a);
  auto token = a.token;
  auto store = [this, rp, journal, name = std::move(name), record,
                a = std::move(a)](caf::error err) mutable {
    if (err) {
      rp.deliver(std::move(err));
      return;
    }
    write([journal, name = std::move(name),
           record = std::move(record)] { return journal->put_meta(name, record); },
          [this, rp, a = std::move(a)](std::optional<storage::error>& err) mutable {
            if (err) {
              rp.deliver(make_error(
                errc::unavailable, "could not store the association: " + err->message + "; retry"));
              return;
            }
            associations_.put(std::move(a));
            rp.deliver(done{});
          });
  };
  // In a cluster etcd first, so that every node can resolve it.
  if (!env_.mirror)
    store(caf::error{});
  else
    mirror_association(token, std::move(record), std::move(store));
  return rp;
}

void registry_state::mirror_association(const std::string& token, std::string record,
                                        std::function<void(caf::error)> then) {
  env_.mirror->put_association(token, std::move(record), last_writer_wins(std::move(then)));
}

void registry_state::apply_cluster_associations(cluster_associations changes) {
  remote_step step;
  step.associations = std::move(changes.records);
  step.associations_snapshot = changes.snapshot;
  remote_.push_back(std::move(step));
  drain_remote();
}

namespace {

// What one upload of the associations etcd lacked came to.
struct upload_tally {
  std::size_t uploaded = 0;
  std::size_t already = 0; // another node wrote the token first: its record stands
};

// Writes rows[i..] (token, record) to etcd one after another, each only if
// etcd holds no association for its token, and logs the outcome once.
void upload_missing(subscription_mirror* mirror,
                    std::shared_ptr<std::vector<std::pair<std::string, std::string>>> rows,
                    std::size_t i, upload_tally tally) {
  if (i == rows->size()) {
    log::write(log::level::info, "cluster.associations_uploaded",
               "uploaded " + std::to_string(tally.uploaded) +
                 " push association(s) that only this node held (taken before associations "
                 "were kept in etcd, or lost by etcd); " +
                 std::to_string(tally.already) + " were already in etcd, written by another node",
               {});
    return;
  }
  const auto& [token, record] = (*rows)[i];
  mirror->add_association(token, record, [mirror, rows, i, tally](mirror_outcome o) mutable {
    if (o.result == mirror_outcome::kind::unreachable) {
      log::write(log::level::warn, "cluster.associations_not_uploaded",
                 "could not upload " + std::to_string(rows->size() - i) +
                   " push association(s) that only this node holds: " + o.message +
                   "; they are uploaded at the next start",
                 {});
      return;
    }
    ++(o.result == mirror_outcome::kind::ok ? tally.uploaded : tally.already);
    upload_missing(mirror, std::move(rows), i + 1, tally);
  });
}

} // namespace

void registry_state::apply_association_step(std::vector<std::string> records, bool snapshot) {
  std::vector<core::association_spec> changed;
  std::vector<std::pair<std::string, std::string>> rows; // (meta name, record)
  // The first snapshot: associations this node holds and etcd does not
  // (taken on this node before they were kept in etcd) are uploaded.
  const bool first_snapshot = snapshot && !associations_loaded_ && env_.mirror;
  std::unordered_set<std::string> in_etcd;
  for (auto& record : records) {
    auto a = decode_association_record(record);
    if (!a) {
      log::write(log::level::warn, "cluster.association_corrupt",
                 "an association record in etcd cannot be read; skipped");
      continue;
    }
    if (first_snapshot)
      in_etcd.insert(a->token);
    if (const auto* local = associations_.find(a->token); local && *local == *a)
      continue; // this node's own write, or a repeat
    rows.emplace_back(association_key(a->token), std::move(record));
    changed.push_back(std::move(*a));
  }
  if (first_snapshot) {
    auto missing = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
    associations_.for_each([&](const core::association_spec& a) {
      if (!in_etcd.count(a.token))
        missing->emplace_back(a.token, encode_association(a));
    });
    if (!missing->empty())
      upload_missing(env_.mirror, std::move(missing), 0, {});
  }
  auto loaded = [this, snapshot] {
    if (snapshot && !associations_loaded_) {
      associations_loaded_ = true;
      maybe_ready();
    }
  };
  if (changed.empty())
    return loaded();
  auto* journal = env_.journal;
  write(
    [journal, rows = std::move(rows)] {
      std::vector<std::pair<std::string_view, std::string_view>> meta(rows.begin(), rows.end());
      return journal->append_records({}, storage::append_sync::elsewhere, meta);
    },
    [this, changed = std::move(changed), loaded](std::optional<storage::error>& err) mutable {
      if (err) // the next snapshot (a restart, a compaction) brings them again
        log::write(log::level::warn, "cluster.associations_not_applied",
                   "could not store " + std::to_string(changed.size()) +
                     " association(s) read from etcd: " + err->message);
      for (auto& a : changed) // resolvable here even so; etcd holds them
        associations_.put(std::move(a));
      loaded();
    });
}

push_tokens registry_state::resolve(const core::send_to_list_spec& spec) const {
  return push_tokens{resolve_tokens(spec, &associations_)};
}

caf::expected<pull_subscriber_found> registry_state::pull_subscriber(
  std::string_view access_key) const {
  if (!access_key.empty()) {
    auto [lo, hi] = pull_keys_.equal_range(std::hash<std::string_view>{}(access_key));
    for (auto it = lo; it != hi; ++it) {
      auto found = subs_.find(it->second);
      if (found != subs_.end() && found->second.sub.delivery == core::delivery_mode::pull &&
          core::constant_time_equal(found->second.sub.access_key, access_key))
        return pull_subscriber_found{found->second.slot->get(), found->second.sub.id};
    }
  }
  return make_error(errc::unauthorized, "unknown accessKey");
}

stats_table registry_state::stats() const {
  stats_table out;
  out.rows.reserve(subs_.size());
  for (const auto& [id, e] : subs_)
    out.rows.push_back(stats_row{id, snapshot_of(*e.stats)});
  return out;
}

namespace {

registry_actor::behavior_type registry_behavior(
  registry_actor::stateful_pointer<registry_state> self, registry_state::env_t env) {
  self->state.start(self, std::move(env));
  auto& st = self->state;
  // A request that changes something returns caf::skip while a synced write
  // runs: CAF keeps it in the mailbox, in order, and offers it again once
  // the write's storage_done has been handled. Reads are answered at once.
  return {
    [&st](create_subscription& x) -> caf::result<subscription_view> {
      if (st.writing())
        return caf::skip;
      return st.create(std::move(x.spec));
    },
    [&st](create_dashboard_subscription& x) -> caf::result<subscription_view> {
      if (st.writing())
        return caf::skip;
      return st.create_dashboard(std::move(x.spec));
    },
    [&st](const list_subscriptions& x) -> caf::result<subscription_list> {
      return st.list(x.kind);
    },
    [&st](const get_subscription& x) -> caf::result<subscription_view> {
      return st.get(x.kind, x.id);
    },
    [&st](patch_subscription& x) -> caf::result<subscription_view> {
      if (st.writing())
        return caf::skip;
      return st.patch(x.id, std::move(x.spec));
    },
    [&st](const delete_subscription& x) -> caf::result<done> {
      if (st.writing())
        return caf::skip;
      return st.remove(x.kind, x.id);
    },
    [&st](const verify_subscription& x) -> caf::result<subscription_view> {
      if (st.writing())
        return caf::skip;
      return st.verify(x.id);
    },
    [&st](const pause_subscription& x) -> caf::result<subscription_view> {
      if (st.writing())
        return caf::skip;
      return st.change_state(x.id, core::subscription_state::paused);
    },
    [&st](const activate_subscription& x) -> caf::result<subscription_view> {
      if (st.writing())
        return caf::skip;
      return st.change_state(x.id, core::subscription_state::active);
    },
    [&st](const purge_subscription& x) -> caf::result<purged> {
      if (st.writing())
        return caf::skip;
      return st.purge(x.id);
    },
    [&st](const list_dead_letters& x) -> caf::result<dead_letter_list> {
      return st.dead_letters(x);
    },
    [&st](const replay_subscription& x) -> caf::result<replayed> {
      if (st.writing())
        return caf::skip;
      return st.replay(x);
    },
    [&st](const replay_dead_letter& x) -> caf::result<replayed> {
      if (st.writing())
        return caf::skip;
      return st.replay_one(x.id, x.event_id);
    },
    [&st](const drop_dead_letters& x) -> caf::result<purged> {
      if (st.writing())
        return caf::skip;
      return st.drop_dead(x.id);
    },
    [&st](put_watcher& x) -> caf::result<watcher_view> {
      if (st.writing())
        return caf::skip;
      return st.put_watcher(std::move(x.spec));
    },
    [&st](const get_watcher&) -> caf::result<watcher_view> { return st.get_watcher(); },
    [&st](const delete_watcher&) -> caf::result<done> {
      if (st.writing())
        return caf::skip;
      return st.remove_watcher();
    },
    [&st](put_event_type& x) -> caf::result<event_type_stored> {
      if (st.writing())
        return caf::skip;
      return st.put_event_type(std::move(x.type));
    },
    [&st](const delete_event_type& x) -> caf::result<event_type_deleted> {
      if (st.writing())
        return caf::skip;
      return st.remove_event_type(x.code);
    },
    [&st](const list_subscribed_event_types&) -> caf::result<event_type_list> {
      return st.subscribed_event_types();
    },
    [&st](put_association& x) -> caf::result<done> {
      if (st.writing())
        return caf::skip;
      return st.put_association(std::move(x.association));
    },
    [&st](const resolve_push_tokens& x) -> caf::result<push_tokens> { return st.resolve(x.spec); },
    [&st](const find_pull_subscriber& x) -> caf::result<pull_subscriber_found> {
      return st.pull_subscriber(x.access_key);
    },
    [&st](const list_stats&) -> caf::result<stats_table> { return st.stats(); },
    [&st](const get_attempts& x) -> caf::result<attempt_list> {
      return st.attempts(x.id, x.limit);
    },
    [&st](const rotate_keys& x) -> caf::result<subscription_view> {
      if (st.writing())
        return caf::skip;
      return st.rotate(x.id, x.grace_seconds);
    },
    [&st](const verification_answer& x) -> caf::result<void> {
      if (st.writing())
        return caf::skip;
      st.finish_verify(x);
      return caf::unit;
    },
    [](storage_done& x) { x.then(); },
    [&st](cluster_subscriptions& x) { st.apply_cluster(std::move(x)); },
    [&st](cluster_event_types& x) { st.apply_cluster_types(std::move(x)); },
    [&st](cluster_associations& x) { st.apply_cluster_associations(std::move(x)); },
  };
}

} // namespace

registry_actor spawn_registry(caf::actor_system& sys, registry_state::env_t env) {
  // Scheduled, not detached: its fsync'd writes go to storage::blocking_worker,
  // and a detached actor's thread would make ~actor_system wait for every
  // last handle to it, including those in pending timers.
  return sys.spawn(registry_behavior, std::move(env));
}

} // namespace sy::actors
