#include "core/signing.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cctype>
#include <stdexcept>

namespace sy::core {

namespace {

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  // A failing RNG is not recoverable: no key may be made from bad randomness.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  return out;
}

constexpr std::string_view whsec_prefix = "whsec_";

// Returns the Standard Webhooks secret of `private_key`: the base64-decoded
// part after "whsec_" (the text itself when it is not base64).
std::string standard_webhooks_secret(std::string_view private_key) {
  auto encoded = private_key.substr(0, whsec_prefix.size()) == whsec_prefix
                   ? private_key.substr(whsec_prefix.size())
                   : private_key;
  return base64_decode(encoded).value_or(std::string(encoded));
}

// Returns OpenSSL's HMAC implementation, fetched once for the process.
EVP_MAC* hmac_mac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr)
    throw std::runtime_error("OpenSSL has no HMAC");
  return mac;
}

// Returns standard base64 of the 32 bytes of `md`.
std::string base64_of(const std::array<unsigned char, 32>& md) {
  return base64_encode(std::string_view(reinterpret_cast<const char*>(md.data()), md.size()));
}

} // namespace

void hmac_key::ctx_free::operator()(void* ctx) const {
  EVP_MAC_CTX_free(static_cast<EVP_MAC_CTX*>(ctx));
}

hmac_key::hmac_key(std::string_view key) {
  template_.reset(EVP_MAC_CTX_new(hmac_mac()));
  if (!template_)
    throw std::runtime_error("OpenSSL EVP_MAC_CTX_new failed");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  // An empty key is a valid HMAC key; OpenSSL wants a non-null pointer for it.
  static const unsigned char no_key = 0;
  const auto* bytes = key.empty() ? &no_key : reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(static_cast<EVP_MAC_CTX*>(template_.get()), bytes, key.size(), params) != 1)
    throw std::runtime_error("OpenSSL EVP_MAC_init failed");
  work_.reset(EVP_MAC_CTX_dup(static_cast<EVP_MAC_CTX*>(template_.get())));
  if (!work_)
    throw std::runtime_error("OpenSSL EVP_MAC_CTX_dup failed");
}

hmac_key::~hmac_key() = default;
hmac_key::hmac_key(hmac_key&&) noexcept = default;
hmac_key& hmac_key::operator=(hmac_key&&) noexcept = default;

std::array<unsigned char, 32> hmac_key::sign(std::initializer_list<std::string_view> parts) {
  auto* ctx = static_cast<EVP_MAC_CTX*>(work_.get());
  // A null key restarts the MAC from the keyed state the template's init
  // left (OpenSSL 3 HMAC): no key hashing and no allocation per signature.
  if (EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1)
    throw std::runtime_error("OpenSSL EVP_MAC_init failed");
  for (auto part : parts)
    if (!part.empty() &&
        EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(part.data()), part.size()) != 1)
      throw std::runtime_error("OpenSSL EVP_MAC_update failed");
  std::array<unsigned char, 32> md{};
  std::size_t len = 0;
  if (EVP_MAC_final(ctx, md.data(), &len, md.size()) != 1 || len != md.size())
    throw std::runtime_error("OpenSSL EVP_MAC_final failed");
  return md;
}

delivery_signer::delivery_signer(std::string_view private_key)
    : private_key_(private_key), notificare_(private_key),
      standard_(standard_webhooks_secret(private_key)) {}

std::string delivery_signer::notificare_signature(std::string_view body) {
  return base64_of(notificare_.sign({body}));
}

void delivery_signer::append_standard_webhooks_signature(std::string& out, std::string_view msg_id,
                                                         int64_t timestamp_s,
                                                         std::string_view body) {
  const auto ts = std::to_string(timestamp_s);
  out.append("v1,").append(base64_of(standard_.sign({msg_id, ".", ts, ".", body})));
}

std::string random_hex(std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  auto bytes = random_bytes(n);
  std::string out;
  out.reserve(2 * n);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string random_digits(std::size_t n) {
  auto bytes = random_bytes(n);
  std::string out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    // 250 = 25 * 10: reject the top of the byte range to keep digits uniform.
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    while (c >= 250)
      c = static_cast<unsigned char>(random_bytes(1)[0]);
    char d = static_cast<char>('0' + c % 10);
    if (i == 0 && d == '0')
      d = static_cast<char>('1' + c % 9);
    out.push_back(d);
  }
  return out;
}

key_pair generate_keys() {
  return key_pair{random_hex(16), std::string(whsec_prefix) + base64_encode(random_bytes(32))};
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len) == nullptr)
    throw std::runtime_error("OpenSSL HMAC failed");
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  for (char c : text)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '='))
      return std::nullopt;
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0)
    return std::nullopt;
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=')
    pad = (text.size() >= 2 && text[text.size() - 2] == '=') ? 2 : 1;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string notificare_signature(std::string_view private_key, std::string_view body) {
  return base64_encode(hmac_sha256(private_key, body));
}

std::string standard_webhooks_signature(std::string_view private_key, std::string_view msg_id,
                                        int64_t timestamp_s, std::string_view body) {
  auto secret = standard_webhooks_secret(private_key);
  std::string content;
  content.reserve(msg_id.size() + body.size() + 24);
  content.append(msg_id).append(".").append(std::to_string(timestamp_s)).append(".").append(body);
  return "v1," + base64_encode(hmac_sha256(secret, content));
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  unsigned char acc = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    acc |= static_cast<unsigned char>(a[i] ^ b[i]);
  return acc == 0;
}

} // namespace sy::core
