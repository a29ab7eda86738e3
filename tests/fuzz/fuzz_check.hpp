#pragma once
// What every fuzz target shares: an invariant check that aborts (so that
// libFuzzer keeps the input as a crash), and a JSON grammar check for the
// bytes a decoder hands on.

#include <simdjson.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/json_input.hpp"
#include "core/result.hpp"

namespace sy::fuzz {

/// Aborts with `what` when `ok` is false.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

/// Checks what every refusal must be: a 400 or 422 naming a field or not,
/// with a message, and an index of -1 or more.
inline void check_refusal(const core::input_error& e) {
  check(e.status == 400 || e.status == 422, "a refusal is a 400 or a 422");
  check(!e.message.empty(), "a refusal has a message");
  check(e.index >= -1, "a refusal's index is -1 or an element");
}

/// Checks JSON's grammar (RFC 8259) by recursive descent, independently of
/// the simdjson codecs: numbers of any size pass, as the codecs pass them
/// through; text must be valid UTF-8.
class json_grammar {
public:
  explicit json_grammar(std::string_view s) : s_(s) {}

  /// Returns true when the whole text is one JSON value.
  bool valid() {
    if (!simdjson::validate_utf8(s_.data(), s_.size()))
      return false;
    skip_ws();
    if (!value(0))
      return false;
    skip_ws();
    return i_ == s_.size();
  }

private:
  bool value(int depth) {
    if (depth > 1024 || i_ >= s_.size())
      return false;
    switch (s_[i_]) {
      case '{': return object(depth);
      case '[': return array(depth);
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }
  bool object(int depth) {
    ++i_;
    skip_ws();
    if (eat('}'))
      return true;
    do {
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != '"' || !string())
        return false;
      skip_ws();
      if (!eat(':'))
        return false;
      skip_ws();
      if (!value(depth + 1))
        return false;
      skip_ws();
    } while (eat(','));
    return eat('}');
  }
  bool array(int depth) {
    ++i_;
    skip_ws();
    if (eat(']'))
      return true;
    do {
      skip_ws();
      if (!value(depth + 1))
        return false;
      skip_ws();
    } while (eat(','));
    return eat(']');
  }
  bool string() {
    ++i_;
    while (i_ < s_.size()) {
      auto c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"')
        return true;
      if (c < 0x20)
        return false;
      if (c == '\\') {
        if (i_ >= s_.size())
          return false;
        char e = s_[i_++];
        if (e == 'u') {
          for (int k = 0; k < 4; ++k, ++i_)
            if (i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_])))
              return false;
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
      }
    }
    return false;
  }
  bool number() {
    std::size_t start = i_;
    while (i_ < s_.size() &&
           std::string_view("+-0123456789.eE").find(s_[i_]) != std::string_view::npos)
      ++i_;
    return i_ > start && core::json::is_json_number(s_.substr(start, i_ - start));
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word)
      return false;
    i_ += word.size();
    return true;
  }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

/// Returns true when `json` is one valid JSON value (of any type).
inline bool is_valid_json(std::string_view json) { return json_grammar(json).valid(); }

/// Returns true when `json` is one valid JSON object.
inline bool is_json_object(std::string_view json) {
  return !json.empty() && json.front() == '{' && is_valid_json(json);
}

} // namespace sy::fuzz
