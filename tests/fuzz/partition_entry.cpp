// Fuzzes the reader of partition log entries (cluster/partition_entry.hpp):
// the bytes a backup fetches from its primary and a primary applies, of
// version 2 (several events) or 1 (one, written before 2026-12-05). What
// it reads must be views inside the input, and written back event by
// event it must read the same; an entry of version 2 written back is the
// input byte for byte, and merged with itself (the router's group commit)
// reads as its events twice, in order.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/partition_entry.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto events = cluster::decode_partition_entry(bytes);
  if (!events)
    return 0;
  fuzz::check(!events->empty(), "an entry holds at least one event");
  fuzz::check(bytes[0] != 1 || events->size() == 1, "an entry of version 1 holds one event");
  std::string again;
  for (const auto& e : *events) {
    fuzz::check(inside(e.record, bytes), "a record views the entry's bytes");
    for (auto id : e.subscriptions) {
      fuzz::check(inside(id, bytes), "a subscription id views the entry's bytes");
      fuzz::check(id.size() <= 0xffff, "a subscription id fits its u16 length");
    }
    cluster::append_to_partition_entry(again, e.record, e.subscriptions);
  }
  if (bytes[0] == cluster::partition_entry_version)
    fuzz::check(again == bytes, "an entry of this version written back is the same bytes");
  auto reread = cluster::decode_partition_entry(again);
  fuzz::check(bool(reread), "an entry written back reads");
  fuzz::check(reread->size() == events->size(), "an entry written back has as many events");
  for (std::size_t i = 0; i < events->size(); ++i) {
    fuzz::check((*reread)[i].record == (*events)[i].record, "a record reads the same");
    fuzz::check((*reread)[i].subscriptions == (*events)[i].subscriptions,
                "an event's subscriptions read the same");
  }
  std::string twice = again;
  if (cluster::merge_partition_entries(twice, again)) {
    auto both = cluster::decode_partition_entry(twice);
    fuzz::check(bool(both), "an entry merged with itself reads");
    fuzz::check(both->size() == 2 * events->size(), "a merged entry holds both entries' events");
    for (std::size_t i = 0; i < both->size(); ++i)
      fuzz::check((*both)[i].record == (*events)[i % events->size()].record,
                  "a merged entry's events are the first's, then the second's");
  } else {
    fuzz::check(twice == again, "an entry not merged is unchanged");
    fuzz::check(2 * again.size() - 5 > cluster::max_partition_entry_bytes,
                "two entries of this version that fit are merged");
  }
  return 0;
}
