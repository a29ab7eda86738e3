// switchyard-seed: writes N subscriptions straight into a data directory's
// journal (the server must not be running), for the 100 000-subscription
// scenario. Patterns are the multi-tenant mix of core_bench's BM_match, in
// tenant namespaces ("t<k>.…") that the load generator's "bench.e" events
// never match, so the scenario measures the cost of a large index, not of
// extra deliveries.
//
//   switchyard-seed --data DIR --subscriptions 100000 --url http://127.0.0.1:9/unused

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <random>

#include "actors/subscription.hpp"
#include "core/signing.hpp"
#include "storage/journal.hpp"

int main(int argc, char** argv) {
  CLI::App cli{"switchyard-seed: bulk-create subscriptions in a stopped node's journal"};
  std::string data_dir, url = "http://127.0.0.1:9/unused";
  std::size_t count = 100000;
  cli.add_option("--data", data_dir, "the node's storage.data_dir")->required();
  cli.add_option("--subscriptions", count, "how many to create");
  cli.add_option("--url", url, "webhook url of every seeded subscription");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;
  }
  std::string error;
  auto journal = sy::storage::journal::open(data_dir + "/journal", false, error);
  if (!journal) {
    std::fprintf(stderr, "switchyard-seed: cannot open %s/journal: %s\n", data_dir.c_str(),
                 error.c_str());
    return 1;
  }
  std::mt19937 rng(7);
  const char* areas[] = {"order", "cart", "user", "device", "region", "beacon", "pass"};
  const std::size_t tenants = std::max<std::size_t>(1, count / 10);
  const auto keys = sy::core::generate_keys(); // one pair for all: seeding speed, not secrecy
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  // One synced write for all: a write per subscription would fsync 100 000 times.
  auto numbered = journal->next_sub_number();
  if (!numbered) {
    std::fprintf(stderr, "switchyard-seed: %s\n", numbered.error().message.c_str());
    return 1;
  }
  const uint64_t first = *numbered;
  std::vector<std::pair<uint64_t, std::string>> records;
  records.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    sy::actors::subscription s;
    s.number = first + i;
    s.id = "sub_seed" + std::to_string(i);
    s.service = "seed";
    s.url = url;
    std::string tenant = "t" + std::to_string(rng() % tenants);
    std::string area = areas[rng() % 7];
    auto r = rng() % 100;
    if (r < 70)
      s.types = {tenant + "." + area + ".E" + std::to_string(rng() % 10)};
    else if (r < 90)
      s.types = {tenant + "." + area + ".*"};
    else
      s.types = {tenant + ".**"};
    if (rng() % 4 == 0)
      s.country = rng() % 2 ? "NO" : "GB";
    s.verification_required = false;
    s.state = sy::core::subscription_state::active;
    s.public_key = keys.public_key;
    s.private_key = keys.private_key;
    s.created_at = now;
    records.emplace_back(s.number, sy::actors::encode_subscription(s));
  }
  if (auto err = journal->put_subscriptions(records)) {
    std::fprintf(stderr, "switchyard-seed: %s\n", err->message.c_str());
    return 1;
  }
  // As a node's graceful stop does: the server's first start then reads
  // table files instead of replaying a WAL no real node would leave behind.
  if (auto err = journal->flush()) {
    std::fprintf(stderr, "switchyard-seed: %s\n", err->message.c_str());
    return 1;
  }
  std::printf("seeded %zu subscriptions\n", count);
  return 0;
}
