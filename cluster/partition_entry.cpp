#include "cluster/partition_entry.hpp"

#include <stdexcept>

namespace sy::cluster {

namespace {

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads a `bytes`-wide big-endian integer at `at`, advancing it; false when
// fewer bytes are left.
bool get_be(std::string_view in, std::size_t& at, int bytes, uint64_t& v) {
  if (in.size() - at < static_cast<std::size_t>(bytes))
    return false;
  v = 0;
  for (int i = 0; i < bytes; ++i)
    v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  at += bytes;
  return true;
}

// Appends one event (its record, its subscriptions) in the layout both
// versions share; each id is at most 65 535 bytes.
void put_event(std::string& out, std::string_view record,
               const std::vector<std::string_view>& subscriptions) {
  put_be(out, record.size(), 4);
  out.append(record);
  put_be(out, subscriptions.size(), 4);
  for (auto id : subscriptions) {
    put_be(out, id.size(), 2);
    out.append(id);
  }
}

// Reads one event at `at`, advancing it; false when the bytes do not hold one.
bool get_event(std::string_view in, std::size_t& at, partition_entry_view& event) {
  uint64_t n = 0;
  if (!get_be(in, at, 4, n) || in.size() - at < n)
    return false;
  event.record = in.substr(at, n);
  at += n;
  uint64_t count = 0;
  // Each id takes at least its two length bytes: a count the rest cannot
  // hold is refused before anything is reserved for it.
  if (!get_be(in, at, 4, count) || count > (in.size() - at) / 2)
    return false;
  event.subscriptions.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (!get_be(in, at, 2, n) || in.size() - at < n)
      return false;
    event.subscriptions.push_back(in.substr(at, n));
    at += n;
  }
  return true;
}

constexpr std::size_t header_bytes = partition_entry_header_bytes;

// Writes `count` into a version-2 entry's header.
void set_count(std::string& entry, uint64_t count) {
  for (int i = 0; i < 4; ++i)
    entry[header_bytes - 1 - i] = static_cast<char>((count >> (8 * i)) & 0xff);
}

} // namespace

void append_to_partition_entry(std::string& entry, std::string_view record,
                               const std::vector<std::string_view>& subscriptions) {
  // Checked before anything is written, a new entry's header included: a
  // refused event leaves the entry as it was.
  for (auto id : subscriptions)
    if (id.size() > 0xffff)
      throw std::length_error("partition entry: a subscription id longer than 65535 bytes");
  if (entry.empty()) {
    entry.push_back(static_cast<char>(partition_entry_version));
    put_be(entry, 0, 4);
  }
  std::size_t at = 1;
  uint64_t count = 0;
  get_be(entry, at, 4, count);
  put_event(entry, record, subscriptions);
  set_count(entry, count + 1);
}

bool merge_partition_entries(std::string& into, std::string_view entry) {
  if (into.size() <= header_bytes || entry.size() <= header_bytes ||
      static_cast<uint8_t>(into[0]) != partition_entry_version ||
      static_cast<uint8_t>(entry[0]) != partition_entry_version ||
      into.size() + entry.size() - header_bytes > max_partition_entry_bytes)
    return false;
  std::size_t at = 1;
  uint64_t count = 0, more = 0;
  get_be(into, at, 4, count);
  at = 1;
  get_be(entry, at, 4, more);
  if (count == 0 || more == 0 || count + more > 0xffffffff)
    return false;
  into.append(entry.substr(header_bytes));
  set_count(into, count + more);
  return true;
}

std::string encode_partition_entry(std::string_view record,
                                   const std::vector<std::string_view>& subscriptions) {
  std::string out;
  append_to_partition_entry(out, record, subscriptions);
  return out;
}

std::optional<std::vector<partition_entry_view>> decode_partition_entry(std::string_view bytes) {
  if (bytes.empty())
    return std::nullopt;
  std::size_t at = 1;
  uint64_t count = 1; // version 1: one event, no count
  switch (static_cast<uint8_t>(bytes[0])) {
    case 1: break;
    case partition_entry_version:
      // Each event takes at least its eight length bytes.
      if (!get_be(bytes, at, 4, count) || count == 0 || count > (bytes.size() - at) / 8)
        return std::nullopt;
      break;
    default: return std::nullopt;
  }
  std::vector<partition_entry_view> events(count);
  for (auto& event : events)
    if (!get_event(bytes, at, event))
      return std::nullopt;
  if (at != bytes.size())
    return std::nullopt;
  return events;
}

} // namespace sy::cluster
