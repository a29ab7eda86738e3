#include "actors/cluster_subs.hpp"

namespace sy::actors {

std::string subs_key(std::string_view id) {
  std::string key(subs_prefix);
  key += id;
  return key;
}

namespace {

// The last path segment of `key` under `prefix`, or nullopt.
std::optional<std::string> name_under(std::string_view prefix, std::string_view key) {
  if (key.size() <= prefix.size() || key.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  auto name = key.substr(prefix.size());
  if (name.find('/') != std::string_view::npos)
    return std::nullopt;
  return std::string(name);
}

} // namespace

std::string association_etcd_key(std::string_view token) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string key(associations_prefix);
  for (unsigned char c : token) {
    key += digits[c >> 4];
    key += digits[c & 15];
  }
  return key;
}

std::string event_type_key(std::string_view code) {
  std::string key(event_types_prefix);
  key += code;
  return key;
}

std::optional<std::string> subs_id_of(std::string_view key) { return name_under(subs_prefix, key); }

std::optional<std::string> event_type_code_of(std::string_view key) {
  return name_under(event_types_prefix, key);
}

std::string mirror_record(const subscription& s) {
  auto copy = s;
  copy.number = 0;
  return encode_subscription(copy);
}

remote_verdict decide_put(const subscription* local, int64_t local_revision, int64_t deleted_at,
                          const subscription& incoming, int64_t revision) {
  if (!incoming.is_mirrored() || revision <= deleted_at)
    return remote_verdict::ignore;
  if (!local)
    return remote_verdict::add;
  if (!local->is_mirrored() || local->kind != incoming.kind || revision <= local_revision)
    return remote_verdict::ignore;
  auto same = incoming;
  same.number = local->number;
  return same == *local ? remote_verdict::adopt : remote_verdict::replace;
}

bool decide_delete(int64_t local_revision, int64_t revision) { return revision > local_revision; }

std::vector<std::string> absent_from_snapshot(const std::map<std::string, int64_t>& local,
                                              const std::set<std::string>& present,
                                              int64_t revision) {
  std::vector<std::string> out;
  for (const auto& [id, rev] : local)
    if (rev <= revision && !present.count(id))
      out.push_back(id);
  return out;
}

} // namespace sy::actors
