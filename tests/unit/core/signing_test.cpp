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

TEST(signing, hmac_key_rfc4231_vector_on_every_reuse) {
  // RFC 4231 test case 2; signed three times to show that each sign()
  // starts again from the keyed state, however the data is split.
  hmac_key key("Jefe");
  const std::string expected = base64_encode(
    std::string("\x5b\xdc\xc1\x46\xbf\x60\x75\x4e\x6a\x04\x24\x26\x08\x95"
                "\x75\xc7\x5a\x00\x3f\x08\x9d\x27\x39\x83\x9d\xec\x58\xb9"
                "\x64\xec\x38\x43",
                32)); // one byte is 0: the length is given
  auto b64 = [](const std::array<unsigned char, 32>& md) {
    return base64_encode(std::string_view(reinterpret_cast<const char*>(md.data()), md.size()));
  };
  EXPECT_EQ(b64(key.sign({"what do ya want for nothing?"})), expected);
  EXPECT_EQ(b64(key.sign({"what do ya ", "", "want for nothing?"})), expected);
  EXPECT_EQ(b64(key.sign({"what do ya want for nothing?"})), expected);
  hmac_key moved = std::move(key);
  EXPECT_TRUE(key.empty());
  EXPECT_EQ(b64(moved.sign({"what do ya want for nothing?"})), expected);
}

TEST(signing, hmac_key_accepts_an_empty_key) {
  hmac_key key("");
  auto md = key.sign({"data"});
  EXPECT_EQ(base64_encode(std::string_view(reinterpret_cast<const char*>(md.data()), md.size())),
            reference_hmac_b64("", "data"));
}

TEST(signing, delivery_signer_matches_the_one_shot_signatures) {
  const std::string key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  delivery_signer signer(key);
  EXPECT_EQ(signer.private_key(), key);
  for (std::string body : {R"({"test": 2432232314})", "", R"({"id":"2","data":[1,2,3]})"}) {
    EXPECT_EQ(signer.notificare_signature(body), notificare_signature(key, body));
    std::string header = "prefix ";
    signer.append_standard_webhooks_signature(header, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                              body);
    EXPECT_EQ(header, "prefix " + standard_webhooks_signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                                              1614265330, body));
  }
  std::string header;
  signer.append_standard_webhooks_signature(header, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                            R"({"test": 2432232314})");
  EXPECT_EQ(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  // A key that is not "whsec_" + base64 signs with its own bytes, as before.
  delivery_signer plain("not base64!");
  std::string h2;
  plain.append_standard_webhooks_signature(h2, "id", 1, "b");
  EXPECT_EQ(h2, standard_webhooks_signature("not base64!", "id", 1, "b"));
}
