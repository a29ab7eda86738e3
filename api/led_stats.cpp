#include "api/led_stats.hpp"

#include <simdjson.h>

namespace sy::api {

void take_led_stats(const std::string& node, const std::string& body, peer_stats& out) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc))
    return;
  auto take = [&](simdjson::dom::element e) {
    std::string_view id, primary;
    simdjson::dom::element stats;
    if (e["id"].get(id) || e["primary"].get(primary) || primary != node || e["stats"].get(stats) ||
        !stats.is_object())
      return;
    out.insert_or_assign(std::string(id), simdjson::minify(stats));
  };
  simdjson::dom::array items;
  if (!doc.get(items)) {
    for (auto e : items)
      take(e);
  } else if (doc.is_object()) {
    take(doc);
  }
}

} // namespace sy::api
