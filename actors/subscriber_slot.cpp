#include "actors/subscriber_slot.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/messages.hpp"

namespace sy::actors {

subscriber_slot::subscriber_slot(caf::actor_system& sys, subscription* record,
                                 std::shared_ptr<const subscriber_env> env)
    : system_(&sys), record_(record), env_(std::move(env)) {}

subscriber_slot::subscriber_slot(caf::actor actor) : actor_(std::move(actor)) {
  live_.store(true, std::memory_order_release);
}

const caf::actor& subscriber_slot::get() {
  if (live_.load(std::memory_order_acquire))
    return actor_;
  std::lock_guard<std::mutex> guard(mutex_);
  if (!actor_ && !closed_)
    // Nothing was queued for it at start-up (else start() ran), and every
    // event since comes in the message that follows this call.
    spawn_locked(false, 0);
  return actor_;
}

void subscriber_slot::start(uint64_t queued) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (!actor_ && !closed_)
    spawn_locked(true, queued);
}

void subscriber_slot::spawn_locked(bool recovered, uint64_t queued) {
  actor_ = spawn_subscriber(*system_, *record_, stats(), std::move(env_), recovered, queued);
  live_.store(true, std::memory_order_release);
}

void subscriber_slot::update(subscription next) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (record_)
    *record_ = std::move(next);
  if (actor_)
    caf::anon_send(actor_, update_subscription{record_ ? *record_ : next});
}

void subscriber_slot::close() {
  std::lock_guard<std::mutex> guard(mutex_);
  closed_ = true;
  if (actor_)
    caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
}

} // namespace sy::actors
