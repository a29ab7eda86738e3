#pragma once
// The one error type of storage/: every rocksdb::Status and file-system
// failure is translated into a storage::error where it enters journal.cpp.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/expected.hpp"

namespace sy::storage {

/// What kind of failure a storage operation met.
enum class errc : uint8_t {
  not_found,  ///< a single-key read found nothing (not a failure of the disk)
  io_error,   ///< the disk or RocksDB failed; retrying later may succeed
  no_space,   ///< the file system is (nearly) full: writes wait for space
  corruption, ///< stored bytes are not what switchyard wrote
};

/// Returns the kind's name ("not_found", "io_error", "no_space", "corruption").
inline std::string_view to_string(errc kind) {
  switch (kind) {
    case errc::not_found: return "not_found";
    case errc::io_error: return "io_error";
    case errc::no_space: return "no_space";
    case errc::corruption: return "corruption";
  }
  return "unknown";
}

/// A failed storage operation: its kind and a sentence naming what failed.
struct error {
  errc kind = errc::io_error;
  std::string message;

  /// Returns true for a single-key read that found nothing.
  bool not_found() const { return kind == errc::not_found; }
};

/// A value read or computed by storage, or the error that prevented it.
template <class T>
using expected = core::expected<T, error>;

/// The outcome of a storage write: success or an error.
using status = core::expected<void, error>;

/// Returns a not_found error (no message: absent is not a failure).
inline error not_found() { return {errc::not_found, {}}; }

} // namespace sy::storage
