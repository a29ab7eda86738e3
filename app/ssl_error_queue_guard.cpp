// Clears OpenSSL's per-thread error queue before each TLS read, write and
// handshake of this process (docs/cluster.md, "Mutual TLS between nodes").
//
// Why: CAF 0.17.6's OpenSSL session (libcaf_openssl/src/openssl/session.cpp)
// never calls ERR_clear_error(), and every session runs on the middleman's
// one multiplexer thread. A handshake that fails (a peer whose certificate
// another CA signed) leaves its error in that thread's queue; the next
// SSL_read on a healthy link that runs out of data returns -1, and
// SSL_get_error() then answers SSL_ERROR_SSL instead of
// SSL_ERROR_WANT_READ because the queue is not empty, so CAF closes the
// healthy link (remote_link_unreachable). Upstream fixed the pattern only in
// its newer caf.net module (0.19). Clearing the queue before each call is
// what OpenSSL's SSL_get_error documentation asks of the caller; Asio's TLS
// engine (the HTTPS listener) already does it, so for it this is a no-op.
//
// How: these definitions live in the executable, which exports them (the
// shared libraries reference them), so libcaf_openssl's calls bind here
// first; each forwards to libssl's own function, found with RTLD_NEXT.
// app/server.cpp refuses to start with cluster.tls_* when they are not
// bound (ssl_error_queue_guard_bound), so a build that lost the
// interposition is noticed at start instead of as flapping links.

#include "app/ssl_error_queue_guard.hpp"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <cstdlib>

namespace {

// Returns libssl's definition of `name` (the one after this executable's).
template <class Fn>
Fn next_definition(const char* name) {
  void* found = dlvsym(RTLD_NEXT, name, "OPENSSL_3.0.0");
  if (found == nullptr)
    found = dlsym(RTLD_NEXT, name);
  if (found == nullptr) {
    std::fprintf(stderr, "switchyard: cannot find libssl's %s: %s\n", name, dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(found);
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static const auto next = next_definition<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static const auto next = next_definition<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static const auto next = next_definition<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return next(ssl);
}

int SSL_connect(SSL* ssl) {
  static const auto next = next_definition<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return next(ssl);
}

} // extern "C"

namespace sy::app {

bool ssl_error_queue_guard_bound() {
  return dlsym(RTLD_DEFAULT, "SSL_read") == reinterpret_cast<void*>(&SSL_read) &&
         dlsym(RTLD_DEFAULT, "SSL_accept") == reinterpret_cast<void*>(&SSL_accept);
}

} // namespace sy::app
