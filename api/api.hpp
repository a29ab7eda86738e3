#pragma once
// The HTTP API: installs every handler group on the server.

#include <caf/actor.hpp>

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
  caf::actor registry;
  std::atomic<bool>* ready = nullptr;
  std::vector<std::string> admin_tokens;
  std::vector<std::string> publish_tokens;
  std::shared_ptr<http_metrics> metrics;
};

/// Adds every route of docs/api.md, the auth and content-type filter and the
/// metrics observer to `server`.
void install(transport::http_server& server, const api_context& ctx);

} // namespace sy::api
