// Makes CAF 0.17.6's brokers close their mailbox when they terminate, so
// that a cluster node's BASP broker is freed at shutdown (docs/cluster.md,
// "Stopping a node").
//
// Why: libcaf_io 0.17.6's abstract_broker::cleanup() closes the broker's
// connections and then calls local_actor::cleanup(), skipping
// scheduled_actor::cleanup(), which is what closes and drains an actor's
// mailbox. A terminated broker therefore keeps taking messages into a
// mailbox nobody reads. The BASP broker re-arms its heartbeat every
// middleman.heartbeat-interval (250 ms here) with a tick message whose
// sender is the broker itself; when that tick comes due after
// middleman::stop() has terminated the broker but before the scheduler's
// clock stops (both happen inside ~actor_system), it lands in the dead
// mailbox and its sender reference keeps the broker alive forever, and
// with it its doormen, node ids, remote-node helpers, the messages behind
// the tick and, with TLS, the OpenSSL state they hold. LeakSanitizer saw
// this in cluster_test at SIGTERM (tests/lsan.supp's history); a core dump
// of such a process showed the broker with one strong reference left,
// held by exactly that element (a mailbox_element_vals<atom_value,
// time_point, timespan, timespan> in the broker's own queue). Upstream
// changed the call to scheduled_actor::cleanup() in commit dc9ae2799
// (released in CAF 0.19.5); this is the same function body.
//
// How: an executable that links this file (it does when it calls
// broker_cleanup_fix_bound) defines the function and exports it, since
// libcaf_io's broker vtables reference the symbol; so every broker's
// cleanup binds here first, as app/ssl_error_queue_guard.cpp does for
// libssl's calls. app/server.cpp calls it in cluster mode and warns when it
// is not bound; a single node loads no middleman and no broker. Tested
// without sockets in tests/unit/cluster/broker_cleanup_fix_test.cpp.

#include "cluster/broker_cleanup_fix.hpp"

#include <caf/io/abstract_broker.hpp>

#include <dlfcn.h>

namespace caf::io {

bool abstract_broker::cleanup(error&& reason, execution_unit* host) {
  close_all();
  return scheduled_actor::cleanup(std::move(reason), host);
}

} // namespace caf::io

namespace sy::cluster {

bool broker_cleanup_fix_bound() {
  // The executable's definition is the one found first, and it is in the
  // same object as this function.
  void* found = dlsym(RTLD_DEFAULT,
                      "_ZN3caf2io15abstract_broker7cleanupEONS_5errorEPNS_14execution_unitE");
  Dl_info where_found{};
  Dl_info here{};
  if (found == nullptr || dladdr(found, &where_found) == 0 ||
      dladdr(reinterpret_cast<void*>(&broker_cleanup_fix_bound), &here) == 0)
    return false;
  return where_found.dli_fbase == here.dli_fbase;
}

} // namespace sy::cluster
