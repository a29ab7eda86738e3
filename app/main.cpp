// switchyard: the command line, configuration and process lifecycle.

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>
#include <iostream>

#include "app/client.hpp"
#include "app/config.hpp"
#include "app/server.hpp"

namespace {

constexpr const char* version_string = "switchyard 0.1.0";

// Exit status for a configuration the operator must fix (docs/api.md §7).
constexpr int exit_bad_config = 2;

} // namespace

int main(int argc, char** argv) {
  // Block SIGTERM/SIGINT before any thread starts: every thread inherits the
  // mask, and serve() takes them with sigwait for an orderly shutdown.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  CLI::App cli{"switchyard: a durable, high-throughput webhook event router"};
  cli.require_subcommand(1);
  auto* serve = cli.add_subcommand("serve", "run the server");
  std::string config_path, listen, data_dir;
  serve->add_option("--config", config_path, "TOML file (default: conf/switchyard.toml if present)");
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

  sy::app::config cfg;
  std::string source = "built-in defaults";
  if (config_path.empty() && std::filesystem::exists("conf/switchyard.toml"))
    config_path = "conf/switchyard.toml";
  if (!config_path.empty()) {
    if (!std::filesystem::exists(config_path)) {
      std::cerr << "switchyard: config file " << config_path << " does not exist\n";
      return exit_bad_config;
    }
    if (auto err = sy::app::load_config_file(config_path, cfg)) {
      std::cerr << "switchyard: bad configuration: " << err->message << "\n";
      return exit_bad_config;
    }
    source = config_path;
  }
  if (!listen.empty())
    cfg.listen = listen;
  if (!data_dir.empty())
    cfg.data_dir = data_dir;
  if (auto err = sy::app::validate_config(cfg)) {
    std::cerr << "switchyard: bad configuration: " << err->message << "\n";
    return exit_bad_config;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::info("{} starting: config from {}, listen {}, data {}, storage.sync {}", version_string,
               source, cfg.listen, cfg.data_dir, cfg.sync);
  return sy::app::serve(cfg);
}
