#pragma once
// OAuth egress auth (docs/api.md §3): the refresh-token grant switchyard sends to
// a subscription's authURL and the access token the endpoint answers.

#include <cstdint>
#include <string>

#include "core/result.hpp"
#include "core/subscription_codec.hpp"

namespace sy::core {

/// An access token from an OAuth token endpoint (egress auth OAuth and
/// OAuthRefreshTokenOnly).
struct oauth_token {
  std::string access_token;
  int64_t expires_in_s = 3600; ///< the endpoint's expires_in, else an hour
};

/// Returns the application/x-www-form-urlencoded body of the refresh-token
/// grant (RFC 6749 §6) for `auth`: grant_type, refresh_token and client_id +
/// client_secret (OAuth) or supplier_key (OAuthRefreshTokenOnly).
std::string oauth_token_request(const egress_auth& auth);

/// Decodes a token endpoint's JSON answer: `access_token` (a non-empty
/// string) is required, `expires_in` (seconds) optional.
result<oauth_token> decode_oauth_token(std::string& body);

} // namespace sy::core
