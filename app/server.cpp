#include "app/server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>
#include <random>
#include <thread>

#include "actors/ingest.hpp"
#include "actors/registry.hpp"
#include "api/api.hpp"
#include "api/metrics.hpp"
#include "storage/gc.hpp"
#include "storage/journal.hpp"
#include "transport/http_client.hpp"
#include "transport/http_server.hpp"

namespace sy::app {

namespace {

constexpr int exit_failure = 1;
// Exit status for a configuration the operator must fix (docs/api.md §7).
constexpr int exit_bad_config = 2;
constexpr std::size_t max_pending_events = 1'000'000;
constexpr auto gc_period = std::chrono::seconds(30);

int threads_or_cores(int configured) {
  if (configured > 0)
    return configured;
  return std::max(1u, std::thread::hardware_concurrency());
}

int wait_for_stop_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT); // blocked in main() before any thread started
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

} // namespace

int serve(const config& cfg) {
  std::error_code fs_err;
  std::filesystem::create_directories(cfg.data_dir, fs_err);
  if (fs_err) {
    spdlog::error("cannot create data directory {}: {}; check storage.data_dir and permissions",
                  cfg.data_dir, fs_err.message());
    return exit_failure;
  }
  std::string error;
  auto journal = storage::journal::open(cfg.data_dir + "/journal", cfg.sync, error);
  if (!journal) {
    spdlog::error("cannot open the journal in {}/journal: {}; is another switchyard using it?",
                  cfg.data_dir, error);
    return exit_failure;
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
      spdlog::error("bad configuration: egress.ca_file: {}", e.what());
      return exit_bad_config;
    }
    transport::http_client& client = *egress;
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

    auto sub_env = std::make_shared<actors::subscriber_env>();
    sub_env->journal = journal.get();
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

    actors::registry_state::env_t reg_env;
    reg_env.journal = journal.get();
    reg_env.client = &client;
    reg_env.routes = &routes;
    reg_env.event_types = &event_types;
    reg_env.subscriber_env = sub_env;
    reg_env.system = &system;
    reg_env.ready = &ready;
    reg_env.push_gateway_url = cfg.gateway_url;
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
    ctx.admin_tokens = cfg.admin_tokens;
    ctx.publish_tokens = cfg.publish_tokens;
    ctx.allowed_hosts = cfg.allowed_hosts;
    ctx.metrics = std::make_shared<api::http_metrics>();
    ctx.metrics_tokens = cfg.metrics_tokens;
    ctx.max_subscription_series = cfg.max_subscription_series;
    ctx.max_batch_events = static_cast<std::size_t>(cfg.max_batch_events);
    ctx.journal = journal.get();
    api::install(server, ctx);
    // server.metrics_listen: a scraper's own address, without auth, on the
    // same I/O threads.
    std::unique_ptr<transport::http_server> metrics_server;
    if (!cfg.metrics_listen.empty()) {
      metrics_server = std::make_unique<transport::http_server>(ioc, limits);
      api::install_metrics_listener(*metrics_server, ctx);
    }

    auto host_port = split_host_port(cfg.listen);
    auto port = server.listen(host_port->first, host_port->second, error);
    if (!port) {
      spdlog::error("cannot listen on {}: {}; pick another server.listen or --listen", cfg.listen,
                    error);
      status = exit_failure;
    } else {
      spdlog::info("listening on {}:{}", host_port->first, *port);
      std::optional<uint16_t> metrics_port;
      auto metrics_host_port = split_host_port(cfg.metrics_listen);
      if (metrics_server) {
        metrics_port = metrics_server->listen(metrics_host_port->first, metrics_host_port->second, error);
        if (!metrics_port) {
          spdlog::error("cannot listen on {}: {}; pick another server.metrics_listen",
                        cfg.metrics_listen, error);
          status = exit_failure;
        } else {
          // Worded unlike the line above, so that a script looking for
          // "listening on" finds the main listener.
          spdlog::info("serving /metrics, /healthz and /readyz without auth on {}:{}",
                       metrics_host_port->first, *metrics_port);
        }
      }
      if (status == 0) {
        int sig = wait_for_stop_signal();
        spdlog::info("{} received: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      }
    }

    // Stop taking requests, journal what was accepted, then stop delivering:
    // anything not yet delivered stays in the journal for the next start.
    server.stop();
    if (metrics_server)
      metrics_server->stop();
    pipeline.stop();
    gc.stop();
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    system.await_all_actors_done();
    client.shutdown();
    work.reset();
    ioc.stop();
    for (auto& t : io_threads)
      t.join();
  } // the io_context and its pending handlers go here, before the actor system
  spdlog::info("stopped");
  return status;
}

} // namespace sy::app
