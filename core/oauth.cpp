// OAuth egress auth (docs/api.md §3): the refresh-token grant sent to authURL and
// the token it answers.

#include "core/oauth.hpp"

#include "core/json_input.hpp"
#include "core/url.hpp"

namespace sy::core {

namespace {

void add_field(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty())
    out.push_back('&');
  percent_encode_into(out, name);
  out.push_back('=');
  percent_encode_into(out, value);
}

// Longest token lifetime honoured: a day (a token is refetched at least daily).
constexpr int64_t max_expires_in_s = 86400;

} // namespace

std::string oauth_token_request(const egress_auth& auth) {
  std::string body;
  add_field(body, "grant_type", "refresh_token");
  add_field(body, "refresh_token", auth.refresh_token);
  if (auth.type == "OAuth") {
    add_field(body, "client_id", auth.client_id);
    add_field(body, "client_secret", auth.client_secret);
  } else {
    add_field(body, "supplier_key", auth.supplier_key);
  }
  return body;
}

result<oauth_token> decode_oauth_token(std::string& body) {
  using namespace json;
  return decode<oauth_token>(body, [](od::document& doc) {
    oauth_token t;
    bool has_token = false;
    for_each_member(get_root_object(doc), "", [&](std::string_view key, od::value& v) {
      if (key == "access_token") {
        t.access_token = std::string(get_string(v, "access_token"));
        has_token = !t.access_token.empty();
      } else if (key == "expires_in" && !is_null(v)) {
        t.expires_in_s = get_integer(v, "expires_in", 1, INT64_MAX);
      }
    });
    if (!has_token)
      fail_422("access_token", "is missing from the token endpoint's answer");
    t.expires_in_s = std::min(t.expires_in_s, max_expires_in_s);
    // A header value must not carry a line break or other control character.
    for (unsigned char c : t.access_token)
      if (c < 0x20 || c == 0x7f)
        fail_422("access_token", "contains control characters");
    return t;
  });
}

} // namespace sy::core
