#include "core/admin_codec.hpp"

#include "core/json_input.hpp"

namespace sy::core {

using namespace json;

namespace {

backup_request read_backup_request(od::object obj) {
  seen_members seen;
  backup_request r;
  bool has_path = false;
  for_each_member(obj, "", [&](std::string_view key, od::value& v) {
    if (!key_is(key, "path"))
      fail_unknown("", key, {"path"});
    seen.once(0, "path");
    r.path = std::string(get_string(v, "path"));
    has_path = true;
  });
  if (!has_path)
    fail_422("path", "is required: the absolute path of a directory to create for the backup");
  if (r.path.empty() || r.path.front() != '/')
    fail_422("path", "must be an absolute path (it is resolved on the server's machine), got \"" +
                       r.path + "\"");
  return r;
}

int64_t read_rotate_keys_request(od::object obj) {
  seen_members seen;
  int64_t grace = default_grace_seconds;
  for_each_member(obj, "", [&](std::string_view key, od::value& v) {
    if (!key_is(key, "grace_seconds"))
      fail_unknown("", key, {"grace_seconds"});
    seen.once(0, "grace_seconds");
    grace = get_integer(v, "grace_seconds", 0, max_grace_seconds);
  });
  return grace;
}

} // namespace

result<int64_t> decode_rotate_keys_request(std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos)
    return default_grace_seconds;
  return json::decode<int64_t>(
    body, [](od::document& doc) { return read_rotate_keys_request(get_root_object(doc)); });
}

result<backup_request> decode_backup_request(std::string& body) {
  return json::decode<backup_request>(
    body, [](od::document& doc) { return read_backup_request(get_root_object(doc)); });
}

} // namespace sy::core
