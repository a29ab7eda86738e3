#include "transport/http_client.hpp"

#include <gtest/gtest.h>

#include "tests/unit/transport/loopback.hpp"

namespace sy::transport {
namespace {

using namespace test;

std::string local_url(uint16_t port, std::string_view target = "/") {
  return "http://127.0.0.1:" + std::to_string(port) + std::string(target);
}

TEST(http_client, times_out_against_a_server_that_never_answers) {
  io_threads io;
  auto requests = std::make_shared<std::atomic<int>>(0);
  imposter silent([requests](raw_socket& s, int) {
    if (s.read_message())
      ++*requests;
  });
  http_client client(io.ioc(), {});
  auto req = make_request("POST", local_url(silent.port(), "/hook"), "{}");
  req.timeout = 200ms;
  auto began = clock_type::now();
  auto r = send_and_wait(client, std::move(req));
  auto took = clock_type::now() - began;
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "timed out after 200 ms");
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 5s);
}

TEST(http_client, reports_connection_refused) {
  io_threads io;
  // A socket bound but not listening: its port refuses connections and no
  // one else can take it during the test.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  http_client client(io.ioc(), {});
  auto r = send_and_wait(client, make_request("POST", local_url(ntohs(addr.sin_port)), "{}"));
  ::close(fd);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "connection refused");
}

TEST(http_client, refuses_bad_urls_and_https_on_an_io_thread) {
  io_threads io;
  http_client client(io.ioc(), {});
  auto on_io = std::make_shared<std::promise<bool>>();
  client.send(make_request("GET", "ftp://example.com/"), [&io, on_io](client_response r) {
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.error.rfind("bad url: ", 0), 0u) << r.error;
    on_io->set_value(io.on_io_thread());
  });
  auto future = on_io->get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(future.get());

  auto tls = send_and_wait(client, make_request("POST", "https://example.com/hook", "{}"));
  EXPECT_EQ(tls.status, 0);
  EXPECT_EQ(tls.error, "https is not supported yet");
}

TEST(http_client, sends_host_user_agent_content_type_and_body) {
  io_threads io;
  auto head = std::make_shared<std::promise<std::pair<std::string, std::string>>>();
  imposter server([head](raw_socket& s, int) {
    auto m = s.read_message();
    if (!m)
      return;
    s.send_all(ok_response("fine"));
    head->set_value(*m);
  });
  http_client client(io.ioc(), {});
  auto req = make_request("PUT", local_url(server.port(), "/a/b?c=d"), R"({"x":1})");
  req.headers.emplace_back("X-Signature", "abc");
  auto r = send_and_wait(client, std::move(req));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "fine");
  EXPECT_EQ(find_header(r.headers, "content-length"), "4");
  auto future = head->get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  auto [text, body] = future.get();
  raw_response seen;
  seen.head = text;
  EXPECT_EQ(text.substr(0, text.find("\r\n")), "PUT /a/b?c=d HTTP/1.1");
  EXPECT_EQ(seen.header("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen.header("user-agent"), "switchyard/0.1");
  EXPECT_EQ(seen.header("content-type"), "application/json");
  EXPECT_EQ(seen.header("content-length"), "7");
  EXPECT_EQ(seen.header("x-signature"), "abc");
  EXPECT_EQ(body, R"({"x":1})");
}

TEST(http_client, retries_when_the_pooled_connection_was_closed_after_its_response) {
  io_threads io;
  imposter server([](raw_socket& s, int index) {
    if (!s.read_message())
      return;
    s.send_all(ok_response("conn " + std::to_string(index)));
    // Says keep-alive, then closes: the client pools a dead connection.
    s.close();
  });
  http_client client(io.ioc(), {});
  auto first = send_and_wait(client, make_request("POST", local_url(server.port()), "{}"));
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "conn 0");
  auto second = send_and_wait(client, make_request("POST", local_url(server.port()), "{}"));
  EXPECT_EQ(second.status, 200) << second.error;
  EXPECT_EQ(second.body, "conn 1");
}

TEST(http_client, retries_when_the_server_closes_as_the_next_request_arrives) {
  io_threads io;
  imposter server([](raw_socket& s, int index) {
    if (index == 0) {
      // Answers one request, then reads the next and closes without a
      // word, as a server whose idle timer fired at that moment does.
      if (!s.read_message())
        return;
      s.send_all(ok_response("first"));
      s.read_message();
      s.close();
      return;
    }
    if (s.read_message())
      s.send_all(ok_response("fresh"));
  });
  http_client client(io.ioc(), {});
  EXPECT_EQ(send_and_wait(client, make_request("POST", local_url(server.port()), "{}")).body, "first");
  auto second = send_and_wait(client, make_request("POST", local_url(server.port()), "{}"));
  EXPECT_EQ(second.status, 200) << second.error;
  EXPECT_EQ(second.body, "fresh");
  EXPECT_EQ(server.accepted(), 2);
}

TEST(http_client, does_not_retry_a_fresh_connection) {
  io_threads io;
  imposter server([](raw_socket& s, int) {
    s.read_message();
    s.close();
  });
  http_client client(io.ioc(), {});
  auto r = send_and_wait(client, make_request("POST", local_url(server.port()), "{}"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error.rfind("read: ", 0), 0u) << r.error;
  EXPECT_EQ(server.accepted(), 1);
}

TEST(http_client, completes_200_concurrent_requests) {
  io_threads io;
  http_server server(io.ioc(), {});
  server.route("POST", "/hook/{n}", [](http_request&& r, responder reply) {
    http_response res;
    res.body = r.params.at(0);
    reply(std::move(res));
  });
  std::string error;
  auto port = server.listen("127.0.0.1", 0, error);
  ASSERT_TRUE(port) << error;

  http_client client(io.ioc(), {});
  constexpr int total = 200;
  struct tally {
    std::mutex mutex;
    int done = 0;
    int ok = 0;
    std::promise<void> all;
  };
  auto t = std::make_shared<tally>();
  for (int i = 0; i < total; ++i) {
    client.send(make_request("POST", local_url(*port, "/hook/" + std::to_string(i)), "{}"),
                [t, i](client_response r) {
                  std::lock_guard lock(t->mutex);
                  if (r.status == 200 && r.body == std::to_string(i))
                    ++t->ok;
                  if (++t->done == total)
                    t->all.set_value();
                });
  }
  ASSERT_EQ(t->all.get_future().wait_for(30s), std::future_status::ready);
  std::lock_guard lock(t->mutex);
  EXPECT_EQ(t->ok, total);
}

TEST(http_client, keeps_the_status_of_a_response_over_max_response_bytes) {
  io_threads io;
  http_server server(io.ioc(), {});
  server.route("GET", "/big", [](http_request&&, responder reply) {
    http_response res;
    res.status = 201;
    res.body = std::string(10000, 'b');
    reply(std::move(res));
  });
  std::string error;
  auto port = server.listen("127.0.0.1", 0, error);
  ASSERT_TRUE(port) << error;
  client_options options;
  options.max_response_bytes = 100;
  http_client client(io.ioc(), options);
  auto r = send_and_wait(client, make_request("GET", local_url(*port, "/big")));
  EXPECT_EQ(r.status, 201);
  EXPECT_LE(r.body.size(), 100u);
  EXPECT_EQ(r.error, "");
}

TEST(http_client, cuts_a_chunked_response_over_max_response_bytes) {
  io_threads io;
  imposter server([](raw_socket& s, int) {
    if (!s.read_message())
      return;
    std::string chunk(80, 'c');
    s.send_all("HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n50\r\n" + chunk + "\r\n50\r\n" + chunk +
               "\r\n0\r\n\r\n");
  });
  client_options options;
  options.max_response_bytes = 100;
  http_client client(io.ioc(), options);
  auto r = send_and_wait(client, make_request("POST", local_url(server.port()), "{}"));
  EXPECT_EQ(r.status, 202);
  EXPECT_LE(r.body.size(), 100u);
}

TEST(http_client, resolves_host_names) {
  io_threads io;
  http_server server(io.ioc(), {});
  server.route("GET", "/", [](http_request&& r, responder reply) {
    http_response res;
    res.body = std::string(r.header("host"));
    reply(std::move(res));
  });
  std::string error;
  auto port = server.listen("127.0.0.1", 0, error);
  ASSERT_TRUE(port) << error;
  http_client client(io.ioc(), {});
  // "localhost" may resolve to ::1 first, where nothing listens: the
  // client then tries the next address.
  auto r = send_and_wait(client, make_request("GET", "http://localhost:" + std::to_string(*port) + "/"));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "localhost:" + std::to_string(*port));
}

TEST(http_client, shutdown_closes_idle_connections) {
  io_threads io;
  http_server server(io.ioc(), {});
  server.route("GET", "/", [](http_request&&, responder reply) { reply(http_response{}); });
  std::string error;
  auto port = server.listen("127.0.0.1", 0, error);
  ASSERT_TRUE(port) << error;
  http_client client(io.ioc(), {});
  EXPECT_EQ(send_and_wait(client, make_request("GET", local_url(*port))).status, 200);
  client.shutdown();
  // With the pool emptied the next request opens a new connection.
  EXPECT_EQ(send_and_wait(client, make_request("GET", local_url(*port))).status, 200);
  EXPECT_EQ(server.accepted_connections(), 2u);
}

} // namespace
} // namespace sy::transport
