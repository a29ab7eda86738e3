#include "core/json_input.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "core/ascii.hpp"

namespace sy::core::json {

void fail_400(std::string field, std::string message, long index) {
  throw codec_failure{bad_request(std::move(field), std::move(message), index)};
}

void fail_422(std::string field, std::string message, long index) {
  throw codec_failure{unprocessable(std::move(field), std::move(message), index)};
}

void fail_unknown(std::string_view path, std::string_view key,
                  std::initializer_list<std::string_view> known, long index) {
  throw codec_failure{unknown_field(path, key, known, index)};
}

const char* type_name(od::json_type t) {
  switch (t) {
    case od::json_type::array: return "an array";
    case od::json_type::object: return "an object";
    case od::json_type::number: return "a number";
    case od::json_type::string: return "a string";
    case od::json_type::boolean: return "a boolean";
    case od::json_type::null: return "null";
  }
  return "an unknown value";
}

std::string member(std::string_view path, std::string_view name) {
  if (path.empty())
    return std::string(name);
  std::string out;
  out.reserve(path.size() + 1 + name.size());
  out.append(path).append(".").append(name);
  return out;
}

std::string element(std::string_view path, std::size_t i) {
  std::string out(path);
  out.append("[").append(std::to_string(i)).append("]");
  return out;
}

bool is_json_number(std::string_view tok) {
  std::size_t i = 0, n = tok.size();
  auto digits = [&] {
    std::size_t start = i;
    while (i < n && tok[i] >= '0' && tok[i] <= '9')
      ++i;
    return i - start;
  };
  if (i < n && tok[i] == '-')
    ++i;
  if (i < n && tok[i] == '0')
    ++i;
  else if (digits() == 0)
    return false;
  if (i < n && tok[i] == '.') {
    ++i;
    if (digits() == 0)
      return false;
  }
  if (i < n && (tok[i] == 'e' || tok[i] == 'E')) {
    ++i;
    if (i < n && (tok[i] == '+' || tok[i] == '-'))
      ++i;
    if (digits() == 0)
      return false;
  }
  return i == n;
}

namespace {

// Returns a raw token without the whitespace On Demand leaves after it.
std::string_view token_text(std::string_view tok) {
  while (!tok.empty() &&
         (tok.back() == ' ' || tok.back() == '\n' || tok.back() == '\r' || tok.back() == '\t'))
    tok.remove_suffix(1);
  return tok;
}

od::json_type type_of(od::value& v, std::string_view field, long index) {
  od::json_type t;
  if (auto err = v.type().get(t))
    fail_400(std::string(field),
             std::string("malformed JSON value: ") + simdjson::error_message(err), index);
  return t;
}

[[noreturn]] void wrong_type(od::json_type got, std::string_view field, const char* want,
                             long index) {
  fail_400(std::string(field), std::string("must be ") + want + ", got " + type_name(got), index);
}

[[noreturn]] void out_of_range(std::string_view field, int64_t min, int64_t max, long index) {
  fail_422(std::string(field),
           "must be an integer between " + std::to_string(min) + " and " + std::to_string(max),
           index);
}

[[noreturn]] void malformed_value(simdjson::error_code err, std::string_view field, long index) {
  fail_400(std::string(field), std::string("malformed JSON value: ") + simdjson::error_message(err),
           index);
}

// Touches every token below `v` so that On Demand validates it.
void walk(od::value v, int depth, std::string_view field, long index) {
  if (depth > max_depth)
    fail_400(std::string(field), "JSON nests deeper than " + std::to_string(max_depth) + " levels",
             index);
  auto t = type_of(v, field, index);
  switch (t) {
    case od::json_type::object: {
      od::object o;
      if (auto err = v.get_object().get(o))
        malformed_value(err, field, index);
      for (auto f : o) {
        std::string_view k;
        if (auto err = f.unescaped_key().get(k))
          malformed_value(err, field, index);
        od::value child;
        if (auto err = f.value().get(child))
          malformed_value(err, field, index);
        walk(child, depth + 1, field, index);
      }
      break;
    }
    case od::json_type::array: {
      od::array a;
      if (auto err = v.get_array().get(a))
        malformed_value(err, field, index);
      for (auto e : a) {
        od::value child;
        if (auto err = e.get(child))
          malformed_value(err, field, index);
        walk(child, depth + 1, field, index);
      }
      break;
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto err = v.get_string().get(s))
        malformed_value(err, field, index);
      break;
    }
    case od::json_type::number: {
      // Any well-formed number passes, however large: it is passed through.
      if (!is_json_number(token_text(v.raw_json_token())))
        malformed_value(simdjson::NUMBER_ERROR, field, index);
      double ignored;
      // Advances past the token; a number beyond double's range is not an error here.
      [[maybe_unused]] auto err = v.get_double().get(ignored);
      break;
    }
    case od::json_type::boolean: {
      bool b;
      if (auto err = v.get_bool().get(b))
        malformed_value(err, field, index);
      break;
    }
    case od::json_type::null: {
      bool n;
      if (auto err = v.is_null().get(n); err || !n)
        malformed_value(err ? err : simdjson::N_ATOM_ERROR, field, index);
      break;
    }
  }
}

// The byte scanner behind scan_json_object. It checks what the token walk
// checks (the grammar, every escape, number and literal, the nesting depth)
// in one pass over the bytes, with the position in a register: per byte it
// costs a fraction of a token's trip through On Demand. Strings may hold any
// byte from 0x20 up; UTF-8 was checked for the whole body by simdjson's
// first stage. Reads only inside [p, end).

using byte_ptr = const unsigned char*;

inline bool is_space(unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

inline void skip_space(byte_ptr& p, byte_ptr end) {
  // One comparison for the common byte that is no space (compact JSON).
  while (p < end && *p <= ' ' && is_space(*p))
    ++p;
}

// Returns a mask whose lowest set bit is the high bit of the first of the 8
// bytes at p that is a '"', a backslash or below 0x20; 0 when there is none.
// (The borrows of the subtractions can only set bits above the first hit.)
inline uint64_t special_bytes(byte_ptr p) {
  constexpr uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  uint64_t w;
  std::memcpy(&w, p, 8);
  auto below = [&](uint64_t x, uint64_t n) { return (x - ones * n) & ~x & highs; };
  return below(w ^ (ones * '"'), 1) | below(w ^ (ones * '\\'), 1) | below(w, 0x20);
}

int hex_digit(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = static_cast<unsigned char>(c | 0x20);
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

// Reads the 4 hex digits of a \u escape into `unit`.
bool hex4(byte_ptr& p, byte_ptr end, uint32_t& unit) {
  if (end - p < 4)
    return false;
  unit = 0;
  for (int i = 0; i < 4; ++i) {
    int h = hex_digit(p[i]);
    if (h < 0)
      return false;
    unit = unit << 4 | static_cast<uint32_t>(h);
  }
  p += 4;
  return true;
}

// Checks the escape after a backslash: the ones simdjson unescapes; a high
// surrogate must be followed by a low one, and a lone low one is refused too.
// Returns where the escape ends, or nullptr. (Out of line and by value: a
// position passed by reference to a call lives in memory, and every byte
// the scanner reads would wait on its store.)
[[gnu::noinline]] byte_ptr escape_end(byte_ptr p, byte_ptr end) {
  if (p == end)
    return nullptr;
  switch (*p++) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't': return p;
    case 'u': {
      uint32_t unit;
      if (!hex4(p, end, unit) || (unit >= 0xDC00 && unit <= 0xDFFF))
        return nullptr;
      if (unit < 0xD800 || unit > 0xDBFF)
        return p;
      if (end - p < 2 || p[0] != '\\' || p[1] != 'u')
        return nullptr;
      p += 2;
      return hex4(p, end, unit) && unit >= 0xDC00 && unit <= 0xDFFF ? p : nullptr;
    }
    default: return nullptr;
  }
}

#if defined(__SSE2__)
// Returns one bit per byte of the 16 at p, set for a '"', a backslash or a
// byte below 0x20: most strings in an event's data end within one load.
inline uint32_t special_bytes_16(byte_ptr p) {
  __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  __m128i quote = _mm_cmpeq_epi8(x, _mm_set1_epi8('"'));
  __m128i backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'));
  __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x); // x <= 0x1f
  return static_cast<uint32_t>(
    _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)));
}
#endif

// Returns the first byte from p that is a '"', a backslash or below 0x20,
// or end when there is none.
[[gnu::always_inline]] inline byte_ptr next_special(byte_ptr p, byte_ptr end) {
#if defined(__SSE2__)
  for (; end - p >= 16; p += 16)
    if (uint32_t m = special_bytes_16(p))
      return p + std::countr_zero(m);
#endif
  for (; end - p >= 8; p += 8)
    if (uint64_t m = special_bytes(p))
      return p + std::countr_zero(m) / 8;
  while (p < end && *p != '"' && *p != '\\' && *p >= 0x20)
    ++p;
  return p;
}

// Checks the string whose opening quote is at p; leaves p after its end.
// Always inlined: out of line, the position it takes by reference would
// live in memory (measured: 15 % slower on the batch of 100).
[[gnu::always_inline]] inline bool scan_string(byte_ptr& p, byte_ptr end) {
  ++p;
  while (true) {
    p = next_special(p, end);
    if (p == end)
      return false;
    unsigned char c = *p++;
    if (c == '"')
      return true;
    if (c < 0x20)
      return false;
    if (c == '\\' && (p = escape_end(p, end)) == nullptr)
      return false;
  }
}

// Checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at p.
inline bool scan_number(byte_ptr& p, byte_ptr end) {
  auto digits = [&] {
    byte_ptr start = p;
    while (p < end && is_digit(*p))
      ++p;
    return p != start;
  };
  if (p < end && *p == '-')
    ++p;
  if (p < end && *p == '0')
    ++p;
  else if (!digits())
    return false;
  if (p < end && *p == '.') {
    ++p;
    if (!digits())
      return false;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-'))
      ++p;
    if (!digits())
      return false;
  }
  return true;
}

// Checks the literal `word` at p (what follows is the grammar's business).
inline bool scan_literal(byte_ptr& p, byte_ptr end, std::string_view word) {
  if (static_cast<std::size_t>(end - p) < word.size() || std::memcmp(p, word.data(), word.size()))
    return false;
  p += word.size();
  return true;
}

} // namespace

bool scan_json_object(std::string_view text) {
  byte_ptr p = reinterpret_cast<byte_ptr>(text.data());
  const byte_ptr end = p + text.size();
  // Open containers, innermost last: in_object[d] for the one at depth d
  // (the root object is depth 1, as in the walk; a value inside depth d
  // containers is at depth d + 1).
  std::array<bool, max_depth + 1> in_object;
  int depth = 1;
  in_object[1] = true;
  if (p == end || *p != '{')
    return false;
  ++p;
  skip_space(p, end);
  if (p < end && *p == '}') {
    ++p;
    return p == end;
  }
  // The three states of the grammar, as labels: a member's key is next, a
  // value is next, or a value just ended.
member_key:
  if (p == end || *p != '"' || !scan_string(p, end))
    return false;
  skip_space(p, end);
  if (p == end || *p != ':')
    return false;
  ++p;
  skip_space(p, end);
value:
  if (p == end || depth + 1 > max_depth)
    return false;
  switch (*p) {
    case '{':
      ++p;
      in_object[++depth] = true;
      skip_space(p, end);
      if (p < end && *p == '}') {
        ++p;
        --depth;
        goto value_end;
      }
      goto member_key;
    case '[':
      ++p;
      in_object[++depth] = false;
      skip_space(p, end);
      if (p < end && *p == ']') {
        ++p;
        --depth;
        goto value_end;
      }
      goto value;
    case '"':
      if (!scan_string(p, end))
        return false;
      goto value_end;
    case 't':
      if (!scan_literal(p, end, "true"))
        return false;
      goto value_end;
    case 'f':
      if (!scan_literal(p, end, "false"))
        return false;
      goto value_end;
    case 'n':
      if (!scan_literal(p, end, "null"))
        return false;
      goto value_end;
    default:
      if (!scan_number(p, end))
        return false;
      goto value_end;
  }
value_end:
  skip_space(p, end);
  if (p == end)
    return false;
  switch (*p++) {
    case ',':
      skip_space(p, end);
      if (in_object[depth])
        goto member_key;
      goto value;
    case '}':
      if (!in_object[depth])
        return false;
      break;
    case ']':
      if (in_object[depth])
        return false;
      break;
    default: return false;
  }
  // The container at `depth` closed.
  if (--depth == 0)
    return p == end;
  goto value_end;
}

bool is_null(od::value& v) {
  bool n = false;
  return v.is_null().get(n) == simdjson::SUCCESS && n;
}

std::string_view get_string(od::value& v, std::string_view field, long index) {
  // The common case in one call. A value that is no string is refused by
  // get_string before it moves (INCORRECT_TYPE); then the path below words
  // it. Any other error comes from unescaping a string it has consumed.
  std::string_view s;
  auto err = v.get_string().get(s);
  if (!err)
    return s;
  if (err != simdjson::INCORRECT_TYPE)
    malformed_value(err, field, index);
  auto t = type_of(v, field, index);
  if (t != od::json_type::string)
    wrong_type(t, field, "a string", index);
  if (auto again = v.get_string().get(s))
    malformed_value(again, field, index);
  return s;
}

bool get_bool(od::value& v, std::string_view field, long index) {
  auto t = type_of(v, field, index);
  if (t != od::json_type::boolean)
    wrong_type(t, field, "a boolean", index);
  bool b;
  if (auto err = v.get_bool().get(b))
    malformed_value(err, field, index);
  return b;
}

int64_t get_integer(od::value& v, std::string_view field, int64_t min, int64_t max, long index) {
  // The common case in one call: get_int64 succeeds only on a well-formed
  // integer token that fits int64 (-?digits, no leading zero, followed by a
  // structural or space), which the path below accepts with the same value.
  // On failure it has not moved, and the path below words the refusal.
  int64_t x;
  if (v.get_int64().get(x) == simdjson::SUCCESS) {
    if (x < min || x > max)
      out_of_range(field, min, max, index);
    return x;
  }
  auto t = type_of(v, field, index);
  if (t != od::json_type::number)
    wrong_type(t, field, "an integer", index);
  bool syntax_ok = is_json_number(token_text(v.raw_json_token()));
  od::number n;
  auto err = v.get_number().get(n);
  auto range = [&] { out_of_range(field, min, max, index); };
  if (err && syntax_ok)
    range(); // well-formed, but too large for any machine number
  if (err)
    malformed_value(err, field, index);
  if (n.is_int64()) {
    x = n.get_int64();
    if (x < min || x > max)
      range();
    return x;
  }
  if (n.is_uint64())
    range(); // above INT64_MAX
  fail_422(std::string(field), "must be an integer, got a fraction or exponent", index);
}

double get_double(od::value& v, std::string_view field, long index) {
  auto t = type_of(v, field, index);
  if (t != od::json_type::number)
    wrong_type(t, field, "a number", index);
  double d;
  if (v.get_double().get(d) != simdjson::SUCCESS)
    fail_422(std::string(field), "is not a representable number", index);
  return d;
}

od::object get_object(od::value& v, std::string_view field, long index) {
  auto t = type_of(v, field, index);
  if (t != od::json_type::object)
    wrong_type(t, field, "an object", index);
  od::object o;
  if (auto err = v.get_object().get(o))
    malformed_value(err, field, index);
  return o;
}

od::array get_array(od::value& v, std::string_view field, long index) {
  auto t = type_of(v, field, index);
  if (t != od::json_type::array)
    wrong_type(t, field, "an array", index);
  od::array a;
  if (auto err = v.get_array().get(a))
    malformed_value(err, field, index);
  return a;
}

namespace {

thread_local bool walk_raw_values_ = false;

// Returns `end` moved back over the JSON whitespace before it.
const char* trim_back(const char* begin, const char* end) {
  while (end > begin && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\r' || end[-1] == '\t'))
    --end;
  return end;
}

} // namespace

walk_raw_values::walk_raw_values() : saved_(walk_raw_values_) { walk_raw_values_ = true; }

walk_raw_values::~walk_raw_values() { walk_raw_values_ = saved_; }

namespace {

// Returns the bytes of the object `o` (just opened from `v`) once the
// scanner accepts them; raw_value_refused otherwise.
std::string_view scanned_raw_object(od::value& v, od::object& o) {
  // raw_json() only counts brackets over simdjson's structural index; the
  // scanner then checks every byte of the span it found.
  std::string_view raw;
  if (o.raw_json().get(raw))
    throw raw_value_refused{};
  raw = std::string_view(
    raw.data(),
    static_cast<std::size_t>(trim_back(raw.data(), raw.data() + raw.size()) - raw.data()));
  if (!scan_json_object(raw))
    throw raw_value_refused{};
  // A body that ends right after the value (unclosed parents) is refused
  // by the walk's last step, with its words: take the walk's path.
  const char* next = nullptr;
  if (v.current_location().get(next))
    throw raw_value_refused{};
  return raw;
}

} // namespace

std::string_view get_raw_object(od::value& v, std::string_view field, long index) {
  if (!walk_raw_values_) {
    // get_object refuses a value that is no object before it moves
    // (INCORRECT_TYPE): then the type check below words the refusal.
    od::object o;
    auto err = v.get_object().get(o);
    if (err == simdjson::INCORRECT_TYPE) {
      auto t = type_of(v, field, index);
      if (t != od::json_type::object)
        wrong_type(t, field, "an object", index);
      throw raw_value_refused{};
    }
    if (err)
      throw raw_value_refused{};
    return scanned_raw_object(v, o);
  }
  auto t = type_of(v, field, index);
  if (t != od::json_type::object)
    wrong_type(t, field, "an object", index);
  // Walk the value first so that every token inside is checked, then take
  // its bytes.
  const char* begin = nullptr;
  begin = v.raw_json_token().data();
  walk(v, 1, field, index);
  // After the walk the shared iterator sits on the token that follows the
  // object (a ',' or the parent's closing bracket; `v` is never the root).
  const char* end = nullptr;
  if (auto err = v.current_location().get(end))
    malformed_value(err, field, index);
  end = trim_back(begin, end);
  return std::string_view(begin, static_cast<std::size_t>(end - begin));
}

// The optional readers try the typed getter first: it refuses null (and any
// other wrong type) before it moves, and only then is null tested for, so
// that a present value costs one call. A value that is neither is read by
// the plain reader, which words the refusal exactly as without the try.

std::optional<std::string_view> get_optional_string(od::value& v, std::string_view field,
                                                    long index) {
  std::string_view s;
  auto err = v.get_string().get(s);
  if (!err)
    return s;
  if (err != simdjson::INCORRECT_TYPE)
    malformed_value(err, field, index); // a string it consumed, badly escaped
  if (is_null(v))
    return std::nullopt;
  return get_string(v, field, index);
}

std::optional<int64_t> get_optional_integer(od::value& v, std::string_view field, int64_t min,
                                            int64_t max, long index) {
  int64_t x;
  if (v.get_int64().get(x) == simdjson::SUCCESS) {
    if (x < min || x > max)
      out_of_range(field, min, max, index);
    return x;
  }
  if (is_null(v))
    return std::nullopt;
  return get_integer(v, field, min, max, index);
}

std::optional<std::string_view> get_optional_raw_object(od::value& v, std::string_view field,
                                                        long index) {
  if (!walk_raw_values_) {
    od::object o;
    auto err = v.get_object().get(o);
    if (!err)
      return scanned_raw_object(v, o);
    if (err != simdjson::INCORRECT_TYPE)
      throw raw_value_refused{};
  }
  if (is_null(v))
    return std::nullopt;
  return get_raw_object(v, field, index);
}

void check_scalar_document(od::document& doc) {
  od::json_type t;
  if (auto err = doc.type().get(t))
    throw codec_failure{malformed(err)};
  simdjson::error_code err = simdjson::SUCCESS;
  switch (t) {
    case od::json_type::null: {
      bool n = false;
      err = doc.is_null().get(n);
      if (!err && !n)
        err = simdjson::N_ATOM_ERROR;
      break;
    }
    case od::json_type::boolean: {
      bool b;
      err = doc.get_bool().get(b);
      break;
    }
    case od::json_type::number: {
      std::string_view tok;
      err = doc.raw_json_token().get(tok);
      if (!err && !is_json_number(token_text(tok)))
        err = simdjson::NUMBER_ERROR;
      break;
    }
    case od::json_type::string: {
      std::string_view s;
      err = doc.get_string().get(s);
      break;
    }
    default: break;
  }
  if (err)
    throw codec_failure{malformed(err)};
  doc.rewind();
}

void check_well_formed(od::document& doc) {
  od::value root;
  if (auto err = doc.get_value().get(root)) {
    if (err != simdjson::SCALAR_DOCUMENT_AS_VALUE)
      throw codec_failure{malformed(err)};
    // A well-formed scalar: the reader refuses it naming the shape it wanted.
    doc.rewind();
    check_scalar_document(doc);
    return;
  }
  walk(root, 1, "", -1);
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS)
    fail_400("", "malformed JSON: unexpected content after the document");
  doc.rewind();
}

od::object get_root_object(od::document& doc) {
  check_well_formed(doc);
  return root_object(doc);
}

od::object root_object(od::document& doc) {
  od::json_type t;
  if (auto err = doc.type().get(t))
    throw codec_failure{malformed(err)};
  if (t != od::json_type::object)
    fail_400("", std::string("the body must be a JSON object, got ") + type_name(t));
  od::object obj;
  if (auto err = doc.get_object().get(obj))
    throw codec_failure{malformed(err)};
  return obj;
}

input_error malformed(simdjson::error_code code) {
  switch (code) {
    case simdjson::UTF8_ERROR:
      return bad_request("", "malformed JSON: the body is not valid UTF-8");
    case simdjson::DEPTH_ERROR: return bad_request("", "malformed JSON: nested too deeply");
    case simdjson::EMPTY: return bad_request("", "malformed JSON: the body is empty");
    case simdjson::CAPACITY: return {413, "", "the body is too large to parse", -1};
    default:
      return bad_request("", std::string("malformed JSON: ") + simdjson::error_message(code));
  }
}

namespace {

constexpr std::string_view malformed_prefix = "malformed JSON";

} // namespace

bool is_syntax_error(const input_error& e) {
  return e.status == 400 && e.message.starts_with(malformed_prefix);
}

input_error at_offset(input_error e, std::string_view body, const char* at) {
  std::size_t offset = body.size();
  if (at != nullptr && at >= body.data() && at <= body.data() + body.size())
    offset = static_cast<std::size_t>(at - body.data());
  std::string_view what = e.message;
  what.remove_prefix(std::min(what.size(), malformed_prefix.size()));
  if (what.starts_with(" value"))
    what.remove_prefix(6);
  if (what.starts_with(":"))
    what.remove_prefix(1);
  while (what.starts_with(" "))
    what.remove_prefix(1);
  std::string message = "invalid JSON at byte " + std::to_string(offset);
  if (!what.empty())
    message.append(": ").append(what);
  if (!e.field.empty() && e.field != "event")
    message.append(" (in ").append(e.field).append(")");
  // The offset places the error; a batch index or a field would only repeat it.
  return bad_request("", std::move(message));
}

namespace {

// Returns the offset of the first byte that breaks UTF-8, or npos.
std::size_t first_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = p[i];
    std::size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n)
      return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80)
        return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    static constexpr uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return i;
    i += len;
  }
  return std::string_view::npos;
}

} // namespace

const char* stage1_error_location(std::string_view body, simdjson::error_code code) {
  if (code == simdjson::UTF8_ERROR) {
    auto i = first_invalid_utf8(body);
    return body.data() + (i == std::string_view::npos ? body.size() : i);
  }
  // Otherwise a string problem: an unclosed one (its opening quote) or a raw
  // control character inside one. Other structural errors are found at the end.
  bool in_string = false;
  std::size_t opened = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (!in_string) {
      if (c == '"') {
        in_string = true;
        opened = i;
      }
      continue;
    }
    if (c == '\\') {
      ++i;
    } else if (c == '"') {
      in_string = false;
    } else if (static_cast<unsigned char>(c) < 0x20 && code == simdjson::UNESCAPED_CHARS) {
      return body.data() + i;
    }
  }
  if (in_string)
    return body.data() + opened;
  return body.data() + body.size();
}

od::parser& thread_parser() {
  thread_local od::parser parser;
  return parser;
}

} // namespace sy::core::json
