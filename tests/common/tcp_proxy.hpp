#pragma once
// A TCP proxy on a free loopback port to 127.0.0.1:`target`, for tests that
// break one connection without stopping either end: freeze() turns it into a
// black hole (what either side sends from then on is read and dropped,
// connections stay open and new ones are taken, so requests through it time
// out: an etcd member that lost its leader, or cut off) until thaw() (what is
// sent from then on passes: a member whose election ended); cut() closes every
// connection open now and passes new ones on (a link that flaps); refuse()
// closes every connection open now and each new one as it comes, until
// pass() (a target that is down, answered at once).

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace sy::test {

class tcp_proxy {
public:
  explicit tcp_proxy(uint16_t target)
      : target_(target), acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~tcp_proxy() {
    ioc_.stop();
    thread_.join();
  }
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void freeze() { frozen_ = true; }
  void thaw() { frozen_ = false; }
  void refuse() {
    refusing_ = true;
    cut();
  }
  void pass() { refusing_ = false; }

  /// Closes every connection open now (both sides see it closed); returns
  /// how many it closed.
  size_t cut() {
    std::promise<size_t> closed;
    boost::asio::post(ioc_, [this, &closed] {
      size_t n = 0;
      for (auto& weak : pipes_)
        if (auto p = weak.lock()) {
          boost::system::error_code ignored;
          p->a.close(ignored);
          p->b.close(ignored);
          ++n;
        }
      pipes_.clear();
      closed.set_value(n);
    });
    return closed.get_future().get();
  }

private:
  using tcp = boost::asio::ip::tcp;
  struct pipe : std::enable_shared_from_this<pipe> {
    pipe(boost::asio::io_context& ioc, tcp::socket client) : a(std::move(client)), b(ioc) {}
    tcp::socket a, b;
    std::array<char, 16384> from_a{}, from_b{};
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec)
        return;
      if (refusing_) {
        boost::system::error_code ignored;
        s.close(ignored);
        return accept();
      }
      auto p = std::make_shared<pipe>(ioc_, std::move(s));
      pipes_.push_back(p);
      p->b.async_connect({boost::asio::ip::make_address("127.0.0.1"), target_},
                         [this, p](boost::system::error_code ec) {
                           if (ec)
                             return;
                           pump(p, p->a, p->b, p->from_a);
                           pump(p, p->b, p->a, p->from_b);
                         });
      accept();
    });
  }

  // Copies `from` to `to` until either closes; drops what it reads while frozen.
  void pump(std::shared_ptr<pipe> p, tcp::socket& from, tcp::socket& to,
            std::array<char, 16384>& buf) {
    from.async_read_some(boost::asio::buffer(buf), [this, p, &from, &to,
                                                    &buf](boost::system::error_code ec, size_t n) {
      if (ec) {
        boost::system::error_code ignored;
        to.shutdown(tcp::socket::shutdown_both, ignored);
        return;
      }
      if (frozen_)
        return pump(p, from, to, buf);
      boost::asio::async_write(to, boost::asio::buffer(buf.data(), n),
                               [this, p, &from, &to, &buf](boost::system::error_code ec, size_t) {
                                 if (!ec)
                                   pump(p, from, to, buf);
                               });
    });
  }

  uint16_t target_;
  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::atomic<bool> frozen_{false};
  std::atomic<bool> refusing_{false};
  std::vector<std::weak_ptr<pipe>> pipes_; // the io thread's only
  std::thread thread_;
};

} // namespace sy::test
