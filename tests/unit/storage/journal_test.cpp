#include "storage/journal.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "../../common/tmpfs_mount.hpp"

using sy::test::tmpfs_mount;

extern char** environ;

using namespace sy::storage;

namespace {

constexpr uint64_t max_u64 = std::numeric_limits<uint64_t>::max();

/// A dead letter of `e` given up for `reason`, with no delivery attempt recorded.
dead_letter letter(event_ptr e, std::string reason) {
  return {std::move(e), std::move(reason), 0, "", 0};
}

/// Owns a fresh directory under the system temp dir; removes it on destruction.
class temp_dir {
public:
  temp_dir() {
    auto pattern = (std::filesystem::temp_directory_path() / "switchyard-journal-XXXXXX").string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data()))
      throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    path_ = buf.data();
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Returns the directory's path.
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

/// Returns the value of `r`, failing the test (and returning T{}) on an error.
template <class T>
T ok(expected<T> r) {
  if (!r) {
    ADD_FAILURE() << "storage error: " << r.error().message;
    return T{};
  }
  return std::move(*r);
}

/// Returns true when `r` is the not_found answer (absent, not failed).
template <class T>
bool absent(const expected<T>& r) {
  return !r && r.error().kind == errc::not_found;
}

std::unique_ptr<journal> open_journal(const std::string& dir, bool sync = false) {
  std::string error;
  auto j = journal::open(dir, sync, error);
  EXPECT_TRUE(j) << error;
  return j;
}

event_ptr make_event(uint64_t seq, std::string client_id = {}, int64_t ingest_ms = 1000) {
  auto e = std::make_shared<stored_event>();
  e->seq = seq;
  e->ingest_ms = ingest_ms;
  e->ev.id = "id-" + std::to_string(seq);
  e->ev.type = "re.notifica.event.custom.Purchase";
  e->ev.country = "PT";
  e->ev.client_id = std::move(client_id);
  e->ev.data = R"({"n":)" + std::to_string(seq) + "}";
  e->ev.timestamp_ms = 1700000000000 + static_cast<int64_t>(seq);
  return e;
}

/// Appends one event per seq in [first, first + n), each queued for `subs`.
void append_range(journal& j, uint64_t first, uint64_t n, const std::vector<uint64_t>& subs) {
  std::vector<append_item> items;
  for (uint64_t s = first; s < first + n; ++s)
    items.push_back({make_event(s), subs});
  auto err = j.append(items);
  ASSERT_FALSE(err) << err->message;
}

std::vector<uint64_t> seqs_of(const std::vector<event_ptr>& events) {
  std::vector<uint64_t> out;
  for (const auto& e : events)
    out.push_back(e->seq);
  return out;
}

std::vector<uint64_t> iota(uint64_t first, uint64_t n) {
  std::vector<uint64_t> out;
  for (uint64_t s = first; s < first + n; ++s)
    out.push_back(s);
  return out;
}

void expect_same_event(const stored_event& a, const stored_event& b) {
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.ingest_ms, b.ingest_ms);
  EXPECT_EQ(a.ev.id, b.ev.id);
  EXPECT_EQ(a.ev.type, b.ev.type);
  EXPECT_EQ(a.ev.country, b.ev.country);
  EXPECT_EQ(a.ev.client_id, b.ev.client_id);
  EXPECT_EQ(a.ev.data, b.ev.data);
  EXPECT_EQ(a.ev.timestamp_ms, b.ev.timestamp_ms);
}

// -- the child of acknowledged_appends_survive_sigkill -------------------------

constexpr const char* child_env = "SWITCHYARD_JOURNAL_CHILD";
constexpr uint64_t child_subs[] = {1, 2};
constexpr uint64_t child_batch = 4;

// Appends batches forever, writing each acknowledged seq to the pipe, until
// the parent kills it. `spec` is "<fd> <sync 0|1> <dir>". It runs in a freshly exec'd copy of
// this binary: a bare fork() of a process whose earlier tests started RocksDB
// threads would inherit thread pools whose threads do not exist.
[[noreturn]] void run_durability_child(const char* spec) {
  const std::string s(spec);
  const auto space = s.find(' ');
  const int fd = std::atoi(s.substr(0, space).c_str());
  const bool sync = s.substr(space + 1, 1) == "1";
  const std::string dir = s.substr(space + 3);
  std::string error;
  auto j = journal::open(dir, sync, error);
  if (!j)
    _exit(3);
  for (;;) {
    const uint64_t first = j->reserve_seqs(child_batch);
    std::vector<append_item> items;
    for (uint64_t seq = first; seq < first + child_batch; ++seq)
      items.push_back({make_event(seq, "client-" + std::to_string(seq)),
                       std::vector<uint64_t>(std::begin(child_subs), std::end(child_subs))});
    if (j->append(items))
      _exit(4);
    for (uint64_t seq = first; seq < first + child_batch; ++seq)
      if (write(fd, &seq, sizeof seq) != static_cast<ssize_t>(sizeof seq))
        _exit(5);
  }
}

// Turns this process into the durability child when asked to. It runs from
// RUN_ALL_TESTS, not from a static initializer: with RocksDB linked
// statically, its own globals may not be constructed yet at that point.
class durability_child_environment : public ::testing::Environment {
public:
  void SetUp() override {
    if (const char* spec = std::getenv(child_env))
      run_durability_child(spec);
  }
};
[[maybe_unused]] const auto* const durability_child = ::testing::AddGlobalTestEnvironment(
  new durability_child_environment);

} // namespace

// -- codec ------------------------------------------------------------------------

TEST(journal_codec, round_trips_every_field) {
  auto e = make_event(42, "client-42", -5);
  auto decoded = decode_event(encode_event(*e));
  ASSERT_TRUE(decoded);
  expect_same_event(*decoded, *e);
}

TEST(journal_codec, round_trips_empty_strings_and_binary_data) {
  stored_event empty;
  auto d1 = decode_event(encode_event(empty));
  ASSERT_TRUE(d1);
  expect_same_event(*d1, empty);

  stored_event bin;
  bin.seq = max_u64;
  bin.ingest_ms = std::numeric_limits<int64_t>::min();
  bin.ev.timestamp_ms = std::numeric_limits<int64_t>::max();
  bin.ev.id = std::string("\0\xff\x01", 3);
  bin.ev.data = std::string(70000, '\0') + "\xfe\xff";
  bin.ev.client_id = std::string(1, '\0');
  auto d2 = decode_event(encode_event(bin));
  ASSERT_TRUE(d2);
  expect_same_event(*d2, bin);
}

TEST(journal_codec, rejects_every_truncation) {
  const auto bytes = encode_event(*make_event(7, "c"));
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(decode_event(std::string_view(bytes).substr(0, n))) << "length " << n;
}

TEST(journal_codec, rejects_unknown_version_trailing_bytes_and_huge_lengths) {
  auto bytes = encode_event(*make_event(7));
  EXPECT_FALSE(decode_event(bytes + "x"));
  auto v2 = bytes;
  v2[0] = 2;
  EXPECT_FALSE(decode_event(v2));
  // The id's length prefix (after version and three u64) claims 4 GiB - 1.
  auto huge = bytes;
  for (std::size_t i = 25; i < 29; ++i)
    huge[i] = '\xff';
  EXPECT_FALSE(decode_event(huge));
}

// -- journal ------------------------------------------------------------------------

TEST(journal, starts_at_seq_one_and_reports_open_errors) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  EXPECT_EQ(j->next_seq(), 1u);
  EXPECT_EQ(j->reserve_seqs(3), 1u);
  EXPECT_EQ(j->next_seq(), 4u);

  // A regular file where the directory should be.
  const auto file = dir.path() + "/file";
  { std::ofstream(file) << "x"; }
  std::string error;
  EXPECT_FALSE(journal::open(file, false, error));
  EXPECT_FALSE(error.empty());
}

TEST(journal, reads_queues_in_sequence_order_per_subscription) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  std::vector<append_item> items;
  for (uint64_t s = 1; s <= 6; ++s) {
    // Odd seqs go to subs 1 and 2, even ones to 2 and 3.
    items.push_back(
      {make_event(s), s % 2 ? std::vector<uint64_t>{1, 2} : std::vector<uint64_t>{2, 3}});
  }
  ASSERT_FALSE(j->append(items));

  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 100))), (std::vector<uint64_t>{1, 3, 5}));
  EXPECT_EQ(seqs_of(ok(j->read_queue(2, 0, 100))), iota(1, 6));
  EXPECT_EQ(seqs_of(ok(j->read_queue(3, 0, 100))), (std::vector<uint64_t>{2, 4, 6}));
  EXPECT_TRUE(ok(j->read_queue(4, 0, 100)).empty());
  EXPECT_EQ(ok(j->count_queue(2)), 6u);
  auto first = ok(j->read_queue(1, 0, 1));
  ASSERT_EQ(first.size(), 1u);
  expect_same_event(*first[0], *items[0].event);
  EXPECT_EQ(j->next_seq(), 7u);
}

TEST(journal, count_queues_counts_every_non_empty_queue_in_one_scan) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  EXPECT_TRUE(ok(j->count_queues()).empty());
  j->reserve_seqs(9);
  append_range(*j, 1, 4, {2, 7});
  append_range(*j, 5, 5, {300});
  EXPECT_FALSE(j->ack_many(7, {1, 2}));
  EXPECT_FALSE(j->ack_many(2, {1, 2, 3, 4})); // emptied: not listed
  const std::vector<std::pair<uint64_t, uint64_t>> want{{7, 2}, {300, 5}};
  EXPECT_EQ(ok(j->count_queues()), want);
  for (auto [sub, n] : want)
    EXPECT_EQ(ok(j->count_queue(sub)), n) << sub;
}

TEST(journal, queue_head_is_the_lowest_seq_queued_for_that_subscription_only) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  j->reserve_seqs(9);
  EXPECT_FALSE(ok(j->queue_head(7)).has_value());
  append_range(*j, 3, 4, {7});
  append_range(*j, 1, 2, {8}); // the next subscription's keys follow 7's
  EXPECT_EQ(ok(j->queue_head(7)), std::optional<uint64_t>(3));
  EXPECT_FALSE(j->ack_many(7, {3, 4}));
  EXPECT_EQ(ok(j->queue_head(7)), std::optional<uint64_t>(5));
  EXPECT_FALSE(j->ack_many(7, {5, 6}));
  EXPECT_FALSE(ok(j->queue_head(7)).has_value());
  EXPECT_FALSE(ok(j->queue_head(6)).has_value()); // seeks land on 8's keys
  EXPECT_EQ(ok(j->queue_head(8)), std::optional<uint64_t>(1));
}

TEST(journal, queue_head_from_a_seq_skips_what_is_queued_below_it) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  j->reserve_seqs(9);
  append_range(*j, 3, 4, {7}); // seqs 3..6
  append_range(*j, 1, 2, {8});
  EXPECT_EQ(ok(j->queue_head(7, 0)), std::optional<uint64_t>(3));
  EXPECT_EQ(ok(j->queue_head(7, 3)), std::optional<uint64_t>(3));
  EXPECT_EQ(ok(j->queue_head(7, 5)), std::optional<uint64_t>(5));
  EXPECT_FALSE(ok(j->queue_head(7, 7)).has_value()); // past 7's keys: 8's are not 7's
  EXPECT_FALSE(j->ack_many(7, {5}));
  EXPECT_EQ(ok(j->queue_head(7, 4)), std::optional<uint64_t>(4));
  EXPECT_EQ(ok(j->queue_head(7, 5)), std::optional<uint64_t>(6));
}

TEST(journal, append_records_writes_meta_in_the_same_write_and_alone) {
  temp_dir dir;
  auto j = open_journal(dir.path(), true);
  ASSERT_TRUE(j);
  auto e = make_event(j->reserve_seqs(1));
  const std::string record = encode_event(*e);
  const uint64_t subs[] = {4};
  const append_record r{e->seq, e->ingest_ms, record, {}, subs};
  const std::pair<std::string_view, std::string_view> meta[] = {{"cluster_applied.3", "one"}};
  ASSERT_FALSE(j->append_records(std::span(&r, 1), append_sync::now, meta));
  EXPECT_EQ(ok(j->get_meta("cluster_applied.3")), "one");
  EXPECT_EQ(ok(j->count_queue(4)), 1u);
  const std::pair<std::string_view, std::string_view> next[] = {{"cluster_applied.3", "two"}};
  ASSERT_FALSE(j->append_records({}, append_sync::now, next));
  EXPECT_EQ(ok(j->get_meta("cluster_applied.3")), "two");
  EXPECT_EQ(ok(j->count_queue(4)), 1u);
}

TEST(journal, reopens_with_everything_in_place) {
  temp_dir dir;
  {
    auto j = open_journal(dir.path());
    ASSERT_TRUE(j);
    j->reserve_seqs(5);
    append_range(*j, 1, 5, {1});
    EXPECT_FALSE(j->kill(1, *make_event(2), "410 Gone"));
    ASSERT_FALSE(j->put_subscription(1, "record-1"));
    ASSERT_FALSE(j->put_meta("types/a", "A"));
  }
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 100))), (std::vector<uint64_t>{1, 3, 4, 5}));
  auto dead = ok(j->dead_letters(1, 10));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].event->seq, 2u);
  EXPECT_EQ(dead[0].reason, "410 Gone");
  EXPECT_EQ(ok(j->load_subscriptions()),
            (std::vector<std::pair<uint64_t, std::string>>{{1, "record-1"}}));
  EXPECT_EQ(ok(j->get_meta("types/a")), "A");
  EXPECT_EQ(j->next_seq(), 6u);
}

// -- append_records: the group commit's path -------------------------------------

/// Returns `e` encoded as the I/O threads do before its seq is known: seq 0
/// and an id of the same length, all zeros.
std::string encode_unnumbered(const stored_event& e) {
  stored_event blank = e;
  blank.seq = 0;
  blank.ev.id.assign(e.ev.id.size(), '0');
  std::string out;
  encode_event_into(out, blank);
  return out;
}

TEST(journal, set_record_seq_makes_the_bytes_encode_event_makes) {
  const auto e = make_event(0x0123456789abcdefULL, "client-7");
  auto record = encode_unnumbered(*e);
  ASSERT_NE(record, encode_event(*e));
  ASSERT_TRUE(set_record_seq(record, e->seq, e->ev.id));
  EXPECT_EQ(record, encode_event(*e));
  auto back = decode_event(record);
  ASSERT_TRUE(back);
  expect_same_event(*back, *e);
}

TEST(journal, set_record_seq_refuses_an_id_of_another_length) {
  const auto e = make_event(7); // id "id-7"
  auto record = encode_unnumbered(*e);
  const auto before = record;
  EXPECT_FALSE(set_record_seq(record, 7, "id-77"));
  EXPECT_FALSE(set_record_seq(std::span<char>(record.data(), 20), 7, "id-7"));
  EXPECT_EQ(record, before);
}

TEST(journal, append_records_writes_what_append_writes) {
  temp_dir a_dir, b_dir;
  auto a = open_journal(a_dir.path());
  auto b = open_journal(b_dir.path());
  ASSERT_TRUE(a && b);
  std::vector<append_item> items;
  std::vector<std::string> bytes;
  for (uint64_t seq = 1; seq <= 6; ++seq) {
    auto e = make_event(seq, seq % 2 ? "c-" + std::to_string(seq) : std::string(), 5000);
    items.push_back({e, seq == 3 ? std::vector<uint64_t>{} : std::vector<uint64_t>{1, 2}});
    bytes.push_back(encode_unnumbered(*e));
    ASSERT_TRUE(set_record_seq(bytes.back(), seq, e->ev.id));
  }
  std::vector<append_record> records;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& e = *items[i].event;
    records.push_back({e.seq, e.ingest_ms, bytes[i], e.ev.client_id, items[i].subs});
  }
  ASSERT_FALSE(a->append(items));
  ASSERT_FALSE(b->append_records(records));
  for (auto* j : {a.get(), b.get()}) {
    EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 100))), (std::vector<uint64_t>{1, 2, 4, 5, 6}));
    EXPECT_EQ(seqs_of(ok(j->read_queue(2, 0, 100))), (std::vector<uint64_t>{1, 2, 4, 5, 6}));
    EXPECT_EQ(ok(j->find_client_id("c-5", 6000, dedupe_window_ms)), 5u);
    EXPECT_TRUE(absent(j->find_client_id("c-2", 6000, dedupe_window_ms)));
    const auto queued = ok(j->read_queue(1, 0, 100));
    ASSERT_EQ(queued.size(), 5u);
    expect_same_event(*queued[2], *items[3].event);
  }
  a.reset();
  b.reset();
  // The high-water mark went to disk with the commit.
  for (const auto* dir : {&a_dir, &b_dir}) {
    auto j = open_journal(dir->path());
    ASSERT_TRUE(j);
    EXPECT_EQ(j->next_seq(), 7u);
  }
}

TEST(journal, an_unsynced_append_is_not_read_from_a_queue_until_synced) {
  temp_dir dir;
  auto j = open_journal(dir.path(), true);
  ASSERT_TRUE(j);
  append_range(*j, 1, 2, {1});
  std::vector<std::string> bytes;
  std::vector<event_ptr> events;
  for (uint64_t seq = 3; seq <= 5; ++seq) {
    events.push_back(make_event(seq));
    bytes.push_back(encode_event(*events.back()));
  }
  const uint64_t subs[] = {1};
  std::vector<append_record> records;
  for (std::size_t i = 0; i < events.size(); ++i)
    records.push_back({events[i]->seq, events[i]->ingest_ms, bytes[i], "", subs});
  ASSERT_FALSE(j->append_records(records, append_sync::later));
  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 100))), (std::vector<uint64_t>{1, 2}));
  // A synced append after it is held back as well: the queue is read in order.
  append_range(*j, 6, 1, {1});
  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 100))), (std::vector<uint64_t>{1, 2}));
  ASSERT_FALSE(j->sync_appends());
  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 100))), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
}

// A data directory written by the journal of before append_records (one
// events key, one queues key per subscription, the dedupe pair, meta "seq"),
// written here with RocksDB directly, opens, delivers, and takes new commits.
TEST(journal, a_journal_written_by_the_previous_append_opens_and_delivers) {
  temp_dir dir;
  ASSERT_TRUE(open_journal(dir.path())); // creates the families and the format record
  const auto be64 = [](uint64_t v) {
    std::string out(8, '\0');
    for (int i = 7; i >= 0; --i, v >>= 8)
      out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    return out;
  };
  {
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const char* name :
         {"default", "events", "queues", "dead", "subs", "meta", "dedupe", "dedupe_by_time"})
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> cf;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.path(), families, &cf, &raw).ok());
    rocksdb::WriteBatch batch;
    for (uint64_t seq = 1; seq <= 3; ++seq) {
      auto e = make_event(seq, seq == 2 ? "old-client" : "", 5000);
      batch.Put(cf[1], be64(seq), encode_event(*e));
      batch.Put(cf[2], be64(4) + be64(seq), "");
      if (seq == 2) {
        batch.Put(cf[6], "old-client", be64(2) + be64(5000));
        batch.Put(cf[7], be64(5000) + "old-client", "");
      }
    }
    batch.Put(cf[5], "seq", be64(4));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE(raw->Write(wo, &batch).ok());
    for (auto* h : cf)
      raw->DestroyColumnFamilyHandle(h);
    delete raw;
  }
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  EXPECT_EQ(j->next_seq(), 4u);
  auto old = ok(j->read_queue(4, 0, 100));
  ASSERT_EQ(seqs_of(old), (std::vector<uint64_t>{1, 2, 3}));
  expect_same_event(*old[1], *make_event(2, "old-client", 5000));
  EXPECT_EQ(ok(j->find_client_id("old-client", 6000, dedupe_window_ms)), 2u);

  const uint64_t seq = j->reserve_seqs(1);
  ASSERT_EQ(seq, 4u);
  auto e = make_event(seq, "", 6000);
  const std::string record = encode_event(*e);
  const uint64_t subs[] = {4};
  const append_record r{seq, e->ingest_ms, record, "", subs};
  ASSERT_FALSE(j->append_records({&r, 1}));
  EXPECT_EQ(seqs_of(ok(j->read_queue(4, 0, 100))), (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST(journal, next_seq_survives_collection_of_every_event) {
  temp_dir dir;
  {
    auto j = open_journal(dir.path());
    ASSERT_TRUE(j);
    append_range(*j, j->reserve_seqs(10), 10, {1});
    EXPECT_FALSE(j->ack_many(1, iota(1, 10)));
    EXPECT_FALSE(j->collect_garbage(j->next_seq(), 0));
    EXPECT_EQ(ok(j->count_queue(1)), 0u);
  }
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  EXPECT_EQ(j->next_seq(), 11u);
  EXPECT_EQ(j->reserve_seqs(1), 11u);
}

TEST(journal, next_seq_never_goes_back_when_batches_land_out_of_order) {
  temp_dir dir;
  {
    auto j = open_journal(dir.path());
    ASSERT_TRUE(j);
    const uint64_t a = j->reserve_seqs(5);
    const uint64_t b = j->reserve_seqs(5);
    append_range(*j, b, 5, {1});
    append_range(*j, a, 5, {1});
    EXPECT_FALSE(j->ack_many(1, iota(1, 10)));
    EXPECT_FALSE(j->collect_garbage(11, 0));
  }
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  EXPECT_EQ(j->next_seq(), 11u);
}

TEST(journal, ack_many_removes_queue_keys) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  append_range(*j, 1, 5, {1, 2});
  EXPECT_FALSE(j->ack_many(1, {1}));
  EXPECT_FALSE(j->ack_many(1, {3, 5}));
  EXPECT_FALSE(j->ack_many(1, {99})); // unknown keys are harmless
  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 100))), (std::vector<uint64_t>{2, 4}));
  EXPECT_EQ(seqs_of(ok(j->read_queue(2, 0, 100))), iota(1, 5));
}

TEST(journal, read_queue_pages_with_after) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  append_range(*j, 1, 10, {7});
  append_range(*j, 11, 2, {8}); // the next subscription must not leak in
  std::vector<uint64_t> seen;
  uint64_t after = 0;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = ok(j->read_queue(7, after, 3));
    if (page.empty())
      break;
    EXPECT_LE(page.size(), 3u);
    for (const auto& e : page)
      seen.push_back(e->seq);
    after = page.back()->seq;
  }
  EXPECT_EQ(seen, iota(1, 10));
  EXPECT_EQ(seqs_of(ok(j->read_queue(7, 4, 2))), (std::vector<uint64_t>{5, 6}));
  EXPECT_TRUE(ok(j->read_queue(7, 10, 5)).empty());
  EXPECT_TRUE(ok(j->read_queue(7, max_u64, 5)).empty());
  EXPECT_TRUE(ok(j->read_queue(7, 0, 0)).empty());
}

TEST(journal, read_queue_drops_keys_whose_event_is_gone) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  append_range(*j, 1, 6, {1});
  EXPECT_FALSE(j->collect_garbage(4, 0)); // events 1..3 go, their queue keys stay
  EXPECT_EQ(ok(j->count_queue(1)), 6u);
  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 100))), (std::vector<uint64_t>{4, 5, 6}));
  EXPECT_EQ(ok(j->count_queue(1)), 3u);
}

TEST(journal, purge_counts_and_empties_only_that_subscription) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  append_range(*j, 1, 4, {5, 6, max_u64});
  append_range(*j, 5, 3, {5});
  EXPECT_EQ(ok(j->purge(5)), 7u);
  EXPECT_EQ(ok(j->count_queue(5)), 0u);
  EXPECT_EQ(ok(j->count_queue(6)), 4u);
  EXPECT_EQ(ok(j->count_queue(max_u64)), 4u);
  EXPECT_EQ(ok(j->purge(5)), 0u);

  // The last possible subscription number, including its last possible seq.
  ASSERT_FALSE(j->append({{make_event(max_u64 - 1), {max_u64}}}));
  EXPECT_EQ(seqs_of(ok(j->read_queue(max_u64, 0, 100))),
            (std::vector<uint64_t>{1, 2, 3, 4, max_u64 - 1}));
  EXPECT_EQ(ok(j->purge(max_u64)), 5u);
  EXPECT_EQ(ok(j->count_queue(max_u64)), 0u);
  EXPECT_EQ(ok(j->count_queue(6)), 4u);
}

TEST(journal, kill_many_moves_a_page_of_dead_letters_in_one_write) {
  temp_dir dir;
  auto j = open_journal(dir.path(), true);
  ASSERT_TRUE(j);
  append_range(*j, 1, 6, {1, 2});
  auto queued = ok(j->read_queue(1, 0, 100));
  ASSERT_EQ(queued.size(), 6u);
  EXPECT_FALSE(j->kill_many(1, {}));
  EXPECT_FALSE(j->kill_many(1, {letter(queued[0], "older than retry.max_age"),
                                letter(queued[2], "HTTP 500"), letter(queued[5], "timeout")}));
  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 100))), (std::vector<uint64_t>{2, 4, 5}));
  EXPECT_EQ(ok(j->count_queue(2)), 6u); // another subscription's queue is untouched
  auto dead = ok(j->dead_letters(1, 10));
  ASSERT_EQ(dead.size(), 3u);
  EXPECT_EQ(dead[0].event->seq, 1u);
  EXPECT_EQ(dead[0].reason, "older than retry.max_age");
  EXPECT_EQ(dead[1].reason, "HTTP 500");
  EXPECT_EQ(dead[2].event->seq, 6u);
  expect_same_event(*dead[2].event, *queued[5]);
  j.reset();
  j = open_journal(dir.path(), true); // the write is durable
  EXPECT_EQ(ok(j->dead_letters(1, 10)).size(), 3u);
  EXPECT_EQ(seqs_of(ok(j->replay_dead(1, 5))), (std::vector<uint64_t>{1, 3, 6}));
}

TEST(journal, dead_letters_keep_attempts_last_error_and_time) {
  temp_dir dir;
  auto j = open_journal(dir.path(), true);
  ASSERT_TRUE(j);
  append_range(*j, 1, 2, {1});
  auto queued = ok(j->read_queue(1, 0, 100));
  ASSERT_EQ(queued.size(), 2u);
  EXPECT_FALSE(j->kill_many(1, {{queued[0], "older than retry.max_age", 7, "HTTP 500", 1234},
                                letter(queued[1], "older than retry.max_age before delivery")}));
  j.reset();
  j = open_journal(dir.path(), true);
  auto dead = ok(j->dead_letters(1, 10));
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].attempts, 7u);
  EXPECT_EQ(dead[0].last_error, "HTTP 500");
  EXPECT_EQ(dead[0].dead_ms, 1234);
  EXPECT_EQ(dead[1].attempts, 0u);
  EXPECT_EQ(dead[1].last_error, "");
  EXPECT_EQ(dead[1].dead_ms, 0);
}

TEST(journal, dead_letters_written_before_details_were_kept_still_read) {
  const auto e = make_event(9);
  // The record as switchyard wrote it before: the event, then the reason.
  auto with_length = [](std::string_view s) {
    std::string out(4, '\0');
    for (int i = 0; i < 4; ++i)
      out[i] = static_cast<char>((s.size() >> (8 * (3 - i))) & 0xff);
    return out.append(s);
  };
  const std::string old = with_length(encode_event(*e)) + with_length("HTTP 500");
  auto d = decode_dead_letter(old);
  ASSERT_TRUE(d);
  expect_same_event(*d->event, *e);
  EXPECT_EQ(d->reason, "HTTP 500");
  EXPECT_EQ(d->attempts, 0u);
  EXPECT_EQ(d->last_error, "");
  EXPECT_EQ(d->dead_ms, 0);
  // The new form round-trips; a truncated one, or an unknown tag, is corrupt.
  const std::string now = encode_dead_letter({e, "timeout", 3, "connection refused", 99});
  auto n = decode_dead_letter(now);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->attempts, 3u);
  EXPECT_EQ(n->last_error, "connection refused");
  EXPECT_EQ(n->dead_ms, 99);
  for (std::size_t len = old.size(); len < now.size(); ++len)
    EXPECT_FALSE(decode_dead_letter(std::string_view(now).substr(0, len))) << len;
  std::string bad_tag = now;
  bad_tag[old.size() - std::string("HTTP 500").size() + std::string("timeout").size()] = 2;
  EXPECT_FALSE(decode_dead_letter(bad_tag));
  EXPECT_FALSE(decode_dead_letter(now + "x"));
}

TEST(journal, dead_letters_page_after_a_seq) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  append_range(*j, 1, 6, {1, 2});
  auto queued = ok(j->read_queue(1, 0, 100));
  std::vector<dead_letter> all;
  for (const auto& e : queued)
    all.push_back(letter(e, "r"));
  EXPECT_FALSE(j->kill_many(1, all));
  EXPECT_FALSE(j->kill_many(2, {letter(queued[0], "other subscription")}));
  auto seqs = [](const std::vector<dead_letter>& v) {
    std::vector<uint64_t> out;
    for (const auto& d : v)
      out.push_back(d.event->seq);
    return out;
  };
  EXPECT_EQ(seqs(ok(j->dead_letters(1, 2))), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(seqs(ok(j->dead_letters(1, 2, 2))), (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(seqs(ok(j->dead_letters(1, 10, 4))), (std::vector<uint64_t>{5, 6}));
  EXPECT_TRUE(ok(j->dead_letters(1, 10, 6)).empty());
  EXPECT_TRUE(ok(j->dead_letters(1, 10, std::numeric_limits<uint64_t>::max())).empty());
}

TEST(journal, replay_requeues_only_what_the_filter_admits) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  append_range(*j, 1, 6, {1});
  auto queued = ok(j->read_queue(1, 0, 100));
  std::vector<dead_letter> all;
  for (const auto& e : queued)
    all.push_back(letter(e, "r"));
  EXPECT_FALSE(j->kill_many(1, all));
  // make_event: timestamp = 1700000000000 + seq; [since, until).
  replay_filter f;
  f.since_ms = 1700000000002;
  f.until_ms = 1700000000004;
  EXPECT_EQ(seqs_of(ok(j->replay_dead(1, 5, f))), (std::vector<uint64_t>{2, 3}));
  f = {};
  f.since_ms = 1700000000006;
  EXPECT_EQ(seqs_of(ok(j->replay_dead(1, 5, f))), (std::vector<uint64_t>{6}));
  f = {};
  f.until_ms = 1700000000001;
  EXPECT_TRUE(ok(j->replay_dead(1, 5, f)).empty());
  f = {};
  f.only_id = "id-4";
  EXPECT_EQ(seqs_of(ok(j->replay_dead(1, 5, f))), (std::vector<uint64_t>{4}));
  EXPECT_EQ(seqs_of(ok(j->replay_dead(1, 5))), (std::vector<uint64_t>{1, 5}));
  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 100))), iota(1, 6));
}

TEST(journal, kill_and_replay_dead_letters) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  append_range(*j, 1, 5, {1, 2});
  auto queued = ok(j->read_queue(1, 0, 100));
  ASSERT_EQ(queued.size(), 5u);
  EXPECT_FALSE(j->kill(1, *queued[3], "timeout"));
  EXPECT_FALSE(j->kill(1, *queued[1], "HTTP 500"));
  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 100))), (std::vector<uint64_t>{1, 3, 5}));
  EXPECT_EQ(ok(j->count_queue(2)), 5u);

  auto dead = ok(j->dead_letters(1, 10));
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].event->seq, 2u);
  EXPECT_EQ(dead[0].reason, "HTTP 500");
  EXPECT_EQ(dead[1].event->seq, 4u);
  EXPECT_EQ(dead[1].reason, "timeout");
  expect_same_event(*dead[1].event, *queued[3]);
  EXPECT_EQ(ok(j->dead_letters(1, 1)).size(), 1u);
  EXPECT_TRUE(ok(j->dead_letters(2, 10)).empty());

  auto replayed = ok(j->replay_dead(1, 777));
  EXPECT_EQ(seqs_of(replayed), (std::vector<uint64_t>{2, 4}));
  // A replayed event starts a new retry.max_age from the replay.
  EXPECT_EQ(replayed[0]->ingest_ms, 777);
  EXPECT_EQ(ok(j->read_queue(1, 1, 1))[0]->ingest_ms, 777);
  EXPECT_TRUE(ok(j->dead_letters(1, 10)).empty());
  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 100))), iota(1, 5));
  EXPECT_TRUE(ok(j->replay_dead(1, 778)).empty());
}

TEST(journal, replay_rewrites_collected_event_records) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  append_range(*j, 1, 3, {1});
  auto queued = ok(j->read_queue(1, 0, 100));
  ASSERT_EQ(queued.size(), 3u);
  for (const auto& e : queued)
    EXPECT_FALSE(j->kill(1, *e, "gone"));
  EXPECT_FALSE(j->collect_garbage(4, 0)); // no queue refers to 1..3 any more
  ASSERT_EQ(ok(j->count_queue(1)), 0u);

  auto replayed = ok(j->replay_dead(1, 999));
  EXPECT_EQ(seqs_of(replayed), iota(1, 3));
  auto again = ok(j->read_queue(1, 0, 100));
  ASSERT_EQ(again.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    auto want = *queued[i];
    want.ingest_ms = 999;
    expect_same_event(*again[i], want);
  }

  // The same low-water mark as before reaches the rewritten records again
  // (here while still queued, which only a buggy caller would do).
  EXPECT_FALSE(j->collect_garbage(4, 0));
  EXPECT_TRUE(ok(j->read_queue(1, 0, 100)).empty());
}

TEST(journal, collect_unreferenced_keeps_every_queued_event) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  append_range(*j, 1, 10, {1, 2});
  EXPECT_EQ(ok(j->min_queued_seq()), 1u);
  // Sub 1 delivered 1..6, sub 2 delivered 1..3: events 4.. are still needed.
  for (uint64_t s = 1; s <= 6; ++s)
    EXPECT_FALSE(j->ack_many(1, {s}));
  for (uint64_t s = 1; s <= 3; ++s)
    EXPECT_FALSE(j->ack_many(2, {s}));
  EXPECT_EQ(ok(j->min_queued_seq()), 4u);
  EXPECT_FALSE(j->collect_unreferenced(0));
  EXPECT_EQ(seqs_of(ok(j->read_queue(2, 0, 100))), iota(4, 7));
  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 100))), iota(7, 4));
  // Nothing queued: everything below next_seq is garbage.
  for (uint64_t s = 4; s <= 10; ++s) {
    EXPECT_FALSE(j->ack_many(1, {s}));
    EXPECT_FALSE(j->ack_many(2, {s}));
  }
  EXPECT_EQ(ok(j->min_queued_seq()), j->next_seq());
}

TEST(journal, oldest_queued_ingest_ms_reads_every_queue_head) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  EXPECT_FALSE(ok(j->oldest_queued_ingest_ms()));
  // Seq order is not ingest order (a replayed dead letter keeps its seq):
  // sub 1's head is seq 1 ingested at 5000, sub 2's head seq 2 at 3000.
  std::vector<append_item> items = {
    {make_event(1, {}, 5000), {1}}, {make_event(2, {}, 3000), {2}}, {make_event(3, {}, 1000), {1}}};
  ASSERT_FALSE(j->append(items));
  EXPECT_EQ(ok(j->oldest_queued_ingest_ms()), 3000);
  EXPECT_FALSE(j->ack_many(2, {2}));
  EXPECT_EQ(ok(j->oldest_queued_ingest_ms()), 5000);
  EXPECT_FALSE(j->ack_many(1, {1}));
  EXPECT_EQ(ok(j->oldest_queued_ingest_ms()), 1000);
  EXPECT_FALSE(j->ack_many(1, {3}));
  EXPECT_FALSE(ok(j->oldest_queued_ingest_ms()));
}

TEST(journal, dedupe_window_and_expiry) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  ASSERT_FALSE(j->append({{make_event(1, "abc", 10'000), {1}},
                          {make_event(2, "", 10'000), {1}},
                          {make_event(3, "old", 1'000), {1}}}));
  EXPECT_EQ(ok(j->find_client_id("abc", 10'500, 1'000)), 1u);
  EXPECT_EQ(ok(j->find_client_id("abc", 11'000, 1'000)), 1u); // the edge is inside
  EXPECT_TRUE(absent(j->find_client_id("abc", 11'001, 1'000)));
  EXPECT_TRUE(absent(j->find_client_id("", 10'000, 1'000)));
  EXPECT_TRUE(absent(j->find_client_id("nope", 10'000, 1'000)));
  EXPECT_EQ(ok(j->find_client_id("old", 1'000, 1'000)), 3u);

  EXPECT_FALSE(j->collect_garbage(0, 5'000)); // only "old" is older than 5 s
  EXPECT_TRUE(absent(j->find_client_id("old", 1'000, 1'000'000)));
  EXPECT_EQ(ok(j->find_client_id("abc", 10'000, 1'000)), 1u);
}

TEST(journal, delete_subscription_removes_only_its_keys) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  ASSERT_FALSE(j->put_subscription(1, "one"));
  ASSERT_FALSE(j->put_subscription(2, "two"));
  append_range(*j, 1, 4, {1, 2});
  EXPECT_FALSE(j->kill(1, *make_event(1), "x"));
  EXPECT_FALSE(j->kill(2, *make_event(1), "y"));

  ASSERT_FALSE(j->delete_subscription(1));
  EXPECT_EQ(ok(j->load_subscriptions()),
            (std::vector<std::pair<uint64_t, std::string>>{{2, "two"}}));
  EXPECT_EQ(ok(j->count_queue(1)), 0u);
  EXPECT_TRUE(ok(j->dead_letters(1, 10)).empty());
  EXPECT_EQ(seqs_of(ok(j->read_queue(2, 0, 10))), (std::vector<uint64_t>{2, 3, 4}));
  ASSERT_EQ(ok(j->dead_letters(2, 10)).size(), 1u);
  EXPECT_EQ(ok(j->dead_letters(2, 10))[0].reason, "y");
}

TEST(journal, add_subscription_numbers_and_stores_in_one_write) {
  temp_dir dir;
  {
    auto j = open_journal(dir.path());
    ASSERT_TRUE(j);
    EXPECT_EQ(ok(j->next_sub_number()), 1u);
    EXPECT_EQ(ok(j->add_subscription([](uint64_t n) { return "sub-" + std::to_string(n); })), 2u);
    EXPECT_EQ(ok(j->add_subscription([](uint64_t n) { return "sub-" + std::to_string(n); })), 3u);
  }
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  auto records = ok(j->load_subscriptions());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].first, 2u);
  EXPECT_EQ(records[0].second, "sub-2");
  EXPECT_EQ(records[1].first, 3u);
  EXPECT_EQ(records[1].second, "sub-3");
  EXPECT_EQ(ok(j->next_sub_number()), 4u); // numbers handed out never repeat
}

TEST(journal, scan_subscriptions_hands_over_every_record_in_number_order) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  // Written out of order, one of them large (past any small-string buffer).
  ASSERT_FALSE(j->put_subscription(300, "c"));
  ASSERT_FALSE(j->put_subscription(2, std::string(4000, 'a')));
  ASSERT_FALSE(j->put_subscription(70, ""));
  std::vector<std::pair<uint64_t, std::string>> seen;
  auto err = j->scan_subscriptions(
    [&seen](uint64_t number, std::string record) { seen.emplace_back(number, std::move(record)); });
  ASSERT_FALSE(err) << err->message;
  EXPECT_EQ(seen, (std::vector<std::pair<uint64_t, std::string>>{
                    {2, std::string(4000, 'a')}, {70, ""}, {300, "c"}}));
  EXPECT_EQ(ok(j->load_subscriptions()), seen);
}

TEST(journal, subscription_numbers_never_repeat) {
  temp_dir dir;
  {
    auto j = open_journal(dir.path());
    ASSERT_TRUE(j);
    EXPECT_EQ(ok(j->next_sub_number()), 1u);
    EXPECT_EQ(ok(j->next_sub_number()), 2u);
    ASSERT_FALSE(j->put_subscription(10, "ten")); // chosen by the caller
    EXPECT_EQ(ok(j->next_sub_number()), 11u);
  }
  {
    auto j = open_journal(dir.path());
    ASSERT_TRUE(j);
    EXPECT_EQ(ok(j->next_sub_number()), 12u); // from meta, although 11 and 12 were never stored
    ASSERT_FALSE(j->delete_subscription(10));
    ASSERT_FALSE(j->put_subscription(20, "twenty"));
  }
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  EXPECT_EQ(ok(j->next_sub_number()), 21u); // from the subs family
}

TEST(journal, meta_get_put_delete_scan) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  ASSERT_FALSE(j->put_meta("type/b", "2"));
  ASSERT_FALSE(j->put_meta("type/a", "1"));
  ASSERT_FALSE(j->put_meta("typo", "x"));
  ASSERT_FALSE(j->put_meta("watch/a", std::string("\0w", 2)));
  EXPECT_EQ(ok(j->get_meta("type/a")), "1");
  EXPECT_TRUE(absent(j->get_meta("type/c")));
  EXPECT_EQ(ok(j->scan_meta("type/")),
            (std::vector<std::pair<std::string, std::string>>{{"type/a", "1"}, {"type/b", "2"}}));
  EXPECT_EQ(ok(j->scan_meta("watch/")),
            (std::vector<std::pair<std::string, std::string>>{{"watch/a", std::string("\0w", 2)}}));
  EXPECT_TRUE(ok(j->scan_meta("zzz")).empty());
  ASSERT_FALSE(j->delete_meta("type/a"));
  EXPECT_TRUE(absent(j->get_meta("type/a")));
  EXPECT_EQ(ok(j->scan_meta("type/")).size(), 1u);
}

TEST(journal, reserve_seqs_from_two_threads_is_disjoint) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  constexpr int rounds = 20000;
  std::vector<std::pair<uint64_t, uint64_t>> ranges[2];
  auto work = [&](int t) {
    for (int i = 0; i < rounds; ++i) {
      const uint64_t n = 1 + static_cast<uint64_t>(i % 7);
      ranges[t].emplace_back(j->reserve_seqs(n), n);
    }
  };
  std::thread a(work, 0);
  std::thread b(work, 1);
  a.join();
  b.join();
  auto all = ranges[0];
  all.insert(all.end(), ranges[1].begin(), ranges[1].end());
  std::sort(all.begin(), all.end());
  uint64_t expect = 1;
  for (const auto& [first, n] : all) {
    ASSERT_EQ(first, expect);
    expect += n;
  }
  EXPECT_EQ(j->next_seq(), expect);
}

namespace {

// Runs the durability child on a journal opened with `sync`, SIGKILLs it
// after 200 acknowledged events and checks that none of them was lost.
void check_acknowledged_appends_survive_sigkill(bool sync) {
  temp_dir dir;
  const std::string db = dir.path() + "/db";
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);

  // Everything the child needs is built before fork(): only exec follows it.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e)
    env_strings.emplace_back(*e);
  env_strings.push_back(std::string(child_env) + "=" + std::to_string(fds[1]) +
                        (sync ? " 1 " : " 0 ") + db);
  std::vector<char*> envp;
  for (auto& s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string arg0 = "storage_tests";
  char* argv[] = {arg0.data(), nullptr};

  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    // gtest's banner in the child would only clutter this test's output.
    const int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0)
      dup2(null_fd, STDOUT_FILENO);
    execve("/proc/self/exe", argv, envp.data());
    _exit(127);
  }
  close(fds[1]);

  // Reads acknowledged seqs until `want` arrived or the pipe closed.
  std::vector<uint64_t> acked;
  std::string pending;
  auto read_acks = [&](std::size_t want) {
    char buf[4096];
    while (acked.size() < want) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 60'000) <= 0)
        return false;
      const ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0)
        return n == 0;
      pending.append(buf, static_cast<std::size_t>(n));
      std::size_t used = 0;
      for (; pending.size() - used >= 8; used += 8) {
        uint64_t seq = 0;
        std::memcpy(&seq, pending.data() + used, 8);
        acked.push_back(seq);
      }
      pending.erase(0, used);
    }
    return true;
  };

  const bool got = read_acks(200);
  kill(pid, SIGKILL);
  // What the child wrote before it died was acknowledged too.
  read_acks(std::numeric_limits<std::size_t>::max());
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(got) << "child stalled or exited early";
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  ASSERT_GE(acked.size(), 200u);

  auto j = open_journal(db);
  ASSERT_TRUE(j);
  for (uint64_t sub : child_subs) {
    std::set<uint64_t> present;
    for (const auto& e : ok(j->read_queue(sub, 0, 1'000'000)))
      present.insert(e->seq);
    for (uint64_t seq : acked)
      ASSERT_TRUE(present.count(seq)) << "acknowledged seq " << seq << " lost for sub " << sub;
  }
  for (uint64_t seq : acked)
    ASSERT_EQ(ok(j->find_client_id("client-" + std::to_string(seq), 1000, 0)), seq);
  EXPECT_GT(j->next_seq(), *std::max_element(acked.begin(), acked.end()));
}

} // namespace

TEST(journal, acknowledged_appends_survive_sigkill) {
  check_acknowledged_appends_survive_sigkill(true);
}

// Without fsync an OS crash may lose the tail, but a process crash must not:
// append() returns only once the batch is in the WAL file, not in a buffer.
TEST(journal, unsynced_appends_survive_sigkill) {
  check_acknowledged_appends_survive_sigkill(false);
}

// A collection that starts between a reservation and its append must not
// take the reserved numbers as unreferenced: it waits for the append.
TEST(journal, collection_waits_for_an_outstanding_reservation) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  append_range(*j, j->reserve_seqs(3), 3, {1});
  EXPECT_FALSE(j->ack_many(1, iota(1, 3)));
  std::atomic<bool> collected{false};
  std::thread gc;
  uint64_t first = 0;
  {
    auto reservation = j->reserve(2);
    first = reservation.first();
    gc = std::thread([&] {
      EXPECT_FALSE(j->collect_unreferenced(0));
      collected = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_FALSE(collected.load()) << "collection ran while numbers were reserved";
    append_range(*j, first, 2, {1});
  }
  gc.join();
  EXPECT_TRUE(collected.load());
  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 10))), iota(first, 2));
}

TEST(journal, pull_files_cover_queue_ranges_until_dropped) {
  temp_dir dir;
  {
    auto j = open_journal(dir.path());
    ASSERT_TRUE(j);
    append_range(*j, j->reserve_seqs(10), 10, {1, 2});
    ASSERT_FALSE(j->seal_pull_file(1, pull_file{5, 8, 4, 1000}));
    ASSERT_FALSE(j->seal_pull_file(1, pull_file{1, 4, 4, 900}));
    ASSERT_FALSE(j->seal_pull_file(2, pull_file{1, 10, 10, 800}));
  }
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  auto files = ok(j->pull_files(1, 10));
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].first, 1u) << "oldest first";
  EXPECT_EQ(files[1].first, 5u);
  EXPECT_EQ(files[1].last, 8u);
  EXPECT_EQ(files[1].count, 4u);
  EXPECT_EQ(files[1].sealed_ms, 1000);
  EXPECT_EQ(ok(j->pull_files(1, 1)).size(), 1u);
  ASSERT_TRUE(j->find_pull_file(1, 5));
  EXPECT_TRUE(absent(j->find_pull_file(1, 6)));

  ASSERT_FALSE(j->drop_pull_file(1, files[1]));
  EXPECT_TRUE(absent(j->find_pull_file(1, 5)));
  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 100))), (std::vector<uint64_t>{1, 2, 3, 4, 9, 10}));
  EXPECT_EQ(ok(j->count_queue(2)), 10u) << "another subscription's queue is untouched";

  ok(j->purge(1));
  EXPECT_TRUE(ok(j->pull_files(1, 10)).empty());
  EXPECT_EQ(ok(j->pull_files(2, 10)).size(), 1u);
  ASSERT_FALSE(j->delete_subscription(2));
  EXPECT_TRUE(ok(j->pull_files(2, 10)).empty());
}

// -- errors and a full disk -----------------------------------------------------

TEST(journal, empty_reads_are_values_and_absent_keys_are_not_found) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  EXPECT_TRUE(absent(j->get_meta("nope")));
  EXPECT_TRUE(absent(j->find_pull_file(1, 1)));
  EXPECT_TRUE(absent(j->find_client_id("nope", 0, 1)));
  EXPECT_TRUE(ok(j->load_subscriptions()).empty());
  EXPECT_TRUE(ok(j->dead_letters(1, 10)).empty());
  EXPECT_TRUE(ok(j->pull_files(1, 10)).empty());
  EXPECT_TRUE(ok(j->read_queue(1, 0, 10)).empty());
  EXPECT_EQ(ok(j->count_queue(1)), 0u);
  EXPECT_TRUE(j->writable());
  EXPECT_EQ(to_string(errc::no_space), "no_space");
}

namespace {

// Replaces the first occurrence of `marker` in each of the journal's table
// files with as many '#' (the data block holding it then fails its
// checksum; a later occurrence may be in the index, which opening reads);
// returns how many it replaced.
std::size_t corrupt_tables(const std::string& dir, const std::string& marker) {
  std::size_t n = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().extension() != ".sst")
      continue;
    std::string bytes;
    {
      std::ifstream in(f.path(), std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto pos = bytes.find(marker);
    if (pos != std::string::npos) {
      std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(pos), marker.size(), '#');
      ++n;
      std::ofstream out(f.path(), std::ios::binary | std::ios::trunc);
      out << bytes;
    }
  }
  return n;
}

} // namespace

// A read that fails (here: a table block whose checksum no longer matches)
// is an error, never "absent": a client id that cannot be read must not be
// taken for a new one, a queue that cannot be read is not empty.
TEST(journal, a_failed_read_is_an_error_not_absent) {
  temp_dir dir;
  const std::string marker = "client-id-that-will-be-unreadable";
  {
    auto j = open_journal(dir.path());
    ASSERT_TRUE(j);
    ASSERT_FALSE(j->append({{make_event(j->reserve_seqs(1), marker, 5'000), {1}}}));
    // Many more events after it, so that the events table's last block (read
    // when the journal opens) stays intact.
    std::vector<append_item> items;
    const uint64_t first = j->reserve_seqs(300);
    for (uint64_t s = first; s < first + 300; ++s) {
      auto e = std::make_shared<stored_event>(*make_event(s));
      e->ev.data = "\"" + std::string(1000, 'd') + "\"";
      items.push_back({e, {2}});
    }
    ASSERT_FALSE(j->append(items));
  }
  // Reopened once: the recovered memtables are flushed into table files.
  { ASSERT_TRUE(open_journal(dir.path())); }
  ASSERT_GE(corrupt_tables(dir.path(), marker), 1u) << "the client id is in no table file";

  std::vector<std::pair<log_level, std::string>> said;
  std::mutex said_mutex;
  journal_options options;
  options.log = [&](log_level level, const std::string& line) {
    std::lock_guard<std::mutex> guard(said_mutex);
    said.emplace_back(level, line);
  };
  std::string error;
  auto j = journal::open(dir.path(), std::move(options), error);
  ASSERT_TRUE(j) << error;
  auto found = j->find_client_id(marker, 5'000, 1'000);
  ASSERT_FALSE(found);
  EXPECT_NE(found.error().kind, errc::not_found) << found.error().message;
  EXPECT_EQ(found.error().kind, errc::corruption) << found.error().message;
  auto queue = j->read_queue(1, 0, 10);
  ASSERT_FALSE(queue) << "an unreadable event was taken for an empty queue";
  EXPECT_EQ(queue.error().kind, errc::corruption) << queue.error().message;
  // Another key of the same families still reads.
  EXPECT_TRUE(absent(j->find_client_id("never-seen", 5'000, 1'000)));
  // Each failed read was logged as one (an absent key is not).
  std::lock_guard<std::mutex> guard(said_mutex);
  std::size_t read_errors = 0;
  for (const auto& [level, line] : said)
    if (level == log_level::read_error) {
      ++read_errors;
      EXPECT_NE(line.find("orrupt"), std::string::npos) << line;
    }
  EXPECT_EQ(read_errors, 2u);
}

// A reserve larger than any disk: every write that adds data is refused as
// no_space (deletes too, below a quarter of it), reads keep working, and the
// refusal is logged once with what to do.
TEST(journal, refuses_writes_as_no_space_while_the_disk_keeps_less_than_the_reserve) {
  temp_dir dir;
  {
    auto j = open_journal(dir.path());
    ASSERT_TRUE(j);
    append_range(*j, j->reserve_seqs(3), 3, {1});
  }
  std::vector<std::string> lines;
  std::mutex lines_mu;
  journal_options o;
  o.reserve_bytes = uint64_t{1} << 60;
  o.log = [&](log_level, const std::string& line) {
    std::lock_guard g(lines_mu);
    lines.push_back(line);
  };
  std::string open_error;
  auto j = journal::open(dir.path(), std::move(o), open_error);
  ASSERT_TRUE(j) << open_error;
  auto refused = j->append({{make_event(j->reserve_seqs(1)), {1}}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->kind, errc::no_space);
  EXPECT_NE(refused->message.find("is full"), std::string::npos) << refused->message;
  EXPECT_FALSE(j->writable());
  EXPECT_EQ(j->ack_many(1, {1})->kind, errc::no_space);
  EXPECT_EQ(j->put_meta("x", "y")->kind, errc::no_space);
  auto number = j->next_sub_number();
  ASSERT_FALSE(number);
  EXPECT_EQ(number.error().kind, errc::no_space);
  // Reads answer.
  EXPECT_EQ(seqs_of(ok(j->read_queue(1, 0, 10))), iota(1, 3));
  std::lock_guard g(lines_mu);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("is full"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("delete files on that disk"), std::string::npos) << lines[0];
}

// With the reserve off, RocksDB itself meets ENOSPC in a synced WAL write
// (the crash of issue 9). The journal must answer no_space from then on
// without touching RocksDB again (RocksDB 7.8 with assertions aborts when a
// failed WAL writer is written again), keep reading, and accept writes by
// itself once space is back, with every acknowledged event still there
// after a reopen.
TEST(journal, a_failed_write_stops_writes_until_space_returns_and_loses_nothing) {
  temp_dir dir;
  tmpfs_mount fs(dir.path(), 16);
  if (!fs.mounted())
    GTEST_SKIP() << "cannot mount a tmpfs here (" << fs.why()
                 << "); run as root to test a full disk";
  const std::string db = dir.path() + "/journal";
  std::vector<uint64_t> acked;
  std::vector<std::string> lines;
  std::mutex lines_mu;
  {
    journal_options o;
    o.sync = true;
    o.reserve_bytes = 0;
    o.log = [&](log_level, const std::string& line) {
      std::lock_guard g(lines_mu);
      lines.push_back(line);
    };
    std::string open_error;
    auto j = journal::open(db, std::move(o), open_error);
    ASSERT_TRUE(j) << open_error;
    const std::string big(16 * 1024, 'x');
    std::optional<sy::storage::error> first_failure;
    for (int round = 0; round < 10'000 && !first_failure; ++round) {
      const uint64_t seq = j->reserve_seqs(1);
      auto e = std::make_shared<stored_event>(*make_event(seq));
      e->ev.data = "\"" + big + "\"";
      if (auto w = j->append({{e, {1}}}))
        first_failure = w;
      else
        acked.push_back(seq);
    }
    ASSERT_TRUE(first_failure) << "16 MiB never filled up";
    EXPECT_EQ(first_failure->kind, errc::no_space) << first_failure->message;
    EXPECT_FALSE(j->writable());
    // Refused again at once, with no crash, and reads still answer.
    for (int i = 0; i < 20; ++i)
      EXPECT_TRUE(j->append({{make_event(j->reserve_seqs(1)), {1}}}));
    EXPECT_EQ(ok(j->count_queue(1)), acked.size());

    ASSERT_TRUE(fs.grow(64));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    bool accepted = false;
    while (!accepted && std::chrono::steady_clock::now() < deadline) {
      const uint64_t seq = j->reserve_seqs(1);
      if (!j->append({{make_event(seq), {1}}})) {
        acked.push_back(seq);
        accepted = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    ASSERT_TRUE(accepted) << "writes were not accepted again after space returned";
    EXPECT_TRUE(j->writable());
  }
  {
    std::lock_guard g(lines_mu);
    ASSERT_GE(lines.size(), 2u);
    EXPECT_NE(lines.front().find("failed"), std::string::npos) << lines.front();
    EXPECT_NE(lines.back().find("accepting writes"), std::string::npos) << lines.back();
  }
  auto j = open_journal(db);
  ASSERT_TRUE(j);
  auto queued = seqs_of(ok(j->read_queue(1, 0, 1'000'000)));
  std::set<uint64_t> present(queued.begin(), queued.end());
  for (uint64_t seq : acked)
    ASSERT_TRUE(present.count(seq)) << "acknowledged seq " << seq << " lost";
  std::printf("journal: %zu acknowledged before and after a full disk, all present\n",
              acked.size());
}

// Client ids expire in key order (dedupe_by_time): a seek and a range
// delete, and an id seen again after its first sighting keeps its newer
// lookup when the older time key expires.
TEST(journal, client_ids_expire_by_time_order_and_a_renewed_id_survives) {
  temp_dir dir;
  auto j = open_journal(dir.path());
  ASSERT_TRUE(j);
  ASSERT_FALSE(j->append({{make_event(j->reserve_seqs(1), "a", 1'000), {1}},
                          {make_event(j->reserve_seqs(1), "b", 2'000), {1}},
                          {make_event(j->reserve_seqs(1), "c", 9'000), {1}}}));
  // "a" seen again much later (after its window): a new lookup, a new time key.
  ASSERT_FALSE(j->append({{make_event(j->reserve_seqs(1), "a", 8'000), {1}}}));
  EXPECT_FALSE(j->collect_garbage(0, 5'000)); // expires what was seen before 5 s
  EXPECT_TRUE(absent(j->find_client_id("b", 2'000, 1'000'000)));
  EXPECT_EQ(ok(j->find_client_id("a", 8'000, 1'000)), 4u) << "the renewed id was expired";
  EXPECT_EQ(ok(j->find_client_id("c", 9'000, 1'000)), 3u);
  EXPECT_FALSE(j->collect_garbage(0, 10'000));
  EXPECT_TRUE(absent(j->find_client_id("a", 8'000, 1'000'000)));
  EXPECT_TRUE(absent(j->find_client_id("c", 9'000, 1'000'000)));
}

TEST(journal, records_its_format_version_and_refuses_a_newer_one) {
  temp_dir dir;
  {
    auto j = open_journal(dir.path());
    ASSERT_TRUE(j);
    auto v = ok(j->get_meta("format_version"));
    ASSERT_EQ(v.size(), 8u);
    // Single-node families only: format 1, which binaries of before open.
    EXPECT_EQ(static_cast<unsigned char>(v[7]), 1u);
    EXPECT_EQ(j->format_version(), 1u);
    // What a later switchyard with format version 5 would leave behind.
    ASSERT_FALSE(j->put_meta("format_version", std::string("\0\0\0\0\0\0\0\x05", 8)));
  }
  std::string error;
  bool newer = false;
  EXPECT_FALSE(journal::open(dir.path(), false, error, &newer));
  EXPECT_TRUE(newer);
  EXPECT_NE(error.find("was written by a newer switchyard (format 5; this one reads formats up "
                       "to 4): restore a backup or run a newer switchyard"),
            std::string::npos)
    << error;

  // Any other failure to open is not a newer format.
  const auto file = dir.path() + "/file";
  { std::ofstream(file) << "x"; }
  EXPECT_FALSE(journal::open(file, false, error, &newer));
  EXPECT_FALSE(newer);
}

TEST(journal, checkpoint_is_a_journal_holding_what_was_written_before_it) {
  temp_dir dir;
  auto j = open_journal(dir.path() + "/live");
  ASSERT_TRUE(j);
  append_range(*j, 1, 20, {7});
  ASSERT_FALSE(j->put_subscription(7, "record-7"));
  const auto copy = dir.path() + "/copy";
  auto err = j->checkpoint(copy);
  ASSERT_FALSE(err) << err->message;
  // Written after the checkpoint: in the live journal only.
  append_range(*j, 21, 5, {7});
  EXPECT_EQ(ok(j->count_queue(7)), 25u);

  // A second checkpoint into an existing directory is refused.
  EXPECT_TRUE(j->checkpoint(copy));

  auto c = open_journal(copy);
  ASSERT_TRUE(c);
  EXPECT_EQ(ok(c->count_queue(7)), 20u);
  EXPECT_EQ(seqs_of(ok(c->read_queue(7, 0, 100))).back(), 20u);
  auto subs = ok(c->load_subscriptions());
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].second, "record-7");
  EXPECT_GE(c->next_seq(), 21u);
  EXPECT_EQ(std::filesystem::status(copy).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
}

/// Returns the bytes of the write-ahead log files (*.log) in `dir`.
uint64_t wal_bytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir))
    if (f.path().extension() == ".log")
      total += f.file_size();
  return total;
}

TEST(journal, flush_leaves_no_write_ahead_log_to_replay_and_loses_nothing) {
  temp_dir dir;
  // The same writes twice: closed without a flush (the WAL holds them, the
  // next open replays it) and closed after flush() (table files hold them).
  for (const bool flushed : {false, true}) {
    SCOPED_TRACE(flushed ? "flushed" : "not flushed");
    const auto path = dir.path() + (flushed ? "/flushed" : "/plain");
    {
      auto j = open_journal(path, true);
      ASSERT_TRUE(j);
      j->reserve_seqs(200);
      append_range(*j, 1, 200, {3, 4});
      ASSERT_FALSE(j->ack_many(4, iota(1, 50)));
      ASSERT_FALSE(j->put_subscription(3, std::string(500, 's')));
      ASSERT_FALSE(j->put_meta("types/a", "A"));
      if (flushed) {
        auto err = j->flush();
        ASSERT_FALSE(err) << err->message;
      }
    }
    if (flushed)
      EXPECT_EQ(wal_bytes(path), 0u);
    else
      EXPECT_GT(wal_bytes(path), 10000u);
    auto j = open_journal(path, true);
    ASSERT_TRUE(j);
    EXPECT_EQ(seqs_of(ok(j->read_queue(3, 0, 1000))), iota(1, 200));
    EXPECT_EQ(seqs_of(ok(j->read_queue(4, 0, 1000))), iota(51, 150));
    EXPECT_EQ(ok(j->load_subscriptions()),
              (std::vector<std::pair<uint64_t, std::string>>{{3, std::string(500, 's')}}));
    EXPECT_EQ(ok(j->get_meta("types/a")), "A");
    EXPECT_EQ(j->next_seq(), 201u);
    // Writes after a flush are durable as before (the WAL again).
    append_range(*j, 201, 1, {3});
    ASSERT_FALSE(j->flush());
    EXPECT_EQ(ok(j->count_queue(3)), 201u);
  }
}
