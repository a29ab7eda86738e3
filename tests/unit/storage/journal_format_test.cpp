// The journal's layout version and the column families it knows
// (journal.hpp, journal_format_version): a journal of a newer layout is
// refused with a message that says so, and the partitions family of
// cluster mode records format 2.
#include "storage/journal.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "storage/partition_log.hpp"

using namespace sy::storage;

namespace {

// A fresh directory under the system temp dir, removed afterwards.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() /
           ("sy_jformat_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

std::unique_ptr<journal> open_journal(const temp_dir& d) {
  journal_options o;
  o.reserve_bytes = 0;
  std::string error;
  auto j = journal::open(d.path.string(), std::move(o), error);
  EXPECT_TRUE(j) << error;
  return j;
}

// Returns the format version `dir`'s journal records, read with RocksDB
// itself (0 when it has none).
uint64_t recorded_version(const temp_dir& d) {
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), d.path.string(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& n : names)
    families.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  EXPECT_TRUE(
    rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), d.path.string(), families, &handles, &db)
      .ok());
  if (!db)
    return 0;
  std::string v;
  uint64_t out = 0;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == "meta" &&
        db->Get(rocksdb::ReadOptions(), handles[i], "format_version", &v).ok())
      for (char c : v)
        out = out << 8 | static_cast<unsigned char>(c);
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h);
  delete db;
  return out;
}

// Adds the column family `name` to `dir`'s journal as a newer switchyard
// would, and writes `version` as its format version (0: leaves it).
void add_family(const temp_dir& d, const std::string& name, uint8_t version) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), d.path.string(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& n : names)
    families.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(
    rocksdb::DB::Open(rocksdb::DBOptions(), d.path.string(), families, &handles, &db).ok());
  rocksdb::ColumnFamilyHandle* added = nullptr;
  EXPECT_TRUE(db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), name, &added).ok());
  handles.push_back(added);
  if (version != 0) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "meta") {
        EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[i], "format_version",
                            std::string("\0\0\0\0\0\0\0", 7) + static_cast<char>(version))
                      .ok());
      }
    }
  }
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h);
  EXPECT_TRUE(db->Close().ok());
  delete db;
}

} // namespace

TEST(journal_format, a_journal_holding_an_unknown_family_is_refused_as_newer) {
  temp_dir d;
  { ASSERT_TRUE(open_journal(d)); }
  add_family(d, "indexes", 5);
  std::string error;
  bool newer = false;
  EXPECT_FALSE(journal::open(d.path.string(), false, error, &newer));
  EXPECT_TRUE(newer) << "refused, but not as a newer format: " << error;
  EXPECT_NE(error.find("was written by a newer switchyard (format 5: it holds the column family "
                       "\"indexes\", which this switchyard, of format 4, does not know): restore "
                       "a backup or run a newer switchyard"),
            std::string::npos)
    << error;
  // Nothing was written: the journal is as the newer switchyard left it.
  EXPECT_EQ(recorded_version(d), 5u);
}

TEST(journal_format, an_unknown_family_is_refused_even_without_a_newer_version_recorded) {
  temp_dir d;
  { ASSERT_TRUE(open_journal(d)); }
  // A newer switchyard that added a family but did not record a version.
  add_family(d, "indexes", 0);
  std::string error;
  bool newer = false;
  EXPECT_FALSE(journal::open(d.path.string(), false, error, &newer));
  EXPECT_TRUE(newer);
  EXPECT_NE(error.find("was written by a newer switchyard (format above 4: it holds the column "
                       "family \"indexes\""),
            std::string::npos)
    << error;
}

TEST(journal_format, creating_the_partitions_family_records_version_2) {
  temp_dir d;
  {
    auto j = open_journal(d);
    ASSERT_TRUE(j);
    EXPECT_EQ(j->format_version(), 1u);
    EXPECT_EQ(recorded_version(d), 1u) << "a single node's journal stays openable by format 1";
    auto log = partition_log::open(*j, 0);
    ASSERT_TRUE(log) << log.error().message;
    EXPECT_EQ(j->format_version(), journal_format_partitions);
  }
  EXPECT_EQ(recorded_version(d), 2u);
}

TEST(journal_format, appending_to_a_partition_log_records_version_4_and_it_opens_again) {
  temp_dir d;
  {
    auto j = open_journal(d);
    auto log = partition_log::open(*j, 3);
    ASSERT_TRUE(log) << log.error().message;
    EXPECT_EQ(recorded_version(d), 2u) << "an empty log holds no entry a format 3 binary misreads";
    const std::vector<std::string> entries{"entry-0", "entry-1"};
    ASSERT_FALSE((*log)->append(0, entries));
    EXPECT_EQ(j->format_version(), journal_format_entry_batches);
  }
  // Entries of several events (cluster/partition_entry.hpp version 2):
  // a binary of format 3 would skip them as malformed, so it cannot open it.
  ASSERT_EQ(recorded_version(d), 4u);
  auto j = open_journal(d);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->format_version(), 4u);
  auto log = partition_log::open(*j, 3);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_EQ((*log)->end_offset(), 2u);
}

TEST(journal_format, a_partitions_family_made_before_the_record_is_recorded_at_open) {
  temp_dir d;
  { ASSERT_TRUE(open_journal(d)); }
  // What a crash between the family and the record (or a binary of before
  // this record) leaves: the family, and format 1.
  add_family(d, "partitions", 0);
  ASSERT_EQ(recorded_version(d), 1u);
  {
    auto j = open_journal(d);
    ASSERT_TRUE(j);
    EXPECT_EQ(j->format_version(), 2u);
  }
  EXPECT_EQ(recorded_version(d), 2u);
}

TEST(journal_format, a_binary_of_format_1_cannot_open_a_journal_with_partition_logs) {
  // What switchyard did before it knew the partitions family: DB::Open with
  // its own families only. RocksDB refuses it, and not in words that say
  // "newer": hence version 2 and this binary's check of unknown families.
  temp_dir d;
  {
    auto j = open_journal(d);
    ASSERT_TRUE(partition_log::open(*j, 0));
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> format_1;
  for (const char* n :
       {"default", "events", "queues", "dead", "subs", "meta", "dedupe", "dedupe_by_time"})
    format_1.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  auto s = rocksdb::DB::Open(rocksdb::DBOptions(), d.path.string(), format_1, &handles, &db);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.ToString().find("Column families not opened: partitions"), std::string::npos)
    << s.ToString();
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h);
  delete db;
}
