// Subscription bodies: native create and PATCH (docs/api.md §2), egress auth (§3)
// and the dashboard facade.

#include "core/subscription_codec.hpp"

#include <array>
#include <span>

#include "core/ascii.hpp"
#include "core/country.hpp"
#include "core/json_input.hpp"
#include "core/signing.hpp"
#include "core/time_format.hpp"
#include "core/type_pattern.hpp"
#include "core/url.hpp"

namespace sy::core {

const char* to_string(delivery_mode m) {
  switch (m) {
    case delivery_mode::push: return "push";
    case delivery_mode::pull: return "pull";
  }
  return "push";
}

const char* to_string(subscription_state s) {
  switch (s) {
    case subscription_state::pending_verification: return "pending_verification";
    case subscription_state::active: return "active";
    case subscription_state::paused: return "paused";
  }
  return "pending_verification";
}

std::optional<subscription_state> parse_state(std::string_view s) {
  for (auto st : {subscription_state::pending_verification, subscription_state::active,
                  subscription_state::paused})
    if (s == to_string(st))
      return st;
  return std::nullopt;
}

std::optional<delivery_mode> parse_delivery_mode(std::string_view s) {
  for (auto m : {delivery_mode::push, delivery_mode::pull})
    if (s == to_string(m))
      return m;
  return std::nullopt;
}

std::optional<std::string> validate_private_key(std::string_view key) {
  constexpr std::string_view prefix = "whsec_";
  const std::string form = "must be \"whsec_\" followed by the standard base64 of 24 to 64 bytes";
  if (!key.starts_with(prefix))
    return form;
  auto secret = base64_decode(key.substr(prefix.size()));
  if (!secret)
    return form + ": the part after whsec_ is not base64";
  if (secret->size() < min_private_key_bytes || secret->size() > max_private_key_bytes)
    return form + ": it decodes to " + std::to_string(secret->size()) + " bytes";
  return std::nullopt;
}

namespace {

using namespace json;

// -- egress auth ----------------------------------------------------------------

struct auth_member {
  std::string_view lower;
  std::string_view canonical;
  std::string egress_auth::*slot;
  bool secret;
};

// Every member any auth type uses, in the order docs/api.md lists them.
const std::array<auth_member, 8> auth_members = {{
  {"apikey", "APIKey", &egress_auth::api_key, true},
  {"userid", "userId", &egress_auth::user_id, false},
  {"password", "password", &egress_auth::password, true},
  {"authurl", "authURL", &egress_auth::auth_url, false},
  {"clientid", "clientID", &egress_auth::client_id, false},
  {"clientsecret", "clientSecret", &egress_auth::client_secret, true},
  {"refreshtoken", "refreshToken", &egress_auth::refresh_token, true},
  {"supplierkey", "supplierKey", &egress_auth::supplier_key, true},
}};

constexpr std::size_t authurl_member = 3;

struct auth_kind {
  std::string_view lower;
  std::string_view canonical;
  std::array<std::size_t, 4> members; // indices into auth_members
  std::size_t count;                  // members used

  std::span<const std::size_t> used() const { return {members.data(), count}; }
};

const std::array<auth_kind, 4> auth_kinds = {{
  {"apikey", "APIKey", {0}, 1},
  {"basic", "Basic", {1, 2}, 2},
  {"oauth", "OAuth", {3, 4, 5, 6}, 4},
  {"oauthrefreshtokenonly", "OAuthRefreshTokenOnly", {3, 7, 6}, 3},
}};

constexpr const char* auth_kinds_text = "APIKey, Basic, OAuth, OAuthRefreshTokenOnly";

const auth_kind* find_kind(std::string_view type, bool ignore_case) {
  for (auto& k : auth_kinds)
    if (ignore_case ? equal_nocase(type, k.lower) : type == k.canonical)
      return &k;
  return nullptr;
}

// Reads the members of an auth object at `path` ("auth", or "" for a body).
egress_auth read_egress_auth(od::object obj, std::string_view path) {
  seen_members seen;
  egress_auth all;
  std::array<bool, auth_members.size()> given{};
  std::optional<std::string> type;
  for_each_member(obj, path, [&](std::string_view key, od::value& v) {
    if (key_is(key, "authtype")) {
      auto field = member(path, "authType");
      seen.once(31, field);
      if (!is_null(v))
        type = std::string(get_string(v, field));
      return;
    }
    for (std::size_t i = 0; i < auth_members.size(); ++i) {
      auto& m = auth_members[i];
      if (!key_is(key, m.lower))
        continue;
      auto field = member(path, m.canonical);
      seen.once(static_cast<unsigned>(i), field);
      if (!is_null(v)) {
        all.*m.slot = std::string(get_string(v, field));
        given[i] = true;
      }
      return;
    }
    fail_unknown(path, key,
                 {"authType", "APIKey", "userId", "password", "authURL", "clientID", "clientSecret",
                  "refreshToken", "supplierKey"});
  });

  auto type_field = member(path, "authType");
  if (!type)
    fail_422(type_field, std::string("is required: one of ") + auth_kinds_text);
  const auth_kind* kind = find_kind(*type, true);
  if (!kind)
    fail_422(type_field, std::string("must be one of ") + auth_kinds_text);

  egress_auth out;
  out.type = std::string(kind->canonical);
  for (std::size_t i : kind->used()) {
    auto& m = auth_members[i];
    auto field = member(path, m.canonical);
    const std::string& value = all.*m.slot;
    if (!given[i])
      fail_422(field, "is required for authType " + out.type);
    if (value.empty())
      fail_422(field, "must not be empty");
    // These values end up in request headers and form bodies: a CR or LF
    // would let a subscriber's settings inject headers.
    for (unsigned char c : value)
      if (c < 0x20 || c == 0x7f)
        fail_422(field, "must not contain control characters");
    if (i == authurl_member)
      if (auto why = validate_url(value))
        fail_422(field, *why);
    out.*m.slot = value;
  }
  return out;
}

// -- native create and PATCH ----------------------------------------------------

enum class body_kind { create, patch };

subscription_spec read_subscription(od::object obj, body_kind kind) {
  const bool patch = kind == body_kind::patch;
  subscription_spec s;
  seen_members seen;
  auto not_null = [&](od::value& v, const char* field) {
    if (!is_null(v))
      return true;
    if (patch)
      fail_422(field, "must not be null");
    return false; // create: the same as leaving it out
  };
  auto not_patchable = [&](const char* field) {
    if (patch)
      fail_422(field, "cannot be changed after creation: delete the subscription and create it "
                      "again");
  };

  for_each_member(obj, "", [&](std::string_view key, od::value& v) {
    if (key_is(key, "service")) {
      seen.once(0, "service");
      if (!not_null(v, "service"))
        return;
      auto str = get_string(v, "service");
      if (str.empty() || str.size() > max_service_bytes)
        fail_422("service", "must be 1 to 256 bytes");
      s.service = std::string(str);
    } else if (key_is(key, "url")) {
      seen.once(1, "url");
      if (!not_null(v, "url"))
        return;
      auto str = get_string(v, "url");
      if (auto why = validate_url(str))
        fail_422("url", *why);
      s.url = std::string(str);
    } else if (key_is(key, "types")) {
      seen.once(2, "types");
      if (!not_null(v, "types"))
        return;
      auto arr = get_array(v, "types");
      std::vector<std::string> types;
      std::size_t i = 0;
      for (auto elem : arr) {
        auto field = element("types", i++);
        od::value ev;
        if (auto err = elem.get(ev))
          fail_400(field, std::string("malformed JSON: ") + simdjson::error_message(err));
        auto pattern = get_string(ev, field);
        if (auto why = validate_type_pattern(pattern))
          fail_422(field, *why);
        if (types.size() == max_type_patterns)
          fail_422("types", "must hold at most 64 patterns");
        types.emplace_back(pattern);
      }
      if (types.empty())
        fail_422("types", "must hold at least one pattern (\"**\" matches every type)");
      s.types = std::move(types);
    } else if (key_is(key, "country")) {
      seen.once(3, "country");
      if (is_null(v)) {
        if (patch)
          s.country = std::string(); // cleared: every country
        return;
      }
      auto str = get_string(v, "country");
      if (!is_iso_country(str))
        fail_422("country", "must be an ISO 3166-1 alpha-2 code in uppercase, such as NO or GB, "
                            "or null");
      s.country = std::string(str);
    } else if (key_is(key, "delivery")) {
      seen.once(4, "delivery");
      not_patchable("delivery");
      if (is_null(v))
        return;
      auto str = get_string(v, "delivery");
      if (equal_nocase(str, "push"))
        s.delivery = delivery_mode::push;
      else if (equal_nocase(str, "pull"))
        s.delivery = delivery_mode::pull;
      else
        fail_422("delivery", "must be \"push\" or \"pull\"");
    } else if (key_is(key, "verification")) {
      seen.once(5, "verification");
      not_patchable("verification");
      if (is_null(v))
        return;
      auto str = get_string(v, "verification");
      if (equal_nocase(str, "required"))
        s.verification_required = true;
      else if (equal_nocase(str, "skip"))
        s.verification_required = false;
      else
        fail_422("verification", "must be \"required\" or \"skip\"");
    } else if (key_is(key, "max_in_flight") || key_is(key, "maxinflight")) {
      seen.once(6, "max_in_flight");
      // null asks for the default, in a PATCH too.
      s.max_in_flight = is_null(v) ? default_max_in_flight
                                   : get_integer(v, "max_in_flight", 1, max_max_in_flight);
    } else if (key_is(key, "rate_limit") || key_is(key, "ratelimit")) {
      seen.once(7, "rate_limit");
      s.rate_limit = is_null(v) ? 0 : get_integer(v, "rate_limit", 0, max_rate_limit);
    } else if (key_is(key, "auth")) {
      seen.once(8, "auth");
      if (is_null(v)) {
        if (patch)
          s.auth = egress_auth{}; // cleared
        return;
      }
      s.auth = read_egress_auth(get_object(v, "auth"), "auth");
    } else if (key_is(key, "privatekey")) {
      seen.once(9, "privateKey");
      if (patch)
        fail_422("privateKey", "can only be given when the subscription is created");
      if (is_null(v))
        return;
      auto str = get_string(v, "privateKey");
      if (auto why = validate_private_key(str))
        fail_422("privateKey", *why);
      s.private_key = std::string(str);
    } else {
      // A typo must not widen a subscription ("type") or drop its filter
      // ("contry"); members a client echoes back (id, state…) are refused too.
      fail_unknown("", key,
                   {"service", "url", "types", "country", "delivery", "verification",
                    "max_in_flight", "rate_limit", "auth", "privateKey"});
    }
  });

  if (patch)
    return s;
  if (!s.service)
    fail_422("service", "is required");
  if (!s.delivery)
    s.delivery = delivery_mode::push;
  if (*s.delivery == delivery_mode::push && !s.url)
    fail_422("url", "is required for push delivery");
  if (!s.types)
    s.types = std::vector<std::string>{"**"};
  if (!s.verification_required)
    s.verification_required = true;
  if (!s.max_in_flight)
    s.max_in_flight = default_max_in_flight;
  if (!s.rate_limit)
    s.rate_limit = 0;
  return s;
}

// -- dashboard facade -----------------------------------------------------------

bool is_dashboard_country(std::string_view s) {
  if (s.size() < 2 || s.size() > 3)
    return false;
  for (char c : s)
    if (c < 'A' || c > 'Z')
      return false;
  return true;
}

dashboard_spec read_dashboard(od::object obj) {
  seen_members seen;
  dashboard_spec d;
  // Members are read in any order; only after the whole body is seen can one
  // error name every missing field, as the dashboard document promises.
  for_each_member(obj, "", [&](std::string_view key, od::value& v) {
    auto take = [&](unsigned bit, const char* name, std::string& slot) {
      seen.once(bit, name);
      if (!is_null(v))
        slot = std::string(get_string(v, name));
    };
    if (key_is(key, "url"))
      take(0, "url", d.url);
    else if (key_is(key, "country"))
      take(1, "country", d.country);
    else if (key_is(key, "event"))
      take(2, "event", d.event);
    else
      fail_unknown("", key, {"url", "country", "event"});
  });

  std::string fields, names;
  int missing = 0;
  auto check = [&](const std::string& value, const char* name) {
    if (!value.empty())
      return;
    fields.append(fields.empty() ? "" : ",").append(name);
    names.append(names.empty() ? "" : ", ").append(name);
    ++missing;
  };
  check(d.url, "url");
  check(d.country, "country");
  check(d.event, "event");
  if (missing > 0)
    fail_422(fields, (missing == 1 ? "missing field: " : "missing fields: ") + names);

  if (auto why = validate_url(d.url))
    fail_422("url", *why);
  if (!is_dashboard_country(d.country))
    fail_422("country", "must be uppercase letters, such as NO");
  if (d.event != "REGISTER" && d.event != "CHANGE" && d.event != "DELETE" && d.event != "INVOKE")
    fail_422("event", "must be one of REGISTER, CHANGE, DELETE, INVOKE");
  return d;
}

// -- change-notification watcher ----------------------------------------------------

watcher_spec read_watcher(od::object obj) {
  seen_members seen;
  watcher_spec w;
  bool has_url = false;
  for_each_member(obj, "", [&](std::string_view key, od::value& v) {
    if (key_is(key, "notificationkey")) {
      seen.once(0, "notificationKey");
      if (is_null(v))
        return;
      auto str = get_string(v, "notificationKey");
      if (str.size() > max_notification_key_bytes)
        fail_422("notificationKey", "must be at most 1024 bytes");
      w.notification_key = std::string(str);
    } else if (key_is(key, "notificationurl")) {
      seen.once(1, "notificationURL");
      if (is_null(v))
        return;
      auto str = get_string(v, "notificationURL");
      if (auto why = validate_url(str))
        fail_422("notificationURL", *why);
      w.notification_url = std::string(str);
      has_url = true;
    } else if (key_is(key, "authentication")) {
      seen.once(2, "authentication");
      if (!is_null(v))
        w.auth = read_egress_auth(get_object(v, "authentication"), "authentication");
    } else {
      fail_unknown("", key, {"notificationKey", "notificationURL", "authentication"});
    }
  });
  if (!has_url)
    fail_422("notificationURL",
             "is required: the URL that receives subscription change notifications");
  return w;
}

} // namespace

result<watcher_spec> decode_watcher(std::string& body) {
  return json::decode<watcher_spec>(
    body, [](od::document& doc) { return read_watcher(get_root_object(doc)); });
}

result<subscription_spec> decode_subscription_create(std::string& body) {
  return json::decode<subscription_spec>(body, [](od::document& doc) {
    return read_subscription(get_root_object(doc), body_kind::create);
  });
}

result<subscription_spec> decode_subscription_patch(std::string& body) {
  return json::decode<subscription_spec>(body, [](od::document& doc) {
    return read_subscription(get_root_object(doc), body_kind::patch);
  });
}

result<egress_auth> decode_egress_auth_body(std::string& body, std::string_view path) {
  return json::decode<egress_auth>(body, [&](od::document& doc) {
    od::json_type t;
    if (auto err = doc.type().get(t))
      throw codec_failure{malformed(err)};
    if (t != od::json_type::object)
      fail_400(std::string(path), std::string("must be an object, got ") + type_name(t));
    od::object obj;
    if (auto err = doc.get_object().get(obj))
      throw codec_failure{malformed(err)};
    return read_egress_auth(obj, path);
  });
}

void write_egress_auth(json_writer& w, const egress_auth& auth, bool redact_secrets) {
  if (auth.type.empty()) {
    w.null();
    return;
  }
  w.begin_object().key("authType").value(auth.type);
  if (const auth_kind* kind = find_kind(auth.type, false)) {
    for (std::size_t i : kind->used()) {
      auto& m = auth_members[i];
      w.key(m.canonical);
      if (m.secret && redact_secrets)
        w.value("***");
      else
        w.value(auth.*m.slot);
    }
  }
  w.end_object();
}

result<dashboard_spec> decode_dashboard_subscription(std::string& body) {
  return json::decode<dashboard_spec>(
    body, [](od::document& doc) { return read_dashboard(get_root_object(doc)); });
}

namespace {

int64_t read_replay_bound(json::od::value& v, std::string_view field) {
  auto text = json::get_string(v, field);
  auto ms = parse_iso8601_ms(text);
  if (!ms)
    json::fail_422(std::string(field),
                   "must be an ISO-8601 time such as \"2026-11-25T01:30:00Z\", got \"" +
                     std::string(text.substr(0, 64)) + "\"");
  return *ms;
}

dead_letter_replay read_dead_letter_replay(json::od::object obj) {
  json::seen_members seen;
  dead_letter_replay r;
  json::for_each_member(obj, "", [&](std::string_view key, json::od::value& v) {
    if (json::key_is(key, "since")) {
      seen.once(0, "since");
      r.since_ms = read_replay_bound(v, "since");
    } else if (json::key_is(key, "until")) {
      seen.once(1, "until");
      r.until_ms = read_replay_bound(v, "until");
    } else {
      json::fail_unknown("", key, {"since", "until"});
    }
  });
  if (r.since_ms && r.until_ms && *r.since_ms >= *r.until_ms)
    json::fail_422("until", "must be later than since");
  return r;
}

} // namespace

result<dead_letter_replay> decode_dead_letter_replay(std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos)
    return dead_letter_replay{};
  return json::decode<dead_letter_replay>(body, [](json::od::document& doc) {
    return read_dead_letter_replay(json::get_root_object(doc));
  });
}

} // namespace sy::core
