// Masiv push contract bodies (docs/api.md §5). That contract answers every bad
// request with 400, so every error here is a 400 naming its field.

#include "core/push_codec.hpp"

#include <unordered_set>

#include "core/ascii.hpp"
#include "core/json_input.hpp"
#include "core/url.hpp"

namespace sy::core {

namespace {

using namespace json;

constexpr std::size_t min_cellphone_digits = 8;
constexpr std::size_t max_cellphone_digits = 15;
constexpr std::size_t max_email_bytes = 254;
constexpr std::size_t max_email_local_bytes = 64;

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = lower(c);
  return out;
}

// Matches a member name ignoring case and surrounding spaces: Masiv's own
// "valid" example spells one member "cellphones " (with a trailing space).
bool name_is(std::string_view key, std::string_view lower_name) {
  while (!key.empty() && (key.front() == ' ' || key.front() == '\t'))
    key.remove_prefix(1);
  while (!key.empty() && (key.back() == ' ' || key.back() == '\t'))
    key.remove_suffix(1);
  return key_is(key, lower_name);
}

// Refuses an unknown member, named without the spaces name_is forgives.
[[noreturn]] void unknown_push_member(std::string_view path, std::string_view key,
                                      std::initializer_list<std::string_view> known) {
  while (!key.empty() && (key.front() == ' ' || key.front() == '\t'))
    key.remove_prefix(1);
  while (!key.empty() && (key.back() == ' ' || key.back() == '\t'))
    key.remove_suffix(1);
  fail_unknown(path, key, known);
}

template <class F>
void for_each_element(od::array arr, std::string_view path, F&& f) {
  std::size_t i = 0;
  for (auto elem : arr) {
    auto field = element(path, i++);
    od::value val;
    if (auto err = elem.get(val))
      fail_400(field, std::string("malformed JSON: ") + simdjson::error_message(err));
    f(field, val);
  }
}

// Returns an optional string member: null and "" both mean "not given".
std::string optional_string(od::value& v, std::string_view field) {
  if (is_null(v))
    return {};
  return std::string(get_string(v, field));
}

std::string read_cellphone(od::value& v, std::string_view field) {
  auto s = optional_string(v, field);
  if (!s.empty() && !is_valid_cellphone(s))
    fail_400(std::string(field),
             "must be the country code and number, digits only, 8 to 15 digits (573141234567)");
  return s;
}

std::string read_email(od::value& v, std::string_view field) {
  auto s = optional_string(v, field);
  if (!s.empty() && !is_valid_email(s))
    fail_400(std::string(field), "must be a valid email address");
  // Look-ups by email must not depend on how a client capitalised it.
  return lowercase(s);
}

std::string read_device_type(od::value& v, std::string_view field) {
  auto s = optional_string(v, field);
  if (s.empty())
    return s;
  auto canonical = canonical_device_type(s);
  if (canonical.empty())
    fail_400(std::string(field), "must be one of Android, iOS, Web");
  return std::string(canonical);
}

association_spec read_association(od::object root) {
  association_spec a;
  seen_members seen;
  bool has_token = false, has_association = false;
  for_each_member(root, "", [&](std::string_view key, od::value& v) {
    if (name_is(key, "appid")) {
      seen.once(0, "appId");
      a.app_id = optional_string(v, "appId");
    } else if (name_is(key, "token")) {
      seen.once(1, "token");
      if (is_null(v))
        return;
      a.token = std::string(get_string(v, "token"));
      has_token = true;
    } else if (name_is(key, "association")) {
      seen.once(2, "association");
      if (is_null(v))
        return;
      has_association = true;
      seen_members inner;
      for_each_member(get_object(v, "association"), "association",
                      [&](std::string_view k, od::value& iv) {
                        if (name_is(k, "cellphone")) {
                          inner.once(0, "association.cellphone");
                          a.cellphone = read_cellphone(iv, "association.cellphone");
                        } else if (name_is(k, "email")) {
                          inner.once(1, "association.email");
                          a.email = read_email(iv, "association.email");
                        } else {
                          unknown_push_member("association", k, {"cellphone", "email"});
                        }
                      });
    } else if (name_is(key, "devicetype")) {
      seen.once(3, "deviceType");
      a.device_type = read_device_type(v, "deviceType");
    } else {
      unknown_push_member("", key, {"appId", "token", "association", "deviceType"});
    }
  });
  if (!has_token)
    fail_400("token", "is required");
  if (a.token.empty())
    fail_400("token", "must not be empty");
  if (!has_association)
    fail_400("association", "is required: give a cellphone, an email or both");
  if (a.cellphone.empty() && a.email.empty())
    fail_400("association", "needs a cellphone or an email");
  return a;
}

void read_by_association(od::object obj, send_to_list_spec& s) {
  constexpr std::string_view path = "tokensByAssociation";
  seen_members seen;
  for_each_member(obj, path, [&](std::string_view key, od::value& v) {
    if (name_is(key, "appid")) {
      seen.once(0, "tokensByAssociation.appId");
      s.app_id = optional_string(v, "tokensByAssociation.appId");
    } else if (name_is(key, "devicetypestosend")) {
      constexpr std::string_view field = "tokensByAssociation.deviceTypesToSend";
      seen.once(1, field);
      if (is_null(v))
        return;
      for_each_element(get_array(v, field), field, [&](const std::string& f, od::value& ev) {
        auto canonical = canonical_device_type(get_string(ev, f));
        if (canonical.empty())
          fail_400(f, "must be one of Android, iOS, Web");
        s.device_types.emplace_back(canonical);
      });
    } else if (name_is(key, "cellphones")) {
      constexpr std::string_view field = "tokensByAssociation.cellphones";
      seen.once(2, field);
      if (is_null(v))
        return;
      for_each_element(get_array(v, field), field, [&](const std::string& f, od::value& ev) {
        auto phone = std::string(get_string(ev, f));
        if (!is_valid_cellphone(phone))
          fail_400(f, "must be the country code and number, digits only, 8 to 15 digits "
                      "(573141234567)");
        s.cellphones.push_back(std::move(phone));
      });
    } else if (name_is(key, "emails")) {
      constexpr std::string_view field = "tokensByAssociation.emails";
      seen.once(3, field);
      if (is_null(v))
        return;
      for_each_element(get_array(v, field), field, [&](const std::string& f, od::value& ev) {
        auto email = get_string(ev, f);
        if (!is_valid_email(email))
          fail_400(f, "must be a valid email address");
        s.emails.push_back(lowercase(email));
      });
    } else {
      unknown_push_member(path, key, {"appId", "deviceTypesToSend", "cellphones", "emails"});
    }
  });
  if (s.cellphones.empty() && s.emails.empty())
    fail_400(std::string(path), "needs at least one cellphone or email");
}

// Returns true when `key` is reserved by the push platforms (FCM refuses it).
bool is_reserved_data_key(std::string_view key) {
  auto k = lowercase(key);
  return k == "from" || k == "message_type" || k.starts_with("google") || k.starts_with("gcm");
}

send_to_list_spec read_send_to_list(od::object root) {
  send_to_list_spec s;
  seen_members seen;
  bool has_notification = false, has_title = false, has_message = false;
  for_each_member(root, "", [&](std::string_view key, od::value& v) {
    if (name_is(key, "tokens")) {
      seen.once(0, "tokens");
      if (is_null(v))
        return;
      s.has_tokens = true;
      for_each_element(get_array(v, "tokens"), "tokens", [&](const std::string& f, od::value& ev) {
        auto token = get_string(ev, f);
        if (token.empty())
          fail_400(f, "must not be empty");
        s.tokens.emplace_back(token);
      });
    } else if (name_is(key, "tokensbyassociation")) {
      seen.once(1, "tokensByAssociation");
      if (is_null(v))
        return;
      s.by_association = true;
      read_by_association(get_object(v, "tokensByAssociation"), s);
    } else if (name_is(key, "notification")) {
      seen.once(2, "notification");
      if (is_null(v))
        return;
      has_notification = true;
      seen_members inner;
      for_each_member(get_object(v, "notification"), "notification",
                      [&](std::string_view k, od::value& nv) {
                        if (name_is(k, "title")) {
                          inner.once(0, "notification.title");
                          if (!is_null(nv)) {
                            s.title = std::string(get_string(nv, "notification.title"));
                            has_title = true;
                          }
                        } else if (name_is(k, "message")) {
                          inner.once(1, "notification.message");
                          if (!is_null(nv)) {
                            s.message = std::string(get_string(nv, "notification.message"));
                            has_message = true;
                          }
                        } else if (name_is(k, "imageurl")) {
                          inner.once(2, "notification.imageUrl");
                          s.image_url = optional_string(nv, "notification.imageUrl");
                          if (!s.image_url.empty())
                            if (auto why = validate_url(s.image_url))
                              fail_400("notification.imageUrl", *why);
                        } else {
                          unknown_push_member("notification", k, {"title", "message", "imageUrl"});
                        }
                      });
    } else if (name_is(key, "data")) {
      seen.once(3, "data");
      if (is_null(v))
        return;
      std::unordered_set<std::string> keys;
      for_each_member(get_object(v, "data"), "data", [&](std::string_view k, od::value& dv) {
        auto field = member("data", k);
        if (is_reserved_data_key(k))
          fail_400(field, "is a reserved key: data keys may not be from or message_type, nor "
                          "start with google or gcm");
        std::string owned(k);
        if (!keys.insert(owned).second)
          fail_400(field, "appears more than once");
        auto value = get_string(dv, field);
        s.data.emplace_back(std::move(owned), std::string(value));
      });
    } else {
      unknown_push_member("", key, {"tokens", "tokensByAssociation", "notification", "data"});
    }
  });

  if (!s.by_association && s.tokens.empty())
    fail_400("tokens", s.has_tokens
                         ? "must hold at least one token when tokensByAssociation is absent"
                         : "tokens or tokensByAssociation is required");
  if (!has_notification)
    fail_400("notification", "is required");
  if (!has_title)
    fail_400("notification.title", "is required");
  if (s.title.empty())
    fail_400("notification.title", "must not be empty");
  if (!has_message)
    fail_400("notification.message", "is required");
  if (s.message.empty())
    fail_400("notification.message", "must not be empty");
  return s;
}

// The contract knows only 400; a generic 422 (or anything else) is mapped.
template <class T>
result<T> as_bad_request(result<T> r) {
  if (r)
    return r;
  input_error e = r.error();
  e.status = 400;
  return e;
}

} // namespace

bool is_valid_cellphone(std::string_view s) {
  if (s.size() < min_cellphone_digits || s.size() > max_cellphone_digits)
    return false;
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

bool is_valid_email(std::string_view s) {
  if (s.size() > max_email_bytes)
    return false;
  auto at = s.find('@');
  if (at == s.npos || s.find('@', at + 1) != s.npos)
    return false;
  auto local = s.substr(0, at);
  auto domain = s.substr(at + 1);
  if (local.empty() || local.size() > max_email_local_bytes)
    return false;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f)
      return false;
    // Characters that only a quoted local part may hold.
    if (ch == '"' || ch == '(' || ch == ')' || ch == ',' || ch == ':' || ch == ';' || ch == '<' ||
        ch == '>' || ch == '[' || ch == ']' || ch == '\\')
      return false;
  }
  // The domain needs a dot between non-empty labels: "dominio.com".
  if (domain.find('.') == domain.npos || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != domain.npos)
    return false;
  return true;
}

std::string_view canonical_device_type(std::string_view s) {
  if (key_is(s, "android"))
    return "Android";
  if (key_is(s, "ios"))
    return "iOS";
  if (key_is(s, "web"))
    return "Web";
  return {};
}

result<association_spec> decode_association(std::string& body) {
  return as_bad_request(json::decode<association_spec>(
    body, [](od::document& doc) { return read_association(get_root_object(doc)); }));
}

result<send_to_list_spec> decode_send_to_list(std::string& body) {
  return as_bad_request(json::decode<send_to_list_spec>(
    body, [](od::document& doc) { return read_send_to_list(get_root_object(doc)); }));
}

} // namespace sy::core
