#pragma once
// The HTTP API: installs every handler group on the server.

#include "actors/messages.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace sy::transport {
class http_server;
}
namespace sy::actors {
class route_publisher;
class event_type_publisher;
class ingest_pipeline;
}

namespace sy::api {

class http_metrics;

/// What the handlers reach; everything outlives the server.
struct api_context {
  actors::route_publisher* routes = nullptr;
  actors::event_type_publisher* event_types = nullptr;
  actors::ingest_pipeline* pipeline = nullptr;
  actors::registry_actor registry;
  caf::actor_system* system = nullptr;
  std::atomic<bool>* ready = nullptr;
  std::vector<std::string> admin_tokens;
  std::vector<std::string> publish_tokens;
  /// server.allowed_hosts: Host values accepted besides loopback names when
  /// no token is configured.
  std::vector<std::string> allowed_hosts;
  std::shared_ptr<http_metrics> metrics;
};

/// Adds every route of docs/api.md, the auth and content-type filter and the
/// metrics observer to `server`.
void install(transport::http_server& server, const api_context& ctx);

} // namespace sy::api
