#include "cluster/request_deadlines.hpp"

#include <caf/error.hpp>
#include <caf/local_actor.hpp>
#include <caf/sec.hpp>

namespace sy::cluster {

void request_deadlines::add(caf::message_id response_id, clock::time_point now) {
  order_.emplace_back(now + timeout_, response_id);
  open_.insert(response_id.integer_value());
}

std::size_t request_deadlines::sweep(caf::local_actor* self, clock::time_point now) {
  std::size_t fired = 0;
  while (!order_.empty() && order_.front().first <= now) {
    const auto id = order_.front().second;
    order_.pop_front();
    if (open_.erase(id.integer_value()) == 0)
      continue; // answered in time
    // What CAF 0.17's own timer sends (local_actor::request_response_timeout).
    self->eq_impl(id, self->ctrl(), self->context(), caf::make_error(caf::sec::request_timeout));
    ++fired;
  }
  return fired;
}

} // namespace sy::cluster
