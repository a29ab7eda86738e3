// switchyard: the command line, configuration and process lifecycle.

#include <CLI/CLI.hpp>

#include <csignal>
#include <filesystem>
#include <iostream>

#include "app/client.hpp"
#include "app/config.hpp"
#include "app/server.hpp"
#include "log/log.hpp"

namespace {

constexpr const char* version_string = "switchyard " SWITCHYARD_VERSION;

// Exit status for a configuration the operator must fix (docs/api.md §7).
constexpr int exit_bad_config = 2;
// Exit status for a failure at start that is not the configuration's (docs/api.md §11).
constexpr int exit_failure = 1;

} // namespace

int main(int argc, char** argv) {
  // Block SIGTERM/SIGINT/SIGHUP before any thread starts: every thread
  // inherits the mask, and serve() takes them with sigwait (an orderly
  // shutdown, a reload).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CLI::App cli{"switchyard: a durable, high-throughput webhook event router"};
  cli.require_subcommand(1);
  auto* serve = cli.add_subcommand("serve", "run the server");
  std::string config_path, listen, data_dir;
  serve->add_option("--config", config_path,
                    "TOML file (default: conf/switchyard.toml if present)");
  serve->add_option("--listen", listen, "HOST:PORT to listen on (overrides server.listen)");
  serve->add_option("--data", data_dir, "data directory (overrides storage.data_dir)");
  auto* version = cli.add_subcommand("version", "print the version");
  sy::app::client_commands client(cli);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : exit_bad_config;
  }

  if (*version) {
    std::cout << version_string << "\n";
    return 0;
  }
  if (auto status = client.run())
    return *status;

  std::string source = "built-in defaults";
  if (config_path.empty() && std::filesystem::exists("conf/switchyard.toml"))
    config_path = "conf/switchyard.toml";
  // Reads the file (or the defaults), then the flags over it, and checks
  // the result: at start-up and again on SIGHUP.
  auto read_config = [config_path, listen,
                      data_dir](std::string& error) -> std::optional<sy::app::config> {
    sy::app::config cfg;
    if (!config_path.empty()) {
      if (!std::filesystem::exists(config_path)) {
        error = "config file " + config_path + " does not exist";
        return std::nullopt;
      }
      if (auto err = sy::app::load_config_file(config_path, cfg)) {
        error = err->message;
        return std::nullopt;
      }
    }
    if (!listen.empty())
      cfg.listen = listen;
    if (!data_dir.empty())
      cfg.data_dir = data_dir;
    if (auto err = sy::app::validate_config(cfg)) {
      error = err->message;
      return std::nullopt;
    }
    return cfg;
  };
  std::string error;
  auto cfg = read_config(error);
  if (!cfg) {
    std::cerr << "switchyard: bad configuration: " << error << "\n";
    return exit_bad_config;
  }
  if (!config_path.empty())
    source = config_path;
  sy::log::configure(cfg->log_format == "json" ? sy::log::format::json : sy::log::format::text,
                     sy::log::parse_level(cfg->log_level));
  if (!cfg->log_file.empty()) {
    if (auto why = sy::log::open_file(cfg->log_file)) {
      std::cerr << "switchyard: log.file: " << *why << "\n";
      return exit_failure;
    }
  }
  sy::log::write(sy::log::level::info, "server.starting", std::string(version_string) + " starting",
                 {{"config", source},
                  {"listen", cfg->listen},
                  {"data", cfg->data_dir},
                  {"storage_sync", cfg->sync ? "true" : "false"},
                  {"log_format", cfg->log_format}});
  sy::app::config_reader reload;
  if (!config_path.empty())
    reload = read_config;
  else
    reload = [](std::string& error) -> std::optional<sy::app::config> {
      error =
        "no config file to reload: the server runs on built-in defaults (start it with --config)";
      return std::nullopt;
    };
  return sy::app::serve(*cfg, reload);
}
