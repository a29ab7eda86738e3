#pragma once

#include <unistd.h>

namespace sy::test {

/// Call in a forked child just before exec: closes every descriptor but
/// stdin, stdout and stderr, so that nothing of the test stays open in the
/// program it starts — a socket the test closes (a proxy's cut, a listener
/// it gave up) would otherwise live on in every child started after it.
/// Async-signal-safe (close_range: glibc ≥ 2.34).
inline void close_inherited_descriptors() { ::close_range(3, ~0U, 0); }

} // namespace sy::test
