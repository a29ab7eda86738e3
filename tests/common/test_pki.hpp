#pragma once
// A throwaway PKI for TLS tests, written with OpenSSL's C API: shared by the
// transport unit tests and the integration harness, which depend on nothing
// of switchyard's own.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sy::test {

/// A throwaway PKI in a temporary directory, removed with the object: a CA
/// (ca.pem) and the leaf certificates it signs. Keys are EC P-256.
class test_pki {
public:
  test_pki() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "switchyard-pki-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    ca_key_.reset(EVP_EC_gen("P-256"));
    if (!ca_key_)
      throw std::runtime_error("cannot make the CA key");
    ca_cert_ = make_cert(ca_key_.get(), "switchyard test CA", nullptr,
                         {{NID_basic_constraints, "critical,CA:TRUE"},
                          {NID_key_usage, "critical,keyCertSign,cRLSign"},
                          {NID_subject_key_identifier, "hash"}});
    write_pem(ca_file(), ca_cert_.get(), nullptr);
  }
  ~test_pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  test_pki(const test_pki&) = delete;
  test_pki& operator=(const test_pki&) = delete;

  /// Returns the directory holding the files.
  const std::string& dir() const { return dir_; }
  /// Returns the PEM file of the CA certificate.
  std::string ca_file() const { return dir_ + "/ca.pem"; }

  /// Writes `<stem>.pem` (the leaf, then the CA) and `<stem>.key` for a
  /// server certificate whose subjectAltName is `san` (for instance
  /// "DNS:localhost,IP:127.0.0.1"); returns the two file names. `usage` is
  /// its extendedKeyUsage ("serverAuth,clientAuth" for mutual TLS).
  std::pair<std::string, std::string> leaf(const std::string& stem, const std::string& san,
                                           const std::string& usage = "serverAuth") {
    key_ptr key(EVP_EC_gen("P-256"));
    if (!key)
      throw std::runtime_error("cannot make a leaf key");
    auto cert = make_cert(key.get(), stem, ca_cert_.get(),
                          {{NID_basic_constraints, "critical,CA:FALSE"},
                           {NID_key_usage, "critical,digitalSignature"},
                           {NID_ext_key_usage, usage},
                           {NID_subject_alt_name, san},
                           {NID_subject_key_identifier, "hash"},
                           {NID_authority_key_identifier, "keyid:always"}});
    std::pair<std::string, std::string> files{dir_ + "/" + stem + ".pem",
                                              dir_ + "/" + stem + ".key"};
    write_pem(files.first, cert.get(), ca_cert_.get());
    write_key(files.second, key.get());
    return files;
  }

private:
  struct key_free {
    void operator()(EVP_PKEY* k) const { ::EVP_PKEY_free(k); }
  };
  struct cert_free {
    void operator()(X509* x) const { ::X509_free(x); }
  };
  using key_ptr = std::unique_ptr<EVP_PKEY, key_free>;
  using cert_ptr = std::unique_ptr<X509, cert_free>;

  // Returns a certificate for `key` named `cn`, signed by the CA (or by
  // itself when `issuer` is null), valid from an hour ago for a day.
  cert_ptr make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer,
                     const std::vector<std::pair<int, std::string>>& extensions) {
    cert_ptr x(::X509_new());
    auto* cn_bytes = reinterpret_cast<const unsigned char*>(cn.c_str());
    bool ok = x && ::X509_set_version(x.get(), 2) == 1 &&
              ::ASN1_INTEGER_set(::X509_get_serialNumber(x.get()), ++serial_) == 1 &&
              ::X509_gmtime_adj(::X509_getm_notBefore(x.get()), -3600) &&
              ::X509_gmtime_adj(::X509_getm_notAfter(x.get()), 24 * 3600) &&
              ::X509_set_pubkey(x.get(), key) == 1 &&
              ::X509_NAME_add_entry_by_txt(::X509_get_subject_name(x.get()), "CN", MBSTRING_ASC,
                                           cn_bytes, -1, -1, 0) == 1 &&
              ::X509_set_issuer_name(x.get(), ::X509_get_subject_name(issuer ? issuer : x.get())) ==
                1;
    if (!ok)
      throw std::runtime_error("cannot build the certificate for " + cn);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    ::X509V3_set_ctx(&ctx, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
    for (const auto& [nid, value] : extensions) {
      X509_EXTENSION* ext = ::X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
      bool added = ext && ::X509_add_ext(x.get(), ext, -1) == 1;
      ::X509_EXTENSION_free(ext);
      if (!added)
        throw std::runtime_error("cannot add the extension " + value + " to " + cn);
    }
    if (::X509_sign(x.get(), ca_key_.get(), ::EVP_sha256()) <= 0)
      throw std::runtime_error("cannot sign the certificate for " + cn);
    return x;
  }

  static void write_pem(const std::string& path, X509* cert, X509* chain) {
    FILE* f = std::fopen(path.c_str(), "w");
    bool ok = f && ::PEM_write_X509(f, cert) == 1 && (!chain || ::PEM_write_X509(f, chain) == 1);
    if (f)
      std::fclose(f);
    if (!ok)
      throw std::runtime_error("cannot write " + path);
  }

  static void write_key(const std::string& path, EVP_PKEY* key) {
    FILE* f = std::fopen(path.c_str(), "w");
    bool ok = f && ::PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    if (f)
      std::fclose(f);
    if (!ok)
      throw std::runtime_error("cannot write " + path);
  }

  std::string dir_;
  key_ptr ca_key_;
  cert_ptr ca_cert_;
  long serial_ = 0;
};

} // namespace sy::test
