#pragma once
// Cluster-unique event ids (../shared/CLUSTER.md: "event ids stay unique
// cluster-wide without coordination"). A public id is "evt_" and the 16 hex
// digits of the event's journal sequence number (actors/ingest.hpp), so
// ids are unique when sequence numbers are: in cluster mode each journal
// incarnation gets a node number, allocated once through etcd
// (membership::node_number(): a counter /sy/node_numbers advanced by a
// transaction on its mod_revision, /sy/node_number/<node> for display) and
// kept in the journal's meta, and hands out the sequence numbers of its
// number's range only: [n << 48, (n + 1) << 48).
//
// Why 48 bits: the id keeps its 20 characters (the journal record's id
// field and set_record_seq() stay as they are), so the number and the
// counter share 64 bits. 2^48 (2.8e14) events per incarnation outlast any
// node (8.9 years at a sustained million events a second, 89 at 100 000),
// and 2^16 - 2 numbers are 65 534 incarnations: every start on an empty
// data directory takes one, a restart on its journal none.
// 44 bits would give a million numbers but a range of 1.8e13 (203 days at
// a million a second): a bound a busy node could reach, not an incarnation
// count a cluster could. Number 0 is never allocated: it is the range of a
// single node (sequence numbers from 1) and of journals of before.
//
// Pure: no etcd, no journal; the rules the unit tests check.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sy::cluster {

/// How many low bits of a sequence number count events within one node
/// number's range.
inline constexpr unsigned node_seq_bits = 48;

/// The highest node number etcd hands out: one below 2^16, so that the
/// range's end, (n + 1) << 48, still fits in 64 bits.
inline constexpr uint64_t max_node_number = (uint64_t{1} << (64 - node_seq_bits)) - 2;

/// The journal meta key holding the node's number (decimal).
inline constexpr std::string_view node_number_meta = "node_number";

/// Returns the first sequence number of node number `n`'s range.
constexpr uint64_t seq_range_first(uint64_t n) { return n << node_seq_bits; }

/// Returns one past the last sequence number of node number `n`'s range.
constexpr uint64_t seq_range_end(uint64_t n) { return (n + 1) << node_seq_bits; }

/// Returns the node number whose range holds `seq` (0: a single node's).
constexpr uint64_t node_number_of_seq(uint64_t seq) { return seq >> node_seq_bits; }

/// Returns the node number written as `text` (decimal, 1 … max_node_number,
/// no sign, no leading zero), or nullopt when it is not one.
std::optional<uint64_t> parse_node_number(std::string_view text);

/// Returns `n` as parse_node_number() reads it.
std::string format_node_number(uint64_t n);

/// Returns the number etcd's counter hands out next when it holds `counter`
/// (the last number handed out; 0 when absent), or nullopt when every
/// number is used.
std::optional<uint64_t> next_node_number(uint64_t counter);

} // namespace sy::cluster
