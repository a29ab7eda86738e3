#pragma once
// Every CAF atom and message type switchyard's actors exchange. All of them
// are local-only (closures, shared pointers): none crosses a node.

#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/subscription.hpp"
#include "storage/journal.hpp"
#include "transport/http_types.hpp"

namespace sy::actors {

/// Delivers new events to a subscriber (one message per commit group).
using enqueue_atom = caf::atom_constant<caf::atom("enqueue")>;
/// Reports the outcome of one webhook POST to its subscriber.
using delivered_atom = caf::atom_constant<caf::atom("delivered")>;
/// Ends a backoff period (carries the timer generation).
using wake_atom = caf::atom_constant<caf::atom("wake")>;
/// Ends a rate-limit wait (carries the timer generation).
using tokens_atom = caf::atom_constant<caf::atom("tokens")>;
/// Reports a token endpoint's answer to its subscriber (OAuth egress auth).
using token_atom = caf::atom_constant<caf::atom("token")>;
/// Writes a subscriber's batched acks to the journal.
using flush_atom = caf::atom_constant<caf::atom("flushacks")>;
/// Replaces a subscriber's copy of its subscription.
using config_atom = caf::atom_constant<caf::atom("config")>;
/// Drops a subscriber's queue.
using purge_atom = caf::atom_constant<caf::atom("purge")>;
/// Requeues a subscriber's dead letters.
using replay_atom = caf::atom_constant<caf::atom("replay")>;
/// Runs a task inside the registry actor.
using task_atom = caf::atom_constant<caf::atom("task")>;
/// Triggers journal garbage collection.
using gc_atom = caf::atom_constant<caf::atom("gc")>;
/// Seals a pull subscriber's open file once it is old enough (carries the timer generation).
using rotate_atom = caf::atom_constant<caf::atom("rotate")>;
/// Lists a pull subscriber's sealed files (count, reply).
using files_atom = caf::atom_constant<caf::atom("files")>;
/// Reads one of a pull subscriber's files (name, reply).
using read_file_atom = caf::atom_constant<caf::atom("readfile")>;
/// Deletes one of a pull subscriber's files (name, reply).
using drop_file_atom = caf::atom_constant<caf::atom("dropfile")>;

/// Events for one subscriber, in sequence order.
struct event_list {
  std::vector<storage::event_ptr> events;
};

/// The answer to an API call made through an actor: status and JSON body.
using reply_fn = std::function<void(int status, std::string body)>;

/// A count-returning reply (purge, replay).
using count_fn = std::function<void(uint64_t)>;

// -- internal to the subscriber ------------------------------------------------

/// Ends a failed event's own retry wait (carries the timer generation).
using retry_atom = caf::atom_constant<caf::atom("retry")>;

} // namespace sy::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::event_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::subscription)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::reply_fn)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::actors::count_fn)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sy::transport::client_response)
