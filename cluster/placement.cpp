#include "cluster/placement.hpp"

#include <algorithm>
#include <utility>

namespace sy::cluster {
namespace {

// splitmix64's finaliser: spreads FNV's weak low bits over the whole word,
// so `mod partitions` and the weight comparison see well-mixed values.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

} // namespace

uint64_t placement_hash(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL; // FNV-1a 64
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix(h);
}

uint32_t partition_of(std::string_view id, uint32_t partitions) {
  return static_cast<uint32_t>(placement_hash(id) % (partitions == 0 ? 1 : partitions));
}

uint64_t rendezvous_weight(uint32_t partition, std::string_view node) {
  // The partition number enters as its own word, not as text glued to the
  // name, so no (partition, node) pair can collide with another by spelling.
  return mix(placement_hash(node) ^ mix(0x9e3779b97f4a7c15ULL * (uint64_t{partition} + 1)));
}

std::vector<std::string> replicas_of(uint32_t partition, const std::vector<std::string>& members,
                                     uint32_t replicas) {
  std::vector<std::pair<uint64_t, const std::string*>> ranked;
  ranked.reserve(members.size());
  for (const auto& m : members)
    ranked.emplace_back(rendezvous_weight(partition, m), &m);
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : *a.second < *b.second;
  });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < ranked.size() && out.size() < replicas; ++i)
    if (out.empty() || out.back() != *ranked[i].second) // a name listed twice counts once
      out.push_back(*ranked[i].second);
  return out;
}

} // namespace sy::cluster
