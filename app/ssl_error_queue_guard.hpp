#pragma once
// The OpenSSL error-queue guard for CAF 0.17.6's TLS links (see the .cpp).

namespace sy::app {

/// Returns true when this process's TLS reads, writes and handshakes go
/// through the guard that clears OpenSSL's error queue first (the
/// executable's SSL_read/SSL_accept are the ones the libraries call).
bool ssl_error_queue_guard_bound();

} // namespace sy::app
