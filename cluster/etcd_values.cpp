#include "cluster/etcd_values.hpp"

#include <exception>

#include "cluster/etcd_json.hpp"
#include "core/json_writer.hpp"

namespace sy::cluster {

namespace {

// Parses a JSON object value and reads it with `read`; nullopt when it is
// not an object or `read` throws (json::int_field on a malformed integer).
template <class Read>
auto read_json(const std::string& value, Read read)
  -> std::optional<decltype(read(json::element{}))> {
  simdjson::dom::parser parser;
  simdjson::padded_string text(value);
  json::element root;
  if (parser.parse(text).get(root) || !root.is_object())
    return std::nullopt;
  try {
    return read(root);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string string_field(json::element o, const char* name) {
  std::string_view v;
  return o[name].get_string().get(v) ? std::string() : std::string(v);
}

std::vector<std::string> names_field(json::element o, const char* name) {
  std::vector<std::string> out;
  simdjson::dom::array a;
  if (!o[name].get_array().get(a))
    for (json::element e : a) {
      std::string_view v;
      if (!e.get_string().get(v))
        out.emplace_back(v);
    }
  return out;
}

} // namespace

std::string encode_member(const member_address& m) {
  core::json_writer w;
  w.begin_object().key("http").value(m.http).key("cluster").value(m.cluster).end_object();
  return std::move(w).str();
}

std::optional<member_address> decode_member(const std::string& value) {
  return read_json(value, [](json::element o) {
    return member_address{string_field(o, "http"), string_field(o, "cluster")};
  });
}

std::string encode_meta(uint32_t partitions) {
  core::json_writer w;
  w.begin_object().key("partitions").value(static_cast<int64_t>(partitions)).end_object();
  return std::move(w).str();
}

std::optional<int64_t> decode_meta_partitions(const std::string& value) {
  return read_json(value, [](json::element o) { return json::int_field(o, "partitions"); });
}

std::string encode_part(const partition_view& p) {
  core::json_writer w;
  w.begin_object().key("primary").value(p.primary);
  w.key("replicas").value(p.replicas);
  w.key("in_sync").value(p.in_sync);
  w.end_object();
  return std::move(w).str();
}

std::optional<partition_view> decode_part(const std::string& value) {
  return read_json(value, [](json::element o) {
    partition_view r;
    r.primary = string_field(o, "primary");
    r.replicas = names_field(o, "replicas");
    r.in_sync = names_field(o, "in_sync");
    return r;
  });
}

std::string encode_proposal(const in_sync_proposal& p) {
  core::json_writer w;
  w.begin_object().key("primary").value(p.primary).key("epoch").value(p.epoch);
  w.key("nodes").value(p.nodes);
  if (!p.drop.empty())
    w.key("drop").value(p.drop);
  w.end_object();
  return std::move(w).str();
}

std::optional<in_sync_proposal> decode_proposal(const std::string& value) {
  return read_json(value, [](json::element o) {
    in_sync_proposal r;
    r.primary = string_field(o, "primary");
    r.epoch = json::int_field(o, "epoch");
    r.nodes = names_field(o, "nodes");
    r.drop = names_field(o, "drop");
    return r;
  });
}

std::string encode_progress(const partition_progress& p) {
  core::json_writer w;
  w.begin_object().key("node").value(p.node).key("epoch").value(p.epoch);
  w.key("offsets").begin_object();
  for (const auto& [id, offset] : p.offsets)
    w.key(id).value(static_cast<int64_t>(offset));
  w.end_object().end_object();
  return std::move(w).str();
}

std::optional<partition_progress> decode_progress(const std::string& value) {
  auto parsed = read_json(value, [](json::element o) -> std::optional<partition_progress> {
    partition_progress r;
    r.node = string_field(o, "node");
    r.epoch = json::int_field(o, "epoch");
    simdjson::dom::object offsets;
    if (o["offsets"].get_object().get(offsets))
      return std::nullopt;
    for (auto field : offsets) {
      int64_t offset = 0;
      if (field.value.get_int64().get(offset) || offset < 0)
        return std::nullopt;
      r.offsets.emplace_back(std::string(field.key), static_cast<uint64_t>(offset));
    }
    return r;
  });
  return parsed ? *parsed : std::nullopt;
}

std::string encode_suspects(const suspect_list& s) {
  core::json_writer w;
  w.begin_object();
  for (const auto& [node, lease] : s)
    w.key(node).value(lease);
  w.end_object();
  return std::move(w).str();
}

std::optional<suspect_list> decode_suspects(const std::string& value) {
  auto parsed = read_json(value, [](json::element o) -> std::optional<suspect_list> {
    suspect_list r;
    simdjson::dom::object fields;
    if (o.get_object().get(fields))
      return std::nullopt;
    for (auto field : fields) {
      int64_t lease = 0;
      if (field.value.get_int64().get(lease) || lease <= 0)
        return std::nullopt;
      r.emplace_back(std::string(field.key), lease);
    }
    return r;
  });
  return parsed ? *parsed : std::nullopt;
}

} // namespace sy::cluster
