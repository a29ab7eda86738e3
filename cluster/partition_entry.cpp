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

} // namespace

void encode_partition_entry(std::string& out, std::string_view record,
                            const std::vector<std::string_view>& subscriptions) {
  std::size_t size = 1 + 4 + record.size() + 4;
  for (auto id : subscriptions)
    size += 2 + id.size();
  out.reserve(out.size() + size);
  out.push_back(static_cast<char>(partition_entry_version));
  put_be(out, record.size(), 4);
  out.append(record);
  put_be(out, subscriptions.size(), 4);
  for (auto id : subscriptions) {
    if (id.size() > 0xffff)
      throw std::length_error("partition entry: a subscription id longer than 65535 bytes");
    put_be(out, id.size(), 2);
    out.append(id);
  }
}

std::string encode_partition_entry(std::string_view record,
                                   const std::vector<std::string_view>& subscriptions) {
  std::string out;
  encode_partition_entry(out, record, subscriptions);
  return out;
}

std::optional<partition_entry_view> decode_partition_entry(std::string_view bytes) {
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) != partition_entry_version)
    return std::nullopt;
  std::size_t at = 1;
  uint64_t n = 0;
  if (!get_be(bytes, at, 4, n) || bytes.size() - at < n)
    return std::nullopt;
  partition_entry_view entry;
  entry.record = bytes.substr(at, n);
  at += n;
  uint64_t count = 0;
  // Each id takes at least its two length bytes: a count the rest cannot
  // hold is refused before anything is reserved for it.
  if (!get_be(bytes, at, 4, count) || count > (bytes.size() - at) / 2)
    return std::nullopt;
  entry.subscriptions.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (!get_be(bytes, at, 2, n) || bytes.size() - at < n)
      return std::nullopt;
    entry.subscriptions.push_back(bytes.substr(at, n));
    at += n;
  }
  if (at != bytes.size())
    return std::nullopt;
  return entry;
}

} // namespace sy::cluster
