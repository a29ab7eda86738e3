#pragma once
// Keys and signatures of webhook deliveries (docs/api.md §3) on OpenSSL.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sy::core {

/// A subscription's key pair: `public_key` names it in headers, `private_key`
/// ("whsec_" + base64 of 32 random bytes) signs deliveries.
struct key_pair {
  std::string public_key;
  std::string private_key;
};

/// Returns a fresh key pair drawn from OpenSSL's RNG.
key_pair generate_keys();

/// Returns `n` random bytes from OpenSSL's RNG encoded as lowercase hex.
std::string random_hex(std::size_t n);

/// Returns a random string of `n` decimal digits, the first not '0'.
std::string random_digits(std::size_t n);

/// Returns the raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Returns standard base64 (with padding) of `bytes`.
std::string base64_encode(std::string_view bytes);

/// Returns the bytes of standard base64 `text`, or nullopt when it is not base64.
std::optional<std::string> base64_decode(std::string_view text);

/// Returns the x-notificare-signature of `body`: base64(HMAC-SHA256(key =
/// the private key string's bytes, data = body)). Also the answer to a
/// verification challenge, with the challenge as `body`.
std::string notificare_signature(std::string_view private_key, std::string_view body);

/// Returns the Standard Webhooks `webhook-signature` header value,
/// "v1," + base64(HMAC-SHA256(secret, id + "." + timestamp + "." + body)),
/// where the secret is the base64-decoded part of `private_key` after "whsec_".
std::string standard_webhooks_signature(std::string_view private_key, std::string_view msg_id,
                                        int64_t timestamp_s, std::string_view body);

/// Returns true when `a` and `b` are equal, in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

} // namespace sy::core
