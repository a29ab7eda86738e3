// POST /v1/eventtype: the event types of the Acoustic Exchange.

#include "core/event_type_codec.hpp"

#include "core/json_input.hpp"
#include "core/type_pattern.hpp"

namespace sy::core {

std::string event_type_def::routed_type() const {
  if (ns.empty())
    return code;
  std::string out;
  out.reserve(ns.size() + 1 + code.size());
  out.append(ns).append(".").append(code);
  return out;
}

std::optional<attribute_type> parse_attribute_type(std::string_view s) {
  using json::key_is;
  if (key_is(s, "string"))
    return attribute_type::string;
  if (key_is(s, "number"))
    return attribute_type::number;
  if (key_is(s, "boolean"))
    return attribute_type::boolean;
  if (key_is(s, "date") || key_is(s, "time"))
    return attribute_type::date;
  return std::nullopt;
}

const char* to_string(attribute_type t) {
  switch (t) {
    case attribute_type::string: return "string";
    case attribute_type::number: return "number";
    case attribute_type::boolean: return "boolean";
    case attribute_type::date: return "date";
  }
  return "string";
}

namespace {

using namespace json;

// Returns the required, non-empty string member `name` of an event type.
std::string required_string(od::value& v, const std::string& field) {
  if (is_null(v))
    fail_422(field, "is required");
  std::string s(get_string(v, field));
  if (s.empty())
    fail_422(field, "must not be empty");
  return s;
}

std::vector<attribute_def> read_attribute_defs(od::value& v) {
  std::vector<attribute_def> out;
  auto arr = get_array(v, "attributes");
  std::size_t i = 0;
  for (auto elem : arr) {
    auto path = element("attributes", i++);
    od::value av;
    if (auto err = elem.get(av))
      fail_400(path, std::string("malformed JSON: ") + simdjson::error_message(err));
    auto obj = get_object(av, path);
    attribute_def a;
    bool seen_name = false, seen_type = false;
    for (auto field : obj) {
      std::string_view key;
      if (auto err = field.unescaped_key().get(key))
        fail_400(path, std::string("malformed JSON: ") + simdjson::error_message(err));
      od::value fv;
      if (auto err = field.value().get(fv))
        fail_400(path, std::string("malformed JSON: ") + simdjson::error_message(err));
      if (key_is(key, "name")) {
        if (seen_name)
          fail_400(member(path, "name"), "appears more than once");
        seen_name = true;
        a.name = required_string(fv, member(path, "name"));
      } else if (key_is(key, "type")) {
        if (seen_type)
          fail_400(member(path, "type"), "appears more than once");
        seen_type = true;
        auto t = parse_attribute_type(required_string(fv, member(path, "type")));
        if (!t)
          fail_422(member(path, "type"), "must be string, number, boolean or date (or time)");
        a.type = to_string(*t);
      } else {
        fail_unknown(path, key, {"name", "type"});
      }
    }
    if (!seen_name)
      fail_422(member(path, "name"), "is required");
    if (!seen_type)
      fail_422(member(path, "type"), "is required");
    for (const auto& prev : out)
      if (prev.name == a.name)
        fail_422(member(path, "name"), "is registered more than once");
    out.push_back(std::move(a));
  }
  return out;
}

event_type_def read_event_type(od::document& doc) {
  od::object obj = get_root_object(doc);
  event_type_def d;
  bool seen_code = false, seen_name = false, seen_desc = false, seen_ns = false,
       seen_version = false, seen_reg = false, seen_attrs = false;
  auto once = [](bool& seen, const char* name) {
    if (seen)
      fail_400(name, "appears more than once");
    seen = true;
  };
  for (auto field : obj) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key))
      throw codec_failure{malformed(err)};
    od::value val;
    if (auto err = field.value().get(val))
      throw codec_failure{malformed(err)};
    if (key_is(key, "code")) {
      once(seen_code, "code");
      d.code = required_string(val, "code");
    } else if (key_is(key, "name")) {
      once(seen_name, "name");
      d.name = required_string(val, "name");
    } else if (key_is(key, "description")) {
      once(seen_desc, "description");
      if (!is_null(val))
        d.description = get_string(val, "description");
    } else if (key_is(key, "namespace")) {
      once(seen_ns, "namespace");
      if (!is_null(val))
        d.ns = get_string(val, "namespace");
    } else if (key_is(key, "version")) {
      once(seen_version, "version");
      if (!is_null(val)) {
        d.version = get_double(val, "version");
        if (!(d.version > 0))
          fail_422("version", "must be a positive number");
      }
    } else if (key_is(key, "registrationtype")) {
      once(seen_reg, "registrationType");
      if (!is_null(val)) {
        auto r = get_string(val, "registrationType");
        if (key_is(r, "publish"))
          d.registration_type = "PUBLISH";
        else if (key_is(r, "subscribe"))
          d.registration_type = "SUBSCRIBE";
        else
          fail_422("registrationType", "must be PUBLISH or SUBSCRIBE");
      }
    } else if (key_is(key, "attributes")) {
      once(seen_attrs, "attributes");
      if (!is_null(val))
        d.attributes = read_attribute_defs(val);
    } else {
      fail_unknown(
        "", key,
        {"code", "name", "description", "namespace", "version", "registrationType", "attributes"});
    }
  }
  if (!seen_code)
    fail_422("code", "is required");
  if (!seen_name)
    fail_422("name", "is required");
  // The routed type is what subscriptions match, so it must be a valid
  // event type; blame the part that makes it invalid.
  if (!d.ns.empty())
    if (auto why = validate_event_type(d.ns))
      fail_422("namespace", *why);
  if (auto why = validate_event_type(d.routed_type()))
    fail_422("code", d.ns.empty() ? *why : "with the namespace, the event type " + *why);
  return d;
}

} // namespace

result<event_type_def> decode_event_type(std::string& body) {
  return json::decode<event_type_def>(body, read_event_type);
}

void write_event_type(json_writer& w, const event_type_def& t) {
  w.begin_object();
  w.key("code").value(t.code);
  w.key("version").value(t.version);
  w.key("namespace").value(t.ns);
  w.key("name").value(t.name);
  w.key("description").value(t.description);
  w.key("attributes").begin_array();
  for (const auto& a : t.attributes)
    w.begin_object().key("name").value(a.name).key("type").value(a.type).end_object();
  w.end_array();
  w.key("registrationType").value(t.registration_type);
  w.end_object();
}

} // namespace sy::core
