#pragma once
// Reading another node's answer to gather_peer_stats (api/common.hpp): the
// stats of the subscriptions that node leads. No Beast or CAF, so the fuzz
// build has it too (tests/fuzz/led_stats.cpp).

#include <string>
#include <unordered_map>

namespace sy::api {

/// Cluster mode: the `stats` of subscriptions other nodes lead, as those
/// nodes render them (one JSON object each), by subscription id.
using peer_stats = std::unordered_map<std::string, std::string>;

/// Adds to `out` the stats of the subscriptions in `body` (one subscription
/// or an array of them, as GET /v1/subscriptions[/{id}] answers) whose
/// "primary" is `node`, the node that answered: each as a minified JSON
/// object, by its "id". Whatever else `body` holds (not JSON, members of
/// another type, subscriptions another node leads) is left out.
void take_led_stats(const std::string& node, const std::string& body, peer_stats& out);

} // namespace sy::api
