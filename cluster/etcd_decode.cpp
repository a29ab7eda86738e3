#include "cluster/etcd_decode.hpp"
#include "cluster/etcd_json.hpp"

#include <exception>

namespace sy::cluster {

core::expected<range_page, etcd_error> read_range_page(const std::string& body) {
  return json::parse_answer<range_page>(body, json::range_page_of);
}

watch_line parse_watch_line(const std::string& line) {
  watch_line out;
  simdjson::dom::parser parser;
  simdjson::padded_string text(line);
  json::element root;
  if (auto err = parser.parse(text).get(root)) {
    out.error = std::string("unreadable watch message: ") + simdjson::error_message(err);
    return out;
  }
  try {
    json::element error;
    if (!root["error"].get(error)) {
      std::string_view m;
      out.error = error["message"].get_string().get(m) ? "watch error" : std::string(m);
      return out;
    }
    json::element result;
    if (root["result"].get(result)) {
      out.error = "watch message without result";
      return out;
    }
    bool flag = false;
    out.created = !result["created"].get_bool().get(flag) && flag;
    out.canceled = !result["canceled"].get_bool().get(flag) && flag;
    out.compact_revision = json::int_field(result, "compact_revision");
    simdjson::dom::array events;
    if (!result["events"].get_array().get(events))
      for (json::element e : events) {
        etcd_event ev;
        std::string_view type;
        ev.deleted = !e["type"].get_string().get(type) && type == "DELETE";
        json::element kv;
        if (!e["kv"].get(kv))
          ev.kv = json::kv_of(kv);
        out.events.push_back(std::move(ev));
      }
  } catch (const std::exception& e) {
    out.error = std::string("unreadable watch message: ") + e.what();
  }
  return out;
}

} // namespace sy::cluster
