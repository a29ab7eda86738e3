#include "app/server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include <csignal>
#include <filesystem>
#include <sys/stat.h>
#include <cerrno>
#include <cstring>
#include <future>
#include <random>
#include <thread>

#include "actors/cluster_apply.hpp"
#include "actors/delivery_gate.hpp"
#include "actors/ingest.hpp"
#include "actors/live_feed.hpp"
#include "actors/messages.hpp"
#include "actors/registry.hpp"
#include "actors/subscription.hpp"
#include "api/api.hpp"
#include "api/cluster_ingest.hpp"
#include "api/metrics.hpp"
#include "app/cluster_subs.hpp"
#include "app/ssl_error_queue_guard.hpp"
#include "cluster/broker_cleanup_fix.hpp"
#include "cluster/membership.hpp"
#include "cluster/node_number.hpp"
#include "cluster/peer_links.hpp"
#include "cluster/protocol.hpp"
#include "cluster/replicator.hpp"
#include "cluster/router.hpp"
#include "core/clock.hpp"
#include "log/log.hpp"
#include "log/rate_limit.hpp"
#include "storage/gc.hpp"
#include "storage/journal.hpp"
#include "storage/worker.hpp"
#include "transport/http_client.hpp"
#include "storage/backup.hpp"
#include "transport/http_server.hpp"

namespace sy::app {

namespace {

constexpr int exit_failure = 1;
// Exit status for a configuration the operator must fix (docs/api.md §7).
constexpr int exit_bad_config = 2;
constexpr std::size_t max_pending_events = 1'000'000;
constexpr auto gc_period = std::chrono::seconds(30);
// CAF's heartbeats are off by default: without them a hung peer or a cut
// link is never noticed (only a closed socket is). 250 ms / 1.5 s marks a
// stopped peer down in about 1.5-2 s (tests/integration/cluster_test.cpp).
constexpr auto link_heartbeat = std::chrono::milliseconds(250);
constexpr auto link_timeout = std::chrono::milliseconds(1500);

// Cluster mode's data plane (docs/cluster.md): ingest splits batches by
// partition and the router gets each part to its primary's replicator,
// whose committed entries the primary's partition_apply journals and
// delivers. One switch for the whole of it: ingest through the router
// without the apply would acknowledge events that no subscriber is handed.
constexpr bool cluster_data_plane = true;

static_assert(caf::id_block::switchyard::end <= caf::id_block::switchyard_cluster::begin,
              "the type-ID blocks of actors/messages.hpp and cluster/protocol.hpp overlap");

int threads_or_cores(int configured) {
  if (configured > 0)
    return configured;
  return std::max(1u, std::thread::hardware_concurrency());
}

// Waits for SIGTERM, SIGINT or SIGHUP (blocked in main() before any thread
// started, so that only this sigwait takes them).
int wait_for_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

const char* signal_name(int sig) { return sig == SIGTERM ? "SIGTERM" : "SIGINT"; }

// How long a cluster node's graceful stop may spend handing its partitions
// over (hand_over below) before it leaves anyway, and how much of it waits
// for the requests in progress and the deliveries in flight (a receiver
// slower than that is redelivered by the successor: a duplicate, never a
// loss; a request unanswered by then gets 503).
constexpr auto hand_over_budget = std::chrono::seconds(5);
constexpr auto in_flight_budget = std::chrono::seconds(3);

// A cluster node's graceful stop (SIGTERM, SIGINT), before its lease goes
// (docs/cluster.md "Rolling restart"), once its listener is closed: the
// requests in progress get their answers (their events commit on the
// partitions' primaries: a 503 now would make producers send again what was
// accepted); no delivery starts any more, the ones in flight end and their
// acks are written, one release check frees what they delivered, new
// appends are refused while the ones written commit, and every in-sync
// backup trims its log to that point. A successor then redelivers
// only what was not delivered here, instead of what was delivered since the
// backups' last fetch. Peers' batches for the partitions this node leads
// still commit until the replicator's hand-over begins (the successor
// delivers them), and are answered not_primary after.
void hand_over(actors::delivery_gate& gate, actors::partition_apply& apply,
               cluster::replicator& replicator, const cluster::router& router) {
  using steady = std::chrono::steady_clock;
  const auto began = steady::now();
  const int64_t routing = router.in_flight();
  while (router.in_flight() > 0 && steady::now() < began + in_flight_budget)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const int64_t unanswered = std::max<int64_t>(0, router.in_flight());
  gate.close_all();
  const int64_t at_close = gate.pending();
  log::write(log::level::info, "cluster.handing_over",
             "handing this node's partitions over before leaving: " +
               std::to_string(std::max<int64_t>(0, routing - unanswered)) + " of " +
               std::to_string(routing) +
               " requests in progress answered; no delivery starts now; " +
               std::to_string(at_close) + " deliveries in flight or not yet recorded",
             {{"requests", std::to_string(routing)},
              {"unanswered", std::to_string(unanswered)},
              {"pending", std::to_string(at_close)}});
  while (gate.pending() > 0 && steady::now() < began + in_flight_budget)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const int64_t left = gate.pending();
  const auto deadline = began + hand_over_budget;
  const bool released = apply.check_releases_now(deadline);
  const bool handed = released && replicator.hand_over(deadline);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - began);
  if (handed && left <= 0) {
    log::write(log::level::info, "cluster.handed_over",
               "handed the partitions over in " + std::to_string(ms.count()) +
                 " ms: the backups trimmed their logs to what this node delivered",
               {{"ms", std::to_string(ms.count())}});
    return;
  }
  std::string what = left > 0    ? std::to_string(left) + " deliveries did not end in time"
                     : !released ? "the release check did not run in time"
                                 : "the appends written did not commit, or a backup did not "
                                   "fetch the new log start, in time";
  log::write(log::level::warn, "cluster.hand_over_incomplete",
             "left after " + std::to_string(ms.count()) + " ms: " + what +
               "; the successor redelivers what was delivered since (duplicates, nothing lost)",
             {{"ms", std::to_string(ms.count())}, {"pending", std::to_string(left)}});
}

// Runs `step` (connect or join: they block while etcd is retried) on its own
// thread and takes SIGTERM/SIGINT meanwhile, so that a stop is not held up
// by an etcd that does not answer. Returns the step's result and the signal
// that interrupted it (0: none).
std::pair<core::expected<void, cluster::join_error>, int> interruptible(
  cluster::membership& m, std::function<core::expected<void, cluster::join_error>()> step) {
  auto result = std::async(std::launch::async, std::move(step));
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  const timespec tick{0, 100'000'000};
  int sig = 0;
  while (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    int got = sigtimedwait(&set, nullptr, &tick);
    if (got > 0 && sig == 0) {
      sig = got;
      m.interrupt();
    }
  }
  return {result.get(), sig};
}

std::vector<api::named_token> to_api(const std::vector<named_token>& tokens) {
  std::vector<api::named_token> out;
  for (const auto& t : tokens)
    out.push_back({t.name, t.value});
  return out;
}

api::auth_tokens tokens_of(const config& c) {
  return {to_api(c.admin_tokens), to_api(c.publish_tokens), to_api(c.metrics_tokens)};
}

// Returns the names in `list`, comma-separated (for the log: never values).
std::string names(const std::vector<named_token>& list) {
  std::string out;
  for (const auto& t : list)
    out += (out.empty() ? "" : ",") + t.name;
  return out;
}

// SIGHUP: applies the tokens and the log level of the file as it is now; a
// bad file changes nothing. Other keys need a restart, and the log says so.
void reload(config& current, const config_reader& read, api::token_store& tokens) {
  // log.file: logrotate has moved the file away; lines from here on go to a
  // new one at the configured path (a new path needs a restart).
  if (!current.log_file.empty())
    if (auto why = log::reopen_file())
      log::write(log::level::error, "log.reopen_failed",
                 "SIGHUP: cannot reopen log.file; lines keep going to the file of before",
                 {{"error", *why}});
  std::string error;
  auto next = read(error);
  if (!next) {
    log::write(log::level::error, "config.reload_failed",
               "SIGHUP: configuration not reloaded, the previous one stays in force",
               {{"error", error}});
    return;
  }
  config others = *next;
  others.admin_tokens = current.admin_tokens;
  others.publish_tokens = current.publish_tokens;
  others.metrics_tokens = current.metrics_tokens;
  others.log_level = current.log_level;
  const bool restart_needed = !(others == current);
  tokens.set(tokens_of(*next));
  // The reload line is written under the lower of the two levels, so that
  // it shows whichever way the level moved.
  const auto old_level = log::parse_level(current.log_level);
  const auto new_level = log::parse_level(next->log_level);
  log::set_level(std::min(old_level, new_level));
  current.admin_tokens = next->admin_tokens;
  current.publish_tokens = next->publish_tokens;
  current.metrics_tokens = next->metrics_tokens;
  current.log_level = next->log_level;
  log::write(log::level::info, "config.reloaded", "SIGHUP: tokens and log level reloaded",
             {{"admin_tokens", names(current.admin_tokens)},
              {"publish_tokens", names(current.publish_tokens)},
              {"metrics_tokens", names(current.metrics_tokens)},
              {"log_level", current.log_level}});
  if (restart_needed)
    log::write(log::level::warn, "config.restart_needed",
               "SIGHUP: keys other than auth.*_tokens and log.level changed; they take effect "
               "at the next start");
  log::set_level(new_level);
}

// Makes `dir` (and missing parents) owner-only: 0700. The process umask
// (077, set in serve) covers what RocksDB and the pull files create inside.
std::optional<std::string> make_private_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return ec.message();
  if (::chmod(dir.c_str(), 0700) != 0)
    return std::string("chmod 0700: ") + std::strerror(errno);
  return std::nullopt;
}

cluster::membership_options membership_options_of(const config& c) {
  cluster::membership_options o;
  o.node = c.cluster_node;
  o.cluster = c.cluster_advertise.empty() ? c.cluster_listen : c.cluster_advertise;
  o.etcd = c.cluster_etcd;
  o.partitions = static_cast<uint32_t>(c.cluster_partitions);
  o.replicas = static_cast<uint32_t>(c.cluster_replicas);
  o.min_insync = static_cast<uint32_t>(c.cluster_min_insync);
  o.rebalance_every = std::chrono::seconds(c.cluster_rebalance_every_s);
  o.lease_ttl = std::chrono::seconds(c.cluster_lease_ttl_s);
  o.keep_alive_every = std::chrono::milliseconds(c.cluster_lease_ttl_s * 1000 / 3);
  return o;
}

// Returns the API base URL peers and clients reach this node at: the
// listener's host (the advertised cluster host when it listens on every
// address) and its actual port.
std::string http_url_of(const config& c, uint16_t port) {
  auto host = split_host_port(c.listen)->first;
  if (host == "0.0.0.0" || host == "::") {
    auto advertised = split_host_port(c.cluster_advertise.empty() ? c.cluster_listen
                                                                  : c.cluster_advertise);
    host = advertised->first;
  }
  if (host.find(':') != std::string::npos)
    host = "[" + host + "]";
  return std::string(c.tls_cert.empty() ? "http" : "https") + "://" + host + ":" +
         std::to_string(port);
}

// Cluster mode keeps client subscriptions in etcd, and a node's first
// snapshot of /sy/subs/ removes the ones etcd lacks, with their queues. A
// data directory that ran as a single node would lose its subscriptions
// and their undelivered events that way, so it is refused until it has
// none; once a node has started in cluster mode its journal says so.
constexpr std::string_view cluster_member_meta = "cluster_member";

// Returns why `journal` cannot start in cluster mode, or nothing (and
// marks the journal as a cluster member's).
std::optional<std::string> refuse_single_node_journal(storage::journal& journal) {
  if (journal.get_meta(cluster_member_meta))
    return std::nullopt;
  std::size_t held = 0;
  if (auto failed = journal.scan_subscriptions([&](uint64_t, std::string record) {
        auto sub = actors::decode_subscription(std::move(record));
        if (sub && sub->is_mirrored())
          ++held;
      }))
    return "cannot read its subscriptions: " + failed->message;
  if (held > 0)
    return "it holds " + std::to_string(held) +
           " subscription(s) made in single-node mode, and cluster mode would remove them and "
           "their queued events (a cluster's subscriptions live in etcd); start cluster mode "
           "with an empty storage.data_dir, or run this data directory without [cluster]";
  if (auto failed = journal.put_meta(cluster_member_meta, "1"))
    return "cannot write to it: " + failed->message;
  return std::nullopt;
}

// Gives the node its number (cluster/node_number.hpp) before it mints an
// event id: the one its journal keeps, else a new one from etcd, stored in
// the journal (synced) before it is used; then confines the journal's
// sequence numbers to the number's range. A range used up (2^48 events)
// takes a new number. Blocks on etcd; run through interruptible().
core::expected<uint64_t, cluster::join_error> claim_node_number(cluster::membership& m,
                                                                storage::journal& journal) {
  auto storage_failed = [](std::string why) {
    return cluster::join_error{false, std::move(why), "storage.data_dir"};
  };
  uint64_t kept = 0;
  if (auto v = journal.get_meta(cluster::node_number_meta)) {
    auto n = cluster::parse_node_number(*v);
    if (!n)
      return storage_failed("the journal's meta " + std::string(cluster::node_number_meta) +
                            " is not a node number: " + *v);
    kept = *n;
  } else if (!v.error().not_found()) {
    return storage_failed("cannot read the node number from the journal: " + v.error().message);
  }
  while (true) {
    auto number = m.node_number(kept);
    if (!number)
      return number.error();
    if (kept == 0)
      if (auto err = journal.put_meta(cluster::node_number_meta,
                                      cluster::format_node_number(*number)))
        return storage_failed("cannot store the node number in the journal: " + err->message);
    auto next = journal.use_seq_range(cluster::seq_range_first(*number),
                                      cluster::seq_range_end(*number));
    if (next) {
      log::write(
        log::level::info, "cluster.node_number",
        "node number " + std::to_string(*number) +
          (kept ? " (kept from this data directory)" : " (new: this data directory had none)") +
          "; this node's next event id is " + actors::event_id(*next),
        {{"node_number", std::to_string(*number)}});
      return *number;
    }
    if (next.error().kind != storage::errc::no_space || kept == 0)
      return storage_failed("cannot set the journal's sequence numbers: " + next.error().message);
    log::write(log::level::warn, "cluster.node_number_used_up",
               "every event id of node number " + std::to_string(kept) +
                 " is used: taking a new number");
    kept = 0;
  }
}

} // namespace

int serve(const config& start_cfg, const config_reader& read_config) {
  config cfg = start_cfg; // tokens and log level change on SIGHUP
  // Events, subscriptions (their signing keys and egress credentials) and
  // pull files are nobody else's business: every file this process creates
  // is 0600 and every directory 0700, RocksDB's included.
  ::umask(077);
  if (auto why = make_private_dir(cfg.data_dir)) {
    log::write(log::level::error, "storage.error",
               "cannot create the data directory; check storage.data_dir and its permissions",
               {{"path", cfg.data_dir}, {"error", *why}});
    return exit_failure;
  }
  std::string error;
  storage::journal_options journal_opts;
  journal_opts.sync = cfg.sync;
  // A full or failing disk is reported here: one line, saying what to do.
  // A failing disk fails every read: one read-error line per
  // log.failure_interval_s, with how many it stands for.
  auto read_errors = std::make_shared<log::rate_limit>(cfg.failure_interval_s * 1000);
  journal_opts.log = [read_errors](storage::log_level level, const std::string& line) {
    if (level == storage::log_level::read_error) {
      if (auto left_out = read_errors->admit("read", core::system_clock().steady_ms()))
        log::write(log::level::error, "storage.read_failed", line,
                   {{"suppressed", std::to_string(*left_out)}});
    } else if (level == storage::log_level::error)
      log::write(log::level::error, "storage.error", line);
    else
      log::write(log::level::info, "storage.recovered", line);
  };
  bool newer_format = false;
  auto journal = storage::journal::open(cfg.data_dir + "/journal", std::move(journal_opts), error,
                                        &newer_format);
  if (!journal && newer_format) {
    log::write(log::level::error, "config.invalid", "cannot use storage.data_dir: " + error,
               {{"key", "storage.data_dir"}, {"error", error}});
    return exit_bad_config;
  }
  if (!journal) {
    log::write(log::level::error, "storage.error",
               "cannot open the journal; is another switchyard using this data directory?",
               {{"path", cfg.data_dir + "/journal"}, {"error", error}});
    return exit_failure;
  }
  if (cfg.cluster_enabled) {
    if (auto why = refuse_single_node_journal(*journal)) {
      log::write(log::level::error, "config.invalid",
                 "cannot use storage.data_dir in cluster mode: " + *why,
                 {{"key", "storage.data_dir"}, {"path", cfg.data_dir}});
      return exit_bad_config;
    }
  }

  caf::actor_system_config caf_cfg;
  // CAF's default is max(cores, 4) workers, which oversubscribes small machines.
  caf_cfg.set("scheduler.max-threads", static_cast<size_t>(threads_or_cores(cfg.actor_threads)));
  caf_cfg.set("logger.verbosity", caf::atom("quiet"));
  // Work sharing: idle workers wait on a condition variable and wake when
  // an I/O thread sends a message. CAF's default work stealing polls with
  // sleeps instead (50 µs, then 10 ms), which on two cores cost ~6 % of the
  // CPU in clock_nanosleep and ~15 % of the delivery rate (docs/performance.md).
  caf_cfg.set("scheduler.policy", caf::atom("sharing"));
  actors::register_protocol(caf_cfg);
  // [cluster]: the middleman (and, with cluster.tls_*, CAF's OpenSSL
  // manager doing mutual TLS) carries node-to-node links. A single node
  // loads neither: no multiplexer thread, nothing paid.
  const bool cluster_tls = cfg.cluster_enabled && !cfg.cluster_tls_cert.empty();
  if (cfg.cluster_enabled) {
    caf_cfg.load<caf::io::middleman>();
    // CAF 0.17.6's brokers never close their mailbox; without the fix a
    // heartbeat arriving at shutdown keeps the BASP broker alive (cluster/broker_cleanup_fix.cpp).
    if (!cluster::broker_cleanup_fix_bound())
      log::write(log::level::warn, "server.broker_cleanup_unbound",
                 "this build does not close CAF's broker mailboxes at shutdown: the node links' "
                 "broker may outlive the actor system (harmless at exit, reported by "
                 "LeakSanitizer); rebuild switchyard as a dynamically linked executable");
    caf_cfg.set("middleman.heartbeat-interval", caf::timespan{link_heartbeat});
    caf_cfg.set("middleman.connection-timeout", caf::timespan{link_timeout});
    if (cluster_tls) {
      // CAF 0.17.6 leaves OpenSSL's error queue dirty after a failed
      // handshake, which then closes healthy links (app/ssl_error_queue_guard.cpp).
      if (!ssl_error_queue_guard_bound()) {
        log::write(log::level::error, "config.invalid",
                   "cannot use cluster.tls_*: this build does not clear OpenSSL's error queue "
                   "before CAF's TLS calls, and a peer's failed handshake would drop the "
                   "other links; rebuild switchyard as a dynamically linked executable",
                   {{"key", "cluster.tls_cert"}});
        return exit_bad_config;
      }
      caf_cfg.load<caf::openssl::manager>();
      caf_cfg.openssl_certificate = cfg.cluster_tls_cert;
      caf_cfg.openssl_key = cfg.cluster_tls_key;
      caf_cfg.openssl_cafile = cfg.cluster_tls_ca;
    }
    cluster::register_cluster_protocol(caf_cfg);
  }
  // Declared before everything the actors use, so destroyed after it: by
  // then every actor has terminated and the Asio handlers holding actor
  // handles are gone.
  caf::actor_system system{caf_cfg};
  int status = 0;
  {
    boost::asio::io_context ioc;
    auto work = boost::asio::make_work_guard(ioc);
    // Made before the I/O threads start, so that an unusable egress.ca_file
    // can still end the start-up here.
    std::unique_ptr<transport::http_client> egress;
    try {
      egress = std::make_unique<transport::http_client>(
        ioc, transport::client_options{.ca_file = cfg.ca_file, .allow_private = cfg.allow_private});
    } catch (const std::exception& e) {
      log::write(log::level::error, "config.invalid", "bad configuration: egress.ca_file",
                 {{"key", "egress.ca_file"}, {"error", e.what()}});
      return exit_bad_config;
    }
    transport::http_client& client = *egress;
    // Cluster mode's own calls — etcd, and requests passed on to a peer —
    // go to the operator's machines, not to addresses a user gave: the
    // egress guard does not apply (production.toml refuses private
    // addresses), and an answer may be large (a page of the subscription
    // registry, an event file).
    std::unique_ptr<transport::http_client> cluster_client;
    if (cfg.cluster_enabled)
      cluster_client = std::make_unique<transport::http_client>(
        ioc, transport::client_options{
               .max_response_bytes = 64 << 20, .ca_file = cfg.ca_file, .allow_private = true});
    std::vector<std::thread> io_threads;
    const int n_io = threads_or_cores(cfg.io_threads);
    for (int i = 0; i < n_io; ++i)
      io_threads.emplace_back([&ioc] { ioc.run(); });

    actors::route_publisher routes;
    routes.publish(std::make_shared<actors::route_table>(std::vector<core::index_entry>{}));
    actors::event_type_publisher event_types;
    event_types.publish(std::make_shared<const actors::event_type_map>());
    actors::ingest_pipeline pipeline(*journal, storage::dedupe_window_ms, max_pending_events);
    std::atomic<bool> ready{false};

    // Synced writes that subscribers ask for (dead letters, purge, replay)
    // run here, not on a CAF worker; stopped once every actor is done.
    storage::blocking_worker journal_writer;
    // Attempts and state changes on their way to open /v1/stream connections.
    actors::live_feed feed;
    // [cluster]: a client subscription delivers only on its partition's
    // primary (opened and closed by partition_apply) while its membership
    // lease is alive (told by cluster::membership).
    std::unique_ptr<actors::delivery_gate> gate;
    if (cfg.cluster_enabled && cluster_data_plane)
      gate = std::make_unique<actors::delivery_gate>(static_cast<uint32_t>(cfg.cluster_partitions));
    auto sub_env = std::make_shared<actors::subscriber_env>();
    sub_env->gate = gate.get();
    sub_env->feed = &feed;
    sub_env->journal = journal.get();
    sub_env->writer = &journal_writer;
    sub_env->client = &client;
    sub_env->settings.timeout_ms = cfg.timeout_ms;
    sub_env->settings.initial_ms = cfg.initial_ms;
    sub_env->settings.multiplier = cfg.multiplier;
    sub_env->settings.max_ms = cfg.max_ms;
    sub_env->settings.max_age_ms = cfg.max_age_ms;
    sub_env->settings.breaker_ratio = cfg.breaker_ratio;
    sub_env->settings.breaker_window_ms = cfg.breaker_window_ms;
    sub_env->settings.breaker_min_attempts = cfg.breaker_min_attempts;
    sub_env->seed = std::random_device{}();
    sub_env->settings.pull_file_max_events = cfg.file_max_events;
    sub_env->settings.pull_file_max_age_ms = cfg.file_max_age_ms;
    sub_env->settings.failure_log_interval_ms = cfg.failure_interval_s * 1000;

    actors::registry_state::env_t reg_env;
    reg_env.journal = journal.get();
    reg_env.client = &client;
    reg_env.routes = &routes;
    reg_env.event_types = &event_types;
    reg_env.subscriber_env = sub_env;
    reg_env.system = &system;
    reg_env.ready = &ready;
    reg_env.push_gateway_url = cfg.gateway_url;
    // [cluster]: client subscriptions live in etcd's /sy/subs/ too.
    std::unique_ptr<subscription_sync> subs_sync;
    if (cfg.cluster_enabled) {
      subs_sync = std::make_unique<subscription_sync>(ioc, *cluster_client, cfg.cluster_etcd);
      reg_env.mirror = subs_sync.get();
    }
    auto registry = actors::spawn_registry(system, reg_env);
    // Garbage collection reads and deletes in bulk: its own thread, not a
    // CAF worker's.
    storage::garbage_collector gc(*journal, gc_period, storage::dedupe_window_ms);

    transport::server_limits limits;
    limits.max_body_bytes = static_cast<std::size_t>(cfg.max_body_bytes);
    limits.max_header_bytes = static_cast<std::size_t>(cfg.max_header_bytes);
    limits.read_timeout = std::chrono::milliseconds(cfg.read_timeout_ms);
    limits.idle_timeout = std::chrono::milliseconds(cfg.idle_timeout_ms);
    transport::http_server server(ioc, limits);
    api::api_context ctx;
    ctx.routes = &routes;
    ctx.event_types = &event_types;
    ctx.pipeline = &pipeline;
    ctx.registry = registry;
    ctx.system = &system;
    ctx.ready = &ready;
    ctx.tokens = std::make_shared<api::token_store>(tokens_of(cfg));
    ctx.allowed_hosts = cfg.allowed_hosts;
    ctx.metrics = std::make_shared<api::http_metrics>();
    ctx.max_subscription_series = cfg.max_subscription_series;
    ctx.max_batch_events = static_cast<std::size_t>(cfg.max_batch_events);
    ctx.journal = journal.get();
    storage::backup_runner backups(*journal);
    ctx.backups = &backups;
    ctx.console_dir = cfg.console_dir;
    ctx.auth_failures = std::make_shared<log::rate_limit>(cfg.failure_interval_s * 1000);
    ctx.feed = &feed;
    ctx.max_streams = cfg.max_streams;
    // [cluster]: made here so that GET /v1/cluster can reach it; it joins
    // once the listener's port is known. Without the table nothing of the
    // cluster exists.
    std::unique_ptr<cluster::membership> membership;
    std::unique_ptr<cluster::peer_links> links;      // node-to-node links, cluster mode only
    std::unique_ptr<actors::partition_apply> apply;  // committed entries → journal, subscribers
    std::unique_ptr<cluster::replicator> replicator; // the partition logs, cluster mode only
    std::atomic<cluster::replicator*> releases{nullptr}; // apply's release → replicator
    std::unique_ptr<cluster::router> router;             // ingest → partition primaries
    api::cluster_ingest to_cluster;
    if (cfg.cluster_enabled) {
      auto member_opts = membership_options_of(cfg);
      if (gate) // deliveries stop when the lease may have ended (actors/delivery_gate.hpp)
        member_opts.lease_alive_until = [g = gate.get()](auto end) { g->hold_lease_until(end); };
      if (subs_sync) // the subscription watches leave a failed etcd member with the membership's
        member_opts.watch_moved = [s = subs_sync.get()](std::size_t etcd) { s->follow(etcd); };
      membership = std::make_unique<cluster::membership>(ioc, *cluster_client,
                                                         std::move(member_opts));
      ctx.cluster = membership.get();
      ctx.forward = cluster_client.get();
      cluster::peer_links_options link_opts;
      link_opts.node = cfg.cluster_node;
      link_opts.partitions = static_cast<uint32_t>(cfg.cluster_partitions);
      link_opts.tls = cluster_tls;
      link_opts.members = [m = membership.get()] {
        std::vector<cluster::peer_address> live;
        for (auto& member : m->view().members)
          if (member.up)
            live.push_back({std::move(member.node), std::move(member.cluster), member.lease});
        return live;
      };
      link_opts.peer_gone = [m = membership.get()](const std::string& node, int64_t lease) {
        m->revoke_gone(node, lease);
      };
      link_opts.suspects = [m = membership.get()](cluster::suspect_list s) {
        m->suspect(std::move(s));
      };
      links = std::make_unique<cluster::peer_links>(system, std::move(link_opts));
      ctx.links = links.get();
      if (cluster_data_plane) {
        // Both read the configurations from the node's watch of /sy/parts/.
        auto configurations = [m = membership.get()] {
          return cluster::configurations_of(m->view());
        };
        actors::partition_apply_options apply_opts;
        apply_opts.gate = gate.get();
        // on_commit below hands it the entries of this node's own logs.
        apply_opts.reference_log = true;
        // Per-subscription release points, kept in etcd (/sy/progress/<p>).
        apply_opts.record_progress = [m = membership.get(), node = cfg.cluster_node](
                                       uint32_t p, uint64_t epoch,
                                       const actors::delivered_offsets& offsets) {
          m->record_progress(p, {node, static_cast<int64_t>(epoch), offsets});
        };
        apply_opts.recorded_progress = [m = membership.get()](uint32_t p) {
          auto record = m->progress(p);
          return record ? std::move(record->offsets) : actors::delivered_offsets{};
        };
        apply = std::make_unique<actors::partition_apply>(
          system, *journal, pipeline, routes, static_cast<uint32_t>(cfg.cluster_partitions),
          [&releases](uint32_t p, uint64_t epoch, uint64_t offset) {
            if (auto* r = releases.load())
              r->release(p, epoch, offset);
          },
          apply_opts);
        cluster::replicator_options repl_opts;
        repl_opts.node = cfg.cluster_node;
        repl_opts.min_insync = static_cast<uint32_t>(cfg.cluster_min_insync);
        repl_opts.configurations = configurations;
        repl_opts.on_commit = [a = apply.get()](uint32_t p, uint64_t epoch, uint64_t first,
                                                std::vector<std::string> entries) {
          a->apply(p, epoch, first, std::move(entries));
        };
        repl_opts.on_demote = [a = apply.get()](uint32_t p, uint64_t epoch) {
          a->demote(p, epoch);
        };
        repl_opts.on_propose = [m = membership.get()](uint32_t p, uint64_t epoch,
                                                      std::vector<std::string> nodes,
                                                      std::vector<std::string> drop) {
          m->propose_in_sync(p, static_cast<int64_t>(epoch), std::move(nodes), std::move(drop));
        };
        replicator = std::make_unique<cluster::replicator>(system, *journal, *links,
                                                           std::move(repl_opts));
        releases = replicator.get();
        ctx.replicator = replicator.get();
        ctx.apply = apply.get();
        cluster::router_options router_opts;
        router_opts.node = cfg.cluster_node;
        router_opts.configurations = configurations;
        router_opts.min_insync = static_cast<std::size_t>(cfg.cluster_min_insync);
        router = std::make_unique<cluster::router>(system, *links, *replicator,
                                                   std::move(router_opts));
        to_cluster.router = router.get();
        to_cluster.journal = journal.get();
        to_cluster.partitions = static_cast<uint32_t>(cfg.cluster_partitions);
        ctx.to_cluster = &to_cluster;
      }
    }
    api::install(server, ctx);
    // server.metrics_listen: a scraper's own address, without auth, on the
    // same I/O threads.
    std::unique_ptr<transport::http_server> metrics_server;
    if (!cfg.metrics_listen.empty()) {
      metrics_server = std::make_unique<transport::http_server>(ioc, limits);
      api::install_metrics_listener(*metrics_server, ctx);
    }

    auto host_port = split_host_port(cfg.listen);
    std::optional<uint16_t> port;
    auto cluster_failed = [&](const cluster::join_error& e) {
      log::write(log::level::error, e.bad_config ? "config.invalid" : "cluster.join_failed",
                 "cannot join the cluster: " + e.message, {{"key", e.key}});
      status = e.bad_config ? exit_bad_config : exit_failure;
    };
    int stop_signal = 0; // a stop signal taken while joining
    auto stopping_while_joining = [&](int sig) {
      stop_signal = sig;
      log::write(log::level::info, "server.stopping",
                 std::string(signal_name(sig)) + " received while joining the cluster: stopping");
    };
    if (membership) {
      auto [connected, sig] = interruptible(*membership, [&] { return membership->connect(); });
      if (sig != 0)
        stopping_while_joining(sig);
      else if (!connected)
        cluster_failed(connected.error());
    }
    if (membership && status == 0 && stop_signal == 0) {
      // Before anything mints an event id: the snapshot below may already
      // notify a watcher (an event), and the API does not listen yet.
      auto [numbered, sig] = interruptible(*membership,
                                           [&]() -> core::expected<void, cluster::join_error> {
                                             auto n = claim_node_number(*membership, *journal);
                                             if (!n)
                                               return n.error();
                                             return {};
                                           });
      if (sig != 0)
        stopping_while_joining(sig);
      else if (!numbered)
        cluster_failed(numbered.error());
      else
        subs_sync->start(registry); // the snapshot reconciles what the journal had
    }
    if (status == 0 && stop_signal == 0 && links) {
      // Before the API listens: a node that cannot take links never joins.
      auto link_host_port = split_host_port(cfg.cluster_listen);
      auto bound = links->listen(link_host_port->first, link_host_port->second);
      if (!bound) {
        log::write(log::level::error, "cluster.listen_failed",
                   "cannot listen on " + cfg.cluster_listen +
                     " for node-to-node links: " + bound.error() + "; pick another cluster.listen",
                   {{"address", cfg.cluster_listen}});
        status = exit_failure;
      } else {
        log::write(log::level::info, "cluster.listening",
                   "node-to-node links on " + link_host_port->first + ":" + std::to_string(*bound) +
                     (cluster_tls ? " (mutual TLS)" : ""));
      }
    }
    if (status != 0 || stop_signal != 0) {
      // The reason is logged; nothing listens.
    } else if (!cfg.tls_cert.empty() && !server.enable_tls(cfg.tls_cert, cfg.tls_key, error)) {
      log::write(log::level::error, "config.invalid", "bad configuration: " + error,
                 {{"key", "server.tls_cert"}, {"error", error}});
      status = exit_bad_config;
    } else if (!(port = server.listen(host_port->first, host_port->second, error))) {
      log::write(log::level::error, "server.listen_failed",
                 "cannot listen on " + cfg.listen + ": " + error +
                   "; pick another server.listen or --listen",
                 {{"address", cfg.listen}});
      status = exit_failure;
    } else {
      log::write(log::level::info, "server.listening",
                 "listening on " + host_port->first + ":" + std::to_string(*port) +
                   (cfg.tls_cert.empty() ? "" : " (https)"));
      std::optional<uint16_t> metrics_port;
      auto metrics_host_port = split_host_port(cfg.metrics_listen);
      if (metrics_server) {
        metrics_port = metrics_server->listen(metrics_host_port->first, metrics_host_port->second,
                                              error);
        if (!metrics_port) {
          log::write(log::level::error, "server.listen_failed",
                     "cannot listen on " + cfg.metrics_listen + ": " + error +
                       "; pick another server.metrics_listen",
                     {{"address", cfg.metrics_listen}});
          status = exit_failure;
        } else {
          // Worded unlike the line above, so that a script looking for
          // "listening on" finds the main listener.
          log::write(log::level::info, "server.metrics_listening",
                     "serving /metrics, /healthz and /readyz without auth on " +
                       metrics_host_port->first + ":" + std::to_string(*metrics_port));
        }
      }
      if (status == 0 && membership) {
        auto url = http_url_of(cfg, *port);
        auto [joined, sig] = interruptible(*membership,
                                           [&] { return membership->join(std::move(url)); });
        if (sig != 0)
          stopping_while_joining(sig);
        else if (!joined)
          cluster_failed(joined.error());
      }
      while (status == 0 && stop_signal == 0) {
        int sig = wait_for_signal();
        if (sig == SIGHUP) {
          reload(cfg, read_config, *ctx.tokens);
          continue;
        }
        log::write(log::level::info, "server.stopping",
                   std::string(signal_name(sig)) + " received: stopping");
        break;
      }
    }

    // Hand the partitions over, then leave the cluster, so that the others
    // see this node down at once.
    if (status == 0 && stop_signal == 0 && gate && apply && replicator && router) {
      server.stop(); // no request starts; the ones in progress are answered
      hand_over(*gate, *apply, *replicator, *router);
    }
    if (membership)
      membership->stop();
    if (subs_sync)
      subs_sync->stop();
    // Batches still routed are answered (503) before their carriers go.
    if (router)
      router->stop();
    if (replicator)
      replicator->stop(); // no on_commit after this
    releases = nullptr;
    if (apply)
      apply->stop(); // before the pipeline it submits to
    if (links)
      links->stop();
    // Stop taking requests, journal what was accepted, then stop delivering:
    // anything not yet delivered stays in the journal for the next start.
    server.stop();
    if (metrics_server)
      metrics_server->stop();
    pipeline.stop();
    gc.stop();
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    system.await_all_actors_done();
    journal_writer.stop();
    client.shutdown();
    if (cluster_client)
      cluster_client->shutdown();
    work.reset();
    ioc.stop();
    for (auto& t : io_threads)
      t.join();
  } // the io_context and its pending handlers go here, before the actor system
  // Nothing writes any more: the memtables go to table files, so that the
  // next start reads those instead of replaying the WAL (at 100 000
  // subscriptions a quarter of start-up). Not needed for durability.
  if (auto err = journal->flush())
    log::write(log::level::warn, "storage.flush_failed",
               "could not flush the journal at stop (nothing is lost; the next start replays "
               "its write-ahead log): " +
                 err->message,
               {{"path", cfg.data_dir + "/journal"}});
  log::write(log::level::info, "server.stopped", "stopped",
             {{"exit_status", std::to_string(status)}});
  return status;
}

} // namespace sy::app
