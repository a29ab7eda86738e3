// Fuzzes the three small strict bodies of the administration endpoints: POST
// /v1/admin/backup (decode_backup_request), POST …/rotate-keys
// (decode_rotate_keys_request) and POST …/dead-letters/replay
// (decode_dead_letter_replay). The first byte picks the decoder; the rest is
// the body, decoded in place as the server does.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/admin_codec.hpp"
#include "core/subscription_codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace sy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  const uint8_t which = data[0] % 3;
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  if (which == 0) {
    auto r = core::decode_backup_request(body);
    if (!r) {
      fuzz::check_refusal(r.error());
      return 0;
    }
    fuzz::check(!r->path.empty() && r->path.front() == '/', "a backup path is absolute");
  } else if (which == 1) {
    const bool empty = body.empty();
    auto r = core::decode_rotate_keys_request(body);
    if (!r) {
      fuzz::check_refusal(r.error());
      return 0;
    }
    fuzz::check(*r >= 0 && *r <= core::max_grace_seconds, "the grace is 0 to 30 days");
    if (empty)
      fuzz::check(*r == core::default_grace_seconds, "an empty body is the default grace");
  } else {
    const bool empty = body.empty();
    auto r = core::decode_dead_letter_replay(body);
    if (!r) {
      fuzz::check_refusal(r.error());
      return 0;
    }
    if (r->since_ms && r->until_ms)
      fuzz::check(*r->since_ms < *r->until_ms, "since is before until");
    if (empty)
      fuzz::check(!r->since_ms && !r->until_ms, "an empty body replays everything");
  }
  return 0;
}
