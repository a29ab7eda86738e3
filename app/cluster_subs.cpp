#include "app/cluster_subs.hpp"

#include <boost/asio/io_context.hpp>
#include <caf/send.hpp>

#include "cluster/etcd_client.hpp"
#include "cluster/etcd_watch.hpp"
#include "log/log.hpp"

namespace sy::app {

namespace {

actors::mirror_outcome unreachable(const cluster::etcd_error& e) {
  actors::mirror_outcome o;
  o.result = actors::mirror_outcome::kind::unreachable;
  o.message = e.status == 0
                ? "no answer (" + e.message + ")"
                : "it answered HTTP " + std::to_string(e.status) + " (" + e.message + ")";
  return o;
}

// Returns the watch's keys under /sy/subs/ as the registry's message.
actors::remote_subscription remote_of(const cluster::etcd_kv& kv, bool deleted) {
  actors::remote_subscription r;
  r.id = *actors::subs_id_of(kv.key);
  r.revision = kv.mod_revision;
  r.deleted = deleted;
  if (!deleted)
    r.record = kv.value;
  return r;
}

actors::remote_event_type remote_type_of(const cluster::etcd_kv& kv, bool deleted) {
  actors::remote_event_type r;
  r.code = *actors::event_type_code_of(kv.key);
  r.deleted = deleted;
  if (!deleted)
    r.record = kv.value;
  return r;
}

// Logs a watch's trouble (etcd_watch reports the same failure at most once
// per 10 s).
std::function<void(const std::string&)> trouble_logger(std::string prefix) {
  return [prefix = std::move(prefix)](const std::string& why) {
    log::write(log::level::warn, "cluster.subscriptions_watch",
               "the watch of " + prefix + " in etcd is recovering: " + why);
  };
}

} // namespace

subscription_sync::subscription_sync(boost::asio::io_context& ioc, transport::http_client& http,
                                     std::vector<std::string> etcd)
    : ioc_(ioc), urls_(std::move(etcd)) {
  for (const auto& url : urls_)
    clients_.push_back(
      std::make_unique<cluster::etcd_client>(http, url, std::chrono::milliseconds(2000)));
}

subscription_sync::~subscription_sync() { stop(); }

cluster::etcd_client& subscription_sync::etcd() {
  return *clients_[current_.load() % clients_.size()];
}

void subscription_sync::rotate(int status) {
  if (status == 0 && clients_.size() > 1)
    current_.store((current_.load() + 1) % clients_.size());
}

void subscription_sync::start(actors::registry_actor registry) {
  cluster::etcd_watch_handlers h;
  h.snapshot = [registry](const cluster::etcd_range& range) {
    actors::cluster_subscriptions m;
    m.snapshot = true;
    m.revision = range.revision;
    for (const auto& kv : range.kvs)
      if (actors::subs_id_of(kv.key))
        m.changes.push_back(remote_of(kv, false));
    caf::anon_send(registry, std::move(m));
  };
  h.events = [registry](const std::vector<cluster::etcd_event>& events) {
    actors::cluster_subscriptions m;
    for (const auto& ev : events)
      if (actors::subs_id_of(ev.kv.key))
        m.changes.push_back(remote_of(ev.kv, ev.deleted));
    if (!m.changes.empty())
      caf::anon_send(registry, std::move(m));
  };
  h.trouble = trouble_logger(std::string(actors::subs_prefix));
  std::lock_guard lock(watches_mutex_);
  watch_ = open_watch(actors::subs_prefix, std::move(h));

  cluster::etcd_watch_handlers t;
  t.snapshot = [registry](const cluster::etcd_range& range) {
    actors::cluster_event_types m;
    m.snapshot = true;
    for (const auto& kv : range.kvs)
      if (actors::event_type_code_of(kv.key))
        m.changes.push_back(remote_type_of(kv, false));
    caf::anon_send(registry, std::move(m));
  };
  t.events = [registry](const std::vector<cluster::etcd_event>& events) {
    actors::cluster_event_types m;
    for (const auto& ev : events)
      if (actors::event_type_code_of(ev.kv.key))
        m.changes.push_back(remote_type_of(ev.kv, ev.deleted));
    if (!m.changes.empty())
      caf::anon_send(registry, std::move(m));
  };
  t.trouble = trouble_logger(std::string(actors::event_types_prefix));
  types_watch_ = open_watch(actors::event_types_prefix, std::move(t));

  cluster::etcd_watch_handlers a;
  a.snapshot = [registry](const cluster::etcd_range& range) {
    actors::cluster_associations m;
    m.snapshot = true;
    for (const auto& kv : range.kvs)
      m.records.push_back(kv.value);
    caf::anon_send(registry, std::move(m));
  };
  a.events = [registry](const std::vector<cluster::etcd_event>& events) {
    actors::cluster_associations m;
    for (const auto& ev : events)
      if (!ev.deleted) // the contract has no delete of an association
        m.records.push_back(ev.kv.value);
    if (!m.records.empty())
      caf::anon_send(registry, std::move(m));
  };
  a.trouble = trouble_logger(std::string(actors::associations_prefix));
  associations_watch_ = open_watch(actors::associations_prefix, std::move(a));
}

std::unique_ptr<cluster::etcd_watch> subscription_sync::open_watch(
  std::string_view prefix, cluster::etcd_watch_handlers handlers) {
  auto w = std::make_unique<cluster::etcd_watch>(ioc_, *clients_[watching_], urls_[watching_],
                                                 std::string(prefix), std::move(handlers));
  w->start();
  return w;
}

void subscription_sync::follow(std::size_t index) {
  if (index >= urls_.size())
    return;
  current_.store(index);
  std::lock_guard lock(watches_mutex_);
  if (index == watching_)
    return;
  watching_ = index;
  for (auto* w : {watch_.get(), types_watch_.get(), associations_watch_.get()})
    if (w)
      w->move_to(urls_[index], *clients_[index]);
}

void subscription_sync::stop() {
  std::lock_guard lock(watches_mutex_);
  if (watch_)
    watch_->stop();
  if (types_watch_)
    types_watch_->stop();
  if (associations_watch_)
    associations_watch_->stop();
}

std::function<void(core::expected<cluster::etcd_txn, cluster::etcd_error>)> subscription_sync::
  txn_outcome(std::function<void(actors::mirror_outcome)> done) {
  return [this, done = std::move(done)](core::expected<cluster::etcd_txn, cluster::etcd_error> r) {
    if (!r) {
      rotate(r.error().status);
      return done(unreachable(r.error()));
    }
    actors::mirror_outcome o;
    o.result = r->succeeded ? actors::mirror_outcome::kind::ok
                            : actors::mirror_outcome::kind::conflict;
    o.revision = r->revision;
    done(std::move(o));
  };
}

void subscription_sync::put(const std::string& id, std::string record, int64_t mod_revision,
                            std::function<void(actors::mirror_outcome)> done) {
  etcd().compare_and_put(actors::subs_key(id), mod_revision, record, 0,
                         txn_outcome(std::move(done)));
}

void subscription_sync::erase(const std::string& id,
                              std::function<void(actors::mirror_outcome)> done) {
  etcd().erase(actors::subs_key(id), false,
               [this, done = std::move(done)](core::expected<int64_t, cluster::etcd_error> r) {
                 if (!r) {
                   rotate(r.error().status);
                   return done(unreachable(r.error()));
                 }
                 done(actors::mirror_outcome{});
               });
}

void subscription_sync::put_event_type(const std::string& code, std::string record,
                                       std::function<void(actors::mirror_outcome)> done) {
  put_key(actors::event_type_key(code), std::move(record), std::move(done));
}

void subscription_sync::put_association(const std::string& token, std::string record,
                                        std::function<void(actors::mirror_outcome)> done) {
  put_key(actors::association_etcd_key(token), std::move(record), std::move(done));
}

void subscription_sync::add_association(const std::string& token, std::string record,
                                        std::function<void(actors::mirror_outcome)> done) {
  etcd().create(actors::association_etcd_key(token), record, 0, txn_outcome(std::move(done)));
}

void subscription_sync::put_key(const std::string& key, std::string record,
                                std::function<void(actors::mirror_outcome)> done) {
  etcd().put(key, record, 0,
             [this, done = std::move(done)](core::expected<int64_t, cluster::etcd_error> r) {
               if (!r) {
                 rotate(r.error().status);
                 return done(unreachable(r.error()));
               }
               actors::mirror_outcome o;
               o.revision = *r;
               done(std::move(o));
             });
}

void subscription_sync::erase_event_type(const std::string& code,
                                         std::function<void(actors::mirror_outcome)> done) {
  etcd().erase(actors::event_type_key(code), false,
               [this, done = std::move(done)](core::expected<int64_t, cluster::etcd_error> r) {
                 if (!r) {
                   rotate(r.error().status);
                   return done(unreachable(r.error()));
                 }
                 done(actors::mirror_outcome{});
               });
}

} // namespace sy::app
