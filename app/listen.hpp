#pragma once
// `switchyard listen`: a local webhook receiver subscribed for as long as it runs.

#include <cstdint>
#include <string>
#include <vector>

#include "app/api_client.hpp"

namespace sy::app {

/// What `switchyard listen` receives and where.
struct listen_options {
  uint16_t port = 0;              ///< on 127.0.0.1; 0 picks a free one
  std::vector<std::string> types; ///< patterns; empty means ["**"]
  std::string country;            ///< "" for every country
  std::string service = "switchyard listen";
  bool json = false; ///< one JSON object a line instead of text
};

/// Serves a receiver on 127.0.0.1, creates a subscription to it on the
/// server, answers its verification challenge, prints each delivery with the
/// outcome of both signature checks, and deletes the subscription once
/// SIGINT or SIGTERM arrives (both must be blocked in every thread, as
/// main() does). Returns the exit status.
int run_listen(const api_endpoint& endpoint, const listen_options& options);

} // namespace sy::app
