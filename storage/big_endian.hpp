#pragma once
// Big-endian integers in storage keys and values, so RocksDB's bytewise
// order is numeric order. Internal to storage/ (journal.cpp,
// partition_log.cpp).

#include <cstdint>

namespace sy::storage::detail {

/// Writes `v` into out[0..4) most significant byte first.
inline void put_be32(char* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

/// Writes `v` into out[0..8) most significant byte first.
inline void put_be64(char* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

/// Returns the integer in[0..4) holds most significant byte first.
inline uint32_t get_be32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

/// Returns the integer in[0..8) holds most significant byte first.
inline uint64_t get_be64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

} // namespace sy::storage::detail
