// A terminated CAF broker must not be kept alive by a message that reaches
// it afterwards: the BASP broker's heartbeat, sent by the broker to itself,
// did exactly that at shutdown under CAF 0.17.6 (cluster/broker_cleanup_fix.cpp).

#include "cluster/broker_cleanup_fix.hpp"

#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <thread>

namespace {

using namespace std::chrono_literals;

using tick_atom = caf::atom_constant<caf::atom("bcftick")>;

// Takes an argument: without one, CAF 0.17.6's spawn binds a reference to
// a null tuple, which UBSan stops the sanitizer build on.
caf::behavior idle_broker(caf::io::broker*, int) {
  return {[](tick_atom) {}};
}

} // namespace

TEST(broker_cleanup_fix, is_bound_in_an_executable_that_links_it) {
  EXPECT_TRUE(sy::cluster::broker_cleanup_fix_bound());
}

TEST(broker_cleanup_fix, a_message_a_terminated_broker_sent_itself_does_not_keep_it_alive) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.load<caf::io::middleman>();
  caf::actor_system system{cfg};
  caf::actor_addr weak;
  {
    auto broker = system.middleman().spawn_broker(idle_broker, 0);
    weak = broker.address();
    caf::scoped_actor self{system};
    self->monitor(broker);
    self->send_exit(broker, caf::exit_reason::user_shutdown);
    bool down = false;
    self->receive([&](const caf::down_msg&) { down = true; },
                  caf::after(std::chrono::seconds(5)) >> [] {});
    ASSERT_TRUE(down) << "the broker did not terminate";
    // What the BASP broker's heartbeat does when it comes due after
    // middleman::stop(): a message whose sender is the broker itself.
    caf::send_as(broker, broker, tick_atom::value);
  }
  // Once nothing holds it, the broker is destroyed: its weak address no
  // longer yields a handle. The multiplexer thread may hold it a moment
  // longer, so wait for that with a deadline.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (caf::actor_cast<caf::actor>(weak) != nullptr &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(caf::actor_cast<caf::actor>(weak), nullptr)
    << "the message in the terminated broker's mailbox still holds the broker";
}
