#include "core/json_writer.hpp"

#include <charconv>
#include <cmath>

namespace sy::core {

namespace {

// Appends the decimal digits of `n` (signed or unsigned 64-bit).
template <class Int>
void append_integer(std::string& out, Int n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

} // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0; // start of the current run of bytes that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        out.append("\\u00");
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void json_writer::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back())
      out_.push_back(',');
    first_.back() = false;
  }
}

json_writer& json_writer::begin_object() {
  before_value();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}

json_writer& json_writer::end_object() {
  out_.push_back('}');
  first_.pop_back();
  return *this;
}

json_writer& json_writer::begin_array() {
  before_value();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}

json_writer& json_writer::end_array() {
  out_.push_back(']');
  first_.pop_back();
  return *this;
}

json_writer& json_writer::value(const std::vector<std::string>& strings) {
  begin_array();
  for (const auto& s : strings)
    value(s);
  return end_array();
}

json_writer& json_writer::key(std::string_view k) {
  before_value();
  append_json_string(out_, k);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

json_writer& json_writer::value(std::string_view s) {
  before_value();
  append_json_string(out_, s);
  return *this;
}

json_writer& json_writer::value(int64_t n) {
  before_value();
  append_integer(out_, n);
  return *this;
}

json_writer& json_writer::value(uint64_t n) {
  before_value();
  append_integer(out_, n);
  return *this;
}

json_writer& json_writer::value(double d) {
  if (!std::isfinite(d))
    return null(); // JSON has no NaN or infinity
  before_value();
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  out_.append(buf, r.ptr);
  return *this;
}

json_writer& json_writer::value(bool b) {
  before_value();
  out_.append(b ? "true" : "false");
  return *this;
}

json_writer& json_writer::null() {
  before_value();
  out_.append("null");
  return *this;
}

json_writer& json_writer::raw(std::string_view json) {
  before_value();
  out_.append(json);
  return *this;
}

std::string error_body(std::string_view message) {
  json_writer w;
  w.begin_object().key("error").value(message).end_object();
  return std::move(w).str();
}

} // namespace sy::core
