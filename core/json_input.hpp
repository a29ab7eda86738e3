#pragma once
// Reading request bodies with simdjson On Demand: the helpers every codec
// shares. Included by codec .cpp files only (simdjson.h is large).
//
// Codecs throw codec_failure (or let simdjson_error escape) while reading;
// decode() catches both at the codec's boundary and returns an input_error,
// so no exception leaves core.

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/ascii.hpp"
#include "core/field_names.hpp"
#include "core/result.hpp"

namespace sy::core::json {

namespace od = simdjson::ondemand;

/// Thrown inside a codec to refuse the input with `error`.
struct codec_failure {
  input_error error;
};

/// Refuses the input with a 400 naming `field`.
[[noreturn]] void fail_400(std::string field, std::string message, long index = -1);

/// Refuses the input with a 422 naming `field`.
[[noreturn]] void fail_422(std::string field, std::string message, long index = -1);

/// Refuses member `key` of the object at `path` with 422, naming the nearest
/// of `known` as a hint (core/field_names.hpp). Every codec's member loop
/// ends in this: only `data` and Acoustic attributes are free-form.
[[noreturn]] void fail_unknown(std::string_view path, std::string_view key,
                               std::initializer_list<std::string_view> known, long index = -1);

/// Deepest nesting accepted inside a pass-through JSON value (`data`).
inline constexpr int max_depth = 128;

/// Returns true when `key` equals `lower_name` ignoring ASCII case.
/// `lower_name` must be lowercase.
inline bool key_is(std::string_view key, std::string_view lower_name) {
  // lower_name is already lowercase, so comparing without case is exact.
  return equal_nocase(key, lower_name);
}

/// Returns "a string", "a number", … for messages.
const char* type_name(od::json_type t);

/// Joins a path and a member name: "events[2]" + "code" → "events[2].code".
std::string member(std::string_view path, std::string_view name);

/// Returns "path[i]".
std::string element(std::string_view path, std::size_t i);

/// Returns true when the value is JSON null (and consumes it).
bool is_null(od::value& v);

/// Returns the string value or refuses with 400 "must be a string".
std::string_view get_string(od::value& v, std::string_view field, long index = -1);

/// Returns the boolean or refuses with 400.
bool get_bool(od::value& v, std::string_view field, long index = -1);

/// Returns the integer; 400 when not a number, 422 when not an integer or
/// outside [min, max].
int64_t get_integer(od::value& v, std::string_view field, int64_t min, int64_t max,
                    long index = -1);

/// Returns the number as a double; 400 when not a number.
double get_double(od::value& v, std::string_view field, long index = -1);

/// Returns the object or refuses with 400 "must be an object".
od::object get_object(od::value& v, std::string_view field, long index = -1);

/// Returns the array or refuses with 400 "must be an array".
od::array get_array(od::value& v, std::string_view field, long index = -1);

/// Returns the object's exact bytes once every token in it is validated
/// (depth ≤ max_depth). 400 naming `field` when not an object or not valid
/// JSON. The bytes are checked by scan_json_object; when the scanner refuses,
/// the decode starts again under walk_raw_values, which produces the error.
std::string_view get_raw_object(od::value& v, std::string_view field, long index = -1);

/// Returns the string, or nullopt when the value is null; otherwise as
/// get_string. One call for a present string.
std::optional<std::string_view> get_optional_string(od::value& v, std::string_view field,
                                                    long index = -1);

/// Returns the integer, or nullopt when the value is null; otherwise as
/// get_integer. One call for a present integer.
std::optional<int64_t> get_optional_integer(od::value& v, std::string_view field, int64_t min,
                                            int64_t max, long index = -1);

/// Returns the object's bytes, or nullopt when the value is null; otherwise
/// as get_raw_object. One call for a present object.
std::optional<std::string_view> get_optional_raw_object(od::value& v, std::string_view field,
                                                        long index = -1);

/// Returns true when `text` is exactly one JSON object (no surrounding
/// whitespace) that the token walk of get_raw_object would accept, nesting
/// at most max_depth levels. Conservative: on any doubt (a lone surrogate
/// escape, say) it returns false and the walk decides. It does not check
/// UTF-8: simdjson's first stage has checked the whole body before.
bool scan_json_object(std::string_view text);

/// Makes get_raw_object on this thread walk every token through On Demand
/// while it lives (the check before the byte scanner; it is what words the
/// error). decode() uses it to read a body again after the scanner refused
/// a value; tests use it to compare the two.
class walk_raw_values {
public:
  walk_raw_values();
  ~walk_raw_values();
  walk_raw_values(const walk_raw_values&) = delete;
  walk_raw_values& operator=(const walk_raw_values&) = delete;

private:
  bool saved_;
};

/// Thrown by get_raw_object when the scanner refuses a value: decode() reads
/// the body again under walk_raw_values.
struct raw_value_refused {};

/// Refuses any malformed document with 400, then rewinds `doc` for the
/// reader. On Demand finds syntax errors only where it reads, so a reader
/// that refuses a missing field with 422 could hide a malformed body; small
/// control-plane bodies are checked whole first, so that every malformed
/// body is a 400. (The hot ingest path validates as it reads instead.)
void check_well_formed(od::document& doc);

/// Returns the document's root object after check_well_formed; any other
/// JSON type, or a malformed body, is refused with 400.
od::object get_root_object(od::document& doc);

/// Returns the document's root object, refusing any other JSON type with 400;
/// for readers that validate as they read (no check_well_formed pass).
od::object root_object(od::document& doc);

/// Refuses with 400 a scalar document (a root that is no object or array)
/// that is not valid JSON, then rewinds `doc`.
void check_scalar_document(od::document& doc);

/// Refuses a repeated member of one object (bit = the member's slot) with
/// 400, instead of letting the last one win silently.
class seen_members {
public:
  void once(unsigned bit, std::string_view field) {
    if (bits_ & (1u << bit))
      fail_400(std::string(field), "appears more than once");
    bits_ |= 1u << bit;
  }

private:
  uint32_t bits_ = 0;
};

/// Calls f(key, value) for every member of `obj`, an object at `path`.
template <class F>
void for_each_member(od::object obj, std::string_view path, F&& f) {
  for (auto field : obj) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key))
      fail_400(std::string(path), std::string("malformed JSON: ") + simdjson::error_message(err));
    od::value val;
    if (auto err = field.value().get(val))
      fail_400(std::string(path), std::string("malformed JSON: ") + simdjson::error_message(err));
    f(key, val);
  }
}

/// Returns true when `tok` is exactly a number in JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view tok);

/// Parses `body` (made padded in place: capacity grows by SIMDJSON_PADDING
/// if needed, before any view is taken) and calls `read(doc)`, which returns
/// T. Translates every failure into an input_error; refuses trailing content.
template <class T, class Read>
result<T> decode(std::string& body, Read&& read);

// -- implementation of decode -------------------------------------------------

/// Returns the input_error for a simdjson error met outside a named field.
input_error malformed(simdjson::error_code code);

/// Returns true when `e` refuses malformed JSON (rather than a valid
/// document's content).
bool is_syntax_error(const input_error& e);

/// Rewrites a syntax error as `invalid JSON at byte N: <what>`, with N the
/// offset of `at` in `body` (clamped; nullptr = the end of the body).
input_error at_offset(input_error e, std::string_view body, const char* at);

/// Returns where in `body` the first stage (structure, strings, UTF-8) of
/// simdjson found `code`, found again by a forward scan: the On Demand
/// parser gives no position when iterate() itself fails.
const char* stage1_error_location(std::string_view body, simdjson::error_code code);

/// Returns the thread's parser (one per thread; On Demand reuses its buffers).
od::parser& thread_parser();

template <class T, class Read>
result<T> decode(std::string& body, Read&& read) {
  if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING)
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  simdjson::padded_string_view input(body.data(), body.size(), body.capacity());
  std::string_view text(body.data(), body.size());
  od::document doc;
  if (auto err = thread_parser().iterate(input).get(doc))
    return at_offset(malformed(err), text, stage1_error_location(text, err));
  // The iterator's position when a syntax error is thrown is the token
  // where On Demand met it (after an unrecoverable error, the one before).
  auto here = [&]() -> const char* {
    const char* at = nullptr;
    return doc.current_location().get(at) == simdjson::SUCCESS ? at : nullptr;
  };
  auto run = [&]() -> result<T> {
    try {
      T out = read(doc);
      if (const char* rest = here())
        return at_offset(bad_request("", "malformed JSON: unexpected content after the document"),
                         text, rest);
      return out;
    } catch (const codec_failure& f) {
      if (is_syntax_error(f.error))
        return at_offset(f.error, text, here());
      return f.error;
    } catch (const simdjson::simdjson_error& e) {
      return at_offset(malformed(e.error()), text, here());
    }
  };
  try {
    return run();
  } catch (const raw_value_refused&) {
    // Only a body the byte scanner doubts is read twice: the token walk
    // then accepts it or refuses it with the message it always gave. The
    // document is indexed again, not rewound: a failed skip abandons it.
    walk_raw_values walk;
    if (auto err = thread_parser().iterate(input).get(doc))
      return at_offset(malformed(err), text, stage1_error_location(text, err));
    return run();
  }
}

} // namespace sy::core::json
