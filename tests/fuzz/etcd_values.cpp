// Fuzzes the readers of the values nodes write under /sy/ in etcd
// (cluster/etcd_values.hpp): a member's addresses, /sy/meta, a partition's
// configuration, an in-sync proposal, a delivery record and a node's
// suspects. The first byte
// picks one. What a reader reads must read the same once written back.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "cluster/etcd_values.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

namespace {

template <class Decode, class Encode>
void round_trip(const std::string& value, Decode decode, Encode encode, const char* what) {
  auto first = decode(value);
  if (!first)
    return;
  auto again = decode(encode(*first));
  fuzz::check(bool(again), what);
  fuzz::check(*again == *first, what);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  const std::string value(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      round_trip(value, cluster::decode_member, cluster::encode_member,
                 "a member written back reads the same");
      break;
    case 1:
      if (auto n = cluster::decode_meta_partitions(value);
          n && *n >= 0 && *n <= std::numeric_limits<uint32_t>::max()) {
        auto again = cluster::decode_meta_partitions(cluster::encode_meta(uint32_t(*n)));
        fuzz::check(again && *again == *n, "a partition count written back reads the same");
      }
      break;
    case 2:
      round_trip(value, cluster::decode_part, cluster::encode_part,
                 "a partition's configuration written back reads the same");
      break;
    case 3:
      round_trip(value, cluster::decode_proposal, cluster::encode_proposal,
                 "an in-sync proposal written back reads the same");
      break;
    case 4:
      round_trip(value, cluster::decode_progress, cluster::encode_progress,
                 "a delivery record written back reads the same");
      break;
    default:
      round_trip(value, cluster::decode_suspects, cluster::encode_suspects,
                 "a node's suspects written back read the same");
      break;
  }
  return 0;
}
