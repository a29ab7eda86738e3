#pragma once
// A loopback port for a process a test starts, and may restart, on a fixed
// port (etcd, a cluster node's cluster.listen).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <fstream>
#include <random>

namespace sy::test {

/// Returns a TCP port that was free on 127.0.0.1 a moment ago, chosen below
/// the kernel's ephemeral range (net.ipv4.ip_local_port_range): a port from
/// that range (what binding port 0 gives) can be taken as the local port of
/// any process's outgoing connection while the test's process is down, and
/// a restart on it then fails for as long as that connection lives (CI once
/// saw etcd refused its own port for 30 s). Falls back to port 0's choice.
inline int free_port() {
  namespace ip = boost::asio::ip;
  boost::asio::io_context ioc;
  int ephemeral_low = 32768;
  if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range)
    range >> ephemeral_low;
  constexpr int lowest = 10000;
  if (ephemeral_low > lowest + 1000) {
    static thread_local std::mt19937 random(std::random_device{}());
    std::uniform_int_distribution<int> pick(lowest, ephemeral_low - 1);
    for (int attempt = 0; attempt < 100; ++attempt) {
      const auto port = static_cast<unsigned short>(pick(random));
      ip::tcp::acceptor a(ioc);
      boost::system::error_code ec;
      a.open(ip::tcp::v4(), ec);
      if (!ec)
        a.bind({ip::make_address("127.0.0.1"), port}, ec);
      if (!ec)
        return port;
    }
  }
  ip::tcp::acceptor a(ioc, {ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

} // namespace sy::test
