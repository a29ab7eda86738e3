#include "cluster/peer_links.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <set>

#include "cluster/protocol.hpp"
#include "log/log.hpp"

namespace sy::cluster {

namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

/// Re-reads the members, dials, pings (local: the actor's own timer).
using link_tick_atom = caf::atom_constant<caf::atom("linktick")>;
/// A probe of a lost peer's port ended (local: node, lease, probe_result).
using probed_atom = caf::atom_constant<caf::atom("probed")>;

constexpr auto tick_every = 250ms;
constexpr int ticks_per_ping = 4; // a ping per second on each connected link
constexpr auto first_backoff = std::chrono::milliseconds(250);
constexpr auto max_backoff = std::chrono::milliseconds(4000);
// A connect or a hello to a stopped peer is only ended by its timeout.
constexpr auto connect_timeout = 5s;
constexpr auto hello_timeout = 3s;
constexpr auto ping_timeout = 2s;

// Splits "host:port" or "[v6]:port"; nullopt when it is not that shape.
std::optional<std::pair<std::string, uint16_t>> host_and_port(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
    return std::nullopt;
  auto host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  for (auto c : s.substr(colon + 1)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    port = port * 10 + static_cast<unsigned long>(c - '0');
    if (port > 65535)
      return std::nullopt;
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

// What plain TCP connects to a lost peer's cluster address found.
enum class probe_result : int {
  refused,  // nothing listens there: the process is gone, its machine up
  answered, // every connect completed: the process runs (perhaps stopped)
  silent,   // a connect timed out or the host is unreachable: machine or network
};

constexpr int probe_attempts = 3;
constexpr auto probe_timeout = std::chrono::milliseconds(300);
constexpr auto probe_spacing = std::chrono::milliseconds(100);

// Connects to `host`:`port` up to probe_attempts times, probe_spacing
// apart (a process being killed may close its links a moment before its
// listener): refused at the first refusal, answered when every connect
// completed, else silent. Blocks for at most about a second; runs on a
// detached actor of its own.
probe_result probe(const std::string& host, uint16_t port) {
  namespace ip = boost::asio::ip;
  boost::asio::io_context ioc;
  boost::system::error_code ec;
  auto where = ip::tcp::resolver(ioc).resolve(host, std::to_string(port), ec);
  if (ec || where.empty())
    return probe_result::silent;
  for (int attempt = 0; attempt < probe_attempts; ++attempt) {
    if (attempt > 0)
      std::this_thread::sleep_for(probe_spacing);
    ip::tcp::socket socket(ioc);
    std::optional<boost::system::error_code> result;
    boost::asio::async_connect(
      socket, where, [&](const boost::system::error_code& e, const auto&) { result = e; });
    ioc.restart();
    ioc.run_for(probe_timeout);
    if (!result) {
      socket.close();
      ioc.restart();
      ioc.run();
      return probe_result::silent;
    }
    if (*result == boost::asio::error::connection_refused)
      return probe_result::refused;
    if (*result)
      return probe_result::silent;
  }
  return probe_result::answered;
}

// One member other than this node, as the links actor dials it.
struct peer {
  std::string address;
  std::string state = "connecting"; // "connecting" until the first failure, then "down"
  caf::actor handle;                // set while connected
  uint64_t generation = 0;          // bumped per attempt and per loss: older replies are stale
  bool in_flight = false;           // a connect or hello is under way
  clock::time_point next_attempt{};
  std::chrono::milliseconds backoff = first_backoff;
  int64_t rtt_us = -1;
  uint64_t ping_seq = 0;
  std::string last_error; // logged once per distinct reason
  int64_t lease = 0;      // its member key's etcd lease, as last read
  bool probing = false;   // a probe of its lost link is under way
  // When its link last broke (not a graceful stop) and the lease it had
  // then; lost_lease is 0 while linked, or when no link broke in this life.
  clock::time_point lost_at{};
  int64_t lost_lease = 0;
};

// What the actor last saw, for links() on any thread.
struct snapshot {
  std::mutex mutex;
  std::vector<link_view> links;
};

struct links_state {
  peer_links_options options;
  std::shared_ptr<snapshot> seen;
  caf::io::middleman_actor dialer;
  std::map<std::string, peer> peers;
  std::set<std::string> greeted; // peers whose last hello in was accepted
  uint64_t ticks = 0;
  caf::actor replicator; // the node's replicator, once attached
  caf::actor router;     // the node's router, once attached
  // What options.suspects was last told.
  suspect_list suspected;
};

using links_actor = caf::stateful_actor<links_state>;

void publish_snapshot(links_actor* self) {
  std::vector<link_view> out;
  for (const auto& [node, p] : self->state.peers)
    out.push_back({node, p.state, p.rtt_us, p.last_error});
  std::lock_guard<std::mutex> guard(self->state.seen->mutex);
  self->state.seen->links = std::move(out);
}

peer_hello own_hello(const links_state& st) {
  peer_hello h;
  h.wire = st.options.wire;
  h.node = st.options.node;
  h.partitions = st.options.partitions;
  return h;
}

// Returns why a peer whose hello is `h` cannot be linked to, or "" when it can:
// both sides of a link check, so a mismatch is refused by both.
std::string refusal(const links_state& st, const peer_hello& h) {
  if (h.wire != st.options.wire)
    return "it speaks node-to-node wire version " + std::to_string(h.wire) + ", this node " +
           std::to_string(st.options.wire) +
           ": refused (nodes of releases with different wire versions cannot link: upgrade "
           "every node to the same release, docs/cluster.md \"Rolling restart\")";
  if (h.partitions != st.options.partitions)
    return "it has " + std::to_string(h.partitions) + " partitions, this node " +
           std::to_string(st.options.partitions) +
           ": refused (cluster.partitions must be the same on every node)";
  return {};
}

// A refusal's reason says what to do; a failed attempt gets the hint below.
enum class failure { attempt, refused };

void fail(links_actor* self, const std::string& node, const std::string& why,
          failure kind = failure::attempt) {
  auto it = self->state.peers.find(node);
  if (it == self->state.peers.end())
    return;
  auto& p = it->second;
  p.in_flight = false;
  p.handle = nullptr;
  p.state = "down";
  p.next_attempt = clock::now() + p.backoff;
  p.backoff = std::min(p.backoff * 2, max_backoff);
  if (why != p.last_error) {
    p.last_error = why;
    std::string hint = kind == failure::refused ? ""
                       : self->state.options.tls
                         ? "; check that the peer runs, listens on that address, and that both "
                           "nodes' cluster.tls_cert are signed by the same cluster.tls_ca"
                         : "; check that the peer runs and listens on that address (its "
                           "cluster.advertise)";
    log::write(log::level::warn, "cluster.link_failed",
               "cannot link to " + node + " at " + p.address + ": " + why + hint,
               {{"peer", node}, {"address", p.address}});
  }
  publish_snapshot(self);
}

void send_ping(links_actor* self, const std::string& node) {
  auto& p = self->state.peers.at(node);
  const auto seq = ++p.ping_seq;
  const auto gen = p.generation;
  const auto sent = clock::now();
  self->request(p.handle, ping_timeout, peer_ping{self->state.options.node, seq})
    .then(
      [=](const peer_pong& pong) {
        auto it = self->state.peers.find(node);
        if (it == self->state.peers.end() || it->second.generation != gen || pong.seq != seq)
          return;
        it->second.rtt_us =
          std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - sent).count();
        publish_snapshot(self);
      },
      [](const caf::error&) {
        // A lost peer shows through its down_msg; a late pong only means
        // the rtt stays as it was.
      });
}

void hello(links_actor* self, const std::string& node, caf::actor remote, uint64_t gen) {
  self->request(remote, hello_timeout, own_hello(self->state))
    .then(
      [=](const peer_hello& h) {
        auto it = self->state.peers.find(node);
        if (it == self->state.peers.end() || it->second.generation != gen)
          return;
        if (auto why = refusal(self->state, h); !why.empty())
          return fail(self, node, why, failure::refused);
        if (h.node != node)
          return fail(self, node,
                      "the node listening there is \"" + h.node +
                        "\": refused (check its "
                        "cluster.advertise)");
        auto& p = it->second;
        p.in_flight = false;
        p.handle = remote;
        p.state = "connected";
        p.backoff = first_backoff;
        p.last_error.clear();
        p.lost_lease = 0;
        self->monitor(remote);
        log::write(log::level::info, "cluster.link_up", "linked to " + node + " at " + p.address,
                   {{"peer", node}, {"address", p.address}});
        publish_snapshot(self);
        send_ping(self, node);
      },
      [=](const caf::error& e) {
        auto it = self->state.peers.find(node);
        if (it != self->state.peers.end() && it->second.generation == gen)
          fail(self, node, "no hello: " + self->system().render(e));
      });
}

void dial(links_actor* self, const std::string& node) {
  auto& p = self->state.peers.at(node);
  auto where = host_and_port(p.address);
  if (!where) {
    p.next_attempt = clock::time_point::max();
    return fail(self, node, "its cluster address is not HOST:PORT");
  }
  const auto gen = ++p.generation;
  p.in_flight = true;
  self
    ->request(self->state.dialer, connect_timeout, caf::connect_atom::value, where->first,
              where->second)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        auto it = self->state.peers.find(node);
        if (it == self->state.peers.end() || it->second.generation != gen)
          return;
        auto remote = caf::actor_cast<caf::actor>(ptr);
        if (!remote)
          return fail(self, node, "no actor is published there");
        hello(self, node, std::move(remote), gen);
      },
      [=](const caf::error& e) {
        auto it = self->state.peers.find(node);
        if (it != self->state.peers.end() && it->second.generation == gen)
          fail(self, node, self->system().render(e));
      });
}

// Takes the link a peer dialled (its hello or ping came in on it): the
// pair's one connection, since only the node with the smaller name dials.
void adopt(links_actor* self, const std::string& node, const caf::strong_actor_ptr& sender) {
  auto it = self->state.peers.find(node);
  auto remote = caf::actor_cast<caf::actor>(sender);
  if (it == self->state.peers.end() || it->second.handle || !remote)
    return;
  auto& p = it->second;
  ++p.generation;
  p.handle = remote;
  p.state = "connected";
  p.last_error.clear();
  p.lost_lease = 0;
  self->monitor(remote);
  log::write(log::level::info, "cluster.link_up", "linked to " + node + " (it dialled this node)",
             {{"peer", node}, {"address", p.address}});
  publish_snapshot(self);
  send_ping(self, node);
}

// Returns whether this node dials `peer`: one connection per pair (two
// would race in CAF's BASP, and through caf::openssl the second one closes
// the first), made by the node whose name sorts first.
bool dials(links_actor* self, const std::string& peer) { return self->state.options.node < peer; }

// Delegates `request` to `node`'s links actor (which delegates it to its
// replicator): the answer goes to the asker directly. A peer not linked
// fails it at once with no_route_to_receiving_node, so the asker does not
// wait for its timeout and knows that nothing was sent (the router routes
// such a batch again, as after not_primary).
template <class Reply, class Request>
caf::result<Reply> route(links_actor* self, const std::string& node, Request& request) {
  auto rp = self->make_response_promise();
  auto it = self->state.peers.find(node);
  if (it == self->state.peers.end() || !it->second.handle)
    rp.deliver(caf::make_error(caf::sec::no_route_to_receiving_node));
  else
    rp.delegate(it->second.handle, std::move(request));
  return rp;
}

// Delegates a peer's replication request to this node's replicator.
template <class Reply, class Request>
caf::result<Reply> to_replicator(links_actor* self, Request& request) {
  auto rp = self->make_response_promise();
  if (!self->state.replicator)
    rp.deliver(caf::make_error(caf::sec::request_receiver_down));
  else
    rp.delegate(self->state.replicator, std::move(request));
  return rp;
}

// Delegates a peer's route_request to this node's router (none yet: refused
// with nothing written, as route() refuses).
caf::result<route_response> to_router(links_actor* self, route_request& request) {
  auto rp = self->make_response_promise();
  if (!self->state.router)
    rp.deliver(caf::make_error(caf::sec::no_route_to_receiving_node));
  else
    rp.delegate(self->state.router, std::move(request));
  return rp;
}

// Follows the members in etcd: new ones are dialled, departed ones dropped.
void follow_members(links_actor* self) {
  std::map<std::string, peer_address> live;
  for (auto& m : self->state.options.members())
    if (m.node != self->state.options.node)
      live[m.node] = m;
  for (auto it = self->state.peers.begin(); it != self->state.peers.end();) {
    auto found = live.find(it->first);
    if (found == live.end() || found->second.cluster != it->second.address) {
      if (it->second.handle)
        self->demonitor(it->second.handle.address());
      it = self->state.peers.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [node, m] : live) {
    auto& p = self->state.peers[node];
    p.address = m.cluster;
    p.lease = m.lease;
  }
}

// Tells options.suspects the peers whose link broke at least
// suspect_after ago in their current life and has not come back, when that
// list changed (the members that left etcd went with their peer entry).
void report_suspects(links_actor* self, clock::time_point now) {
  const auto& o = self->state.options;
  if (!o.suspects)
    return;
  const auto& before = self->state.suspected;
  suspect_list out;
  for (const auto& [node, p] : self->state.peers) {
    if (p.handle || p.lost_lease == 0 || p.lost_lease != p.lease ||
        now - p.lost_at < o.suspect_after)
      continue;
    out.emplace_back(node, p.lease);
    if (std::find(before.begin(), before.end(), out.back()) == before.end())
      log::write(
        log::level::warn, "cluster.peer_suspect",
        "the link to " + node + " broke " +
          std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(now - p.lost_at).count()) +
          " ms ago and has not come back: suspecting " + node +
          " (its lease is revoked once every other member suspects it too)",
        {{"peer", node}});
  }
  if (out == before)
    return;
  self->state.suspected = out;
  o.suspects(std::move(out));
}

// The body of a probe's detached actor: probes, reports, ends.
void run_probe(caf::event_based_actor* self, caf::actor links, std::string node, int64_t lease,
               std::string host, uint16_t port) {
  const auto found = probe(host, port);
  self->send(links, probed_atom::value, std::move(node), lease, static_cast<int>(found));
}

// Probes `node`'s cluster address on a detached actor of its own (the
// connects block) once its link dropped; the answer comes back as
// probed_atom. The lease is the one its member key had when the link
// dropped: a new life under a new lease is never the one revoked.
void probe_lost(links_actor* self, const std::string& node, peer& p) {
  auto where = host_and_port(p.address);
  if (!self->state.options.peer_gone || p.lease == 0 || p.probing || !where)
    return;
  p.probing = true;
  // Arguments, not captures: CAF 0.17 dereferences a null argument tuple
  // when a function actor is spawned without any (UBSan reports it).
  self->spawn<caf::detached>(run_probe, caf::actor_cast<caf::actor>(self), node, p.lease,
                             where->first, where->second);
}

void on_probed(links_actor* self, const std::string& node, int64_t lease, probe_result found) {
  auto it = self->state.peers.find(node);
  if (it != self->state.peers.end())
    it->second.probing = false;
  switch (found) {
    case probe_result::refused:
      // Only while it is a member in the life probed and not linked again.
      if (it == self->state.peers.end() || it->second.handle || it->second.lease != lease)
        return;
      log::write(log::level::warn, "cluster.peer_gone",
                 node + " refuses connections at " + it->second.address +
                   " since its link dropped: its process is gone; revoking its etcd lease so "
                   "that its partitions fail over now",
                 {{"peer", node}});
      self->state.options.peer_gone(node, lease);
      break;
    case probe_result::answered:
      log::write(log::level::info, "cluster.peer_unresponsive",
                 node + " still accepts connections though its link dropped (stopped or "
                        "overloaded?): its etcd lease decides",
                 {{"peer", node}});
      break;
    case probe_result::silent:
      log::write(log::level::info, "cluster.peer_unreachable",
                 node + " does not answer (its machine or the network?): its etcd lease decides",
                 {{"peer", node}});
      break;
  }
}

caf::behavior links_behavior(links_actor* self, peer_links_options options,
                             std::shared_ptr<snapshot> seen) {
  self->state.dialer = options.tls ? self->system().openssl_manager().actor_handle()
                                   : self->system().middleman().actor_handle();
  self->state.options = std::move(options);
  self->state.seen = std::move(seen);
  self->set_down_handler([self](caf::down_msg& msg) {
    for (auto& [node, p] : self->state.peers) {
      if (!p.handle || p.handle.address() != msg.source)
        continue;
      ++p.generation; // a pong still on its way is stale
      p.rtt_us = -1;
      log::write(log::level::warn, "cluster.link_down",
                 "lost the link to " + node + ": " + self->system().render(msg.reason) +
                   "; redialling while it is a member in etcd",
                 {{"peer", node}, {"address", p.address}});
      p.last_error = "the link was lost: " + self->system().render(msg.reason);
      p.handle = nullptr;
      p.in_flight = false;
      p.state = "down";
      p.backoff = first_backoff;
      p.next_attempt = clock::now() + p.backoff;
      publish_snapshot(self);
      for (const auto& attached : {self->state.router, self->state.replicator})
        if (attached)
          self->send(attached, peer_down_atom::value, node);
      // A peer that stopped its links itself (a graceful stop) leaves by
      // itself; one whose link broke may be gone.
      if (msg.reason != caf::exit_reason::user_shutdown && msg.reason != caf::exit_reason::normal) {
        p.lost_at = clock::now();
        p.lost_lease = p.lease;
        probe_lost(self, node, p);
      }
      return;
    }
  });
  self->send(self, link_tick_atom::value);
  return {
    [self](link_tick_atom) {
      follow_members(self);
      const auto now = clock::now();
      const bool ping_now = ++self->state.ticks % ticks_per_ping == 0;
      std::vector<std::string> nodes;
      for (auto& [node, p] : self->state.peers)
        nodes.push_back(node);
      for (const auto& node : nodes) {
        auto& p = self->state.peers.at(node);
        if (p.handle && ping_now)
          send_ping(self, node);
        else if (!p.handle && !p.in_flight && now >= p.next_attempt && dials(self, node))
          dial(self, node);
      }
      publish_snapshot(self);
      report_suspects(self, now);
      self->delayed_send(self, tick_every, link_tick_atom::value);
    },
    [self](const peer_hello& h) {
      // The dialling side checks the answer too: a mismatch is refused by both.
      if (auto why = refusal(self->state, h); !why.empty()) {
        self->state.greeted.erase(h.node); // restarted as another release: its pings adopt nothing
        auto it = self->state.peers.find(h.node);
        if (it != self->state.peers.end() && it->second.last_error != why) {
          it->second.last_error = why;
          log::write(log::level::warn, "cluster.link_failed",
                     "refused a link from " + h.node + ": " + why, {{"peer", h.node}});
          publish_snapshot(self);
        }
      } else {
        self->state.greeted.insert(h.node);
        adopt(self, h.node, self->current_sender());
      }
      return own_hello(self->state);
    },
    [self](const peer_ping& ping) {
      // A link lost and dialled again by the peer is taken up by its pings
      // once it has said hello (and not been refused) in this life.
      if (self->state.greeted.count(ping.node))
        adopt(self, ping.node, self->current_sender());
      return peer_pong{self->state.options.node, ping.seq};
    },
    [self](probed_atom, const std::string& node, int64_t lease, int found) {
      on_probed(self, node, lease, static_cast<probe_result>(found));
    },
    [self](peer_attach_atom, caf::actor replicator) {
      self->state.replicator = std::move(replicator);
    },
    [self](router_attach_atom, caf::actor router) { self->state.router = std::move(router); },
    [self](peer_route_atom, const std::string& node, route_request& r)
      -> caf::result<route_response> { return route<route_response>(self, node, r); },
    [self](route_request& r) -> caf::result<route_response> { return to_router(self, r); },
    [self](peer_route_atom, const std::string& node, fetch_request& r)
      -> caf::result<fetch_response> { return route<fetch_response>(self, node, r); },
    [self](peer_route_atom, const std::string& node, epoch_end_request& r)
      -> caf::result<epoch_end_response> { return route<epoch_end_response>(self, node, r); },
    [self](fetch_request& r) -> caf::result<fetch_response> {
      return to_replicator<fetch_response>(self, r);
    },
    [self](epoch_end_request& r) -> caf::result<epoch_end_response> {
      return to_replicator<epoch_end_response>(self, r);
    },
  };
}

} // namespace

struct peer_links::impl {
  impl(caf::actor_system& sys, bool with_tls) : system(sys), tls(with_tls) {}
  caf::actor_system& system;
  bool tls = false;
  std::shared_ptr<snapshot> seen = std::make_shared<snapshot>();
  caf::actor actor;
};

peer_links::peer_links(caf::actor_system& system, peer_links_options options)
    : impl_(std::make_unique<impl>(system, options.tls)) {
  if (options.wire == 0)
    options.wire = wire_version;
  impl_->actor = system.spawn(links_behavior, std::move(options), impl_->seen);
}

peer_links::~peer_links() { stop(); }

core::expected<uint16_t, std::string> peer_links::listen(const std::string& host, uint16_t port) {
  auto bound = impl_->tls
                 ? caf::openssl::publish(impl_->actor, port, host.c_str(), true)
                 : impl_->system.middleman().publish(impl_->actor, port, host.c_str(), true);
  if (!bound)
    return impl_->system.render(bound.error());
  return *bound;
}

void peer_links::stop() {
  if (impl_->actor)
    caf::anon_send_exit(impl_->actor, caf::exit_reason::user_shutdown);
}

caf::actor peer_links::actor() const { return impl_->actor; }

std::vector<link_view> peer_links::links() const {
  std::lock_guard<std::mutex> guard(impl_->seen->mutex);
  return impl_->seen->links;
}

} // namespace sy::cluster
