// POST /v1/event: the Acoustic Exchange shapes of an event or a batch.

#include "core/acoustic_codec.hpp"

#include <algorithm>
#include <array>
#include <cassert>

#include "core/json_input.hpp"
#include "core/time_format.hpp"

namespace sy::core {

namespace {

using namespace json;

// -- attribute values ---------------------------------------------------------

// Returns why `value` does not hold a `t`, or nullptr when it does.
const char* value_mismatch(attribute_type t, std::string_view value) {
  switch (t) {
    case attribute_type::string: return nullptr;
    case attribute_type::number:
      return is_json_number(value) ? nullptr
                                   : "must hold a number (type number), such as \"125.53\"";
    case attribute_type::boolean:
      return key_is(value, "true") || key_is(value, "false")
               ? nullptr
               : "must hold \"true\" or \"false\" (type boolean)";
    case attribute_type::date:
      return parse_iso8601_ms(value)
               ? nullptr
               : "must hold an ISO-8601 time such as \"2015-02-28T20:16:12Z\" (type date)";
  }
  return nullptr;
}

// -- field paths --------------------------------------------------------------

// A field path kept as its parts and joined only when an error names it:
// joining "eventbatch[1].events[0].attributes[2].value" for every field read
// would cost allocations per event on the ingest path.
class field_path {
public:
  /// Returns this path extended by member `name`, itself indexed by `idx` when ≥ 0.
  field_path at(std::string_view name, long idx = -1) const {
    assert(n_ < static_cast<int>(segs_.size()));
    field_path p = *this;
    p.segs_[static_cast<std::size_t>(p.n_++)] = {name, idx};
    return p;
  }

  /// Returns this path with its last member indexed by `idx`.
  field_path index(long idx) const {
    assert(n_ > 0);
    field_path p = *this;
    p.segs_[static_cast<std::size_t>(p.n_ - 1)].idx = idx;
    return p;
  }

  /// Returns the joined path, such as "events[0].code".
  std::string str() const {
    std::string out;
    for (int i = 0; i < n_; ++i) {
      const auto& s = segs_[static_cast<std::size_t>(i)];
      out = member(out, s.name);
      if (s.idx >= 0)
        out = element(out, static_cast<std::size_t>(s.idx));
    }
    return out;
  }

private:
  struct seg {
    std::string_view name;
    long idx = -1;
  };
  std::array<seg, 5> segs_{};
  int n_ = 0;
};

[[noreturn]] void fail_at(const field_path& p, std::string message, long index) {
  fail_400(p.str(), std::move(message), index);
}

[[noreturn]] void malformed_at(const field_path& p, simdjson::error_code err, long index) {
  fail_at(p, std::string("malformed JSON: ") + simdjson::error_message(err), index);
}

od::json_type kind_at(od::value& v, const field_path& p, long index) {
  od::json_type t;
  if (auto err = v.type().get(t))
    malformed_at(p, err, index);
  return t;
}

[[noreturn]] void wrong_type(od::json_type got, const field_path& p, const char* want, long index) {
  fail_at(p, std::string("must be ") + want + ", got " + type_name(got), index);
}

std::string_view string_at(od::value& v, const field_path& p, long index) {
  auto t = kind_at(v, p, index);
  if (t != od::json_type::string)
    wrong_type(t, p, "a string", index);
  std::string_view s;
  if (auto err = v.get_string().get(s))
    malformed_at(p, err, index);
  return s;
}

std::string_view nonempty_string_at(od::value& v, const field_path& p, long index) {
  auto s = string_at(v, p, index);
  if (s.empty())
    fail_at(p, "must not be empty", index);
  return s;
}

od::array array_at(od::value& v, const field_path& p, long index) {
  auto t = kind_at(v, p, index);
  if (t != od::json_type::array)
    wrong_type(t, p, "an array", index);
  od::array a;
  if (auto err = v.get_array().get(a))
    malformed_at(p, err, index);
  return a;
}

od::object object_at(od::value& v, const field_path& p, long index) {
  auto t = kind_at(v, p, index);
  if (t != od::json_type::object)
    wrong_type(t, p, "an object", index);
  od::object o;
  if (auto err = v.get_object().get(o))
    malformed_at(p, err, index);
  return o;
}

// Calls read(key, value) for each member of `obj`, in document order.
template <class Read>
void each_member(od::object& obj, const field_path& p, long index, Read&& read) {
  for (auto field : obj) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key))
      malformed_at(p, err, index);
    od::value val;
    if (auto err = field.value().get(val))
      malformed_at(p, err, index);
    read(key, val);
  }
}

// Calls read(i, value) for each element of `arr`; returns how many there were.
template <class Read>
long each_element(od::array& arr, const field_path& p, long index, Read&& read) {
  long i = 0;
  for (auto elem : arr) {
    od::value v;
    if (auto err = elem.get(v))
      malformed_at(p.index(i), err, index);
    read(i, v);
    ++i;
  }
  return i;
}

[[noreturn]] void fail_unknown_at(const field_path& p, std::string_view key,
                                  std::initializer_list<std::string_view> known, long index) {
  fail_unknown(p.str(), key, known, index);
}

void once(bool& seen, const field_path& p, long index) {
  if (seen)
    fail_at(p, "appears more than once", index);
  seen = true;
}

// -- POST /v1/event -----------------------------------------------------------

struct identifier_view {
  std::string_view name, value;
};

struct attribute_view {
  std::string_view name, value;
  std::optional<attribute_type> type; // the attribute's own "type", if it gave one
};

// A run [begin, end) of a flat vector shared by the whole batch, so that an
// event's identifiers or attributes cost no allocation of their own.
struct item_run {
  std::size_t begin = 0, end = 0;
  bool empty() const { return begin == end; }
};

// A level that events take their channel and identifiers from: the body
// (individual and simple forms, and the top level of a compound batch) or
// one element of a compound batch's eventbatch.
struct batch_level {
  long batch_index = -1; // position in eventbatch; -1 for the body
  std::string_view channel;
  bool has_channel = false;
  item_run identifiers;
};

struct pending_event {
  std::size_t level = 0; // index into reader::levels_
  long position = 0;     // index inside its events array
  std::string_view type; // routed type, kept in the batch
  std::string_view channel;
  bool has_channel = false;
  item_run identifiers;
  item_run attributes;
  int64_t timestamp_ms = 0;
  std::size_t data_begin = 0, data_end = 0;
};

// Reads a v1/event body in two passes. The first pass reads every event and
// checks all that depends on the event alone; the second settles channel and
// identifiers, which may come from a batch level that On Demand's forward-only
// reading meets only after the events (`"events"` before `"channel"`).
// Its string_views point into the parser's string buffer, valid until
// decode() returns: only what the batch keeps outlives the reader.
class reader {
public:
  reader(const event_type_lookup& lookup, int64_t now_ms) : lookup_(lookup), now_ms_(now_ms) {}

  event_batch read(od::document& doc) {
    od::object obj = root_object(doc);
    read_body(obj);
    settle();
    return std::move(batch_);
  }

private:
  void read_body(od::object& obj) {
    const field_path root;
    levels_.push_back(batch_level{});
    bool seen_channel = false, seen_ids = false, seen_events = false, seen_batch = false,
         seen_provider = false;
    each_member(obj, root, -1, [&](std::string_view key, od::value& val) {
      if (key_is(key, "channel")) {
        once(seen_channel, root.at("channel"), -1);
        read_channel(val, root.at("channel"), -1, levels_[0].channel, levels_[0].has_channel);
      } else if (key_is(key, "identifiers")) {
        once(seen_ids, root.at("identifiers"), -1);
        levels_[0].identifiers = read_identifiers(val, root.at("identifiers"), -1);
      } else if (key_is(key, "events")) {
        auto p = root.at("events");
        once(seen_events, p, -1);
        if (seen_batch)
          fail_at(p, "must not be given beside eventbatch: send one form", -1);
        if (!is_null(val))
          read_events(val, p, 0);
      } else if (key_is(key, "eventbatch")) {
        auto p = root.at("eventbatch");
        once(seen_batch, p, -1);
        if (seen_events)
          fail_at(p, "must not be given beside events: send one form", -1);
        if (!is_null(val)) {
          // Known before any event is read: it decides whether a timestamp is required.
          compound_ = true;
          read_eventbatch(val, p);
        }
      } else if (key_is(key, "provider")) {
        once(seen_provider, root.at("provider"), -1);
        if (!is_null(val))
          string_at(val, root.at("provider"), -1);
      } else {
        fail_unknown_at(root, key, {"channel", "identifiers", "events", "eventbatch", "provider"},
                        -1);
      }
    });
    if (!compound_ && events_.empty())
      fail_at(root.at("events"), "is required (or eventbatch, for a compound batch)", -1);
    if (compound_ && !levels_[0].identifiers.empty())
      fail_at(root.at("identifiers"),
              "must not be given beside eventbatch: give them in each eventbatch element", -1);
  }

  void read_channel(od::value& val, const field_path& p, long index, std::string_view& channel,
                    bool& has_channel) {
    if (is_null(val))
      return;
    channel = nonempty_string_at(val, p, index);
    has_channel = true;
  }

  // Reads an identifiers array (null or [] = none given) into identifiers_.
  item_run read_identifiers(od::value& val, const field_path& p, long index) {
    item_run s{identifiers_.size(), identifiers_.size()};
    if (is_null(val))
      return s;
    auto arr = array_at(val, p, index);
    each_element(arr, p, index, [&](long k, od::value& v) {
      auto ip = p.index(k);
      auto obj = object_at(v, ip, index);
      identifier_view id;
      bool seen_name = false, seen_value = false;
      each_member(obj, ip, index, [&](std::string_view key, od::value& fv) {
        if (key_is(key, "name")) {
          once(seen_name, ip.at("name"), index);
          id.name = nonempty_string_at(fv, ip.at("name"), index);
        } else if (key_is(key, "value")) {
          once(seen_value, ip.at("value"), index);
          id.value = nonempty_string_at(fv, ip.at("value"), index);
        } else if (!key_is(key, "channel") && !key_is(key, "provider")) {
          // Acoustic's own examples put "channel" and "provider" here: known, ignored.
          fail_unknown_at(ip, key, {"name", "value", "channel", "provider"}, index);
        }
      });
      if (!seen_name)
        fail_at(ip.at("name"), "is required", index);
      if (!seen_value)
        fail_at(ip.at("value"), "is required", index);
      identifiers_.push_back(id);
    });
    s.end = identifiers_.size();
    return s;
  }

  void read_eventbatch(od::value& val, const field_path& p) {
    auto arr = array_at(val, p, -1);
    long n = each_element(arr, p, -1, [&](long b, od::value& v) {
      auto bp = p.index(b);
      auto obj = object_at(v, bp, -1);
      std::size_t level = levels_.size();
      levels_.emplace_back().batch_index = b;
      bool seen_ids = false, seen_events = false, seen_channel = false, has_events = false;
      each_member(obj, bp, -1, [&](std::string_view key, od::value& fv) {
        if (key_is(key, "identifiers")) {
          once(seen_ids, bp.at("identifiers"), -1);
          auto ids = read_identifiers(fv, bp.at("identifiers"), -1);
          levels_[level].identifiers = ids;
        } else if (key_is(key, "events")) {
          once(seen_events, bp.at("events"), -1);
          if (!is_null(fv)) {
            read_events(fv, bp.at("events"), level);
            has_events = true;
          }
        } else if (key_is(key, "channel")) {
          once(seen_channel, bp.at("channel"), -1);
          auto& l = levels_[level];
          read_channel(fv, bp.at("channel"), -1, l.channel, l.has_channel);
        } else {
          fail_unknown_at(bp, key, {"identifiers", "events", "channel"}, -1);
        }
      });
      if (!has_events)
        fail_at(bp.at("events"), "is required", -1);
    });
    if (n == 0)
      fail_at(p, "must hold at least one element", -1);
  }

  void read_events(od::value& val, const field_path& p, std::size_t level) {
    auto arr = array_at(val, p, -1);
    long n = each_element(arr, p, static_cast<long>(events_.size()),
                          [&](long i, od::value& v) { read_event(v, p.index(i), level, i); });
    if (n == 0)
      fail_at(p, "must hold at least one event", -1);
  }

  void read_event(od::value& v, const field_path& p, std::size_t level, long position) {
    const long index = static_cast<long>(events_.size());
    auto obj = object_at(v, p, index);
    pending_event e;
    e.level = level;
    e.position = position;
    std::string_view code, timestamp;
    bool seen_code = false, seen_ts = false, seen_channel = false, seen_ids = false,
         seen_attrs = false, has_ts = false;
    each_member(obj, p, index, [&](std::string_view key, od::value& fv) {
      if (key_is(key, "code")) {
        once(seen_code, p.at("code"), index);
        code = nonempty_string_at(fv, p.at("code"), index);
      } else if (key_is(key, "timestamp")) {
        once(seen_ts, p.at("timestamp"), index);
        if (!is_null(fv)) {
          timestamp = string_at(fv, p.at("timestamp"), index);
          has_ts = true;
        }
      } else if (key_is(key, "channel")) {
        once(seen_channel, p.at("channel"), index);
        read_channel(fv, p.at("channel"), index, e.channel, e.has_channel);
      } else if (key_is(key, "identifiers")) {
        once(seen_ids, p.at("identifiers"), index);
        e.identifiers = read_identifiers(fv, p.at("identifiers"), index);
      } else if (key_is(key, "attributes")) {
        once(seen_attrs, p.at("attributes"), index);
        e.attributes = read_attributes(fv, p.at("attributes"), index);
      } else {
        fail_unknown_at(p, key, {"code", "timestamp", "channel", "identifiers", "attributes"},
                        index);
      }
    });
    if (!seen_code)
      fail_at(p.at("code"), "is required", index);
    const event_type_def* def = lookup_(code);
    if (!def)
      fail_at(p.at("code"),
              "is not a registered event type: register it first with POST /v1/eventtype", index);
    e.type = routed_type_of(def);
    if (has_ts) {
      auto ms = parse_iso8601_ms(timestamp);
      if (!ms)
        fail_at(p.at("timestamp"), "must be an ISO-8601 time such as 2015-02-28T20:16:12Z", index);
      if (*ms < 0)
        fail_at(p.at("timestamp"), "must not be before 1970-01-01T00:00:00Z", index);
      e.timestamp_ms = *ms;
    } else if (!compound_) {
      // Acoustic lets only a compound batch leave the time of an event out.
      fail_at(p.at("timestamp"), "is required (an ISO-8601 time such as 2015-02-28T20:16:12Z)",
              index);
    } else {
      e.timestamp_ms = now_ms_;
    }
    check_attributes(*def, e.attributes, p, index);
    events_.push_back(e);
  }

  item_run read_attributes(od::value& val, const field_path& p, long index) {
    item_run s{attributes_.size(), attributes_.size()};
    if (is_null(val))
      return s;
    auto arr = array_at(val, p, index);
    each_element(arr, p, index, [&](long j, od::value& v) {
      auto ap = p.index(j);
      auto obj = object_at(v, ap, index);
      attribute_view a;
      bool seen_name = false, seen_value = false, seen_type = false;
      each_member(obj, ap, index, [&](std::string_view key, od::value& fv) {
        if (key_is(key, "name")) {
          once(seen_name, ap.at("name"), index);
          a.name = nonempty_string_at(fv, ap.at("name"), index);
        } else if (key_is(key, "value")) {
          // Acoustic passes every value as a string, whatever its type.
          once(seen_value, ap.at("value"), index);
          a.value = string_at(fv, ap.at("value"), index);
        } else if (key_is(key, "type")) {
          once(seen_type, ap.at("type"), index);
          if (is_null(fv))
            return;
          a.type = parse_attribute_type(string_at(fv, ap.at("type"), index));
          if (!a.type)
            fail_at(ap.at("type"), "must be string, number, boolean or date", index);
        }
      });
      if (!seen_name)
        fail_at(ap.at("name"), "is required", index);
      if (!seen_value)
        fail_at(ap.at("value"), "is required", index);
      attributes_.push_back(a);
    });
    s.end = attributes_.size();
    return s;
  }

  // Checks the attributes against the registered event type, once the
  // event's code is known (it may follow the attributes in the object).
  void check_attributes(const event_type_def& def, item_run attrs, const field_path& p,
                        long index) {
    for (std::size_t j = attrs.begin; j < attrs.end; ++j) {
      const auto& a = attributes_[j];
      auto ap = p.at("attributes", static_cast<long>(j - attrs.begin));
      const attribute_def* registered = nullptr;
      for (const auto& d : def.attributes)
        if (d.name == a.name) {
          registered = &d;
          break;
        }
      if (!registered && !def.attributes.empty())
        fail_at(ap.at("name"),
                "is not an attribute registered for event type " + def.code +
                  ": register it with POST /v1/eventtype",
                index);
      auto type = a.type;
      if (!type && registered)
        type = parse_attribute_type(registered->type);
      if (auto why = value_mismatch(type.value_or(attribute_type::string), a.value))
        fail_at(ap.at("value"), why, index);
    }
    // Names become the keys of data.attributes, so each may appear once.
    // Sorting a reused scratch list keeps this O(n log n) without allocating
    // per event.
    scratch_.clear();
    for (std::size_t j = attrs.begin; j < attrs.end; ++j)
      scratch_.push_back(j);
    std::stable_sort(scratch_.begin(), scratch_.end(), [&](std::size_t x, std::size_t y) {
      return attributes_[x].name < attributes_[y].name;
    });
    for (std::size_t k = 1; k < scratch_.size(); ++k)
      if (attributes_[scratch_[k]].name == attributes_[scratch_[k - 1]].name)
        fail_at(p.at("attributes", static_cast<long>(scratch_[k] - attrs.begin)).at("name"),
                "appears more than once in this event", index);
  }

  // Returns the routed type of `def`, kept once per event type in the batch:
  // the registry may change after the request, the batch may not.
  std::string_view routed_type_of(const event_type_def* def) {
    for (const auto& [d, type] : types_)
      if (d == def)
        return type;
    auto type = batch_.keep(def->routed_type());
    types_.emplace_back(def, type);
    return type;
  }

  field_path event_path(const pending_event& e) const {
    const auto& level = levels_[e.level];
    field_path root;
    if (level.batch_index < 0)
      return root.at("events", e.position);
    return root.at("eventbatch", level.batch_index).at("events", e.position);
  }

  // Second pass: settles each event's channel and identifiers and writes its
  // data object. All data objects go into one kept string, one allocation.
  void settle() {
    const auto& top = levels_[0];
    for (std::size_t l = 1; l < levels_.size(); ++l)
      if (levels_[l].has_channel && top.has_channel)
        fail_at(field_path().at("eventbatch", levels_[l].batch_index).at("channel"),
                "is also given at the top level: give the channel at one level only", -1);
    json_writer w;
    for (std::size_t i = 0; i < events_.size(); ++i) {
      auto& e = events_[i];
      const long index = static_cast<long>(i);
      const auto& level = levels_[e.level];
      bool batch_has_channel = level.has_channel || top.has_channel;
      auto batch_channel = level.has_channel ? level.channel : top.channel;
      if (e.has_channel && batch_has_channel)
        fail_at(event_path(e).at("channel"),
                "is also given at the batch level: give the channel at one level only", index);
      if (!e.has_channel && !batch_has_channel)
        fail_at(event_path(e).at("channel"), "is required, at the batch level or in the event",
                index);
      if (!e.identifiers.empty() && !level.identifiers.empty())
        fail_at(event_path(e).at("identifiers"),
                "are also given at the batch level: give identifiers at one level only", index);
      if (e.identifiers.empty() && level.identifiers.empty())
        fail_at(event_path(e).at("identifiers"),
                "required: give at least one identifier, at the batch level or in the event",
                index);
      auto ids = e.identifiers.empty() ? level.identifiers : e.identifiers;
      e.data_begin = w.str().size();
      w.begin_object();
      w.key("channel").value(e.has_channel ? e.channel : batch_channel);
      w.key("identifiers").begin_array();
      for (std::size_t k = ids.begin; k < ids.end; ++k)
        w.begin_object()
          .key("name")
          .value(identifiers_[k].name)
          .key("value")
          .value(identifiers_[k].value)
          .end_object();
      w.end_array();
      w.key("attributes").begin_object();
      for (std::size_t j = e.attributes.begin; j < e.attributes.end; ++j)
        w.key(attributes_[j].name).value(attributes_[j].value);
      w.end_object();
      w.end_object();
      e.data_end = w.str().size();
    }
    // Top-level values follow one another without a separator, so the
    // objects sit back to back in one string.
    auto all = batch_.keep(std::move(w).str());
    batch_.events.reserve(events_.size());
    for (const auto& e : events_) {
      event_view v;
      v.type = e.type;
      v.data = all.substr(e.data_begin, e.data_end - e.data_begin);
      v.timestamp_ms = e.timestamp_ms;
      batch_.events.push_back(v);
    }
  }

  const event_type_lookup& lookup_;
  int64_t now_ms_;
  bool compound_ = false;
  event_batch batch_;
  std::vector<batch_level> levels_; // [0] = the body
  std::vector<pending_event> events_;
  std::vector<identifier_view> identifiers_;
  std::vector<attribute_view> attributes_;
  std::vector<std::size_t> scratch_;
  std::vector<std::pair<const event_type_def*, std::string_view>> types_;
};

} // namespace

result<event_batch> decode_acoustic_events(std::string& body, const event_type_lookup& lookup,
                                           int64_t now_ms) {
  return json::decode<event_batch>(
    body, [&](od::document& doc) { return reader(lookup, now_ms).read(doc); });
}

} // namespace sy::core
