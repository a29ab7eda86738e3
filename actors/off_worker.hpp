#pragma once
// Synced journal writes off CAF's workers: an actor hands the write to
// storage::blocking_worker and gets its result back as a storage_done
// message, whose continuation runs in the actor like any handler. Used by
// the registry, the subscribers and the pull subscribers.

#include <memory>
#include <type_traits>
#include <utility>

#include "actors/messages.hpp"
#include "storage/worker.hpp"

namespace sy::actors {

/// Runs `job` (a synced journal write) on `writer`, then `then(result)` in
/// the actor `me` (which must handle storage_done by calling its `then`);
/// both run inline, on the caller's thread, when `writer` is null (tests
/// that need no thread). Jobs of every actor run one at a time, in the order
/// asked. When `me` is gone before the job ends, the continuation is dropped
/// with its message: it may capture the actor's state by pointer.
template <class Handle, class Job, class Then>
void off_worker(storage::blocking_worker* writer, const Handle& me, Job job, Then then) {
  if (!writer) {
    auto r = job();
    then(r);
    return;
  }
  writer->post([me, job = std::move(job), then = std::move(then)]() mutable {
    auto r = std::make_shared<std::invoke_result_t<Job&>>(job());
    caf::anon_send(me, storage_done{[r, then = std::move(then)]() mutable { then(*r); }});
  });
}

} // namespace sy::actors
