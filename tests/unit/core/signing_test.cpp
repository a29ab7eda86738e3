#include "core/signing.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

using namespace sy::core;

namespace {

// Computed independently of signing.cpp: EVP_MAC would do too, the point is a
// second path through OpenSSL with fixed inputs.
std::string reference_hmac_b64(const std::string& key, const std::string& data) {
  unsigned char md[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, md, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n));
}

} // namespace

TEST(signing, notificare_sdk_published_vector) {
  // From notificare-live-api-node's own tests.
  EXPECT_EQ(notificare_signature("a test key", "some simple test data"),
            "ddDzXOU6EMrITLgRKBIbhBAHxWAZBUj1nTk9Exs5PNE=");
}

TEST(signing, notificare_signature_is_hmac_of_body_with_private_key_bytes) {
  std::string key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  std::string body = R"({"id":"1","type":"a.b","data":{}})";
  EXPECT_EQ(notificare_signature(key, body), reference_hmac_b64(key, body));
}

TEST(signing, challenge_answer_matches_sdk_verify) {
  // The SDK answers verify(publicKey, challenge) with HMAC(challenge, privateKey).
  std::string key = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg==";
  EXPECT_EQ(notificare_signature(key, "abc123"), reference_hmac_b64(key, "abc123"));
}

TEST(signing, standard_webhooks_vector) {
  // The example of the Standard Webhooks specification.
  EXPECT_EQ(standard_webhooks_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                        "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                        R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(signing, standard_webhooks_uses_decoded_secret) {
  std::string secret_bytes(32, '\x07');
  std::string key = "whsec_" + base64_encode(secret_bytes);
  std::string expected = "v1," + reference_hmac_b64(secret_bytes, "id1.1700000000.body");
  EXPECT_EQ(standard_webhooks_signature(key, "id1", 1700000000, "body"), expected);
}

TEST(signing, generated_keys_have_the_documented_shape) {
  auto k1 = generate_keys();
  auto k2 = generate_keys();
  EXPECT_EQ(k1.public_key.size(), 32u);
  ASSERT_EQ(k1.private_key.rfind("whsec_", 0), 0u);
  auto secret = base64_decode(k1.private_key.substr(6));
  ASSERT_TRUE(secret);
  EXPECT_EQ(secret->size(), 32u);
  EXPECT_NE(k1.private_key, k2.private_key);
  EXPECT_NE(k1.public_key, k2.public_key);
}

TEST(signing, base64_round_trip) {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                                std::string("\0\xff\x10", 3)}) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(base64_decode("abc"));
  EXPECT_FALSE(base64_decode("ab!d"));
}

TEST(signing, random_digits_are_digits) {
  auto d = random_digits(17);
  ASSERT_EQ(d.size(), 17u);
  EXPECT_NE(d[0], '0');
  for (char c : d)
    EXPECT_TRUE(c >= '0' && c <= '9');
}

TEST(signing, constant_time_equal) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
}
