#pragma once
// Keys and signatures of webhook deliveries (docs/api.md §3) on OpenSSL.

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
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

/// An HMAC-SHA256 key prepared once (OpenSSL 3 EVP_MAC): a keyed template
/// context, and a working context made from it with EVP_MAC_CTX_dup that
/// each sign() resets to the keyed state instead of hashing the key again.
/// Move-only. Not thread-safe: sign() reuses the working context, so an
/// object belongs to one thread or actor at a time (a subscriber keeps its
/// own, core::delivery_signer).
class hmac_key {
public:
  /// Makes an empty key, which sign() must not be called on.
  hmac_key() = default;
  /// Prepares `key`. Throws std::runtime_error when OpenSSL fails.
  explicit hmac_key(std::string_view key);
  /// Frees both contexts.
  ~hmac_key();
  /// Takes over `other`'s contexts; `other` becomes empty.
  hmac_key(hmac_key&& other) noexcept;
  /// Frees this key's contexts and takes over `other`'s; `other` becomes empty.
  hmac_key& operator=(hmac_key&& other) noexcept;

  /// Returns whether no key is prepared.
  bool empty() const { return !template_; }

  /// Returns the raw HMAC-SHA256 of the concatenation of `parts`. Throws
  /// std::runtime_error when OpenSSL fails.
  std::array<unsigned char, 32> sign(std::initializer_list<std::string_view> parts);

private:
  struct ctx_free {
    void operator()(void* ctx) const;
  };
  std::unique_ptr<void, ctx_free> template_;
  std::unique_ptr<void, ctx_free> work_;
};

/// A subscription's private key prepared for signing its deliveries both
/// ways (docs/api.md §3): the Notificare key (the key string's bytes) and
/// the Standard Webhooks secret (the base64-decoded part after "whsec_").
/// Same results as notificare_signature and standard_webhooks_signature,
/// without preparing the keys per delivery. Not thread-safe (hmac_key).
class delivery_signer {
public:
  /// Makes a signer with no key (empty()).
  delivery_signer() = default;
  /// Prepares `private_key`.
  explicit delivery_signer(std::string_view private_key);

  /// Returns whether no key is prepared.
  bool empty() const { return notificare_.empty(); }
  /// Returns the private key this signer was made from.
  const std::string& private_key() const { return private_key_; }

  /// Returns notificare_signature(private_key(), body).
  std::string notificare_signature(std::string_view body);
  /// Appends standard_webhooks_signature(private_key(), msg_id, timestamp_s,
  /// body) to `out`.
  void append_standard_webhooks_signature(std::string& out, std::string_view msg_id,
                                          int64_t timestamp_s, std::string_view body);

private:
  std::string private_key_;
  hmac_key notificare_;
  hmac_key standard_;
};

/// Returns true when `a` and `b` are equal, in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

} // namespace sy::core
