// Membership and the controller. join() runs on the caller's thread and
// waits on etcd's answers; everything after it runs on one strand: the
// keep-alive tick, the watch's snapshot and events (posted over from the
// watch's own strand) and the controller's transactions. keys_ mirrors
// every key under /sy/ as the watch last reported it; view_ is rebuilt from
// it after each change and read under view_mutex_ by any thread.

#include "cluster/membership.hpp"

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "cluster/etcd_client.hpp"
#include "cluster/etcd_watch.hpp"
#include "cluster/node_number.hpp"
#include "cluster/placement.hpp"
#include "log/log.hpp"

namespace sy::cluster {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

// Returns true for the keys of the registries app/cluster_subs.cpp watches
// (subscriptions, event types, push associations): they do not touch the
// membership view, which would otherwise hold a copy of every one.
bool is_registry_key(const std::string& key) {
  return key.rfind("/sy/subs/", 0) == 0 || key.rfind("/sy/event_types/", 0) == 0 ||
         key.rfind("/sy/associations/", 0) == 0;
}

const std::string progress_prefix = "/sy/progress/";

// Returns true for the delivery records (/sy/progress/<p>): kept apart from
// the keys of the membership view (they change while a partition's release
// is held, and the view needs nothing from them).
bool is_progress_key(const std::string& key) { return key.rfind(progress_prefix, 0) == 0; }

const std::string root_prefix = "/sy/";
const std::string meta_key = "/sy/meta";
const std::string controller_key = "/sy/controller";
const std::string members_prefix = "/sy/members/";
const std::string suspects_prefix = "/sy/suspects/";
const std::string nodes_prefix = "/sy/nodes/";
const std::string parts_prefix = "/sy/parts/";
const std::string proposals_prefix = "/sy/proposals/";
// The last node number handed out (decimal), and each node's, for display.
const std::string node_numbers_key = "/sy/node_numbers";
const std::string node_number_prefix = "/sy/node_number/";

std::string part_key(uint32_t p) { return parts_prefix + std::to_string(p); }
std::string proposal_key(uint32_t p) { return proposals_prefix + std::to_string(p); }
std::string progress_key(uint32_t p) { return progress_prefix + std::to_string(p); }

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Returns partition `p`'s configuration from its key (the epoch is the
// key's mod_revision); without primary or replicas when the value is not
// one.
partition_view parse_part(uint32_t p, const etcd_kv& kv) {
  partition_view out = decode_part(kv.value).value_or(partition_view{});
  out.partition = p;
  out.epoch = kv.mod_revision;
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// Calls `start(callback)` and waits, at most `timeout`, for its answer.
template <class T, class Start>
core::expected<T, etcd_error> call(Start start, std::chrono::milliseconds timeout) {
  auto p = std::make_shared<std::promise<core::expected<T, etcd_error>>>();
  auto f = p->get_future();
  start([p](core::expected<T, etcd_error> r) { p->set_value(std::move(r)); });
  if (f.wait_for(timeout + std::chrono::milliseconds(500)) != std::future_status::ready)
    return etcd_error{0, "no answer from etcd in time"};
  return f.get();
}

} // namespace

partition_view next_configuration(const partition_view& current,
                                  const std::vector<std::string>& live, uint32_t replicas,
                                  const in_sync_proposal* proposal, bool prefer) {
  partition_view next;
  next.partition = current.partition;
  next.epoch = current.epoch;
  auto wanted = replicas_of(current.partition, live, replicas);
  if (wanted.empty())
    return next;
  if (current.epoch == 0) {
    // A new partition: nothing written yet, every replica holds it all.
    next.replicas = wanted;
    next.primary = wanted.front();
    next.in_sync = wanted;
    return next;
  }
  // Only a node that was in sync and is still live stays in sync; a
  // backup joins the set only when the current primary proposed it in the
  // current epoch (it had fetched up to the primary's durable end).
  std::vector<std::string> in_sync;
  for (const auto& n : current.in_sync)
    if (contains(live, n) && !contains(in_sync, n))
      in_sync.push_back(n);
  const bool primary_holds = contains(in_sync, current.primary);
  if (proposal && primary_holds && proposal->primary == current.primary &&
      proposal->epoch == current.epoch) {
    for (const auto& n : proposal->nodes)
      if (contains(current.replicas, n) && contains(live, n) && !contains(in_sync, n))
        in_sync.push_back(n);
    // A backup the primary has not heard from: out, so that commits stop
    // waiting for it (it is no longer electable until proposed again).
    std::erase_if(in_sync, [&](const std::string& n) {
      return n != current.primary && contains(proposal->drop, n);
    });
  }
  if (in_sync.empty()) {
    // No live node holds every committed entry: no primary (no unclean
    // election) until one of them returns; the set is kept as it was.
    next.replicas = wanted;
    next.in_sync = current.in_sync;
    return next;
  }
  // The wanted replicas, and while some of them are still catching up, the
  // live in-sync nodes too (a moving partition keeps its data holders).
  next.replicas = wanted;
  const bool settled = std::all_of(wanted.begin(), wanted.end(),
                                   [&](const auto& n) { return contains(in_sync, n); });
  if (!settled)
    for (const auto& n : in_sync)
      if (!contains(next.replicas, n))
        next.replicas.push_back(n);
  for (const auto& n : in_sync)
    if (contains(next.replicas, n))
      next.in_sync.push_back(n);
  if (prefer && settled && contains(next.in_sync, current.primary) &&
      contains(next.in_sync, wanted.front())) {
    // Back to the preferred replica: it holds every committed entry.
    next.primary = wanted.front();
  } else if (contains(next.in_sync, current.primary)) {
    next.primary = current.primary;
  } else {
    // Fail over (or hand over) to a replica that holds every committed entry.
    auto it = std::find_if(next.replicas.begin(), next.replicas.end(),
                           [&](const std::string& n) { return contains(next.in_sync, n); });
    next.primary = *it;
  }
  return next;
}

// The timeout of each attempt of a revoke, a suspicion or rotate()'s choice
// of an etcd, and the least time between two attempts
// (membership::impl::revoke_member, choose_etcd).
constexpr auto quick_timeout = std::chrono::milliseconds(500);
constexpr auto quick_spacing = std::chrono::milliseconds(250);
// How long rotate()'s choice asks every etcd before it moves on blindly (as
// long as one call's timeout).
constexpr auto choose_for = std::chrono::milliseconds(2000);

struct membership::impl : std::enable_shared_from_this<membership::impl> {
  impl(asio::io_context& ioc, transport::http_client& http, membership_options options)
      : ioc_(ioc), strand_(asio::make_strand(ioc)), tick_(strand_), http_(http),
        opt_(std::move(options)) {
    for (const auto& url : opt_.etcd) {
      clients_.push_back(
        std::make_unique<etcd_client>(http_, url, std::chrono::milliseconds(2000)));
      renewers_.push_back(std::make_unique<etcd_client>(http_, url, opt_.keep_alive_every));
      quick_.push_back(std::make_unique<etcd_client>(http_, url, quick_timeout));
    }
    view_.node = opt_.node;
  }

  etcd_client& etcd() { return *clients_[current_]; }

  // Moves to the next etcd URL after the one at index `at` did not answer;
  // returns whether it moved. A call sent to a URL the node has moved on
  // from since moves nothing: its late failure would take the node, and
  // its watch, back to the member it left. The watch moves with the node,
  // whichever call failed: a member that does not answer (cut off from
  // etcd's leader) has a stream that brings nothing new either, and a
  // watch left behind on a member that keep-alives no longer use goes
  // blind, unseen, when that member is cut off later (the fault lab's
  // isolate: a survivor whose watch had stayed on the isolated node's
  // member never saw the failover's configurations, and its partitions
  // stalled for the whole isolation).
  // So does the lease, at once: whichever call failed, the keep-alives
  // sent since went to the member left, and their failures no longer
  // count (on_kept). Waiting for the next tick could let the lease end: a
  // 2 s call that times out moves the node up to 2 s after a renewal was
  // last answered, and the next tick may come 1 s after that.
  //
  // Once the node is a member (the watch starts after the lease is
  // granted), the next etcd is not taken blindly: a keep-alive goes to
  // every etcd at once, renewing the lease wherever it is answered, and
  // the node moves to the first that answers (staying where it is when
  // that is its own). When
  // the etcd leader is lost, every member holds calls for about a second
  // (a follower's forward to the lost leader waits out etcd's own peer
  // timeout, then goes to the new one), and the next etcd in the list may
  // be the lost member itself: moving there blindly left the watch blind
  // for another second or two (the fault lab's isolate_leader). Only when
  // none answers does the node move to the next one as before.
  // A member that refused the connection is gone (its etcd stopped or
  // killed, not cut off): the node leaves it for the next one at once, its
  // watch with it, and the choice then moves it to the first that
  // answers. While etcd elects a new leader no keep-alive is answered for
  // a second or more; meanwhile a node left on the gone member wrote
  // nothing and its watch saw nothing, though a watch needs no leader and
  // a write waits there only for the election: in the fault lab's
  // kill9_etcd_leader, a controller on the killed member reassigned the
  // lost node's partitions up to 0.9 s after the revoke, and another
  // survivor learned the new configurations up to 1 s after they were
  // written. Strand only once joined.
  bool rotate(const etcd_error& e, std::size_t at) {
    if (e.status != 0 || clients_.size() < 2 || at != current_)
      return false;
    if (!watch_) { // during the join: start_watch() begins on current_
      current_ = (current_ + 1) % clients_.size();
      return true;
    }
    // Once between renewals: with every member refusing (etcd down), the
    // choice's moves, one per failed renewal, go on as before, instead of
    // a move (and a subscription watch move, logged) per refused retry.
    if (e.refused && !moved_)
      move_to((current_ + 1) % clients_.size());
    choose_etcd();
    return true;
  }

  // Makes etcd `i` the node's, its watches with it, and logs it: one line
  // for the lease, the writes and every watch (each watch's own move tells
  // nothing). Strand only.
  void move_to(std::size_t i) {
    if (i == current_)
      return;
    log::write(log::level::warn, "cluster.etcd_moved",
               "this node uses etcd " + opt_.etcd[i] + " now, not " + opt_.etcd[current_] +
                 ", which did not answer: its lease renewals, etcd writes and watches go there",
               {{"etcd", opt_.etcd[i]}});
    current_ = i;
    watch_->move_to(opt_.etcd[current_], *clients_[current_]);
    if (opt_.watch_moved)
      opt_.watch_moved(current_);
    moved_ = true;
  }

  // rotate()'s choice: a keep-alive to every etcd; the first to answer is
  // the node's from now on (and renewed the lease). One choice at a time.
  // Each attempt waits quick_timeout; one that no etcd answered is sent
  // again (at most every quick_spacing) for up to choose_for, and only
  // then does the node move to the etcd after the one that failed. While
  // etcd elects a new leader, a keep-alive that reached a member before
  // the election ended waits there for seconds (forwarded to the lost
  // leader), while one sent after it is answered in milliseconds: in the
  // fault lab's isolate_leader, a single 2 s attempt sent at the start of
  // the election kept a survivor whose member was the isolated one there,
  // blind, for a second after the others answered, and moved another
  // survivor, whose own member had been answering its renewals again for a
  // second, to the isolated member. A renewal that the node's etcd answers
  // ends the choice too: it works again. Strand only.
  void choose_etcd() {
    if (choosing_)
      return;
    choosing_ = true;
    try_choice(++choice_, lease_, current_);
  }

  // Whether choice `choice`, begun on etcd `from` under `lease`, still
  // runs; ends it when a rejoin or another move came first.
  bool choice_runs(uint64_t choice, int64_t lease, std::size_t from) {
    if (!choosing_ || choice != choice_)
      return false; // ended: a renewal was answered
    if (stopped_ || lease != lease_ || from != current_) {
      choosing_ = false;
      return false;
    }
    return true;
  }

  // One attempt of choice `choice`; `until` is unset on the first.
  void try_choice(uint64_t choice, int64_t lease, std::size_t from,
                  clock_type::time_point until = {}) {
    if (!choice_runs(choice, lease, from))
      return;
    const auto sent = clock_type::now();
    const bool first = until == clock_type::time_point{};
    if (first)
      until = sent + choose_for;
    on_every_etcd<etcd_lease>(
      quick_,
      [lease](etcd_client& etcd, etcd_client::callback<etcd_lease> cb) {
        etcd.keep_alive(lease, cb);
      },
      [self = shared_from_this(), choice, lease, sent, from, until,
       first](std::size_t at, const core::expected<etcd_lease, etcd_error>& r) {
        if (!self->choice_runs(choice, lease, from))
          return;
        if (!r && clock_type::now() < until) {
          if (first && !self->choice_warned_)
            log::write(log::level::warn, "cluster.etcd_choice_retry",
                       "no etcd answered a keep-alive (" + r.error().message +
                         "); asking every etcd again until one does, for up to 2 s, before "
                         "moving to the next in cluster.etcd");
          self->choice_warned_ = true;
          self->after(sent + quick_spacing, [self, choice, lease, from, until] {
            self->try_choice(choice, lease, from, until);
          });
          return;
        }
        self->choosing_ = false;
        if (!r) { // no etcd answered: the next tick renews at the next one
          self->move_to((from + 1) % self->clients_.size());
          return;
        }
        self->move_to(at);
        self->on_kept(lease, sent, at, r);
      });
  }

  // Sends one call to every etcd at once and runs `done` once on the
  // strand, with the index of the etcd that answered: the first answer
  // that succeeded, or the last failure when every etcd failed. Used where
  // the etcd this node uses may be the lost leader, or still electing a
  // new one, and a call that waits there holds a failover back by its
  // timeout: rotate()'s choice, a suspicion and a revoke. The calls are
  // idempotent, so every etcd may carry them out.
  template <class T>
  void on_every_etcd(const std::vector<std::unique_ptr<etcd_client>>& etcds,
                     std::function<void(etcd_client&, etcd_client::callback<T>)> call,
                     std::function<void(std::size_t, const core::expected<T, etcd_error>&)> done) {
    struct fan {
      std::size_t left;
      bool answered = false;
      std::function<void(std::size_t, const core::expected<T, etcd_error>&)> done;
    };
    auto f = std::make_shared<fan>(fan{etcds.size(), false, std::move(done)});
    for (std::size_t i = 0; i < etcds.size(); ++i)
      call(*etcds[i], [self = shared_from_this(), f, i](core::expected<T, etcd_error> r) {
        asio::post(self->strand_, [f, i, r = std::move(r)] {
          --f->left;
          if (f->answered || (!r && f->left > 0))
            return;
          f->answered = true;
          f->done(i, r);
        });
      });
  }

  template <class T, class Start>
  core::expected<T, etcd_error> wait(Start start) {
    return call<T>(start, std::chrono::milliseconds(2000));
  }

  core::expected<void, join_error> connect() {
    const auto deadline = clock_type::now() + opt_.join_timeout;
    auto fail = [](std::string m) { return join_error{false, std::move(m)}; };
    // 1. An etcd that answers, and the cluster's partition count.
    std::optional<etcd_range> meta;
    std::string last_error;
    while (!meta) {
      auto r = wait<etcd_range>([&](auto cb) { etcd().range(meta_key, false, cb); });
      if (r) {
        meta = *r;
        break;
      }
      last_error = r.error().message;
      rotate(r.error(), current_);
      if (interrupted_)
        return interrupted();
      if (clock_type::now() > deadline)
        return fail("no etcd of cluster.etcd answered: " + last_error);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (meta->kvs.empty()) {
      auto created = wait<etcd_txn>(
        [&](auto cb) { etcd().create(meta_key, encode_meta(opt_.partitions), 0, cb); });
      if (!created)
        return fail("cannot create " + meta_key + ": " + created.error().message);
      auto again = wait<etcd_range>([&](auto cb) { etcd().range(meta_key, false, cb); });
      if (!again || again->kvs.empty())
        return fail("cannot read " + meta_key + (again ? "" : ": " + again.error().message));
      meta = *again;
    }
    auto partitions = decode_meta_partitions(meta->kvs[0].value);
    if (!partitions)
      return join_error{true,
                        meta_key + " in etcd is not {\"partitions\": N}: " + meta->kvs[0].value,
                        "cluster.etcd"};
    if (*partitions != opt_.partitions)
      return join_error{true,
                        "cluster.partitions is " + std::to_string(opt_.partitions) +
                          " but the cluster in etcd was created with " +
                          std::to_string(*partitions) +
                          " partitions; it is fixed for the cluster's life: set "
                          "cluster.partitions = " +
                          std::to_string(*partitions),
                        "cluster.partitions"};
    return {};
  }

  core::expected<uint64_t, join_error> node_number(uint64_t stored) {
    const auto deadline = clock_type::now() + opt_.join_timeout;
    // Whether an etcd call that got no answer may be tried again; the
    // error to give up with otherwise.
    auto give_up = [&](const std::string& what, const etcd_error& e) -> std::optional<join_error> {
      rotate(e, current_);
      if (interrupted_)
        return interrupted();
      if (e.status != 0 || clock_type::now() > deadline)
        return join_error{false, "cannot " + what + ": " + e.message};
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return std::nullopt;
    };
    uint64_t number = 0;
    while (number == 0) {
      auto counter = wait<etcd_range>([&](auto cb) { etcd().range(node_numbers_key, false, cb); });
      if (!counter) {
        if (auto e = give_up("read " + node_numbers_key, counter.error()))
          return *e;
        continue;
      }
      uint64_t last = 0;
      int64_t revision = 0; // 0: the key must not exist yet
      if (!counter->kvs.empty()) {
        auto n = parse_node_number(counter->kvs[0].value);
        if (!n)
          return join_error{false, node_numbers_key +
                                     " in etcd is not a node number: " + counter->kvs[0].value};
        last = *n;
        revision = counter->kvs[0].mod_revision;
      }
      uint64_t want = stored;
      if (stored == 0) {
        auto next = next_node_number(last);
        if (!next)
          return join_error{false, "every node number (1 to " + std::to_string(max_node_number) +
                                     ") has been handed out (" + node_numbers_key +
                                     "): this cluster cannot take a node with an empty data "
                                     "directory any more"};
        want = *next;
      } else if (last >= stored) {
        number = stored;
        break;
      }
      auto put = wait<etcd_txn>([&](auto cb) {
        etcd().compare_and_put(node_numbers_key, revision, format_node_number(want), 0, cb);
      });
      if (!put) {
        // No answer: it may have been written all the same. Read again: a
        // number taken but never used is only a gap.
        if (auto e = give_up("write " + node_numbers_key, put.error()))
          return *e;
        continue;
      }
      if (put->succeeded)
        number = want;
      // Refused: another node took a number meanwhile; read again.
    }
    // For display only (GET /v1/cluster): a failure is logged, not fatal.
    auto shown = wait<int64_t>([&](auto cb) {
      etcd().put(node_number_prefix + opt_.node, format_node_number(number), 0, cb);
    });
    if (!shown)
      log::write(log::level::warn, "cluster.node_number_unshown",
                 "cannot write " + node_number_prefix + opt_.node + ": " + shown.error().message +
                   "; other nodes do not show this node's number until its next start");
    node_number_ = number;
    {
      std::lock_guard lock(view_mutex_);
      view_.node_number = number;
    }
    return number;
  }

  static join_error interrupted() {
    join_error e;
    e.message = "interrupted";
    e.interrupted = true;
    return e;
  }

  core::expected<void, join_error> join(std::string http) {
    http_url_ = std::move(http);
    const auto deadline = clock_type::now() + opt_.join_timeout;
    auto fail = [](std::string m) { return join_error{false, std::move(m)}; };
    // 2. The lease and this node's keys.
    auto granted_at = clock_type::now();
    auto lease = wait<etcd_lease>([&](auto cb) { etcd().grant(opt_.lease_ttl, cb); });
    if (!lease)
      return interrupted_ ? interrupted() : fail("cannot grant a lease: " + lease.error().message);
    lease_ = lease->id; // stop() revokes it, even after an interrupt
    if (interrupted_)
      return interrupted();
    const auto address = encode_member({http_url_, opt_.cluster});
    auto noted = wait<int64_t>(
      [&](auto cb) { etcd().put(nodes_prefix + opt_.node, address, 0, cb); });
    if (!noted)
      return fail("cannot write " + nodes_prefix + opt_.node + ": " + noted.error().message);
    // An earlier life of this node, killed before its lease ran out, still
    // holds the member key until that lease ends (at most the TTL).
    while (true) {
      auto joined = wait<etcd_txn>(
        [&](auto cb) { etcd().create(members_prefix + opt_.node, address, lease_, cb); });
      if (!joined)
        return fail("cannot write " + members_prefix + opt_.node + ": " + joined.error().message);
      if (joined->succeeded)
        break;
      if (interrupted_)
        return interrupted();
      if (clock_type::now() > deadline)
        return join_error{true,
                          "another node named " + opt_.node + " is up (it holds " + members_prefix +
                            opt_.node + "); cluster.node must be unique",
                          "cluster.node"};
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      // This life's own lease must outlive the wait: renew it, and take a
      // new one if it ended all the same (etcd refuses a txn naming it).
      const auto sent = clock_type::now();
      auto kept = wait<etcd_lease>([&](auto cb) { etcd().keep_alive(lease_, cb); });
      if (kept && kept->ttl > 0)
        granted_at = sent;
      if (kept && kept->ttl == 0) {
        granted_at = clock_type::now();
        auto fresh = wait<etcd_lease>([&](auto cb) { etcd().grant(opt_.lease_ttl, cb); });
        if (!fresh)
          return interrupted_ ? interrupted()
                              : fail("cannot grant a lease: " + fresh.error().message);
        lease_ = fresh->id;
      }
    }
    renewed_ = clock_type::now();
    member_ = true;
    if (opt_.lease_alive_until)
      opt_.lease_alive_until(granted_at + opt_.lease_ttl);
    log::write(log::level::info, "cluster.joined",
               "joined the cluster as " + opt_.node + " (node number " +
                 std::to_string(node_number_.load()) + ", " + std::to_string(opt_.partitions) +
                 " partitions, " + std::to_string(opt_.replicas) + " replicas)",
               {{"node", opt_.node},
                {"node_number", std::to_string(node_number_.load())},
                {"lease", std::to_string(lease_)}});
    // 3. The loops.
    asio::post(strand_, [self = shared_from_this()] {
      self->start_watch();
      self->schedule_tick();
    });
    return {};
  }

  void start_watch() {
    if (stopped_)
      return;
    std::weak_ptr<impl> weak = shared_from_this();
    auto on_strand = [weak](auto f) {
      if (auto self = weak.lock())
        asio::post(self->strand_, [self, f = std::move(f)] { f(*self); });
    };
    etcd_watch_handlers h;
    h.snapshot = [on_strand](const etcd_range& r) {
      on_strand([r](impl& m) {
        m.seen_ = true;
        m.keys_.clear();
        std::map<std::string, std::string> progress;
        for (const auto& kv : r.kvs)
          if (is_progress_key(kv.key))
            progress[kv.key] = kv.value;
          else if (!is_registry_key(kv.key))
            m.keys_[kv.key] = kv;
        {
          std::lock_guard lock(m.progress_mutex_);
          m.progress_ = std::move(progress);
        }
        m.on_change();
      });
    };
    h.events = [on_strand](const std::vector<etcd_event>& events) {
      // The registries (/sy/subs/, …) are app/cluster_subs.cpp's:
      // their changes do not touch the membership view.
      if (std::all_of(events.begin(), events.end(),
                      [](const etcd_event& e) { return is_registry_key(e.kv.key); }))
        return;
      on_strand([events](impl& m) {
        bool changed = false;
        for (const auto& e : events) {
          if (is_registry_key(e.kv.key))
            continue;
          if (is_progress_key(e.kv.key)) {
            std::lock_guard lock(m.progress_mutex_);
            if (e.deleted)
              m.progress_.erase(e.kv.key);
            else
              m.progress_[e.kv.key] = e.kv.value;
            continue;
          }
          changed = true;
          if (e.deleted)
            m.keys_.erase(e.kv.key);
          else
            m.keys_[e.kv.key] = e.kv;
        }
        if (changed)
          m.on_change();
      });
    };
    h.trouble = [](const std::string& why) {
      log::write(log::level::warn, "cluster.watch_trouble", why);
    };
    // The watch's member refused its stream: as a call there that was
    // refused (rotate), unless the node moved on meanwhile.
    h.refused = [on_strand](const std::string& endpoint) {
      on_strand([endpoint](impl& m) {
        if (!m.stopped_ && trimmed_endpoint(m.opt_.etcd[m.current_]) == endpoint)
          m.rotate(etcd_error{0, "watch of " + endpoint + ": connection refused", true},
                   m.current_);
      });
    };
    watch_ = std::make_unique<etcd_watch>(ioc_, etcd(), opt_.etcd[current_], root_prefix,
                                          std::move(h));
    watch_->start();
    if (opt_.watch_moved)
      opt_.watch_moved(current_);
  }

  void schedule_tick() {
    if (stopped_)
      return;
    tick_.expires_after(opt_.keep_alive_every);
    tick_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec && !self->stopped_)
        self->on_tick();
    });
  }

  void on_tick() {
    renew();
    schedule_tick();
    check_suspects(); // a revoke or a write that failed is tried again
    // A campaign that failed for want of etcd is tried again here.
    check_controller();
    if (!controller_) {
      eligible_.clear(); // another node's passes decide meanwhile
      forming_ = false;  // so is a new cluster's placement
    } else if (forming_)
      reconcile(); // a new cluster's wait for its members may have ended
    else if (opt_.rebalance_every.count() > 0 &&
             clock_type::now() - rebalanced_at_ >= opt_.rebalance_every) {
      rebalanced_at_ = clock_type::now();
      rebalance();
    }
  }

  // Sends one keep-alive to the current etcd. It times out after
  // keep_alive_every (not the 2 s of other calls), so that a renewal that
  // failed is tried again on every etcd (rotate()) well within the TTL.
  void renew() {
    const int64_t lease = lease_;
    const auto sent = clock_type::now();
    const std::size_t at = current_;
    renewers_[at]->keep_alive(lease, [self = shared_from_this(), lease, sent, at](auto r) {
      asio::post(self->strand_,
                 [self, lease, sent, at, r = std::move(r)] { self->on_kept(lease, sent, at, r); });
    });
  }

  void on_kept(int64_t lease, clock_type::time_point sent, std::size_t at,
               const core::expected<etcd_lease, etcd_error>& r) {
    if (stopped_ || lease != lease_)
      return;
    if (!r) {
      // A renewal sent later has answered since: this etcd works (an
      // etcd election held this one up). Moving on would go, say, to the
      // member that lost its leader — and lose the lease there.
      if (sent < renewed_sent_)
        return;
      // Sent to a member this node has left since: the renewals sent to
      // the current one tell whether the lease is in trouble.
      if (at != current_)
        return;
      if (!warned_)
        log::write(log::level::warn, "cluster.lease_trouble",
                   "cannot renew the membership lease: " + r.error().message);
      warned_ = true;
      // The watch follows, and the lease is renewed on every etcd now, not
      // at the next tick.
      rotate(r.error(), at);
      return;
    }
    if (r->ttl > 0) {
      renewed_ = clock_type::now();
      renewed_sent_ = std::max(renewed_sent_, sent);
      if (rejoined_at_ == 0 && opt_.lease_alive_until)
        opt_.lease_alive_until(
          sent + std::min<std::chrono::seconds>(std::chrono::seconds(r->ttl), opt_.lease_ttl));
      if (warned_ || moved_)
        log::write(log::level::info, "cluster.lease_renewed",
                   "membership lease renewed again, through etcd " + opt_.etcd[at],
                   {{"etcd", opt_.etcd[at]}});
      warned_ = false;
      moved_ = false;
      choice_warned_ = false;
      if (at == current_)
        choosing_ = false; // this etcd answers: a choice running stays here
      return;
    }
    // Expired (etcd was out of reach longer than the TTL): the node is down
    // for the others; join again under a new lease. Every keep-alive still
    // in flight answers so too: one line, one rejoin.
    if (rejoining_)
      return;
    log::write(log::level::warn, "cluster.lease_expired",
               "membership lease expired; joining again under a new lease");
    controller_ = false;
    member_ = false;
    rejoin();
  }

  void rejoin() {
    if (rejoining_)
      return;
    rejoining_ = true;
    etcd().grant(opt_.lease_ttl, [self = shared_from_this()](auto r) {
      asio::post(self->strand_, [self, r = std::move(r)] {
        if (!r || self->stopped_) {
          self->rejoining_ = false;
          return; // the next tick's keep-alive of the dead lease tries again
        }
        self->lease_ = r->id;
        self->etcd().put(members_prefix + self->opt_.node,
                         encode_member({self->http_url_, self->opt_.cluster}), r->id,
                         [self](auto put) {
                           asio::post(self->strand_, [self, put] {
                             self->rejoining_ = false;
                             if (put) {
                               self->renewed_ = clock_type::now();
                               self->member_ = true;
                               // Deliveries wait until the watch has shown this
                               // put, and so what was written before it.
                               self->rejoined_at_ = std::max<int64_t>(*put, 1);
                               self->check_rejoined(); // the watch may have shown it already
                             }
                           });
                         });
      });
    });
  }

  void on_change() {
    if (stopped_)
      return;
    check_controller();
    publish_view();
    if (controller_)
      reconcile();
    check_rejoined();
    check_suspects();
  }

  // Revokes `lease` when it is still the lease of `node`'s member key (not
  // this node's own), logging `why` once it is; `failed` runs on the
  // strand when etcd refused or did not answer. Strand only.
  //
  // Each attempt goes to every etcd and waits quick_timeout; one that no
  // etcd answered is sent again (at most every quick_spacing) for up to
  // the lease's TTL before `failed` runs (at once when etcd answered it
  // with an error, say another node revoked it first). A revoke that
  // reached a follower as etcd's leader was lost is forwarded to the lost
  // leader and never answered (etcd gives up on it after its own 7 s); one
  // sent again once a new leader is elected lands at once. In the fault lab, kill -9 of a
  // node together with the etcd leader waited 2 s for the one attempt to
  // time out.
  void revoke_member(const std::string& node, int64_t lease, const std::string& why,
                     std::function<void()> failed = {}, clock_type::time_point until = {}) {
    if (stopped_ || lease == 0 || lease == lease_)
      return;
    auto it = keys_.find(members_prefix + node);
    if (it == keys_.end() || it->second.lease != lease)
      return; // already down, or a new life under a new lease
    const auto sent = clock_type::now();
    const bool first = until == clock_type::time_point{};
    if (first)
      until = sent + opt_.lease_ttl;
    on_every_etcd<bool>(
      quick_,
      [lease](etcd_client& etcd, etcd_client::callback<bool> cb) { etcd.revoke(lease, cb); },
      [self = shared_from_this(), node, why, lease, sent, until, first,
       failed = std::move(failed)](std::size_t, const core::expected<bool, etcd_error>& r) mutable {
        if (r) {
          log::write(log::level::info, "cluster.peer_revoked",
                     "revoked the etcd lease of " + node + " (" + why + "): it shows down",
                     {{"peer", node}});
          return;
        }
        // An etcd that answered refused it (another node revoked it first):
        // nothing to send again.
        if (r.error().status == 0 && clock_type::now() < until) {
          if (first)
            log::write(log::level::warn, "cluster.peer_revoke_retry",
                       "no etcd answered the revoke of " + node + "'s lease (" + r.error().message +
                         "); sending it again until one does, for up to the lease's TTL",
                       {{"peer", node}});
          self->after(sent + quick_spacing,
                      [self, node, why, lease, until, failed = std::move(failed)]() mutable {
                        self->revoke_member(node, lease, why, std::move(failed), until);
                      });
        } else if (failed)
          failed();
      });
  }

  // Runs `f` on the strand at `when` (at once if that has passed), unless
  // the node stops first. Strand only.
  void after(clock_type::time_point when, std::function<void()> f) {
    auto timer = std::make_shared<asio::steady_timer>(strand_, when);
    timer->async_wait([self = shared_from_this(), timer, f = std::move(f)](auto ec) {
      if (!ec && !self->stopped_)
        f();
    });
  }

  // Keeps /sy/suspects/<node> at what suspect() was last told (written
  // again under a new lease after a rejoin; deleted when the list is
  // empty), and revokes the lease of each other member that every other
  // member suspects in that lease, when there are at least two others
  // (a pair cut from each other would revoke each other). Strand only.
  void check_suspects() {
    if (stopped_ || lease_ == 0)
      return;
    const auto own = suspects_prefix + opt_.node;
    auto mine = keys_.find(own);
    if (suspected_.empty()) {
      if (mine != keys_.end() && mine->second.lease == lease_ && !suspects_erasing_) {
        suspects_erasing_ = true;
        etcd().erase(own, false, [self = shared_from_this()](auto) {
          asio::post(self->strand_, [self] { self->suspects_erasing_ = false; });
        });
      }
    } else if (auto value = encode_suspects(suspected_);
               (mine == keys_.end() || mine->second.value != value ||
                mine->second.lease != lease_) &&
               value != suspects_written_) {
      suspects_written_ = value;
      const auto sent = clock_type::now();
      on_every_etcd<int64_t>(
        quick_,
        [own, value, lease = lease_.load()](etcd_client& etcd, etcd_client::callback<int64_t> cb) {
          etcd.put(own, value, lease, cb);
        },
        [self = shared_from_this(), sent](std::size_t,
                                          const core::expected<int64_t, etcd_error>& r) {
          self->suspects_written_.clear(); // the watch shows it, or the next check writes again
          if (!r && r.error().status == 0) // no etcd answered (its leader lost?): again soon
            self->after(sent + quick_spacing, [self] { self->check_suspects(); });
        });
    }
    const auto live = live_members();
    // A revoked lease no member key holds any more is gone for good.
    std::erase_if(revoked_, [&](int64_t lease) {
      return std::none_of(live.begin(), live.end(), [&](const std::string& m) {
        return keys_.at(members_prefix + m).lease == lease;
      });
    });
    if (live.size() < 3)
      return;
    // Each live member's record, read once (none: it suspects nobody).
    std::map<std::string, suspect_list> lists;
    for (const auto& m : live)
      if (auto it = keys_.find(suspects_prefix + m); it != keys_.end())
        if (auto list = decode_suspects(it->second.value))
          lists[m] = std::move(*list);
    for (const auto& x : live) {
      if (x == opt_.node)
        continue;
      const int64_t lease = keys_.at(members_prefix + x).lease;
      if (lease == 0 || revoked_.count(lease))
        continue;
      const auto suspects_x = [&](const std::string& other) {
        auto it = lists.find(other);
        return other == x ||
               (it != lists.end() && std::find(it->second.begin(), it->second.end(),
                                               std::pair{x, lease}) != it->second.end());
      };
      if (!std::all_of(live.begin(), live.end(), suspects_x))
        continue;
      revoked_.insert(lease);
      log::write(log::level::warn, "cluster.peer_suspected",
                 "every other member lost its link to " + x +
                   " and has not linked again: revoking its etcd lease so that its partitions "
                   "fail over now (it rejoins under a new lease once it answers)",
                 {{"peer", x}});
      // etcd busy (a leader change): the next check tries again.
      revoke_member(x, lease, "every other member lost it",
                    [self = shared_from_this(), lease] { self->revoked_.erase(lease); });
    }
  }

  // Ends the wait after a rejoin once the watch has shown the new member
  // key: the next renewal tells lease_alive_until again.
  void check_rejoined() {
    if (rejoined_at_ == 0)
      return;
    auto it = keys_.find(members_prefix + opt_.node);
    if (it != keys_.end() && it->second.mod_revision >= rejoined_at_)
      rejoined_at_ = 0;
  }

  // Campaigns when no node holds /sy/controller; follows who does.
  void check_controller() {
    auto it = keys_.find(controller_key);
    if (it != keys_.end()) {
      const bool mine = it->second.value == opt_.node && it->second.lease == lease_;
      if (mine && !controller_) {
        log::write(log::level::info, "cluster.controller", opt_.node + " is the controller");
        controller_since_ = clock_type::now();
      }
      controller_ = mine;
      return;
    }
    controller_ = false;
    if (campaigning_ || rejoining_ || !watch_ || watch_->snapshots_read() == 0)
      return;
    campaigning_ = true;
    const std::size_t at = current_;
    etcd().create(controller_key, opt_.node, lease_, [self = shared_from_this(), at](auto r) {
      asio::post(self->strand_, [self, at, r = std::move(r)] {
        self->campaigning_ = false;
        if (!r)
          self->rotate(r.error(), at);
        // The watch reports the holder, this node or another.
      });
    });
  }

  std::vector<std::string> live_members() const {
    std::vector<std::string> live;
    for (auto it = keys_.lower_bound(members_prefix);
         it != keys_.end() && starts_with(it->first, members_prefix); ++it)
      live.push_back(it->first.substr(members_prefix.size()));
    return live;
  }

  partition_view current_part(uint32_t p) const {
    auto it = keys_.find(part_key(p));
    if (it == keys_.end()) {
      partition_view none;
      none.partition = p;
      return none;
    }
    return parse_part(p, it->second);
  }

  // The controller's work: brings each partition's configuration in line
  // with the live members, one fenced transaction per partition that changes.
  void reconcile() {
    if (in_flight_ > 0) {
      dirty_ = true;
      return;
    }
    auto live = live_members();
    if (!contains(live, opt_.node))
      return; // this node's own lease is in doubt: not the moment to decide
    if (forming(live))
      return; // on_tick() calls again
    for (uint32_t p = 0; p < opt_.partitions; ++p) {
      auto current = current_part(p);
      std::optional<in_sync_proposal> proposal;
      if (auto it = keys_.find(proposal_key(p)); it != keys_.end())
        proposal = decode_proposal(it->second.value);
      auto next = next_configuration(current, live, opt_.replicas, proposal ? &*proposal : nullptr);
      if (next.replicas.empty() ||
          (current.epoch != 0 && next.primary == current.primary &&
           next.replicas == current.replicas && next.in_sync == current.in_sync))
        continue;
      write_configuration(current, next);
    }
  }

  // Returns true while a new cluster (no partition configured in etcd yet)
  // waits for its members, at most form_wait after this node became the
  // controller: until `replicas` members are live and no other joined for
  // a second (nodes started together join within a second or two of each
  // other). The first configurations then put every partition on its
  // preferred replicas. Without the wait a new cluster's first node led
  // every partition, and 24–43 of a three-node cluster's 64 moved to the
  // others in its first minute, 8 per rebalancing pass, each move
  // redelivering a little (docs/cluster.md "A new cluster").
  bool forming(const std::vector<std::string>& live) {
    const auto now = clock_type::now();
    if (live.size() != live_seen_) {
      live_seen_ = live.size();
      live_changed_ = now;
    }
    bool wait = now - controller_since_ < opt_.form_wait &&
                (live.size() < opt_.replicas || now - live_changed_ < std::chrono::seconds(1));
    for (uint32_t p = 0; wait && p < opt_.partitions; ++p)
      wait = !keys_.count(part_key(p));
    if (wait && !forming_)
      log::write(log::level::info, "cluster.forming",
                 "a new cluster: waiting up to " + std::to_string(opt_.form_wait.count()) +
                   " ms for its members before placing the partitions (" +
                   std::to_string(live.size()) + " of " + std::to_string(opt_.replicas) +
                   " replicas live)");
    else if (!wait && forming_)
      log::write(log::level::info, "cluster.formed",
                 "placing the partitions on " + std::to_string(live.size()) + " live member" +
                   (live.size() == 1 ? "" : "s"));
    forming_ = wait;
    return wait;
  }

  // Writes `key` = `value` (no lease) without waiting for the answer; a
  // failure moves on to the next etcd. Strand only.
  void put_async(const std::string& key, const std::string& value) {
    const std::size_t at = current_;
    etcd().put(key, value, 0, [self = shared_from_this(), at](auto r) {
      if (!r)
        asio::post(self->strand_, [self, at, e = r.error()] { self->rotate(e, at); });
    });
  }

  // Writes partition `current.partition`'s `next` configuration, fenced by
  // the current one's epoch; on_written logs a primary change with `why`.
  void write_configuration(const partition_view& current, const partition_view& next,
                           std::string_view why = {}) {
    ++in_flight_;
    const std::size_t at = current_;
    etcd().compare_and_put(part_key(current.partition), current.epoch, encode_part(next), 0,
                           [self = shared_from_this(), p = current.partition,
                            from = current.primary, to = next.primary, why, at](auto r) {
                             asio::post(self->strand_,
                                        [self, p, from, to, why, at, r = std::move(r)] {
                                          self->on_written(p, from, to, at, r, why);
                                        });
                           });
  }

  // The controller's rebalancing pass (every rebalance_every): moves a
  // partition whose preferred replica is in sync and does not lead it to
  // that replica — after a failover the node that returns leads nothing
  // until then, and after a few faults one node could lead them all. Only
  // a partition eligible at the pass before too (its preferred replica in
  // sync then and now) and with nothing else to change moves, at most
  // rebalance_most per pass: each move is a takeover, a few redeliveries
  // and a moment of 503s for its producers.
  void rebalance() {
    if (in_flight_ > 0)
      return; // a change is being written: the next pass
    auto live = live_members();
    if (!contains(live, opt_.node))
      return;
    std::set<uint32_t> eligible;
    uint32_t moved = 0;
    for (uint32_t p = 0; p < opt_.partitions; ++p) {
      auto current = current_part(p);
      if (current.epoch == 0 || current.primary.empty())
        continue;
      auto next = next_configuration(current, live, opt_.replicas, nullptr, true);
      if (next.primary == current.primary || next.replicas != current.replicas ||
          next.in_sync != current.in_sync)
        continue; // nothing to move, or reconcile's business first
      if (!eligible_.count(p) || moved == opt_.rebalance_most) {
        eligible.insert(p);
        continue;
      }
      ++moved;
      write_configuration(current, next, " (rebalanced: back to its preferred replica)");
    }
    eligible_ = std::move(eligible);
  }

  void on_written(uint32_t p, const std::string& from, const std::string& to, std::size_t at,
                  const core::expected<etcd_txn, etcd_error>& r, std::string_view why = {}) {
    --in_flight_;
    if (!r) {
      rotate(r.error(), at);
      dirty_ = true;
    } else if (r->succeeded && from != to) {
      log::write(log::level::info, "cluster.primary_changed",
                 "partition " + std::to_string(p) + ": primary " + (from.empty() ? "-" : from) +
                   " → " + to + " at epoch " + std::to_string(r->revision) + std::string(why),
                 {{"partition", std::to_string(p)}, {"epoch", std::to_string(r->revision)}});
    }
    // A refused transaction means the watch is behind: its event brings
    // the newer configuration and reconciles again.
    if (in_flight_ == 0 && dirty_ && controller_) {
      dirty_ = false;
      reconcile();
    }
  }

  void publish_view() {
    cluster_view v;
    v.node = opt_.node;
    v.node_number = node_number_;
    if (auto it = keys_.find(controller_key); it != keys_.end())
      v.controller = it->second.value;
    std::map<std::string, member_view> members;
    for (auto it = keys_.lower_bound(nodes_prefix);
         it != keys_.end() && starts_with(it->first, nodes_prefix); ++it) {
      member_view m;
      m.node = it->first.substr(nodes_prefix.size());
      if (auto a = decode_member(it->second.value)) {
        m.http = a->http;
        m.cluster = a->cluster;
      }
      members[m.node] = m;
    }
    for (auto it = keys_.lower_bound(members_prefix);
         it != keys_.end() && starts_with(it->first, members_prefix); ++it) {
      auto& m = members[it->first.substr(members_prefix.size())];
      m.node = it->first.substr(members_prefix.size());
      m.up = true;
      m.lease = it->second.lease;
      if (auto a = decode_member(it->second.value)) {
        m.http = a->http;
        m.cluster = a->cluster;
      }
    }
    for (auto& [name, m] : members) {
      if (auto it = keys_.find(node_number_prefix + name); it != keys_.end())
        m.number = parse_node_number(it->second.value).value_or(0);
      v.members.push_back(std::move(m));
    }
    for (uint32_t p = 0; p < opt_.partitions; ++p)
      v.partitions.push_back(current_part(p));
    std::lock_guard lock(view_mutex_);
    view_ = std::move(v);
  }

  void stop() {
    if (stopped_.exchange(true))
      return;
    member_ = false;
    auto cancelled = std::make_shared<std::promise<void>>();
    auto done = cancelled->get_future();
    asio::post(strand_, [self = shared_from_this(), cancelled] {
      self->tick_.cancel();
      if (self->watch_)
        self->watch_->stop();
      cancelled->set_value();
    });
    done.wait_for(std::chrono::seconds(1));
    if (lease_ != 0) {
      auto revoked = wait<bool>([&](auto cb) { etcd().revoke(lease_, cb); });
      log::write(revoked ? log::level::info : log::level::warn, "cluster.left",
                 revoked ? "left the cluster (lease revoked)"
                         : "could not revoke the membership lease; it ends by itself in " +
                             std::to_string(opt_.lease_ttl.count()) + " s");
    }
  }

  asio::io_context& ioc_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer tick_;
  transport::http_client& http_;
  const membership_options opt_;
  std::string http_url_; ///< set by join(), read only after it
  std::vector<std::unique_ptr<etcd_client>> clients_;
  // The same etcds for keep-alives, with their shorter timeout.
  std::vector<std::unique_ptr<etcd_client>> renewers_;
  // The same etcds for the writes sent again until they land (a revoke, a
  // suspicion), with a shorter timeout still.
  std::vector<std::unique_ptr<etcd_client>> quick_;
  // The send time of the newest renewal etcd accepted (strand only).
  clock_type::time_point renewed_sent_{};
  std::atomic<std::size_t> current_{0};
  std::atomic<int64_t> lease_{0};
  std::unique_ptr<etcd_watch> watch_;
  std::map<std::string, etcd_kv> keys_;
  // suspect()'s list; the value of a put of it in flight (or ""); an
  // erase of it in flight; leases whose revoke is in flight or done.
  suspect_list suspected_;
  std::string suspects_written_;
  bool suspects_erasing_ = false;
  std::set<int64_t> revoked_;
  // choose_etcd() is waiting for the etcds' answers, in its choice_-th
  // choice (strand only).
  bool choosing_ = false;
  uint64_t choice_ = 0;
  // cluster.etcd_choice_retry was logged since a renewal was last answered.
  bool choice_warned_ = false;
  bool controller_ = false;
  bool campaigning_ = false;
  bool rejoining_ = false;
  // The revision of the member key written by the last rejoin until the
  // watch has shown it (0: none pending); lease_alive_until waits for it.
  int64_t rejoined_at_ = 0;
  bool warned_ = false;
  // Moved to another etcd since the last renewal was answered (strand only).
  bool moved_ = false;
  bool dirty_ = false;
  int in_flight_ = 0;
  // The rebalancing pass: when it last ran, and the partitions it found
  // eligible then and did not move.
  clock_type::time_point rebalanced_at_ = clock_type::now();
  std::set<uint32_t> eligible_;
  // When this node last became the controller, and whether a new cluster
  // is waiting for its members (forming()).
  clock_type::time_point controller_since_{};
  bool forming_ = false;
  // How many members were live at the last forming() and since when.
  std::size_t live_seen_ = 0;
  clock_type::time_point live_changed_{};
  std::atomic<clock_type::time_point> renewed_{}; ///< read by ready() on any thread
  std::atomic<bool> member_{false};               ///< holds a lease and its member key
  std::atomic<bool> seen_{false};                 ///< has read /sy/ from etcd at least once
  std::atomic<bool> stopped_{false};
  std::atomic<bool> interrupted_{false};
  std::atomic<uint64_t> node_number_{0}; ///< set by node_number(), before join()
  mutable std::mutex view_mutex_;
  cluster_view view_;
  // /sy/progress/<p> → its value, as the watch last showed it.
  mutable std::mutex progress_mutex_;
  std::map<std::string, std::string> progress_;
};

membership::membership(asio::io_context& ioc, transport::http_client& http,
                       membership_options options)
    : impl_(std::make_shared<impl>(ioc, http, std::move(options))) {}

membership::~membership() { stop(); }

core::expected<void, join_error> membership::connect() { return impl_->connect(); }

core::expected<uint64_t, join_error> membership::node_number(uint64_t stored) {
  return impl_->node_number(stored);
}

core::expected<void, join_error> membership::join(std::string http) {
  return impl_->join(std::move(http));
}

bool membership::ready() const {
  return impl_->member_ && impl_->seen_ &&
         clock_type::now() - impl_->renewed_.load() < impl_->opt_.lease_ttl;
}

void membership::interrupt() { impl_->interrupted_ = true; }

void membership::stop() { impl_->stop(); }

std::pair<uint32_t, std::string> membership::placement(std::string_view id) const {
  const auto p = partition_of(id, impl_->opt_.partitions);
  std::lock_guard lock(impl_->view_mutex_);
  const auto& parts = impl_->view_.partitions;
  return {p, p < parts.size() ? parts[p].primary : std::string()};
}

primary_route membership::route(std::string_view id) const {
  primary_route r;
  r.partition = partition_of(id, impl_->opt_.partitions);
  std::lock_guard lock(impl_->view_mutex_);
  const auto& v = impl_->view_;
  r.node = v.node;
  if (r.partition < v.partitions.size())
    r.primary = v.partitions[r.partition].primary;
  for (const auto& m : v.members)
    if (m.node == r.primary && m.up)
      r.http = m.http;
  return r;
}

uint32_t membership::replicas() const { return impl_->opt_.replicas; }

cluster_view membership::view() const {
  std::lock_guard lock(impl_->view_mutex_);
  return impl_->view_;
}

void membership::revoke_gone(std::string node, int64_t lease) {
  asio::post(impl_->strand_, [self = impl_, node = std::move(node), lease] {
    // A failure (another node revoked it first, or no etcd answered it for
    // the lease's TTL) leaves the lease to end by itself.
    self->revoke_member(node, lease, "its process is gone");
  });
}

void membership::suspect(suspect_list peers) {
  asio::post(impl_->strand_, [self = impl_, peers = std::move(peers)]() mutable {
    self->suspected_ = std::move(peers);
    self->check_suspects();
  });
}

void membership::propose_in_sync(uint32_t partition, int64_t epoch, std::vector<std::string> nodes,
                                 std::vector<std::string> drop) {
  in_sync_proposal proposal{impl_->opt_.node, epoch, std::move(nodes), std::move(drop)};
  asio::post(impl_->strand_, [self = impl_, partition, value = encode_proposal(proposal)] {
    if (self->stopped_)
      return;
    auto key = proposal_key(partition);
    if (auto it = self->keys_.find(key); it != self->keys_.end() && it->second.value == value)
      return;
    self->put_async(key, value);
  });
}

void membership::record_progress(uint32_t partition, const partition_progress& progress) {
  asio::post(impl_->strand_, [self = impl_, key = progress_key(partition),
                              value = encode_progress(progress)] {
    if (self->stopped_)
      return;
    {
      std::lock_guard lock(self->progress_mutex_);
      if (auto it = self->progress_.find(key); it != self->progress_.end() && it->second == value)
        return;
    }
    self->put_async(key, value);
  });
}

std::optional<partition_progress> membership::progress(uint32_t partition) const {
  std::string value;
  {
    std::lock_guard lock(impl_->progress_mutex_);
    auto it = impl_->progress_.find(progress_key(partition));
    if (it == impl_->progress_.end())
      return std::nullopt;
    value = it->second;
  }
  return decode_progress(value);
}

} // namespace sy::cluster
