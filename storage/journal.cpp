#include "storage/journal.hpp"

#include "storage/big_endian.hpp"
#include "storage/log_key.hpp"

#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/iterator.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <mutex>
#include <system_error>
#include <type_traits>

#include <sys/statvfs.h>

namespace sy::storage {

namespace {

constexpr uint8_t format_version = 1;
constexpr uint64_t max_u64 = std::numeric_limits<uint64_t>::max();
// Fixed part of an encoded event: version, seq, ingest_ms, timestamp_ms and
// the five u32 length prefixes.
constexpr std::size_t fixed_event_size = 1 + 3 * 8 + 5 * 4;

constexpr std::string_view meta_seq = "seq";
constexpr std::string_view meta_sub_seq = "sub_seq";
constexpr std::string_view meta_format_version = "format_version";

// Deleting this many keys per WriteBatch bounds memory in O(n) sweeps.
constexpr std::size_t sweep_batch_keys = 1024;

// Column family slots; the order is the order handed to DB::Open.
enum cf_slot : std::size_t {
  cf_default,
  cf_events,
  cf_queues,
  cf_dead,
  cf_subs,
  cf_meta,
  cf_dedupe,
  cf_dedupe_time,
  cf_count
};
constexpr std::array<const char*, cf_count> cf_names = {
  "default", "events", "queues", "dead", "subs", "meta", "dedupe", "dedupe_by_time"};
// Made on first use only (cluster mode), so not in cf_names.
constexpr const char* partitions_cf_name = "partitions";

// -- big-endian encoding -----------------------------------------------------

using detail::get_be32;
using detail::get_be64;
using detail::put_be64;

void append_be64(std::string& out, uint64_t v) {
  char b[8];
  put_be64(b, v);
  out.append(b, sizeof b);
}

void append_be32(std::string& out, uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, sizeof b);
}

void append_bytes(std::string& out, std::string_view s) {
  // Request bodies are capped far below 4 GiB before an event exists.
  assert(s.size() <= std::numeric_limits<uint32_t>::max());
  append_be32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

/// Key of the events column family: seq(8).
struct seq_key {
  std::array<char, 8> b;
  explicit seq_key(uint64_t seq) { put_be64(b.data(), seq); }
  rocksdb::Slice slice() const { return {b.data(), b.size()}; }
};

/// Key of the queues and dead column families: sub(8) seq(8).
struct pair_key {
  std::array<char, 16> b;
  pair_key(uint64_t sub, uint64_t seq) {
    put_be64(b.data(), sub);
    put_be64(b.data() + 8, seq);
  }
  rocksdb::Slice slice() const { return {b.data(), b.size()}; }
};

/// An events-family value that is a log_ref rather than a record:
/// marker(1) partition(4) offset(8) at(4) size(4) id(the rest). The marker
/// is no record version (format_version), so neither is ever taken for the
/// other.
constexpr uint8_t ref_marker = 0xf1;
constexpr std::size_t ref_fixed_size = 1 + 4 + 8 + 4 + 4;

/// Sets `out` to the events-family value of `r` (a buffer reused per record).
void encode_ref(std::string& out, const log_ref& r) {
  out.assign(ref_fixed_size, '\0');
  out[0] = static_cast<char>(ref_marker);
  detail::put_be32(out.data() + 1, r.partition);
  put_be64(out.data() + 5, r.offset);
  detail::put_be32(out.data() + 13, r.at);
  detail::put_be32(out.data() + 17, r.size);
  out.append(r.id);
}

/// Returns the log_ref an events-family value holds (its id a view into
/// `v`), or nullopt when it holds a record.
std::optional<log_ref> decode_ref(const rocksdb::Slice& v) {
  if (v.size() < ref_fixed_size || static_cast<uint8_t>(v[0]) != ref_marker)
    return std::nullopt;
  return log_ref{get_be32(v.data() + 1), get_be64(v.data() + 5), get_be32(v.data() + 13),
                 get_be32(v.data() + 17),
                 std::string_view(v.data() + ref_fixed_size, v.size() - ref_fixed_size)};
}

// Where an encoded record's fields start: version(1) seq(8) ingest_ms(8)
// timestamp_ms(8) id length(4) id bytes …
constexpr std::size_t record_seq_at = 1, record_id_size_at = 1 + 3 * 8,
                      record_id_at = record_id_size_at + 4;

/// Returns true when `record`'s id field is `size` bytes long (and all there).
bool record_id_is_of_size(std::string_view record, std::size_t size) {
  return record.size() >= record_id_at + size &&
         get_be32(record.data() + record_id_size_at) == size;
}

/// Returns true when `record` (encode_event's bytes) is of the event whose id is `id`.
bool record_has_id(std::string_view record, std::string_view id) {
  return record_id_is_of_size(record, id.size()) && record.substr(record_id_at, id.size()) == id;
}

std::string be64_string(uint64_t v) {
  std::string s;
  append_be64(s, v);
  return s;
}

/// Reads a byte string front to back; every read checks the bytes left.
class reader {
public:
  explicit reader(std::string_view in) : in_(in) {}

  bool u8(uint8_t& v) {
    if (in_.empty())
      return false;
    v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool u32(uint32_t& v) {
    if (in_.size() < 4)
      return false;
    v = 0;
    for (int i = 0; i < 4; ++i)
      v = (v << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(4);
    return true;
  }
  bool u64(uint64_t& v) {
    if (in_.size() < 8)
      return false;
    v = get_be64(in_.data());
    in_.remove_prefix(8);
    return true;
  }
  bool i64(int64_t& v) {
    uint64_t u = 0;
    if (!u64(u))
      return false;
    v = static_cast<int64_t>(u);
    return true;
  }
  bool bytes(std::string_view& v) {
    uint32_t n = 0;
    if (!u32(n) || in_.size() < n)
      return false;
    v = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool bytes(std::string& v) {
    std::string_view view;
    if (!bytes(view))
      return false;
    v.assign(view);
    return true;
  }
  bool done() const { return in_.empty(); }

private:
  std::string_view in_;
};

void encode_into(std::string& out, const stored_event& e) {
  const auto& ev = e.ev;
  out.reserve(out.size() + fixed_event_size + ev.id.size() + ev.type.size() + ev.country.size() +
              ev.client_id.size() + ev.data.size());
  out.push_back(static_cast<char>(format_version));
  append_be64(out, e.seq);
  append_be64(out, static_cast<uint64_t>(e.ingest_ms));
  append_be64(out, static_cast<uint64_t>(ev.timestamp_ms));
  append_bytes(out, ev.id);
  append_bytes(out, ev.type);
  append_bytes(out, ev.country);
  append_bytes(out, ev.client_id);
  append_bytes(out, ev.data);
}

// Tag of the fields a dead letter has carried since issue 13 (attempts,
// last error, time given up): absent in older records, which still read.
constexpr uint8_t dead_details_tag = 1;

std::string encode_dead(const stored_event& e, std::string_view reason, uint32_t attempts,
                        std::string_view last_error, int64_t dead_ms) {
  std::string out;
  append_bytes(out, encode_event(e));
  append_bytes(out, reason);
  out.push_back(static_cast<char>(dead_details_tag));
  append_be32(out, attempts);
  append_bytes(out, last_error);
  append_be64(out, static_cast<uint64_t>(dead_ms));
  return out;
}

} // namespace

std::string encode_dead_letter(const dead_letter& d) {
  return encode_dead(*d.event, d.reason, d.attempts, d.last_error, d.dead_ms);
}

std::optional<dead_letter> decode_dead_letter(std::string_view bytes) {
  reader r(bytes);
  std::string_view event_bytes;
  dead_letter d;
  if (!r.bytes(event_bytes) || !r.bytes(d.reason))
    return std::nullopt;
  if (!r.done()) {
    uint8_t tag = 0;
    if (!r.u8(tag) || tag != dead_details_tag || !r.u32(d.attempts) || !r.bytes(d.last_error) ||
        !r.i64(d.dead_ms) || !r.done())
      return std::nullopt;
  }
  auto e = decode_event(event_bytes);
  if (!e)
    return std::nullopt;
  d.event = std::make_shared<const stored_event>(std::move(*e));
  return d;
}

namespace {

bool has_prefix(const rocksdb::Slice& key, const char* prefix, std::size_t n) {
  return key.size() >= n && std::equal(prefix, prefix + n, key.data());
}

/// Returns the format version recorded in the journal in `dir`, read
/// through a read-only open of the families of `known` (RocksDB opens a
/// subset read-only); 0 when it cannot be read.
uint64_t recorded_format_version(const rocksdb::DBOptions& options, const std::string& dir,
                                 const std::vector<rocksdb::ColumnFamilyDescriptor>& known) {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(options, dir, known, &handles, &db).ok())
    return 0;
  std::string v;
  const bool read = db->Get(rocksdb::ReadOptions(), handles[cf_meta], meta_format_version, &v).ok();
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h);
  delete db;
  return read && v.size() == 8 ? get_be64(v.data()) : 0;
}

/// Raises `a` to at least `v` (never lowers it).
template <class T>
void raise_to(std::atomic<T>& a, std::type_identity_t<T> v) {
  T cur = a.load();
  while (cur < v && !a.compare_exchange_weak(cur, v)) {
  }
}

// Every key of one subscription in a sub(8) seq(8) family: a range delete
// cannot name an end past sub|UINT64_MAX when sub is UINT64_MAX, so the last
// possible key is deleted on its own.
void delete_sub_keys(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* cf, uint64_t sub) {
  const pair_key first(sub, 0);
  const pair_key last(sub, max_u64);
  batch.DeleteRange(cf, first.slice(), last.slice());
  batch.Delete(cf, last.slice());
}

// Meta names of pull files: "pull/" sub(8) first(8), so that one
// subscription's files sort oldest first and delete as one range.
constexpr std::string_view pull_prefix = "pull/";

std::string pull_key(uint64_t sub, uint64_t first) {
  std::string key(pull_prefix);
  append_be64(key, sub);
  append_be64(key, first);
  return key;
}

std::string encode_pull_file(const pull_file& f) {
  std::string out;
  append_be64(out, f.first);
  append_be64(out, f.last);
  append_be64(out, f.count);
  append_be64(out, static_cast<uint64_t>(f.sealed_ms));
  return out;
}

std::optional<pull_file> decode_pull_file(const rocksdb::Slice& v) {
  if (v.size() != 32)
    return std::nullopt;
  pull_file f;
  f.first = get_be64(v.data());
  f.last = get_be64(v.data() + 8);
  f.count = get_be64(v.data() + 16);
  f.sealed_ms = static_cast<int64_t>(get_be64(v.data() + 24));
  return f;
}

// Every pull file record of `sub`.
void delete_pull_files(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* meta,
                       uint64_t sub) {
  const auto first = pull_key(sub, 0);
  const auto last = pull_key(sub, max_u64);
  batch.DeleteRange(meta, first, last);
  batch.Delete(meta, last);
}

// Translates a failed rocksdb::Status into the storage error it means.
error translate(std::string_view what, const rocksdb::Status& s) {
  std::string m(what);
  m += ": ";
  m += s.ToString();
  errc kind = errc::io_error;
  if (s.IsNotFound())
    kind = errc::not_found;
  else if (s.IsNoSpace())
    kind = errc::no_space;
  else if (s.IsCorruption())
    kind = errc::corruption;
  return {kind, std::move(m)};
}

error corrupt(std::string m) { return {errc::corruption, std::move(m)}; }

// Key of dedupe_by_time: ingest_ms(8) client id, so that expiry is one
// seek and one range delete rather than a scan of every client id.
std::string time_key(int64_t ingest_ms, std::string_view client_id) {
  std::string k;
  k.reserve(8 + client_id.size());
  append_be64(k, static_cast<uint64_t>(std::max<int64_t>(ingest_ms, 0)));
  k.append(client_id);
  return k;
}

// meta "dedupe_format" holds 2 once dedupe_by_time indexes every client id
// (journals written before it existed are indexed once, on open).
constexpr std::string_view meta_dedupe_format = "dedupe_format";
constexpr char dedupe_format_current = 2;

int64_t steady_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string mib(uint64_t bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return b;
}

// Whether a write adds data (events, records) or only deletes (acks, purge,
// garbage collection): deletes stay admitted deeper into the reserve, so that
// deliveries and collection can still free space on a full disk.
enum class write_kind { grows, shrinks };

} // namespace

std::string encode_event(const stored_event& e) {
  std::string out;
  encode_into(out, e);
  return out;
}

void encode_event_into(std::string& out, const stored_event& e) { encode_into(out, e); }

bool set_record_seq(std::span<char> record, uint64_t seq, std::string_view id) {
  if (!record_id_is_of_size(std::string_view(record.data(), record.size()), id.size()))
    return false;
  put_be64(record.data() + record_seq_at, seq);
  std::memcpy(record.data() + record_id_at, id.data(), id.size());
  return true;
}

std::optional<stored_event> decode_event(std::string_view bytes) {
  reader r(bytes);
  uint8_t version = 0;
  stored_event e;
  auto& ev = e.ev;
  if (!r.u8(version) || version != format_version)
    return std::nullopt;
  if (!r.u64(e.seq) || !r.i64(e.ingest_ms) || !r.i64(ev.timestamp_ms))
    return std::nullopt;
  if (!r.bytes(ev.id) || !r.bytes(ev.type) || !r.bytes(ev.country) || !r.bytes(ev.client_id) ||
      !r.bytes(ev.data))
    return std::nullopt;
  // Trailing bytes mean the record is not what this version wrote.
  if (!r.done())
    return std::nullopt;
  return e;
}

// -- journal::impl ------------------------------------------------------------

struct journal::impl {
  rocksdb::DB* db_ = nullptr;
  std::array<rocksdb::ColumnFamilyHandle*, cf_count> cf_{};
  // The partition logs' family (storage/partition_log.hpp): null until
  // cluster mode first asks for it; guarded by partitions_mu_.
  mutable std::mutex partitions_mu_;
  rocksdb::ColumnFamilyHandle* partitions_ = nullptr;
  bool sync_ = false;
  std::string dir_;
  std::function<void(log_level, const std::string&)> log_;

  std::atomic<uint64_t> next_seq_{1};
  // What reserve_durable_seqs() last saw persisted: numbers below it survive a restart.
  std::atomic<uint64_t> durable_seq_{0};
  std::atomic<uint64_t> next_sub_{1};
  // The layout version meta format_version records (journal.hpp).
  std::atomic<uint32_t> format_version_{1};
  // Lowest bound handed to the last successful events range delete; a call
  // with no higher bound would only add a redundant range tombstone.
  std::atomic<uint64_t> gc_low_water_{0};

  // Serialises append() so that meta "seq" only ever grows on disk.
  std::mutex append_mu_;
  uint64_t persisted_seq_ = 0; // guarded by append_mu_
  // One past the range use_seq_range() confined next_seq_ to: a written seq
  // at or above it (another node's) does not raise next_seq_.
  uint64_t seq_end_ = max_u64;       // guarded by append_mu_
  rocksdb::WriteBatch append_batch_; // guarded by append_mu_; reused by every append
  // The first seq of every append written unsynced and not yet synced, in
  // write order, and the lowest of them (max_u64: none). read_queue stops
  // there: no event is delivered before it is durable.
  std::mutex unsynced_mu_;
  std::deque<uint64_t> unsynced_; // guarded by unsynced_mu_
  std::atomic<uint64_t> unsynced_low_{std::numeric_limits<uint64_t>::max()};
  std::atomic<uint64_t> syncs_{0}; // syncs(): synced writes and WAL syncs asked for

  /// Forgets the first `n` unsynced appends (synced now, or failed).
  void drop_unsynced(std::size_t n) {
    std::lock_guard guard(unsynced_mu_);
    unsynced_.erase(unsynced_.begin(),
                    unsynced_.begin() + static_cast<std::ptrdiff_t>(std::min(n, unsynced_.size())));
    unsynced_low_.store(unsynced_.empty() ? std::numeric_limits<uint64_t>::max()
                                          : *std::min_element(unsynced_.begin(), unsynced_.end()),
                        std::memory_order_release);
  }
  // Orders the persisted sub_seq writes the same way as the numbers.
  std::mutex sub_mu_;
  // Keeps replay_dead from writing below a low-water mark being collected.
  std::mutex gc_mu_;
  // Held shared by every seq_reservation, exclusively while garbage
  // collection reads next_seq_: every number below what it reads is then
  // either written or given up.
  std::shared_mutex reserve_gate_;

  // -- write admission (see "A full disk" in journal.hpp) --------------------
  uint64_t reserve_ = 0; // 0: no free-space check
  // Bytes written since free space was last measured, and when to measure
  // next regardless: the fast path of admit() reads only these.
  std::atomic<uint64_t> unchecked_bytes_{0};
  std::atomic<int64_t> next_check_ms_{0};
  // False while writes that add data are refused: admit() then takes the lock.
  std::atomic<bool> healthy_{true};
  // Set by the listener when RocksDB reports a background error.
  std::atomic<bool> background_failed_{false};
  mutable std::mutex health_mu_;
  uint64_t free_bytes_ = UINT64_MAX; // guarded by health_mu_
  std::optional<error> failed_;      // a failed write; guarded by health_mu_
  int64_t next_resume_ms_ = 0;       // guarded by health_mu_
  bool full_logged_ = false;         // guarded by health_mu_

  ~impl() {
    if (!db_)
      return;
    for (auto* h : cf_)
      if (h)
        db_->DestroyColumnFamilyHandle(h);
    if (partitions_)
      db_->DestroyColumnFamilyHandle(partitions_);
    db_->Close();
    delete db_;
  }

  rocksdb::ColumnFamilyHandle* cf(cf_slot s) const { return cf_[s]; }

  rocksdb::WriteOptions write_options(bool sync) const {
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    wo.disableWAL = false;
    return wo;
  }

  void say(log_level level, const std::string& line) const {
    if (log_)
      log_(level, line);
    else
      std::fprintf(stderr, "switchyard: %s\n", line.c_str());
  }

  /// Returns the error a failed read means, and logs it (docs/operations.md
  /// storage.read_failed); absent keys are answers, not failures.
  error read_failed(std::string_view what, const rocksdb::Status& s) const {
    auto e = translate(what, s);
    if (e.kind != errc::not_found)
      say(log_level::read_error, e.message);
    return e;
  }
  /// Returns a corruption error for bytes that are not what switchyard
  /// wrote, and logs it.
  error read_failed(std::string m) const {
    auto e = corrupt(std::move(m));
    say(log_level::read_error, e.message);
    return e;
  }

  /// Replaces every value among `values` (read from the events family,
  /// each with its status) that is a log_ref with the record it points to,
  /// read from the partition log: its status becomes that read's, and a
  /// reference to an entry the log no longer holds (or too short for it)
  /// reads as not found, as a missing record does.
  void resolve_refs(std::span<rocksdb::PinnableSlice> values,
                    std::span<rocksdb::Status> statuses) const {
    std::vector<std::size_t> at;
    std::vector<log_ref> refs;
    for (std::size_t i = 0; i < values.size(); ++i)
      if (statuses[i].ok())
        if (auto ref = decode_ref(values[i])) {
          at.push_back(i);
          refs.push_back(*ref);
        }
    if (at.empty())
      return;
    rocksdb::ColumnFamilyHandle* family = nullptr;
    {
      std::lock_guard guard(partitions_mu_);
      family = partitions_;
    }
    // Sets value at[k] to ref k's record in `entry` (read with `status`).
    auto resolve = [&](std::size_t k, rocksdb::Status status, const rocksdb::Slice& entry) {
      auto& value = values[at[k]];
      const auto& r = refs[k];
      // r.id views the value's bytes: checked before the value is reset.
      if (status.ok() && (uint64_t{r.at} + r.size > entry.size() ||
                          !record_has_id(std::string_view(entry.data() + r.at, r.size), r.id)))
        status = rocksdb::Status::NotFound();
      value.Reset();
      statuses[at[k]] = status;
      if (status.ok())
        value.PinSelf(rocksdb::Slice(entry.data() + r.at, r.size));
    };
    if (!family) {
      for (std::size_t k = 0; k < refs.size(); ++k)
        resolve(k, rocksdb::Status::NotFound(), {});
      return;
    }
    // A queue is one partition's, in offset order: its entries lie together,
    // and one iterator reads them for a seek and a step each, where a point
    // read per entry pays a memtable search each (twice the cost of the
    // read). Consecutive events of a queue often share an entry (one per
    // request and partition): one step serves them all.
    bool together = true;
    for (std::size_t k = 1; k < refs.size() && together; ++k)
      together = refs[k].partition == refs[0].partition && refs[k].offset >= refs[k - 1].offset;
    if (together && refs.back().offset - refs.front().offset < 4 * refs.size()) {
      const detail::log_key end(detail::entry_tag, refs[0].partition, refs.back().offset + 1);
      const rocksdb::Slice end_slice = end.slice();
      rocksdb::ReadOptions ro;
      ro.iterate_upper_bound = &end_slice;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, family));
      const detail::log_key first(detail::entry_tag, refs[0].partition, refs[0].offset);
      it->Seek(first.slice());
      std::size_t k = 0;
      for (; it->Valid() && k < refs.size(); it->Next()) {
        if (!first.same_prefix(it->key()))
          continue;
        const uint64_t offset = detail::log_key::number_of(it->key());
        for (; k < refs.size() && refs[k].offset < offset; ++k)
          resolve(k, rocksdb::Status::NotFound(), {});
        for (; k < refs.size() && refs[k].offset == offset; ++k)
          resolve(k, rocksdb::Status::OK(), it->value());
      }
      // What the iterator did not reach is absent, unless it stopped on an error.
      const rocksdb::Status rest = it->status().ok() ? rocksdb::Status::NotFound() : it->status();
      for (; k < refs.size(); ++k)
        resolve(k, rest, {});
      return;
    }
    std::vector<detail::log_key> keys;
    std::vector<rocksdb::Slice> key_slices;
    keys.reserve(refs.size());
    key_slices.reserve(refs.size());
    for (const auto& r : refs)
      key_slices.push_back(keys.emplace_back(detail::entry_tag, r.partition, r.offset).slice());
    std::vector<rocksdb::PinnableSlice> entries(refs.size());
    std::vector<rocksdb::Status> found(refs.size());
    db_->MultiGet(rocksdb::ReadOptions(), family, keys.size(), key_slices.data(), entries.data(),
                  found.data(), false);
    for (std::size_t k = 0; k < refs.size(); ++k)
      resolve(k, found[k], entries[k]);
  }

  /// Measures the free space of the journal's file system (UINT64_MAX when
  /// it cannot be measured: the check is then skipped, never failed).
  uint64_t measure_free() const {
    struct statvfs st {};
    if (::statvfs(dir_.c_str(), &st) != 0)
      return UINT64_MAX;
    return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  }

  error full_error() const {
    // Said to clients too: no path.
    return {errc::no_space, "the journal's disk is full (" + mib(free_bytes_) + " free, " +
                              mib(reserve_) + " kept free); retry once space is freed"};
  }

  /// Admits a write of `bytes` of kind `kind`, or returns why not.
  std::optional<error> admit(write_kind kind, uint64_t bytes) {
    if (healthy_.load(std::memory_order_acquire)) {
      const uint64_t unchecked = unchecked_bytes_.fetch_add(bytes, std::memory_order_relaxed) +
                                 bytes;
      if (reserve_ == 0 && !background_failed_.load())
        return std::nullopt;
      if (reserve_ != 0 && unchecked < reserve_ / 8 && steady_ms() < next_check_ms_.load() &&
          !background_failed_.load())
        return std::nullopt;
    }
    std::lock_guard guard(health_mu_);
    const int64_t now = steady_ms();
    if (background_failed_.exchange(false) && !failed_) {
      failed_ = error{errc::io_error, "a background flush or compaction of " + dir_ + " failed"};
      next_resume_ms_ = now + 1000;
      say(log_level::error, "journal: " + failed_->message +
                              ": writers get 503 until it succeeds again; free space on that "
                              "disk or check its health (retried every second)");
    }
    if (reserve_ > 0 && (now >= next_check_ms_.load() || unchecked_bytes_.load() >= reserve_ / 8)) {
      free_bytes_ = measure_free();
      unchecked_bytes_ = 0;
      next_check_ms_ = now + 250;
    }
    if (failed_) {
      if (now < next_resume_ms_ || (reserve_ > 0 && free_bytes_ < reserve_)) {
        healthy_.store(false, std::memory_order_release);
        return *failed_;
      }
      next_resume_ms_ = now + 1000;
      // A WAL writer that failed must not be written again before RocksDB
      // switched to a new one: Resume() flushes every memtable and does so.
      auto s = db_->Resume();
      if (!s.ok()) {
        failed_ = translate("resume writes to " + dir_, s);
        healthy_.store(false, std::memory_order_release);
        return *failed_;
      }
      failed_.reset();
      say(log_level::info, "journal: writes to " + dir_ + " succeed again; accepting writes");
    }
    const bool grows_ok = reserve_ == 0 || free_bytes_ >= reserve_;
    if (!grows_ok && !full_logged_) {
      full_logged_ = true;
      say(log_level::error, "journal: the disk holding " + dir_ + " is full (" + mib(free_bytes_) +
                              " free, " + mib(reserve_) +
                              " must stay free): writers get 503 until space is freed; "
                              "delete files on that disk or grow it (no restart needed)");
    } else if (grows_ok && full_logged_) {
      full_logged_ = false;
      say(log_level::info, "journal: the disk holding " + dir_ + " has " + mib(free_bytes_) +
                             " free again; accepting writes");
    }
    healthy_.store(grows_ok, std::memory_order_release);
    const uint64_t need = kind == write_kind::grows ? reserve_ : reserve_ / 4;
    if (reserve_ > 0 && free_bytes_ < need)
      return full_error();
    return std::nullopt;
  }

  /// Records a failed write: every later write is refused until Resume().
  void write_failed(const error& e) {
    std::lock_guard guard(health_mu_);
    if (!failed_)
      say(log_level::error, "journal: a write to " + dir_ + " failed (" + e.message +
                              "): writers get 503 until it succeeds again; free space on "
                              "that disk or check its health (retried every second)");
    failed_ = e;
    next_resume_ms_ = steady_ms() + 1000;
    healthy_.store(false, std::memory_order_release);
  }

  /// One fsync of the WAL (for a journal that syncs), unless a write
  /// failed: a WAL whose sync failed is not synced again before Resume()
  /// replaced it (Debian's RocksDB asserts); writes are refused meanwhile
  /// anyway. `after_sync()` runs right after an attempted sync, whatever
  /// it returned; a failure is named by `what` and stops writes.
  template <class AfterSync>
  std::optional<error> sync_wal(std::string_view what, AfterSync after_sync) {
    {
      std::lock_guard guard(health_mu_);
      if (failed_)
        return *failed_;
    }
    syncs_.fetch_add(1, std::memory_order_relaxed);
    auto s = db_->SyncWAL();
    after_sync();
    if (s.ok())
      return std::nullopt;
    auto e = translate(what, s);
    write_failed(e);
    return e;
  }

  /// Writes `batch`, synced when `sync`, once admitted.
  std::optional<error> write(rocksdb::WriteBatch& batch, bool sync, std::string_view what,
                             write_kind kind = write_kind::grows) {
    if (auto refused = admit(kind, batch.GetDataSize()))
      return refused;
    if (sync)
      syncs_.fetch_add(1, std::memory_order_relaxed);
    auto s = db_->Write(write_options(sync), &batch);
    if (s.ok())
      return std::nullopt;
    auto e = translate(what, s);
    write_failed(e);
    return e;
  }

  /// Raises `next_seq` past every seq in a sub(8) seq(8) family; seeks once
  /// per subscription, not once per key. Returns false on a read error.
  bool raise_past_pairs(cf_slot slot, uint64_t& next_seq, std::string& error) const {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(slot)));
    it->SeekToLast();
    while (it->Valid()) {
      auto key = it->key();
      if (key.size() != 16) {
        error = std::string("malformed key in ") + cf_names[slot];
        return false;
      }
      const uint64_t sub = get_be64(key.data());
      next_seq = std::max(next_seq, get_be64(key.data() + 8) + 1);
      if (sub == 0)
        break;
      it->SeekForPrev(pair_key(sub - 1, max_u64).slice());
    }
    if (!it->status().ok()) {
      error = translate(std::string("scan ") + cf_names[slot], it->status()).message;
      return false;
    }
    return true;
  }

  /// Records format_version() in a journal that has no record (a new one, or
  /// one of before the record: version 1) or that made its partitions
  /// family since (a crash between the family and the record), and refuses
  /// a newer one.
  bool check_format_version(const std::string& dir, std::string& error, bool* newer_format) {
    const uint32_t layout = partitions_ ? journal_format_partitions : 1;
    std::string v;
    auto s = db_->Get(rocksdb::ReadOptions(), cf(cf_meta), meta_format_version, &v);
    if (!s.ok() && !s.IsNotFound()) {
      error = translate("read the format version of " + dir, s).message;
      return false;
    }
    if (s.ok() && v.size() != 8) {
      error = "corrupt meta format_version in " + dir;
      return false;
    }
    const uint64_t stored = s.ok() ? get_be64(v.data()) : 0;
    if (stored > journal_format_version) {
      if (newer_format)
        *newer_format = true;
      error = "the journal in " + dir + " was written by a newer switchyard (format " +
              std::to_string(stored) + "; this one reads formats up to " +
              std::to_string(journal_format_version) +
              "): restore a backup or run a newer switchyard";
      return false;
    }
    format_version_ = static_cast<uint32_t>(std::max<uint64_t>(stored, layout));
    if (stored < layout) {
      // A full disk must not keep switchyard from starting: the record is
      // written again at the next open (its layout is what it is anyway).
      if (auto err = record_format_version(layout))
        say(log_level::error, "journal: cannot record the format version in " + dir + " (" +
                                err->message + "); retried at the next start");
    }
    return true;
  }

  /// Adds meta format_version = `version` to `batch` when the journal
  /// records a lower one, so that the record lands in the same write as
  /// what needs it; returns whether it did (then raise format_version_ to
  /// it once the batch is written).
  bool stage_format_version(rocksdb::WriteBatch& batch, uint32_t version) {
    if (version <= format_version_.load())
      return false;
    batch.Put(cf(cf_meta), meta_format_version, be64_string(version));
    return true;
  }

  /// Writes `version` as meta format_version (synced).
  std::optional<error> record_format_version(uint32_t version) {
    auto s = db_->Put(write_options(true), cf(cf_meta), meta_format_version, be64_string(version));
    if (!s.ok())
      return translate("put meta format_version", s);
    format_version_ = version;
    return std::nullopt;
  }

  /// Recovers the sequence and subscription counters; false on a read error.
  bool recover(std::string& error) {
    uint64_t next_seq = 1;
    uint64_t next_sub = 1;

    auto counter = [&](std::string_view name, uint64_t& into) {
      std::string v;
      auto s = db_->Get(rocksdb::ReadOptions(), cf(cf_meta), name, &v);
      if (s.IsNotFound())
        return true;
      if (!s.ok()) {
        error = translate("read meta " + std::string(name), s).message;
        return false;
      }
      if (v.size() != 8) {
        error = "corrupt meta " + std::string(name);
        return false;
      }
      into = std::max(into, get_be64(v.data()));
      return true;
    };
    auto last_key = [&](cf_slot slot, uint64_t& into) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(slot)));
      it->SeekToLast();
      if (it->Valid()) {
        if (it->key().size() != 8) {
          error = std::string("malformed key in ") + cf_names[slot];
          return false;
        }
        into = std::max(into, get_be64(it->key().data()) + 1);
      }
      if (!it->status().ok()) {
        error = translate(std::string("scan ") + cf_names[slot], it->status()).message;
        return false;
      }
      return true;
    };

    if (!counter(meta_seq, next_seq) || !last_key(cf_events, next_seq))
      return false;
    if (!raise_past_pairs(cf_queues, next_seq, error) ||
        !raise_past_pairs(cf_dead, next_seq, error))
      return false;
    if (!counter(meta_sub_seq, next_sub) || !last_key(cf_subs, next_sub))
      return false;

    next_seq_ = next_seq;
    persisted_seq_ = next_seq;
    next_sub_ = next_sub;
    return true;
  }

  /// Builds dedupe_by_time from the dedupe lookups of a journal written
  /// before it existed (one scan, once); malformed lookups are dropped.
  std::optional<error> migrate_dedupe() {
    std::string v;
    auto s = db_->Get(rocksdb::ReadOptions(), cf(cf_meta), meta_dedupe_format, &v);
    if (s.ok() && v.size() == 1 && v[0] >= dedupe_format_current)
      return std::nullopt;
    if (!s.ok() && !s.IsNotFound())
      return translate("read meta dedupe_format", s);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(cf_dedupe)));
    rocksdb::WriteBatch batch;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto value = it->value();
      if (value.size() != 16) {
        batch.Delete(cf(cf_dedupe), it->key());
      } else {
        const auto ingest_ms = static_cast<int64_t>(get_be64(value.data() + 8));
        batch.Put(cf(cf_dedupe_time),
                  time_key(ingest_ms, std::string_view(it->key().data(), it->key().size())),
                  rocksdb::Slice());
      }
      if (batch.Count() >= sweep_batch_keys) {
        if (auto err = write(batch, false, "index client ids"))
          return err;
        batch.Clear();
      }
    }
    if (!it->status().ok())
      return translate("scan dedupe", it->status());
    batch.Put(cf(cf_meta), meta_dedupe_format, std::string(1, dedupe_format_current));
    return write(batch, true, "index client ids");
  }
};

namespace {

// The partition logs' family (cluster mode). A log of JSON events whose
// entries stay until every subscription of the partition has them: a paused
// or failing one keeps them for as long as it lasts. Compressed at every
// level: OptimizeLevelStyleCompaction leaves levels 0 and 1 uncompressed, so
// a held log was flushed and rewritten into level 1 at its full size (about
// 6 x its LZ4 size), and the page-cache copies of those writes slowed ingest
// as the log grew (docs/performance.md "A held partition's log").
rocksdb::ColumnFamilyOptions partitions_options() {
  rocksdb::ColumnFamilyOptions options;
  options.OptimizeLevelStyleCompaction(256u << 20);
  options.write_buffer_size = 64u << 20;
  const auto supported = rocksdb::GetSupportedCompressions();
  if (std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end()) {
    options.compression_per_level.clear();
    options.compression = rocksdb::kLZ4Compression;
  }
  return options;
}

// RocksDB's own log, sent to stderr from warnings up instead of to a LOG
// file in the data directory: RocksDB 7.8 (with its assertions) aborts when
// it writes to a log file whose last write failed, which on a full disk the
// LOG file's does, whatever the journal admits.
class stderr_logger : public rocksdb::Logger {
public:
  stderr_logger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    std::fprintf(stderr, "switchyard: rocksdb: %s\n", line);
  }
};

// Hears RocksDB's background errors: writes stop at once, and recovery is
// left to the journal's own Resume() (RocksDB's automatic recovery would
// race with the journal's writers and its admission state).
class error_listener : public rocksdb::EventListener {
public:
  error_listener(std::atomic<bool>& failed, std::atomic<bool>& healthy)
      : failed_(failed), healthy_(healthy) {}
  void OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* bg_error) override {
    if (bg_error && !bg_error->ok()) {
      failed_.store(true);
      healthy_.store(false);
    }
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    if (auto_recovery)
      *auto_recovery = false;
  }

private:
  // Only atomics: RocksDB may call this while Resume() runs under health_mu_.
  std::atomic<bool>& failed_;
  std::atomic<bool>& healthy_;
};

} // namespace

// -- journal --------------------------------------------------------------------

journal::journal(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

journal::~journal() = default;

std::unique_ptr<journal> journal::open(const std::string& dir, bool sync, std::string& error,
                                       bool* newer_format) {
  journal_options options;
  options.sync = sync;
  return open(dir, std::move(options), error, newer_format);
}

std::unique_ptr<journal> journal::open(const std::string& dir, journal_options options,
                                       std::string& error, bool* newer_format) {
  if (newer_format)
    *newer_format = false;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "create " + dir + ": " + ec.message();
    return nullptr;
  }

  auto p = std::make_unique<impl>();
  p->sync_ = options.sync;
  p->dir_ = dir;
  p->log_ = std::move(options.log);
  if (options.reserve_bytes) {
    p->reserve_ = *options.reserve_bytes;
  } else {
    struct statvfs st {};
    const uint64_t size = ::statvfs(dir.c_str(), &st) == 0
                            ? static_cast<uint64_t>(st.f_blocks) * st.f_frsize
                            : 0;
    p->reserve_ = std::clamp<uint64_t>(size / 8, 4u << 20, 256u << 20);
  }

  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.IncreaseParallelism(2);
  // Durability rests on the WAL: every write reaches it before returning.
  db_opts.manual_wal_flush = false;
  // The families share one memory budget instead of 64 MB x 6 each.
  db_opts.db_write_buffer_size = 256u << 20;
  // A rarely written family (meta, subs) would otherwise pin old WAL files
  // until it flushes on its own; past this size RocksDB flushes it.
  db_opts.max_total_wal_size = 512u << 20;
  db_opts.keep_log_file_num = 5;
  // Unsynced writes (acks, garbage collection, the group commit's appends)
  // start their write-back every 512 KiB, so that the next fsync finds at
  // most that much left. Without it a drain after a burst (~240 000 acks,
  // ~5 MB, unsynced while no event arrives) leaves them all for the first fsync
  // of the next event, which held every delivery behind it 40–210 ms
  // (docs/performance.md, S3).
  db_opts.wal_bytes_per_sync = 512u << 10;
  db_opts.info_log = std::make_shared<stderr_logger>();
  db_opts.listeners.push_back(std::make_shared<error_listener>(p->background_failed_, p->healthy_));

  rocksdb::ColumnFamilyOptions base;
  // A 256 MB budget gives each family a 64 MB write buffer.
  base.OptimizeLevelStyleCompaction(256u << 20);
  base.write_buffer_size = 64u << 20;

  rocksdb::ColumnFamilyOptions queues = base;
  // Queue keys are deleted soon after they are written; compact files full of
  // tombstones early so that paging a queue does not wade through them.
  queues.table_properties_collector_factories.emplace_back(
    rocksdb::NewCompactOnDeletionCollectorFactory(64 * 1024, 16 * 1024));

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::size_t i = 0; i < cf_count; ++i)
    descriptors.emplace_back(cf_names[i], i == cf_queues ? queues : base);
  // The partition logs' family exists only once cluster mode made it
  // (partitions_family()): a single node's journal stays as it was.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_opts, dir, &existing).ok()) {
    if (std::find(existing.begin(), existing.end(), partitions_cf_name) != existing.end())
      descriptors.emplace_back(partitions_cf_name, partitions_options());
    // A family this binary does not know was made by a newer switchyard.
    // RocksDB would refuse the open ("Column families not opened"), which
    // reads like a damaged journal: say what it is instead.
    for (const auto& name : existing)
      if (std::none_of(descriptors.begin(), descriptors.end(),
                       [&](const auto& d) { return d.name == name; })) {
        if (newer_format)
          *newer_format = true;
        const auto stored = recorded_format_version(db_opts, dir, descriptors);
        error = "the journal in " + dir + " was written by a newer switchyard (format " +
                (stored > journal_format_version
                   ? std::to_string(stored)
                   : "above " + std::to_string(journal_format_version)) +
                ": it holds the column family \"" + name + "\", which this switchyard, of format " +
                std::to_string(journal_format_version) +
                ", does not know): restore a backup or run a newer switchyard";
        return nullptr;
      }
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  auto s = rocksdb::DB::Open(db_opts, dir, descriptors, &handles, &db);
  if (!s.ok()) {
    error = translate("open " + dir, s).message;
    return nullptr;
  }

  p->db_ = db;
  for (std::size_t i = 0; i < cf_count; ++i)
    p->cf_[i] = handles[i];
  if (handles.size() > cf_count)
    p->partitions_ = handles[cf_count];
  if (!p->check_format_version(dir, error, newer_format))
    return nullptr;
  if (!p->recover(error))
    return nullptr;
  if (auto err = p->migrate_dedupe()) {
    // A full disk must not keep switchyard from starting: the index is
    // built on the next open, and client ids expire late meanwhile.
    if (err->kind != errc::no_space) {
      error = err->message;
      return nullptr;
    }
    p->say(log_level::error, "journal: cannot index client ids for expiry (" + err->message +
                               "); retried at the next start");
  }
  return std::unique_ptr<journal>(new journal(std::move(p)));
}

// -- partition logs (storage/partition_log.hpp) ----------------------------------

expected<rocksdb::ColumnFamilyHandle*> journal::partitions_family() {
  auto& d = *impl_;
  std::lock_guard guard(d.partitions_mu_);
  if (d.partitions_)
    return d.partitions_;
  rocksdb::ColumnFamilyOptions options = partitions_options();
  auto s = d.db_->CreateColumnFamily(options, partitions_cf_name, &d.partitions_);
  if (!s.ok()) {
    d.partitions_ = nullptr;
    return translate("create the partitions column family", s);
  }
  // Binaries of format 1 cannot open the journal any more: say so in it.
  // A crash before this write is mended by the next open.
  if (auto err = d.record_format_version(journal_format_partitions))
    d.say(log_level::error, "journal: cannot record format version " +
                              std::to_string(journal_format_partitions) + " in " + d.dir_ + " (" +
                              err->message + "); retried at the next start");
  return d.partitions_;
}

rocksdb::DB* journal::db() const { return impl_->db_; }

std::optional<error> journal::write_batch(rocksdb::WriteBatch& batch, bool sync,
                                          std::string_view what, bool grows, uint32_t format) {
  auto& d = *impl_;
  const bool raise_format = d.stage_format_version(batch, format);
  auto err = d.write(batch, d.sync_ && sync, what, grows ? write_kind::grows : write_kind::shrinks);
  if (!err && raise_format)
    raise_to(d.format_version_, format);
  return err;
}

error journal::read_error(std::string_view what, const rocksdb::Status& s) const {
  return impl_->read_failed(what, s);
}

// -- sequence numbers ------------------------------------------------------------

uint64_t journal::next_seq() const { return impl_->next_seq_.load(); }

uint64_t journal::reserve_seqs(uint64_t n) { return impl_->next_seq_.fetch_add(n); }

expected<uint64_t> journal::reserve_durable_seqs(uint64_t n) {
  constexpr uint64_t block = uint64_t{1} << 20;
  auto& d = *impl_;
  const uint64_t first = d.next_seq_.fetch_add(n);
  const uint64_t end = first + n;
  if (end <= d.durable_seq_.load(std::memory_order_acquire))
    return first;
  std::lock_guard lock(d.append_mu_);
  if (end > d.persisted_seq_) {
    const uint64_t ahead = end + std::min(block, d.seq_end_ - std::min(d.seq_end_, end));
    rocksdb::WriteBatch batch;
    batch.Put(d.cf(cf_meta), meta_seq, be64_string(ahead));
    if (auto err = d.write(batch, d.sync_, "write the sequence counter", write_kind::grows))
      return *err;
    d.persisted_seq_ = ahead;
  }
  d.durable_seq_.store(d.persisted_seq_, std::memory_order_release);
  return first;
}

expected<uint64_t> journal::use_seq_range(uint64_t first, uint64_t end) {
  auto& d = *impl_;
  assert(first < end);
  std::lock_guard lock(d.append_mu_);
  uint64_t next = first;
  auto in_range = [&](uint64_t seq) { return seq >= first && seq < end; };
  // The persisted counter is one past the highest seq written: `end` itself
  // is in range (the range is full).
  std::string v;
  auto s = d.db_->Get(rocksdb::ReadOptions(), d.cf(cf_meta), meta_seq, &v);
  if (!s.ok() && !s.IsNotFound())
    return d.read_failed("read meta seq", s);
  if (s.ok() && v.size() == 8 && get_be64(v.data()) > first && get_be64(v.data()) <= end)
    next = get_be64(v.data());
  {
    std::unique_ptr<rocksdb::Iterator> it(
      d.db_->NewIterator(rocksdb::ReadOptions(), d.cf(cf_events)));
    it->SeekForPrev(seq_key(end - 1).slice());
    if (it->Valid() && it->key().size() == 8 && in_range(get_be64(it->key().data())))
      next = std::max(next, get_be64(it->key().data()) + 1);
    if (!it->status().ok())
      return d.read_failed("scan events", it->status());
  }
  // Queue keys and dead letters outlive their event records: one seek per
  // subscription to its highest key below `end`.
  for (cf_slot slot : {cf_queues, cf_dead}) {
    std::unique_ptr<rocksdb::Iterator> it(d.db_->NewIterator(rocksdb::ReadOptions(), d.cf(slot)));
    it->SeekToLast();
    while (it->Valid()) {
      auto key = it->key();
      if (key.size() != 16)
        return d.read_failed(std::string("malformed key in ") + cf_names[slot]);
      const uint64_t sub = get_be64(key.data());
      if (get_be64(key.data() + 8) >= end) {
        it->SeekForPrev(pair_key(sub, end - 1).slice());
        // Landed on an earlier subscription's last key: look at that one.
        if (!it->Valid() || get_be64(it->key().data()) != sub)
          continue;
      }
      const uint64_t seq = get_be64(it->key().data() + 8);
      if (in_range(seq))
        next = std::max(next, seq + 1);
      if (sub == 0)
        break;
      it->SeekForPrev(pair_key(sub - 1, max_u64).slice());
    }
    if (!it->status().ok())
      return d.read_failed(std::string("scan ") + cf_names[slot], it->status());
  }
  if (next >= end)
    return error{errc::no_space, "every sequence number below " + std::to_string(end) +
                                   " of this journal's range is used"};
  d.next_seq_ = next;
  d.persisted_seq_ = next;
  d.seq_end_ = end;
  return next;
}

uint32_t journal::format_version() const { return impl_->format_version_.load(); }

seq_reservation journal::reserve(uint64_t n) {
  std::shared_lock gate(impl_->reserve_gate_);
  const uint64_t first = impl_->next_seq_.fetch_add(n);
  return seq_reservation(std::move(gate), first);
}

expected<uint64_t> journal::next_sub_number() {
  std::lock_guard lock(impl_->sub_mu_);
  const uint64_t n = impl_->next_sub_.load();
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(cf_meta), meta_sub_seq, be64_string(n + 1));
  // Taken only once written: a number handed out is never handed out again.
  if (auto err = impl_->write(batch, true, "store subscription counter"))
    return std::move(*err);
  impl_->next_sub_.fetch_add(1);
  return n;
}

expected<uint64_t> journal::add_subscription(const std::function<std::string(uint64_t)>& encode) {
  return add_subscriptions(1, [&encode](uint64_t n, std::size_t) { return encode(n); });
}

expected<uint64_t> journal::add_subscriptions(
  std::size_t count, const std::function<std::string(uint64_t, std::size_t)>& encode) {
  std::lock_guard lock(impl_->sub_mu_);
  const uint64_t first = impl_->next_sub_.load();
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(cf_meta), meta_sub_seq, be64_string(first + count));
  for (std::size_t i = 0; i < count; ++i)
    batch.Put(impl_->cf(cf_subs), seq_key(first + i).slice(), encode(first + i, i));
  if (auto err = impl_->write(batch, true, count == 1 ? "put subscription" : "put subscriptions"))
    return std::move(*err);
  impl_->next_sub_.fetch_add(count);
  return first;
}

bool journal::writable() const { return impl_->healthy_.load(); }

// -- events and queues ------------------------------------------------------------

std::optional<error> journal::append(const std::vector<append_item>& items) {
  if (items.empty())
    return std::nullopt;
  std::string bytes;
  std::vector<std::size_t> ends;
  std::vector<append_record> records;
  ends.reserve(items.size());
  records.reserve(items.size());
  for (const auto& item : items) {
    assert(item.event);
    if (!item.event)
      continue;
    encode_into(bytes, *item.event);
    ends.push_back(bytes.size());
  }
  std::size_t begin = 0, i = 0;
  for (const auto& item : items) {
    if (!item.event)
      continue;
    const auto& e = *item.event;
    records.push_back({e.seq, e.ingest_ms, std::string_view(bytes).substr(begin, ends[i] - begin),
                       e.ev.client_id, item.subs});
    begin = ends[i++];
  }
  return append_records(records);
}

std::optional<error> journal::append_records(std::span<const append_record> records) {
  return append_records(records, append_sync::now);
}

std::optional<error> journal::sync_appends() {
  auto& d = *impl_;
  if (!d.sync_)
    return std::nullopt;
  // Counted before the sync, so every append counted is covered by it.
  std::size_t covered = 0;
  {
    std::lock_guard guard(d.unsynced_mu_);
    covered = d.unsynced_.size();
  }
  // Failed, the journal refuses writes until Resume(), which flushes every
  // memtable: those events are then on disk as well.
  return d.sync_wal("sync appends", [&] { d.drop_unsynced(covered); });
}

uint64_t journal::syncs() const { return impl_->syncs_.load(std::memory_order_relaxed); }

std::optional<error> journal::sync_wal() {
  auto& d = *impl_;
  if (!d.sync_)
    return std::nullopt;
  return d.sync_wal("sync the partition logs", [] {});
}

std::optional<error> journal::append_records(std::span<const append_record> records,
                                             append_sync sync) {
  return append_records(records, sync, {});
}

std::optional<error> journal::append_records(
  std::span<const append_record> records, append_sync sync,
  std::span<const std::pair<std::string_view, std::string_view>> meta) {
  if (records.empty() && meta.empty())
    return std::nullopt;
  auto& d = *impl_;
  std::lock_guard lock(d.append_mu_);
  auto& batch = d.append_batch_;
  batch.Clear();
  for (const auto& [name, value] : meta)
    batch.Put(d.cf(cf_meta), rocksdb::Slice(name.data(), name.size()),
              rocksdb::Slice(value.data(), value.size()));
  uint64_t high = 0;
  bool refs = false;
  std::string ref;
  for (const auto& r : records) {
    if (r.ref) {
      refs = true;
      encode_ref(ref, *r.ref);
      batch.Put(d.cf(cf_events), seq_key(r.seq).slice(), ref);
    } else {
      batch.Put(d.cf(cf_events), seq_key(r.seq).slice(),
                rocksdb::Slice(r.record.data(), r.record.size()));
    }
    for (uint64_t sub : r.subs)
      batch.Put(d.cf(cf_queues), pair_key(sub, r.seq).slice(), rocksdb::Slice());
    if (!r.client_id.empty()) {
      char v[16];
      put_be64(v, r.seq);
      put_be64(v + 8, static_cast<uint64_t>(r.ingest_ms));
      const rocksdb::Slice cid(r.client_id.data(), r.client_id.size());
      batch.Put(d.cf(cf_dedupe), cid, rocksdb::Slice(v, sizeof v));
      batch.Put(d.cf(cf_dedupe_time), time_key(r.ingest_ms, r.client_id), rocksdb::Slice());
    }
    // Another node's seq (above this journal's range) is not this one's to hand out.
    if (r.seq < d.seq_end_)
      high = std::max(high, r.seq + 1);
  }
  // The high-water mark once per commit, only when it grows.
  const uint64_t persisted = std::max(d.persisted_seq_, high);
  if (persisted != d.persisted_seq_)
    batch.Put(d.cf(cf_meta), meta_seq, be64_string(persisted));
  // Binaries of format 2 cannot open a journal holding references (journal.hpp):
  // the record goes in the same write as the first of them.
  const bool raise_format = refs && d.stage_format_version(batch, journal_format_refs);
  const bool unsynced = d.sync_ && sync == append_sync::later && !records.empty();
  if (unsynced) {
    // Masked before it is written: a reader never sees it undurable.
    std::lock_guard guard(d.unsynced_mu_);
    uint64_t low = records.front().seq;
    for (const auto& r : records)
      low = std::min(low, r.seq);
    d.unsynced_.push_back(low);
    if (low < d.unsynced_low_.load(std::memory_order_relaxed))
      d.unsynced_low_.store(low, std::memory_order_release);
  }
  auto err = d.write(batch, d.sync_ && sync == append_sync::now, "append");
  if (err && unsynced) {
    std::lock_guard guard(d.unsynced_mu_);
    d.unsynced_.pop_back();
    d.unsynced_low_.store(d.unsynced_.empty()
                            ? std::numeric_limits<uint64_t>::max()
                            : *std::min_element(d.unsynced_.begin(), d.unsynced_.end()),
                          std::memory_order_release);
  }
  // A large commit's buffer is not kept for the next one.
  if (batch.GetDataSize() > (4u << 20))
    batch = rocksdb::WriteBatch();
  if (err)
    return err;
  if (raise_format)
    raise_to(d.format_version_, journal_format_refs);
  d.persisted_seq_ = persisted;
  // Seqs the caller did not reserve must still never be handed out again.
  raise_to(d.next_seq_, high);
  return std::nullopt;
}

expected<uint64_t> journal::find_client_id(std::string_view client_id, int64_t now_ms,
                                           int64_t window_ms) const {
  rocksdb::PinnableSlice v;
  auto s = impl_->db_->Get(rocksdb::ReadOptions(), impl_->cf(cf_dedupe), client_id, &v);
  if (!s.ok())
    return impl_->read_failed("read client id", s);
  if (v.size() != 16)
    return impl_->read_failed("corrupt client id record");
  const uint64_t seq = get_be64(v.data());
  const auto ingest_ms = static_cast<int64_t>(get_be64(v.data() + 8));
  if (ingest_ms < now_ms - window_ms)
    return not_found();
  return seq;
}

std::optional<error> journal::ack_many(uint64_t sub, const std::vector<uint64_t>& seqs) {
  if (seqs.empty())
    return std::nullopt;
  rocksdb::WriteBatch batch;
  for (uint64_t seq : seqs)
    batch.Delete(impl_->cf(cf_queues), pair_key(sub, seq).slice());
  return impl_->write(batch, false, "ack", write_kind::shrinks);
}

expected<std::vector<event_ptr>> journal::read_queue(uint64_t sub, uint64_t after,
                                                     std::size_t limit) const {
  std::vector<event_ptr> out;
  if (limit == 0 || after == max_u64)
    return out;
  auto& d = *impl_;
  const seq_key prefix(sub);

  std::vector<uint64_t> seqs;
  {
    rocksdb::ReadOptions ro;
    // sub + 1 overflows for the last subscription; the prefix check stops there.
    const pair_key bound(sub == max_u64 ? sub : sub + 1, 0);
    const rocksdb::Slice bound_slice = bound.slice();
    if (sub != max_u64)
      ro.iterate_upper_bound = &bound_slice;
    std::unique_ptr<rocksdb::Iterator> it(d.db_->NewIterator(ro, d.cf(cf_queues)));
    // Events written but not yet synced are left for the next read (their
    // subscribers hear of them once they are durable). Read after the
    // iterator's snapshot: an append masks its seqs before it writes them.
    const uint64_t durable_below = d.unsynced_low_.load(std::memory_order_acquire);
    for (it->Seek(pair_key(sub, after + 1).slice()); it->Valid() && seqs.size() < limit;
         it->Next()) {
      auto key = it->key();
      if (key.size() != 16 || !has_prefix(key, prefix.b.data(), 8))
        break;
      const uint64_t seq = get_be64(key.data() + 8);
      if (seq >= durable_below)
        break;
      seqs.push_back(seq);
    }
    // Keys read before a failure are served; a failure before any is the answer.
    if (!it->status().ok() && seqs.empty())
      return impl_->read_failed("read queue", it->status());
  }
  if (seqs.empty())
    return out;

  std::vector<seq_key> keys;
  keys.reserve(seqs.size());
  for (uint64_t seq : seqs)
    keys.emplace_back(seq);
  std::vector<rocksdb::Slice> key_slices;
  key_slices.reserve(keys.size());
  for (const auto& k : keys)
    key_slices.push_back(k.slice());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  d.db_->MultiGet(rocksdb::ReadOptions(), d.cf(cf_events), keys.size(), key_slices.data(),
                  values.data(), statuses.data(), true);
  d.resolve_refs(values, statuses);

  rocksdb::WriteBatch stale;
  out.reserve(seqs.size());
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    if (statuses[i].ok()) {
      auto e = decode_event(std::string_view(values[i].data(), values[i].size()));
      if (e) {
        // A log entry's record carries the ingest node's seq, not this key's.
        e->seq = seqs[i];
        out.push_back(std::make_shared<const stored_event>(std::move(*e)));
        continue;
      }
      // An undecodable record can never be delivered; like a missing one, it
      // would otherwise pin the queue's low-water mark forever.
    } else if (!statuses[i].IsNotFound()) {
      // An I/O error: stop here so that the caller resumes at this seq.
      if (out.empty())
        return impl_->read_failed("read events", statuses[i]);
      break;
    }
    stale.Delete(d.cf(cf_queues), pair_key(sub, seqs[i]).slice());
  }
  // Best effort: a key left behind is found and removed again next time.
  if (stale.Count() > 0)
    (void)d.write(stale, false, "read_queue cleanup", write_kind::shrinks);
  return out;
}

expected<uint64_t> journal::count_queue(uint64_t sub) const {
  auto& d = *impl_;
  const seq_key prefix(sub);
  std::unique_ptr<rocksdb::Iterator> it(
    d.db_->NewIterator(rocksdb::ReadOptions(), d.cf(cf_queues)));
  uint64_t n = 0;
  for (it->Seek(pair_key(sub, 0).slice()); it->Valid(); it->Next()) {
    if (!has_prefix(it->key(), prefix.b.data(), 8))
      break;
    ++n;
  }
  if (!it->status().ok())
    return impl_->read_failed("count queue", it->status());
  return n;
}

expected<std::vector<std::pair<uint64_t, uint64_t>>> journal::count_queues() const {
  auto& d = *impl_;
  std::unique_ptr<rocksdb::Iterator> it(
    d.db_->NewIterator(rocksdb::ReadOptions(), d.cf(cf_queues)));
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto key = it->key();
    if (key.size() != 16)
      return impl_->read_failed("malformed key in queues");
    const uint64_t sub = get_be64(key.data());
    if (out.empty() || out.back().first != sub)
      out.emplace_back(sub, 0);
    ++out.back().second;
  }
  if (!it->status().ok())
    return impl_->read_failed("count queues", it->status());
  return out;
}

expected<uint64_t> journal::purge(uint64_t sub) {
  auto n = count_queue(sub);
  if (!n)
    return n;
  rocksdb::WriteBatch batch;
  delete_sub_keys(batch, impl_->cf(cf_queues), sub);
  delete_pull_files(batch, impl_->cf(cf_meta), sub);
  if (auto err = impl_->write(batch, impl_->sync_, "purge", write_kind::shrinks))
    return std::move(*err);
  return n;
}

std::optional<error> journal::kill(uint64_t sub, const stored_event& e, const std::string& reason) {
  const pair_key key(sub, e.seq);
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(cf_dead), key.slice(), encode_dead(e, reason, 0, {}, 0));
  batch.Delete(impl_->cf(cf_queues), key.slice());
  return impl_->write(batch, impl_->sync_, "kill");
}

std::optional<error> journal::kill_many(uint64_t sub, const std::vector<dead_letter>& letters) {
  if (letters.empty())
    return std::nullopt;
  rocksdb::WriteBatch batch;
  for (const auto& l : letters) {
    const pair_key key(sub, l.event->seq);
    batch.Put(impl_->cf(cf_dead), key.slice(),
              encode_dead(*l.event, l.reason, l.attempts, l.last_error, l.dead_ms));
    batch.Delete(impl_->cf(cf_queues), key.slice());
  }
  return impl_->write(batch, impl_->sync_, "kill_many");
}

expected<std::vector<dead_letter>> journal::dead_letters(uint64_t sub, std::size_t limit,
                                                         uint64_t after_seq) const {
  auto& d = *impl_;
  const seq_key prefix(sub);
  std::vector<dead_letter> out;
  if (after_seq == max_u64)
    return out;
  std::unique_ptr<rocksdb::Iterator> it(d.db_->NewIterator(rocksdb::ReadOptions(), d.cf(cf_dead)));
  for (it->Seek(pair_key(sub, after_seq + 1).slice()); it->Valid() && out.size() < limit;
       it->Next()) {
    if (!has_prefix(it->key(), prefix.b.data(), 8))
      break;
    if (auto dl = decode_dead_letter(std::string_view(it->value().data(), it->value().size())))
      out.push_back(std::move(*dl));
  }
  if (!it->status().ok())
    return impl_->read_failed("read dead letters", it->status());
  return out;
}

expected<std::vector<event_ptr>> journal::replay_dead(uint64_t sub, int64_t now_ms,
                                                      const replay_filter& filter) {
  auto& d = *impl_;
  std::lock_guard<std::mutex> gc_guard(d.gc_mu_);
  const seq_key prefix(sub);
  std::vector<event_ptr> out;
  rocksdb::WriteBatch batch;
  {
    std::unique_ptr<rocksdb::Iterator> it(
      d.db_->NewIterator(rocksdb::ReadOptions(), d.cf(cf_dead)));
    for (it->Seek(pair_key(sub, 0).slice()); it->Valid(); it->Next()) {
      auto key = it->key();
      if (key.size() != 16 || !has_prefix(key, prefix.b.data(), 8))
        break;
      auto dl = decode_dead_letter(std::string_view(it->value().data(), it->value().size()));
      if (!dl)
        continue; // left in place for an operator to inspect
      if (!filter.admits(dl->event->ev))
        continue;
      auto replayed = std::make_shared<stored_event>(*dl->event);
      replayed->ingest_ms = now_ms;
      dl->event = replayed;
      const auto& e = *dl->event;
      // The record is rewritten even when present: a check-then-write would
      // race with a concurrent collect_garbage, and the bytes are identical.
      batch.Put(d.cf(cf_events), seq_key(e.seq).slice(), encode_event(e));
      batch.Put(d.cf(cf_queues), pair_key(sub, e.seq).slice(), rocksdb::Slice());
      batch.Delete(d.cf(cf_dead), key);
      out.push_back(std::move(dl->event));
    }
    if (!it->status().ok())
      return impl_->read_failed("read dead letters", it->status());
  }
  if (out.empty())
    return out;
  if (auto err = d.write(batch, d.sync_, "replay_dead"))
    return std::move(*err);
  // Records below the last low-water mark exist again: let the next
  // collect_garbage delete them once they are delivered.
  d.gc_low_water_ = 0;
  return out;
}

expected<uint64_t> journal::drop_dead(uint64_t sub) {
  auto& d = *impl_;
  const seq_key prefix(sub);
  uint64_t n = 0;
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(d.db_->NewIterator(rocksdb::ReadOptions(), d.cf(cf_dead)));
  for (it->Seek(pair_key(sub, 0).slice()); it->Valid(); it->Next()) {
    auto key = it->key();
    if (key.size() != 16 || !has_prefix(key, prefix.b.data(), 8))
      break;
    batch.Delete(d.cf(cf_dead), key);
    ++n;
  }
  if (!it->status().ok())
    return impl_->read_failed("drop_dead", it->status());
  if (n == 0)
    return n;
  if (auto err = d.write(batch, d.sync_, "drop_dead"))
    return std::move(*err);
  // The event records of dropped letters are left to collect_garbage, which
  // keeps a record only while a queue holds it.
  return n;
}

expected<std::optional<uint64_t>> journal::queue_head(uint64_t sub, uint64_t from) const {
  auto& d = *impl_;
  std::unique_ptr<rocksdb::Iterator> it(
    d.db_->NewIterator(rocksdb::ReadOptions(), d.cf(cf_queues)));
  it->Seek(pair_key(sub, from).slice());
  if (!it->Valid()) {
    if (!it->status().ok())
      return impl_->read_failed("read queue head", it->status());
    return std::optional<uint64_t>();
  }
  auto key = it->key();
  if (key.size() != 16)
    return impl_->read_failed("malformed key in queues");
  if (get_be64(key.data()) != sub)
    return std::optional<uint64_t>();
  return std::optional<uint64_t>(get_be64(key.data() + 8));
}

expected<uint64_t> journal::min_queued_seq() const {
  auto& d = *impl_;
  // Captured first, with no reservation outstanding: anything appended
  // during the scan has a seq at least this.
  uint64_t low;
  {
    std::unique_lock gate(d.reserve_gate_);
    low = d.next_seq_.load();
  }
  std::unique_ptr<rocksdb::Iterator> it(
    d.db_->NewIterator(rocksdb::ReadOptions(), d.cf(cf_queues)));
  it->SeekToFirst();
  while (it->Valid()) {
    auto key = it->key();
    if (key.size() != 16)
      return impl_->read_failed("malformed key in queues");
    const uint64_t sub = get_be64(key.data());
    low = std::min(low, get_be64(key.data() + 8));
    if (sub == UINT64_MAX)
      break;
    it->Seek(pair_key(sub + 1, 0).slice());
  }
  if (!it->status().ok())
    return impl_->read_failed("scan queues", it->status());
  return low;
}

expected<std::optional<int64_t>> journal::oldest_queued_ingest_ms() const {
  auto& d = *impl_;
  // The head of each queue is its lowest seq; replayed dead letters carry a
  // new ingest time under an old seq, so every head is read, not just the
  // lowest seq overall.
  std::vector<seq_key> heads;
  {
    std::unique_ptr<rocksdb::Iterator> it(
      d.db_->NewIterator(rocksdb::ReadOptions(), d.cf(cf_queues)));
    it->SeekToFirst();
    while (it->Valid()) {
      auto key = it->key();
      if (key.size() != 16)
        break;
      const uint64_t sub = get_be64(key.data());
      heads.emplace_back(get_be64(key.data() + 8));
      if (sub == max_u64)
        break;
      it->Seek(pair_key(sub + 1, 0).slice());
    }
    if (!it->status().ok())
      return impl_->read_failed("scan queues", it->status());
  }
  std::optional<int64_t> oldest;
  std::array<rocksdb::PinnableSlice, 1> value;
  std::array<rocksdb::Status, 1> s;
  for (const auto& k : heads) {
    value[0].Reset();
    s[0] = d.db_->Get(rocksdb::ReadOptions(), d.cf(cf_events), k.slice(), &value[0]);
    d.resolve_refs(value, s);
    if (s[0].IsNotFound())
      continue; // a missing record is read_queue's to clean up
    if (!s[0].ok())
      return impl_->read_failed("read events", s[0]);
    if (auto e = decode_event(value[0].ToStringView()); e && (!oldest || e->ingest_ms < *oldest))
      oldest = e->ingest_ms;
  }
  return oldest;
}

std::optional<error> journal::collect_unreferenced(int64_t dedupe_before_ms) {
  std::lock_guard<std::mutex> gc_guard(impl_->gc_mu_);
  auto low = min_queued_seq();
  if (!low)
    return std::move(low).error();
  return collect_garbage(*low, dedupe_before_ms);
}

std::optional<error> journal::collect_garbage(uint64_t low_water, int64_t dedupe_before_ms) {
  auto& d = *impl_;
  std::optional<error> first_error;
  if (low_water > d.gc_low_water_.load()) {
    rocksdb::WriteBatch batch;
    batch.DeleteRange(d.cf(cf_events), seq_key(0).slice(), seq_key(low_water).slice());
    if (auto err = d.write(batch, false, "collect events", write_kind::shrinks))
      first_error = std::move(err);
    else
      raise_to(d.gc_low_water_, low_water);
  }

  // Client ids expire in key order: dedupe_by_time below `end` is exactly
  // the expired ones. A lookup is deleted only when it is itself expired (a
  // client id seen again since has a newer lookup and a newer time key).
  const std::string end = time_key(dedupe_before_ms, {});
  rocksdb::ReadOptions ro;
  const rocksdb::Slice end_slice(end);
  ro.iterate_upper_bound = &end_slice;
  std::unique_ptr<rocksdb::Iterator> it(d.db_->NewIterator(ro, d.cf(cf_dedupe_time)));
  it->SeekToFirst();
  std::string value;
  while (it->Valid() && !first_error) {
    // Under append_mu_, an append cannot renew a lookup between the check
    // and the delete below.
    std::lock_guard lock(d.append_mu_);
    rocksdb::WriteBatch batch;
    for (; it->Valid() && batch.Count() < sweep_batch_keys; it->Next()) {
      auto key = it->key();
      if (key.size() < 8)
        continue;
      const rocksdb::Slice client_id(key.data() + 8, key.size() - 8);
      auto s = d.db_->Get(rocksdb::ReadOptions(), d.cf(cf_dedupe), client_id, &value);
      if (s.IsNotFound())
        continue;
      if (!s.ok()) {
        first_error = impl_->read_failed("read client id", s);
        break;
      }
      if (value.size() != 16 || static_cast<int64_t>(get_be64(value.data() + 8)) < dedupe_before_ms)
        batch.Delete(d.cf(cf_dedupe), client_id);
    }
    if (first_error)
      break;
    if (batch.Count() > 0)
      if (auto err = d.write(batch, false, "expire client ids", write_kind::shrinks))
        first_error = std::move(err);
  }
  if (!first_error && !it->status().ok())
    first_error = impl_->read_failed("scan dedupe_by_time", it->status());
  if (!first_error) {
    rocksdb::WriteBatch batch;
    batch.DeleteRange(d.cf(cf_dedupe_time), time_key(0, {}), end);
    if (auto err = d.write(batch, false, "expire client ids", write_kind::shrinks))
      first_error = std::move(err);
  }
  return first_error;
}

// -- subscriptions and metadata -----------------------------------------------------

std::optional<error> journal::put_subscription(uint64_t sub, std::string_view record) {
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(cf_subs), seq_key(sub).slice(), record);
  if (auto err = impl_->write(batch, true, "put subscription"))
    return err;
  // A number chosen by the caller must not be handed out again.
  if (sub != max_u64)
    raise_to(impl_->next_sub_, sub + 1);
  return std::nullopt;
}

std::optional<error> journal::put_subscriptions(
  const std::vector<std::pair<uint64_t, std::string>>& records) {
  rocksdb::WriteBatch batch;
  uint64_t highest = 0;
  for (const auto& [sub, record] : records) {
    batch.Put(impl_->cf(cf_subs), seq_key(sub).slice(), record);
    highest = std::max(highest, sub);
  }
  if (auto err = impl_->write(batch, true, "put subscriptions"))
    return err;
  if (!records.empty() && highest != max_u64)
    raise_to(impl_->next_sub_, highest + 1);
  return std::nullopt;
}

std::optional<error> journal::delete_subscription(uint64_t sub) {
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf(cf_subs), seq_key(sub).slice());
  delete_sub_keys(batch, impl_->cf(cf_queues), sub);
  delete_sub_keys(batch, impl_->cf(cf_dead), sub);
  delete_pull_files(batch, impl_->cf(cf_meta), sub);
  return impl_->write(batch, true, "delete subscription", write_kind::shrinks);
}

expected<std::vector<std::pair<uint64_t, std::string>>> journal::load_subscriptions() const {
  std::vector<std::pair<uint64_t, std::string>> out;
  if (auto err = scan_subscriptions([&out](uint64_t number, std::string record) {
        out.emplace_back(number, std::move(record));
      }))
    return std::move(*err);
  return out;
}

std::optional<error> journal::scan_subscriptions(
  const std::function<void(uint64_t, std::string)>& f) const {
  auto& d = *impl_;
  rocksdb::ReadOptions ro;
  // Read once, front to back: keep the blocks out of the block cache.
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(d.db_->NewIterator(ro, d.cf(cf_subs)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 8)
      continue;
    f(get_be64(it->key().data()), it->value().ToString());
  }
  if (!it->status().ok())
    return impl_->read_failed("read subscriptions", it->status());
  return std::nullopt;
}

std::optional<error> journal::checkpoint(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  auto s = rocksdb::Checkpoint::Create(impl_->db_, &raw);
  if (!s.ok())
    return translate("checkpoint", s);
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  // log_size_for_flush 0: flush the memtables first, so the copy needs no
  // WAL replay and holds every write acknowledged before the call.
  s = cp->CreateCheckpoint(dir, 0);
  if (!s.ok())
    return translate("checkpoint into " + dir, s);
  std::error_code ec;
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  return std::nullopt;
}

std::optional<error> journal::flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  // Nothing else writes at a graceful stop; a stall would only delay it.
  fo.allow_write_stall = true;
  std::vector<rocksdb::ColumnFamilyHandle*> all(impl_->cf_.begin(), impl_->cf_.end());
  {
    std::lock_guard guard(impl_->partitions_mu_);
    if (impl_->partitions_)
      all.push_back(impl_->partitions_);
  }
  auto s = impl_->db_->Flush(fo, all);
  if (!s.ok())
    return translate("flush " + impl_->dir_, s);
  return std::nullopt;
}

std::optional<error> journal::put_meta(std::string_view name, std::string_view value) {
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(cf_meta), name, value);
  return impl_->write(batch, true, "put meta");
}

std::optional<error> journal::delete_meta(std::string_view name) {
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf(cf_meta), name);
  return impl_->write(batch, true, "delete meta", write_kind::shrinks);
}

std::optional<error> journal::seal_pull_file(uint64_t sub, const pull_file& f) {
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf(cf_meta), pull_key(sub, f.first), encode_pull_file(f));
  return impl_->write(batch, true, "seal pull file");
}

expected<std::vector<pull_file>> journal::pull_files(uint64_t sub, std::size_t limit) const {
  auto& d = *impl_;
  std::vector<pull_file> out;
  const auto prefix = pull_key(sub, 0).substr(0, pull_prefix.size() + 8);
  std::unique_ptr<rocksdb::Iterator> it(d.db_->NewIterator(rocksdb::ReadOptions(), d.cf(cf_meta)));
  for (it->Seek(prefix); it->Valid() && out.size() < limit; it->Next()) {
    if (!it->key().starts_with(prefix))
      break;
    if (auto f = decode_pull_file(it->value()))
      out.push_back(*f);
  }
  if (!it->status().ok())
    return impl_->read_failed("read pull files", it->status());
  return out;
}

expected<pull_file> journal::find_pull_file(uint64_t sub, uint64_t first) const {
  std::string v;
  auto s = impl_->db_->Get(rocksdb::ReadOptions(), impl_->cf(cf_meta), pull_key(sub, first), &v);
  if (!s.ok())
    return impl_->read_failed("read pull file", s);
  auto f = decode_pull_file(v);
  if (!f)
    return impl_->read_failed("corrupt pull file record");
  return *f;
}

std::optional<error> journal::drop_pull_file(uint64_t sub, const pull_file& f) {
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf(cf_meta), pull_key(sub, f.first));
  batch.DeleteRange(impl_->cf(cf_queues), pair_key(sub, f.first).slice(),
                    pair_key(sub, f.last).slice());
  batch.Delete(impl_->cf(cf_queues), pair_key(sub, f.last).slice());
  return impl_->write(batch, true, "delete pull file", write_kind::shrinks);
}

expected<std::string> journal::get_meta(std::string_view name) const {
  std::string v;
  auto s = impl_->db_->Get(rocksdb::ReadOptions(), impl_->cf(cf_meta), name, &v);
  if (!s.ok())
    return impl_->read_failed("read meta", s);
  return v;
}

expected<std::vector<std::pair<std::string, std::string>>> journal::scan_meta(
  std::string_view prefix) const {
  auto& d = *impl_;
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(d.db_->NewIterator(rocksdb::ReadOptions(), d.cf(cf_meta)));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    if (!it->key().starts_with(rocksdb::Slice(prefix.data(), prefix.size())))
      break;
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  if (!it->status().ok())
    return impl_->read_failed("read meta", it->status());
  return out;
}

} // namespace sy::storage
