#pragma once
// The one JSON writer for everything switchyard emits.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sy::core {

/// Appends JSON text to a string, placing commas and escaping strings.
/// Not thread-safe; one per response being written.
class json_writer {
public:
  json_writer() = default;
  /// Writes into `out`, appending to what it holds.
  explicit json_writer(std::string out) : out_(std::move(out)) {}

  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  /// Writes an object key; the next call writes its value.
  json_writer& key(std::string_view k);
  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(const std::string& s) { return value(std::string_view(s)); }
  /// Writes an array of strings.
  json_writer& value(const std::vector<std::string>& strings);
  json_writer& value(int64_t n);
  json_writer& value(int n) { return value(static_cast<int64_t>(n)); }
  json_writer& value(uint64_t n);
  json_writer& value(double d);
  json_writer& value(bool b);
  json_writer& null();
  /// Writes `json` verbatim as a value; it must already be valid JSON.
  json_writer& raw(std::string_view json);

  /// Returns the text written so far.
  const std::string& str() const& { return out_; }
  /// Moves the text out.
  std::string str() && { return std::move(out_); }

private:
  void before_value();
  std::string out_;
  std::vector<bool> first_; // one per open container: no element written yet
  bool after_key_ = false;
};

/// Appends `s` to `out` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s);

/// Returns the error body of docs/api.md: {"error": message}.
std::string error_body(std::string_view message);

} // namespace sy::core
