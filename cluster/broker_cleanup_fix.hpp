#pragma once
// The shutdown fix for CAF 0.17.6's brokers in cluster mode (see the .cpp).

namespace sy::cluster {

/// Returns true when CAF's brokers (the BASP broker of the node links)
/// run this executable's abstract_broker::cleanup, which closes the
/// broker's mailbox as CAF 0.19.5 does, instead of libcaf_io's own.
bool broker_cleanup_fix_bound();

} // namespace sy::cluster
