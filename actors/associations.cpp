#include "actors/associations.hpp"

#include <algorithm>

#include "core/json_input.hpp"
#include "core/json_writer.hpp"

namespace sy::actors {

std::string association_key(std::string_view token) {
  std::string key(association_prefix);
  key += token;
  return key;
}

std::string encode_association(const core::association_spec& a) {
  core::json_writer w;
  w.begin_object()
    .key("appId")
    .value(a.app_id)
    .key("token")
    .value(a.token)
    .key("cellphone")
    .value(a.cellphone)
    .key("email")
    .value(a.email)
    .key("deviceType")
    .value(a.device_type)
    .end_object();
  return std::move(w).str();
}

std::optional<core::association_spec> decode_association_record(std::string bytes) {
  using namespace core::json;
  // The record was written by encode_association; any surprise is corruption.
  auto r = decode<core::association_spec>(bytes, [](od::document& doc) {
    core::association_spec a;
    od::object obj = doc.get_object();
    for (auto field : obj) {
      std::string_view key = field.unescaped_key();
      std::string value(std::string_view(field.value().get_string()));
      if (key == "appId")
        a.app_id = std::move(value);
      else if (key == "token")
        a.token = std::move(value);
      else if (key == "cellphone")
        a.cellphone = std::move(value);
      else if (key == "email")
        a.email = std::move(value);
      else if (key == "deviceType")
        a.device_type = std::move(value);
    }
    return a;
  });
  if (!r || r->token.empty())
    return std::nullopt;
  return std::move(r).value();
}

void association_store::unindex(const core::association_spec& a) {
  auto drop = [&](auto& index, const std::string& key) {
    if (key.empty())
      return;
    auto it = index.find(key);
    if (it == index.end())
      return;
    it->second.erase(a.token);
    if (it->second.empty())
      index.erase(it);
  };
  drop(by_cellphone_, a.cellphone);
  drop(by_email_, a.email);
}

void association_store::put(core::association_spec a) {
  auto it = by_token_.find(a.token);
  if (it != by_token_.end()) {
    // A token associated again keeps only its new cellphone and email.
    unindex(it->second);
    by_token_.erase(it);
  }
  if (!a.cellphone.empty())
    by_cellphone_[a.cellphone].insert(a.token);
  if (!a.email.empty())
    by_email_[a.email].insert(a.token);
  auto token = a.token;
  by_token_.emplace(std::move(token), std::move(a));
}

void association_store::look_up(const core::send_to_list_spec& spec, std::vector<std::string>& out,
                                std::set<std::string, std::less<>>& seen) const {
  // appId and deviceTypesToSend filter only these look-ups (docs/api.md §5).
  auto passes = [&](const core::association_spec& a) {
    if (!spec.app_id.empty() && a.app_id != spec.app_id)
      return false;
    // Both sides are canonical ("Android", "iOS", "Web"), so equality is the
    // case-insensitive match the contract asks for. An association without
    // a device type cannot be shown to be of a requested one.
    if (!spec.device_types.empty() && std::find(spec.device_types.begin(), spec.device_types.end(),
                                                a.device_type) == spec.device_types.end())
      return false;
    return true;
  };
  auto add_all = [&](const auto& index, const std::vector<std::string>& keys) {
    for (const auto& key : keys) {
      auto it = index.find(key);
      if (it == index.end())
        continue;
      for (const auto& token : it->second) {
        if (seen.count(token))
          continue;
        auto a = by_token_.find(token);
        if (a == by_token_.end() || !passes(a->second))
          continue;
        seen.insert(token);
        out.push_back(token);
      }
    }
  };
  add_all(by_cellphone_, spec.cellphones);
  add_all(by_email_, spec.emails);
}

std::vector<std::string> resolve_tokens(const core::send_to_list_spec& spec,
                                        const association_store* store) {
  std::vector<std::string> out;
  std::set<std::string, std::less<>> seen;
  for (const auto& token : spec.tokens)
    if (seen.insert(token).second)
      out.push_back(token);
  if (spec.by_association && store)
    store->look_up(spec, out, seen);
  return out;
}

} // namespace sy::actors
