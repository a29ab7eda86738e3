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

TEST(http_client, refuses_bad_urls_on_an_io_thread) {
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

TEST(http_client, keeps_host_and_framing_its_own_and_drops_headers_with_line_breaks) {
  io_threads io;
  auto head = std::make_shared<std::promise<std::string>>();
  imposter server([head](raw_socket& s, int) {
    auto m = s.read_message();
    if (!m)
      return;
    s.send_all(ok_response("ok"));
    head->set_value(m->first);
  });
  http_client client(io.ioc(), {});
  auto req = make_request("POST", local_url(server.port(), "/x"), "12345");
  req.headers = {
    {"Host", "evil.example"},   {"Content-Length", "99"},        {"Transfer-Encoding", "chunked"},
    {"Connection", "close"},    {"X-Split", "a\r\nInjected: 1"}, {"X-Name\r\nInjected", "2"},
    {"User-Agent", "custom/1"}, {"Content-Type", "text/plain"},  {"X-Kept", "yes"}};
  auto r = send_and_wait(client, std::move(req));
  EXPECT_EQ(r.status, 200) << r.error;
  auto future = head->get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  raw_response seen;
  seen.head = future.get();
  EXPECT_EQ(seen.header("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen.header("content-length"), "5");
  EXPECT_EQ(seen.header("user-agent"), "custom/1");
  EXPECT_EQ(seen.header("content-type"), "text/plain");
  EXPECT_EQ(seen.header("x-kept"), "yes");
  for (std::string absent : {"transfer-encoding", "connection", "injected", "x-split"})
    EXPECT_EQ(seen.header(absent), "") << absent;
  // One of each: nothing the caller gave went out beside ours.
  EXPECT_EQ(seen.head.find("\r\nHost:"), seen.head.rfind("\r\nHost:"));
  EXPECT_EQ(seen.head.find("Content-Length:"), seen.head.rfind("Content-Length:"));
  EXPECT_EQ(seen.head.find("User-Agent:"), seen.head.rfind("User-Agent:"));
}

TEST(http_client, reuses_a_connection_whose_responses_arrive_in_pieces) {
  io_threads io;
  // The body (plain, then chunked) is sent after the head, in a second
  // write: the client reads it on its own or with the head, and either way
  // keeps the connection for the next request.
  imposter server([](raw_socket& s, int index) {
    for (int i = 0; s.read_message(); ++i) {
      const std::string body = "conn " + std::to_string(index) + " #" + std::to_string(i);
      if (i % 2 == 0) {
        s.send_all("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                   "\r\n\r\n");
        std::this_thread::sleep_for(20ms);
        s.send_all(body);
      } else {
        s.send_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n" +
                   body.substr(0, 3) + "\r\n");
        std::this_thread::sleep_for(20ms);
        s.send_all(std::to_string(body.size() - 3) + "\r\n" + body.substr(3) + "\r\n0\r\n\r\n");
      }
    }
  });
  http_client client(io.ioc(), {});
  for (int i = 0; i < 4; ++i) {
    auto r = send_and_wait(client, make_request("POST", local_url(server.port()), "{}"));
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.body, "conn 0 #" + std::to_string(i));
  }
  EXPECT_EQ(server.accepted(), 1);
}

// Answers every request on the connection with its index, until it closes
// (the imposter accepts the next connection only after that).
void answer_each(raw_socket& s, int index) {
  while (s.read_message())
    s.send_all(ok_response("conn " + std::to_string(index)));
}

// Answers one request and leaves the connection open.
void answer_one(raw_socket& s, int index) {
  if (s.read_message())
    s.send_all(ok_response("conn " + std::to_string(index)));
}

// On the first connection answers one request "first", then reads the next
// and drops the connection without a word (over TLS: without close_notify),
// as a server whose idle timer fires at that moment does; answers every
// later connection like answer_each.
void close_at_the_second_request(raw_socket& s, int index) {
  if (index != 0)
    return answer_each(s, index);
  if (!s.read_message())
    return;
  s.send_all(ok_response("first"));
  s.read_message();
  s.close();
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
  imposter server(close_at_the_second_request);
  http_client client(io.ioc(), {});
  EXPECT_EQ(send_and_wait(client, make_request("POST", local_url(server.port()), "{}")).body,
            "first");
  auto second = send_and_wait(client, make_request("POST", local_url(server.port()), "{}"));
  EXPECT_EQ(second.status, 200) << second.error;
  EXPECT_EQ(second.body, "conn 1");
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
    s.send_all("HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n50\r\n" + chunk +
               "\r\n50\r\n" + chunk + "\r\n0\r\n\r\n");
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
  auto r = send_and_wait(client,
                         make_request("GET", "http://localhost:" + std::to_string(*port) + "/"));
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

// -- TLS ------------------------------------------------------------------------

std::string localhost_url(uint16_t port, std::string_view scheme = "https",
                          std::string_view target = "/") {
  return std::string(scheme) + "://localhost:" + std::to_string(port) + std::string(target);
}

client_options trusting(const test_pki& pki) {
  client_options options;
  options.ca_file = pki.ca_file();
  return options;
}

TEST(http_client, https_verifies_the_certificate_with_ca_file_and_sends_sni) {
  io_threads io;
  test_pki pki;
  tls_server_context tls(pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1"));
  auto seen = std::make_shared<std::promise<std::pair<std::string, std::string>>>();
  imposter server(
    [seen](raw_socket& s, int) {
      auto m = s.read_message();
      if (!m)
        return;
      s.send_all(ok_response("secret"));
      seen->set_value(*m);
    },
    tls.get());
  http_client client(io.ioc(), trusting(pki));
  auto r = send_and_wait(
    client, make_request("POST", localhost_url(server.port(), "https", "/hook?a=1"), "{}"));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "secret");
  EXPECT_EQ(server.server_names(), std::vector<std::string>{"localhost"});
  auto future = seen->get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  auto [head, body] = future.get();
  raw_response request;
  request.head = head;
  EXPECT_EQ(head.substr(0, head.find("\r\n")), "POST /hook?a=1 HTTP/1.1");
  EXPECT_EQ(request.header("host"), "localhost:" + std::to_string(server.port()));
  EXPECT_EQ(body, "{}");
}

TEST(http_client, https_to_an_ip_literal_checks_the_ip_san_and_sends_no_sni) {
  io_threads io;
  test_pki pki;
  tls_server_context tls(pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1"));
  imposter server(answer_one, tls.get());
  http_client client(io.ioc(), trusting(pki));
  auto r = send_and_wait(
    client, make_request("GET", "https://127.0.0.1:" + std::to_string(server.port()) + "/"));
  EXPECT_EQ(r.status, 200) << r.error;
  // RFC 6066: no IP literal in SNI.
  EXPECT_EQ(server.server_names(), std::vector<std::string>{""});
}

TEST(http_client, https_fails_verification_without_the_ca) {
  io_threads io;
  test_pki pki;
  tls_server_context tls(pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1"));
  auto requests = std::make_shared<std::atomic<int>>(0);
  imposter server(
    [requests](raw_socket& s, int) {
      if (s.read_message())
        ++*requests;
    },
    tls.get());
  http_client client(io.ioc(), {});
  auto r = send_and_wait(client, make_request("POST", localhost_url(server.port()), "{}"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error.rfind("tls handshake: certificate verify failed (", 0), 0u) << r.error;
  EXPECT_NE(r.error.find("self-signed certificate in certificate chain"), std::string::npos)
    << r.error;
  EXPECT_EQ(*requests, 0);
}

TEST(http_client, https_fails_when_the_certificate_names_another_host) {
  io_threads io;
  test_pki pki;
  tls_server_context tls(pki.leaf("other", "DNS:other.example"));
  imposter server(answer_one, tls.get());
  http_client client(io.ioc(), trusting(pki));
  auto by_name = send_and_wait(client, make_request("POST", localhost_url(server.port()), "{}"));
  EXPECT_EQ(by_name.status, 0);
  EXPECT_EQ(by_name.error, "tls handshake: certificate verify failed (hostname mismatch)");
  auto by_ip = send_and_wait(
    client, make_request("POST", "https://127.0.0.1:" + std::to_string(server.port()), "{}"));
  EXPECT_EQ(by_ip.status, 0);
  EXPECT_EQ(by_ip.error, "tls handshake: certificate verify failed (IP address mismatch)");
}

TEST(http_client, https_reuses_a_kept_alive_tls_connection) {
  io_threads io;
  test_pki pki;
  tls_server_context tls(pki.leaf("localhost", "DNS:localhost"));
  imposter server(answer_each, tls.get());
  http_client client(io.ioc(), trusting(pki));
  auto first = send_and_wait(client, make_request("POST", localhost_url(server.port()), "{}"));
  auto second = send_and_wait(client, make_request("POST", localhost_url(server.port()), "{}"));
  EXPECT_EQ(first.body, "conn 0") << first.error;
  EXPECT_EQ(second.body, "conn 0") << second.error;
  EXPECT_EQ(server.accepted(), 1);
}

TEST(http_client, https_and_http_to_the_same_host_and_port_are_different_origins) {
  io_threads io;
  test_pki pki;
  tls_server_context tls(pki.leaf("localhost", "DNS:localhost"));
  imposter server(answer_one, tls.get());
  http_client client(io.ioc(), trusting(pki));
  EXPECT_EQ(send_and_wait(client, make_request("GET", localhost_url(server.port()))).status, 200);
  // The pooled TLS connection must not carry a plain-text request: this
  // one opens its own connection and fails the server's handshake.
  auto plain = send_and_wait(client, make_request("GET", localhost_url(server.port(), "http")));
  EXPECT_EQ(plain.status, 0);
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.failed_handshakes(), 1);
}

TEST(http_client, https_retries_when_the_pooled_tls_connection_was_closed) {
  io_threads io;
  test_pki pki;
  tls_server_context tls(pki.leaf("localhost", "DNS:localhost"));
  imposter server(close_at_the_second_request, tls.get());
  http_client client(io.ioc(), trusting(pki));
  EXPECT_EQ(send_and_wait(client, make_request("POST", localhost_url(server.port()), "{}")).body,
            "first");
  auto second = send_and_wait(client, make_request("POST", localhost_url(server.port()), "{}"));
  EXPECT_EQ(second.status, 200) << second.error;
  EXPECT_EQ(second.body, "conn 1");
  EXPECT_EQ(server.accepted(), 2);
}

TEST(http_client, https_reads_a_body_ended_by_a_close_without_close_notify) {
  io_threads io;
  test_pki pki;
  tls_server_context tls(pki.leaf("localhost", "DNS:localhost"));
  imposter server(
    [](raw_socket& s, int) {
      if (!s.read_message())
        return;
      s.send_all("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
      s.close();
    },
    tls.get());
  http_client client(io.ioc(), trusting(pki));
  auto r = send_and_wait(client, make_request("POST", localhost_url(server.port()), "{}"));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "until the end");
}

TEST(http_client, https_handshake_keeps_the_request_deadline) {
  io_threads io;
  // Accepts and never answers the ClientHello.
  imposter silent([](raw_socket& s, int) { s.read_message(500ms); });
  http_client client(io.ioc(), {});
  auto req = make_request("POST", localhost_url(silent.port()), "{}");
  req.timeout = 200ms;
  auto began = clock_type::now();
  auto r = send_and_wait(client, std::move(req));
  EXPECT_EQ(r.error, "timed out after 200 ms");
  EXPECT_LT(clock_type::now() - began, 5s);
}

TEST(http_client, https_to_a_plain_http_server_fails_the_handshake) {
  io_threads io;
  imposter plain([](raw_socket& s, int) {
    s.read_until([](const std::string& b) { return !b.empty(); }, 5s);
    s.send_all("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  });
  http_client client(io.ioc(), {});
  auto r = send_and_wait(client, make_request("GET", localhost_url(plain.port())));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "tls handshake: wrong version number");
}

TEST(http_client, a_missing_or_unreadable_ca_file_fails_construction_naming_it) {
  io_threads io;
  test_pki pki;
  client_options missing;
  missing.ca_file = pki.dir() + "/nope.pem";
  try {
    http_client client(io.ioc(), missing);
    ADD_FAILURE() << "constructed with a missing ca_file";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot load CA file " + missing.ca_file + ": no such file");
  }
  client_options garbage;
  garbage.ca_file = pki.dir() + "/garbage.pem";
  {
    FILE* f = std::fopen(garbage.ca_file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("not a certificate\n", f);
    std::fclose(f);
  }
  try {
    http_client client(io.ioc(), garbage);
    ADD_FAILURE() << "constructed with a ca_file holding no certificate";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cannot load CA file " + garbage.ca_file + ": ", 0), 0u)
      << e.what();
  }
}

// -- private destinations ------------------------------------------------------

client_options public_only() {
  client_options options;
  options.allow_private = false;
  return options;
}

TEST(http_client, allow_private_false_refuses_a_private_ip_literal_without_connecting) {
  io_threads io;
  imposter server(answer_one);
  http_client client(io.ioc(), public_only());
  auto r = send_and_wait(client, make_request("POST", local_url(server.port()), "{}"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "refused: 127.0.0.1 is a private address (egress.allow_private = false)");
  auto v6 = send_and_wait(
    client, make_request("POST", "http://[::ffff:127.0.0.1]:" + std::to_string(server.port())));
  EXPECT_EQ(v6.error,
            "refused: ::ffff:127.0.0.1 is a private address (egress.allow_private = false)");
  EXPECT_EQ(server.accepted(), 0);
}

TEST(http_client, allow_private_false_refuses_a_name_resolving_to_loopback_without_connecting) {
  io_threads io;
  test_pki pki;
  tls_server_context tls(pki.leaf("localhost", "DNS:localhost"));
  imposter plain(answer_one);
  imposter secure(answer_one, tls.get());
  auto options = public_only();
  options.ca_file = pki.ca_file();
  http_client client(io.ioc(), options);
  for (auto url : {localhost_url(plain.port(), "http"), localhost_url(secure.port(), "https")}) {
    auto r = send_and_wait(client, make_request("POST", url, "{}"));
    EXPECT_EQ(r.status, 0);
    // localhost is 127.0.0.1 or ::1 depending on the resolver's order.
    EXPECT_EQ(r.error.rfind("refused: localhost resolves to private address ", 0), 0u) << r.error;
    EXPECT_NE(r.error.find(" (egress.allow_private = false)"), std::string::npos) << r.error;
  }
  EXPECT_EQ(plain.accepted(), 0);
  EXPECT_EQ(secure.accepted(), 0);
}

TEST(http_client, allow_private_true_connects_to_loopback) {
  io_threads io;
  imposter server(answer_one);
  client_options options;
  options.allow_private = true;
  http_client client(io.ioc(), options);
  EXPECT_EQ(send_and_wait(client, make_request("POST", local_url(server.port()), "{}")).status,
            200);
  EXPECT_EQ(
    send_and_wait(client, make_request("POST", localhost_url(server.port(), "http"), "{}")).status,
    200);
}

TEST(http_client, is_private_address_knows_the_refused_ranges) {
  for (auto ip : {"127.0.0.1",
                  "127.255.255.254",
                  "10.0.0.1",
                  "172.16.0.1",
                  "172.31.255.255",
                  "192.168.1.1",
                  "169.254.169.254",
                  "100.64.0.1",
                  "100.127.255.255",
                  "0.0.0.0",
                  "0.1.2.3",
                  "::1",
                  "::",
                  "fe80::1",
                  "febf::1",
                  "fc00::1",
                  "fd12:3456::1",
                  "fec0::1",
                  "::ffff:10.1.2.3",
                  "::ffff:127.0.0.1",
                  "::ffff:169.254.169.254",
                  "::127.0.0.1"})
    EXPECT_TRUE(is_private_address(ip)) << ip;
  for (auto ip :
       {"8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "192.167.1.1", "169.253.0.1",
        "100.63.255.255", "100.128.0.1", "11.0.0.1", "2001:4860:4860::8888", "2606:4700::1111",
        "::ffff:8.8.8.8", "fbff::1", "fe00::1", "not an address", "localhost", ""})
    EXPECT_FALSE(is_private_address(ip)) << ip;
}

} // namespace
} // namespace sy::transport
