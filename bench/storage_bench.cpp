// The journal's write and read of cluster mode's apply: each event journaled
// as a copy of its record, or as a reference to the partition log's entry
// (storage::log_ref); and a replica's write of its partition log, an entry
// per event or per batch. Figures, not pass/fail: see docs/performance.md.

#include <benchmark/benchmark.h>

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "storage/journal.hpp"
#include "storage/partition_log.hpp"

using namespace sy::storage;

namespace {

constexpr std::size_t batch = 100;
constexpr std::string_view bench_id = "evt_002a00000000abcd";

// The process's CPU seconds so far, every thread's: RocksDB's flushes and
// compactions run on its own threads, and what they save counts too.
double process_cpu_s() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Sets the counters: events a second, and the process's CPU microseconds
// per event since `cpu_before` (all threads).
void count(benchmark::State& state, double cpu_before) {
  const double events = static_cast<double>(state.iterations() * batch);
  state.counters["events/s"] = benchmark::Counter(events, benchmark::Counter::kIsRate);
  state.counters["process_cpu_us/event"] = (process_cpu_s() - cpu_before) * 1e6 / events;
}

// A record the size of scripts/cluster-bench's events (~280 bytes).
stored_event bench_event(uint64_t n) {
  stored_event e;
  e.seq = n;
  e.ingest_ms = 1700000000000;
  e.ev.timestamp_ms = 1700000000000;
  e.ev.id = bench_id;
  e.ev.type = "bench.e";
  e.ev.country = "NO";
  e.ev.data = R"({"orderId":"54ac46e8b2e39ca0","deviceID":"09260d8b1de06948c516a",)"
              R"("userID":"bench@example.com","total":125.53,"currency":"EUR","items":[)"
              R"({"sku":"A-1","qty":2,"price":41.51},{"sku":"B-7","qty":1,"price":42.51}]})";
  return e;
}

// A journal in a fresh directory (unsynced, as the apply's writes are) with
// partition 0's log holding `entries` entries, removed afterwards.
struct bench_journal {
  std::filesystem::path dir;
  std::unique_ptr<journal> j;
  std::unique_ptr<partition_log> log;
  std::vector<std::string> records;

  explicit bench_journal(std::size_t entries) {
    dir = std::filesystem::temp_directory_path() /
          ("sy_storage_bench_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    journal_options o;
    o.reserve_bytes = 0;
    std::string error;
    j = journal::open(dir.string(), std::move(o), error);
    if (!j)
      return;
    auto opened = partition_log::open(*j, 0);
    if (!opened)
      return;
    log = std::move(*opened);
    for (std::size_t n = 0; n < entries; n += batch) {
      std::vector<std::string> chunk;
      for (std::size_t i = 0; i < batch; ++i)
        chunk.push_back(encode_event(bench_event(n + i)));
      if (log->append(n, chunk))
        return;
      records.insert(records.end(), chunk.begin(), chunk.end());
    }
  }
  ~bench_journal() {
    log.reset();
    j.reset();
    std::filesystem::remove_all(dir);
  }
};

// Journals the log's entries `batch` at a time, each for one subscription,
// as the apply does (unsynced, with its watermark), by copy or by reference.
void apply_write(benchmark::State& state, bool by_reference) {
  const std::size_t entries = 200000;
  bench_journal b(entries);
  if (!b.log || b.records.size() != entries) {
    state.SkipWithError("cannot open the journal or write the log");
    return;
  }
  const uint64_t sub[] = {1};
  std::vector<log_ref> refs(batch);
  std::vector<append_record> records(batch);
  const std::pair<std::string_view, std::string_view> meta[] = {{"apply/0", "0123456789abcdef"}};
  std::size_t offset = 0;
  const double cpu_before = process_cpu_s();
  for (auto _ : state) {
    const uint64_t first = b.j->reserve_seqs(batch);
    for (std::size_t i = 0; i < batch; ++i) {
      const auto& record = b.records[(offset + i) % entries];
      refs[i] = {0, (offset + i) % entries, 0, static_cast<uint32_t>(record.size()), bench_id};
      records[i] = {first + i, 1700000000000, record, {}, sub, by_reference ? &refs[i] : nullptr};
    }
    offset += batch;
    if (auto err = b.j->append_records(records, append_sync::elsewhere, meta)) {
      state.SkipWithError(err->message.c_str());
      break;
    }
  }
  count(state, cpu_before);
}

void BM_apply_write_copy(benchmark::State& state) { apply_write(state, false); }
void BM_apply_write_reference(benchmark::State& state) { apply_write(state, true); }
BENCHMARK(BM_apply_write_copy)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_apply_write_reference)->Unit(benchmark::kMicrosecond);

// Reads a backlog of 100 000 events back 100 at a time (a subscriber behind
// its in-memory window), journaled by copy or by reference.
void queue_read(benchmark::State& state, bool by_reference) {
  const std::size_t entries = 100000;
  bench_journal b(entries);
  if (!b.log || b.records.size() != entries) {
    state.SkipWithError("cannot open the journal or write the log");
    return;
  }
  const uint64_t sub[] = {1};
  const uint64_t first = b.j->reserve_seqs(entries);
  for (std::size_t n = 0; n < entries; n += batch) {
    std::vector<log_ref> refs(batch);
    std::vector<append_record> records(batch);
    for (std::size_t i = 0; i < batch; ++i) {
      refs[i] = {0, n + i, 0, static_cast<uint32_t>(b.records[n + i].size()), bench_id};
      records[i] = {
        first + n + i, 1700000000000, b.records[n + i], {}, sub, by_reference ? &refs[i] : nullptr};
    }
    if (auto err = b.j->append_records(records, append_sync::now)) {
      state.SkipWithError(err->message.c_str());
      return;
    }
  }
  uint64_t after = 0;
  const double cpu_before = process_cpu_s();
  for (auto _ : state) {
    auto read = b.j->read_queue(1, after, batch);
    if (!read || read->empty()) {
      state.SkipWithError("the queue read nothing");
      break;
    }
    after = read->back()->seq;
    if (after + 1 >= first + entries)
      after = 0;
    benchmark::DoNotOptimize(read);
  }
  count(state, cpu_before);
}

void BM_queue_read_copy(benchmark::State& state) { queue_read(state, false); }
void BM_queue_read_reference(benchmark::State& state) { queue_read(state, true); }
BENCHMARK(BM_queue_read_copy)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_queue_read_reference)->Unit(benchmark::kMicrosecond);

// A replica's write of 100 events into its partition log, unsynced (the
// group commit syncs them): one entry per event, as the log was written
// until 2026-12-05, or one entry holding all 100, as ingest writes it since
// (an entry per request and partition). The bytes are the records alone
// (no entry framing); the keys, memtable inserts and WAL records differ.
void log_append(benchmark::State& state, bool one_entry) {
  bench_journal b(0);
  if (!b.log) {
    state.SkipWithError("cannot open the journal");
    return;
  }
  std::vector<std::string> entries;
  for (std::size_t i = 0; i < batch; ++i)
    entries.push_back(encode_event(bench_event(i)));
  if (one_entry) {
    std::string all;
    for (const auto& e : entries)
      all += e;
    entries.assign(1, std::move(all));
  }
  const double cpu_before = process_cpu_s();
  for (auto _ : state) {
    if (auto err = b.log->append_unsynced(b.log->end_offset(), entries)) {
      state.SkipWithError(err->message.c_str());
      break;
    }
  }
  count(state, cpu_before);
}

void BM_log_append_entry_per_event(benchmark::State& state) { log_append(state, false); }
void BM_log_append_entry_per_batch(benchmark::State& state) { log_append(state, true); }
BENCHMARK(BM_log_append_entry_per_event)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_log_append_entry_per_batch)->Unit(benchmark::kMicrosecond);

} // namespace
