#include "cluster/protocol.hpp"

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cluster/replication.hpp"
#include "storage/partition_log.hpp"

using namespace sy::cluster;

namespace {

template <class T>
std::vector<char> bytes_of(const T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto copy = x;
  EXPECT_FALSE(sink(copy)) << typeid(T).name();
  return buf;
}

template <class T>
T round_trip(const T& x) {
  auto buf = bytes_of(x);
  T out;
  caf::binary_deserializer source{nullptr, buf};
  EXPECT_FALSE(source(out)) << typeid(T).name();
  EXPECT_EQ(source.remaining(), 0u) << typeid(T).name();
  return out;
}

fetch_response full_response() {
  return {7,
          123456789012345ull,
          static_cast<uint8_t>(reply_status::out_of_range),
          40,
          38,
          44,
          {{5, 0}, {123456789012345ull, 41}},
          {std::string("\x01\x00\xff binary", 10), "", "e42"},
          12};
}

// A scratch directory for a journal, removed afterwards.
struct temp_dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("sy_wire_" + std::to_string(::getpid()));
  temp_dir() { std::filesystem::remove_all(path); }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

} // namespace

TEST(replication_wire, every_message_round_trips_with_every_member) {
  fetch_request req{7, 99, "node-b", 1ull << 40};
  auto req2 = round_trip(req);
  EXPECT_EQ(req2.partition, 7u);
  EXPECT_EQ(req2.epoch, 99u);
  EXPECT_EQ(req2.node, "node-b");
  EXPECT_EQ(req2.from_offset, 1ull << 40);

  auto r = round_trip(full_response());
  const auto want = full_response();
  EXPECT_EQ(r.partition, want.partition);
  EXPECT_EQ(r.epoch, want.epoch);
  EXPECT_EQ(r.status, want.status);
  EXPECT_EQ(r.from_offset, want.from_offset);
  EXPECT_EQ(r.commit_offset, want.commit_offset);
  EXPECT_EQ(r.log_end, want.log_end);
  EXPECT_EQ(r.log_start, want.log_start);
  EXPECT_EQ(r.epochs, want.epochs);
  EXPECT_EQ(r.entries, want.entries) << "binary payloads, an empty one included";
  EXPECT_EQ(bytes_of(r), bytes_of(want));

  epoch_end_request q{3, 50, "node-c", 49};
  auto q2 = round_trip(q);
  EXPECT_EQ(q2.partition, 3u);
  EXPECT_EQ(q2.epoch, 50u);
  EXPECT_EQ(q2.node, "node-c");
  EXPECT_EQ(q2.last_epoch, 49u);

  epoch_end_response a{3, 50, static_cast<uint8_t>(reply_status::ok), 49, 1234};
  auto a2 = round_trip(a);
  EXPECT_EQ(a2.partition, 3u);
  EXPECT_EQ(a2.epoch, 50u);
  EXPECT_EQ(a2.status, a.status);
  EXPECT_EQ(a2.found_epoch, 49u);
  EXPECT_EQ(a2.end_offset, 1234u);
}

// What crosses nodes is a caf::message: each type must be in the
// registered block, or it fails only at run time.
TEST(replication_wire, registered_messages_cross_as_caf_messages) {
  caf::actor_system_config cfg;
  register_cluster_protocol(cfg);
  caf::actor_system sys{cfg};
  auto msg = caf::make_message(full_response(), fetch_request{1, 2, "n", 3},
                               epoch_end_request{1, 2, "n", 1}, epoch_end_response{1, 2, 0, 1, 9});
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  ASSERT_FALSE(sink(msg));
  caf::message back;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(back));
  ASSERT_TRUE(
    (back.match_elements<fetch_response, fetch_request, epoch_end_request, epoch_end_response>()));
  EXPECT_EQ(back.get_as<fetch_response>(0).entries, full_response().entries);
  EXPECT_EQ(back.get_as<fetch_request>(1).node, "n");
  EXPECT_EQ(back.get_as<epoch_end_response>(3).end_offset, 9u);
}

// A fetch response filled from a real partition log with the fetch limits
// stays under CLUSTER.md's ~256 KiB per message, for entries large or tiny.
TEST(replication_wire, a_full_fetch_response_stays_under_256_kib) {
  temp_dir d;
  sy::storage::journal_options o;
  o.reserve_bytes = 0;
  std::string error;
  auto j = sy::storage::journal::open(d.path.string(), std::move(o), error);
  ASSERT_TRUE(j) << error;
  auto opened = sy::storage::partition_log::open(*j, 0);
  ASSERT_TRUE(opened);
  auto& log = **opened;
  const std::vector<std::string> sizes_of_entries[] = {
    std::vector<std::string>(300, std::string(1000, 'm')), // mid-sized
    std::vector<std::string>(20000, std::string(1, 't')),  // tiny: the entry cap binds
    std::vector<std::string>(100, std::string(5000, 'l')), // large
  };
  primary_state p("a", 0, 1, {5, "a", {"a", "b"}, {"a", "b"}}, 0, {}, 0);
  for (const auto& batch : sizes_of_entries) {
    const uint64_t from = log.end_offset();
    ASSERT_EQ(p.append(batch.size(), from).refused, append_refusal::none);
    ASSERT_FALSE(log.append(from, batch));
    p.durable(log.end_offset());
    auto plan = p.fetch({0, 5, "b", from});
    ASSERT_EQ(plan.read_from, from);
    auto entries = log.read(plan.read_from, plan.read_to, max_fetch_bytes, max_fetch_entries);
    ASSERT_TRUE(entries);
    auto r = plan.reply;
    r.entries = std::move(*entries);
    r.epochs = p.epochs_for(plan.read_from, r.entries.size());
    EXPECT_GT(r.entries.size(), 1u);
    EXPECT_LE(r.entries.size(), max_fetch_entries);
    const auto wire = bytes_of(r);
    EXPECT_LT(wire.size(), 256u * 1024)
      << r.entries.size() << " entries of " << batch.front().size() << " bytes";
  }
}

// The router's messages (cluster/router.hpp) round-trip with every member,
// binary entries included, and cross as registered caf::messages.
TEST(replication_wire, route_messages_round_trip_and_cross_as_caf_messages) {
  route_request req{"node-a", 77, {{5, {std::string("\x01\x00\xff", 3), ""}}, {63, {"e"}}}};
  auto req2 = round_trip(req);
  EXPECT_EQ(req2.node, "node-a");
  EXPECT_EQ(req2.batch, 77u);
  ASSERT_EQ(req2.parts.size(), 2u);
  EXPECT_EQ(req2.parts[0].partition, 5u);
  EXPECT_EQ(req2.parts[0].entries, req.parts[0].entries);
  EXPECT_EQ(req2.parts[1].partition, 63u);
  EXPECT_EQ(req2.parts[1].entries, std::vector<std::string>{"e"});
  EXPECT_EQ(bytes_of(req2), bytes_of(req));

  route_response resp{"node-b", {{5, 0}, {63, 4}}};
  auto resp2 = round_trip(resp);
  EXPECT_EQ(resp2.node, "node-b");
  ASSERT_EQ(resp2.results.size(), 2u);
  EXPECT_EQ(resp2.results[1].partition, 63u);
  EXPECT_EQ(resp2.results[1].outcome, 4u);

  caf::actor_system_config cfg;
  register_cluster_protocol(cfg);
  caf::actor_system sys{cfg};
  auto msg = caf::make_message(req, resp);
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  ASSERT_FALSE(sink(msg));
  caf::message back;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(back));
  ASSERT_TRUE((back.match_elements<route_request, route_response>()));
  EXPECT_EQ(back.get_as<route_request>(0).parts[0].entries, req.parts[0].entries);
  EXPECT_EQ(back.get_as<route_response>(1).results[0].partition, 5u);
}
