// switchyard-set-check: the set check of a lab run (docs/testing.md, "The
// cluster set check"). Reads what switchyard-loadgen --ids-out recorded
// (one acknowledged event a line: "ID", or "TAG ID" with --tag) and what
// switchyard-sink --ids-out received ("PATH ID" or "PATH TAG ID" per
// delivered request), owes every acknowledged event to every --subscription
// path, and prints how many were lost and duplicated.
//
//   switchyard-set-check --acked n1.ids --acked n2.ids --delivered sink.ids
//                        --subscription /all --subscription /orders [--json]
//
// Exit 0 when nothing was lost, 1 when something was, 2 on a bad command line
// or an unreadable file.

#include "../common/set_check.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

namespace {

constexpr const char* usage =
  "usage: switchyard-set-check --acked FILE [--acked FILE ...] --delivered FILE\n"
  "                            --subscription PATH [--subscription PATH ...] [--json]\n";

int bad(const std::string& message) {
  std::cerr << "switchyard-set-check: " << message << "\n" << usage;
  return 2;
}

std::string trimmed(const std::string& line) {
  const auto first = line.find_first_not_of(" \t\r");
  if (first == std::string::npos)
    return {};
  return line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> acked_files, subscriptions;
  std::string delivered_file;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    if (arg == "--json") {
      json = true;
      continue;
    }
    if (i + 1 >= argc)
      return bad(arg + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--acked")
      acked_files.push_back(value);
    else if (arg == "--delivered")
      delivered_file = value;
    else if (arg == "--subscription")
      subscriptions.push_back(value);
    else
      return bad("unknown option " + arg);
  }
  if (acked_files.empty() || delivered_file.empty() || subscriptions.empty())
    return bad("--acked, --delivered and --subscription are required");

  sy::test::set_checker checker;
  for (const auto& name : acked_files) {
    std::ifstream in(name);
    if (!in)
      return bad("--acked " + name + ": cannot be read");
    for (std::string line; std::getline(in, line);)
      if (auto key = trimmed(line); !key.empty())
        checker.acknowledged(key, subscriptions);
  }
  const std::set<std::string> owed(subscriptions.begin(), subscriptions.end());
  std::size_t other_paths = 0;
  std::ifstream in(delivered_file);
  if (!in)
    return bad("--delivered " + delivered_file + ": cannot be read");
  for (std::string line; std::getline(in, line);) {
    line = trimmed(line);
    const auto space = line.find(' ');
    if (space == std::string::npos)
      continue;
    const auto path = line.substr(0, space);
    if (!owed.count(path)) {
      ++other_paths;
      continue;
    }
    checker.delivered(path, trimmed(line.substr(space + 1)));
  }

  const auto r = checker.result();
  const double dup_pct = r.expected ? 100.0 * static_cast<double>(r.duplicates) /
                                        static_cast<double>(r.expected)
                                    : 0;
  if (json) {
    std::printf("{\"acknowledged\":%zu,\"owed\":%zu,\"deliveries\":%zu,\"delivered\":%zu,"
                "\"lost\":%zu,\"duplicates\":%zu,\"unacknowledged\":%zu,\"other_paths\":%zu}\n",
                r.acknowledged, r.expected, r.deliveries, r.delivered, r.lost, r.duplicates,
                r.unacknowledged, other_paths);
  } else {
    std::printf("acknowledged   %zu events\n", r.acknowledged);
    std::printf("owed           %zu deliveries (%zu subscriptions each)\n", r.expected,
                subscriptions.size());
    std::printf("delivered      %zu of them, in %zu requests\n", r.delivered, r.deliveries);
    std::printf("lost           %zu\n", r.lost);
    std::printf("duplicates     %zu (%.3f %% of owed)\n", r.duplicates, dup_pct);
    std::printf("unacknowledged %zu (delivered, but no 202 named them)\n", r.unacknowledged);
    if (other_paths != 0)
      std::printf("other paths    %zu lines ignored\n", other_paths);
    for (const auto& e : r.lost_examples)
      std::printf("lost: %s\n", e.c_str());
  }
  return r.lost == 0 ? 0 : 1;
}
