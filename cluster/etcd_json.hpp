#pragma once
// Reading etcd's v3 JSON gateway answers (simdjson DOM): int64 written as
// strings, bytes as base64, proto3's absent defaults. Private to cluster/'s
// .cpp files; keeps simdjson out of the public headers.

#include <charconv>
#include <simdjson.h>
#include <stdexcept>
#include <string>
#include <string_view>

#include "cluster/etcd_client.hpp"
#include "cluster/etcd_decode.hpp"
#include "core/signing.hpp"

namespace sy::cluster::json {

using simdjson::dom::element;

/// Returns the int64 field `name` of `object` (a JSON string "5" or a
/// number); 0 when absent. Throws std::runtime_error when it is neither.
inline int64_t int_field(element object, std::string_view name) {
  element v;
  if (object[name].get(v))
    return 0;
  if (v.is_int64())
    return v.get_int64().value_unsafe();
  std::string_view text;
  if (v.get_string().get(text))
    throw std::runtime_error(std::string(name) + " is neither a number nor a string");
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size())
    throw std::runtime_error(std::string(name) + " is not an integer: " + std::string(text));
  return n;
}

/// Returns the base64-decoded bytes field `name` of `object`; empty when
/// absent. Throws std::runtime_error when it is not base64.
inline std::string bytes_field(element object, std::string_view name) {
  std::string_view text;
  if (object[name].get_string().get(text))
    return {};
  auto bytes = core::base64_decode(text);
  if (!bytes)
    throw std::runtime_error(std::string(name) + " is not base64");
  return *bytes;
}

/// Returns the header's store revision of an answer; 0 when absent.
inline int64_t revision_of(element root) {
  element header;
  return root["header"].get(header) ? 0 : int_field(header, "revision");
}

/// Returns the key-value `kv` as etcd_kv.
inline etcd_kv kv_of(element kv) {
  return {bytes_field(kv, "key"),        bytes_field(kv, "value"), int_field(kv, "create_revision"),
          int_field(kv, "mod_revision"), int_field(kv, "version"), int_field(kv, "lease")};
}

/// Returns a /v3/kv/range answer's keys and whether more follow.
inline range_page range_page_of(element root) {
  range_page out{{revision_of(root), {}}, false};
  simdjson::dom::array kvs;
  if (!root["kvs"].get_array().get(kvs))
    for (element kv : kvs)
      out.range.kvs.push_back(kv_of(kv));
  if (root["more"].get_bool().get(out.more))
    out.more = false; // absent = false (proto3 leaves out defaults)
  return out;
}

/// Parses `body` (its first line: the keep-alive stream may end with a
/// newline after its one message) and hands its root to `read`; a parse or
/// read failure becomes an etcd_error of status 200.
template <class T, class Read>
core::expected<T, etcd_error> parse_answer(const std::string& body, Read read) {
  simdjson::dom::parser parser;
  auto end = body.find('\n');
  simdjson::padded_string json(std::string_view(body).substr(0, end));
  element root;
  if (auto err = parser.parse(json).get(root))
    return etcd_error{200, std::string("unreadable etcd answer: ") + simdjson::error_message(err)};
  try {
    return read(root);
  } catch (const std::exception& e) {
    return etcd_error{200, std::string("unreadable etcd answer: ") + e.what()};
  }
}

} // namespace sy::cluster::json
