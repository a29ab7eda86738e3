#include "transport/http_server.hpp"

#include <gtest/gtest.h>

#include "core/json_writer.hpp"
#include "tests/unit/transport/loopback.hpp"

namespace sy::transport {
namespace {

using namespace test;

http_response text(std::string body, int status = 200) {
  http_response r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

// A server on 127.0.0.1:0 with the I/O threads it runs on.
class server_test : public ::testing::Test {
protected:
  // Starts the server with `limits`; the routes must be added before.
  void start(server_limits limits = {}) {
    server_ = std::make_unique<http_server>(io_.ioc(), limits);
    for (auto& add : routes_)
      add(*server_);
    std::string error;
    auto port = server_->listen("127.0.0.1", 0, error);
    ASSERT_TRUE(port) << error;
    port_ = *port;
  }

  void route(std::string method, std::string pattern, handler h) {
    routes_.push_back([=](http_server& s) { s.route(method, pattern, h); });
  }

  // Runs `f` on the server before it listens.
  void configure(std::function<void(http_server&)> f) { routes_.push_back(std::move(f)); }

  std::string url(std::string_view target) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(target);
  }

  // Sends one raw request on a new connection and reads the response.
  std::optional<raw_response> raw_exchange(std::string_view request) {
    auto s = raw_socket::connect_to(port_);
    EXPECT_TRUE(s.valid());
    EXPECT_TRUE(s.send_all(request));
    return s.read_response();
  }

  io_threads io_;
  std::vector<std::function<void(http_server&)>> routes_;
  std::unique_ptr<http_server> server_;
  uint16_t port_ = 0;
};

TEST_F(server_test, routes_exact_paths_and_placeholders) {
  route("GET", "/", [](http_request&&, responder reply) { reply(text("root")); });
  route("GET", "/v1/subscriptions", [](http_request&&, responder reply) { reply(text("list")); });
  route("GET", "/v1/subscriptions/{id}",
        [](http_request&& r, responder reply) { reply(text("get " + r.params.at(0))); });
  route("POST", "/v1/subscriptions/{id}/verify", [](http_request&& r, responder reply) {
    reply(text("verify " + r.params.at(0) + " " + r.body));
  });
  route("GET", "/v1/{a}/x/{b}", [](http_request&& r, responder reply) {
    reply(text(r.params.at(0) + "," + r.params.at(1) + "?" + r.query));
  });
  start();
  http_client client(io_.ioc(), {});

  auto r = send_and_wait(client, make_request("GET", url("/")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "root");
  EXPECT_EQ(send_and_wait(client, make_request("GET", url("/v1/subscriptions"))).body, "list");
  EXPECT_EQ(send_and_wait(client, make_request("GET", url("/v1/subscriptions/abc"))).body,
            "get abc");
  EXPECT_EQ(
    send_and_wait(client, make_request("POST", url("/v1/subscriptions/s%201/verify"), "{}")).body,
    "verify s%201 {}");
  EXPECT_EQ(send_and_wait(client, make_request("GET", url("/v1/p/x/q?k=v"))).body, "p,q?k=v");
  // A placeholder matches one non-empty segment only.
  EXPECT_EQ(send_and_wait(client, make_request("GET", url("/v1/subscriptions/"))).status, 404);
  EXPECT_EQ(send_and_wait(client, make_request("GET", url("/v1/subscriptions/a/b"))).status, 404);
}

TEST_F(server_test, unknown_path_gets_404_with_json_error) {
  route("GET", "/v1/events", [](http_request&&, responder reply) { reply(text("x")); });
  start();
  http_client client(io_.ioc(), {});
  auto r = send_and_wait(client, make_request("GET", url("/nope?x=1")));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, core::error_body("no route for /nope"));
  EXPECT_EQ(find_header(r.headers, "content-type"), "application/json");
  EXPECT_EQ(find_header(r.headers, "server"), "switchyard");
}

TEST_F(server_test, wrong_method_gets_405_with_allow) {
  route("GET", "/v1/subscriptions", [](http_request&&, responder reply) { reply(text("list")); });
  route("POST", "/v1/subscriptions",
        [](http_request&&, responder reply) { reply(text("made", 201)); });
  route("GET", "/v1/subscriptions/{id}",
        [](http_request&&, responder reply) { reply(text("one")); });
  start();
  http_client client(io_.ioc(), {});
  auto r = send_and_wait(client, make_request("DELETE", url("/v1/subscriptions")));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(find_header(r.headers, "allow"), "GET, POST");
  EXPECT_EQ(r.body,
            core::error_body("method DELETE not allowed on /v1/subscriptions; allowed: GET, POST"));
  EXPECT_EQ(send_and_wait(client, make_request("POST", url("/v1/subscriptions"), "{}")).status,
            201);
}

TEST_F(server_test, passes_request_fields_to_the_handler) {
  auto seen = std::make_shared<std::promise<http_request>>();
  route("POST", "/v1/events", [seen](http_request&& r, responder reply) {
    reply(text("ok"));
    seen->set_value(std::move(r));
  });
  start();
  http_client client(io_.ioc(), {});
  auto req = make_request("POST", url("/v1/events?a=b%20c"), R"({"type":"x"})");
  req.headers.emplace_back("X-Custom", "yes");
  EXPECT_EQ(send_and_wait(client, std::move(req)).status, 200);
  auto future = seen->get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  auto r = future.get();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/v1/events?a=b%20c");
  EXPECT_EQ(r.path, "/v1/events");
  EXPECT_EQ(r.query, "a=b%20c");
  EXPECT_EQ(r.query_param("a"), "b c");
  EXPECT_EQ(r.body, R"({"type":"x"})");
  EXPECT_GE(r.body.capacity(), r.body.size() + 64);
  EXPECT_EQ(r.header("x-custom"), "yes");
  EXPECT_EQ(r.header("host"), "127.0.0.1:" + std::to_string(port_));
  EXPECT_EQ(r.header("user-agent"), "switchyard/0.1");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_LE(r.received, std::chrono::steady_clock::now());
}

TEST_F(server_test, oversized_body_gets_413_not_a_reset) {
  route("POST", "/v1/events", [](http_request&&, responder reply) { reply(text("accepted")); });
  server_limits limits;
  limits.max_body_bytes = 1024;
  start(limits);

  // Over a raw socket that sends the whole body regardless.
  auto s = raw_socket::connect_to(port_);
  std::string body(100000, 'x');
  ASSERT_TRUE(s.send_all("POST /v1/events HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n"));
  s.send_all(body);
  auto r = s.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->body, core::error_body("body exceeds http.max_body_bytes (1024 bytes)"));
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(s.wait_closed(5s));

  // Through the client, which writes all of a 2 MiB body before reading.
  http_client client(io_.ioc(), {});
  auto big = send_and_wait(client,
                           make_request("POST", url("/v1/events"), std::string(2 << 20, 'y')));
  EXPECT_EQ(big.status, 413) << big.error;
  // A body within the limit still passes.
  EXPECT_EQ(
    send_and_wait(client, make_request("POST", url("/v1/events"), std::string(1024, 'z'))).status,
    200);
}

TEST_F(server_test, oversized_chunked_body_gets_413) {
  route("POST", "/v1/events", [](http_request&&, responder reply) { reply(text("accepted")); });
  server_limits limits;
  limits.max_body_bytes = 1024;
  start(limits);
  auto s = raw_socket::connect_to(port_);
  std::string chunk(800, 'x');
  ASSERT_TRUE(s.send_all("POST /v1/events HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "320\r\n" +
                         chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto r = s.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(server_test, huge_headers_get_431) {
  route("GET", "/", [](http_request&&, responder reply) { reply(text("root")); });
  server_limits limits;
  limits.max_header_bytes = 4096;
  start(limits);
  auto r = raw_exchange("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(8000, 'a') +
                        "\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(r->body, core::error_body("request headers exceed 4096 bytes"));
  // Headers within the limit are fine.
  auto ok = raw_exchange("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(2000, 'a') +
                         "\r\n\r\n");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(server_test, malformed_request_gets_400_and_close) {
  route("GET", "/", [](http_request&&, responder reply) { reply(text("root")); });
  start();
  for (std::string bad :
       {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n",
        "GET / HTTP/9.x\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n"}) {
    auto s = raw_socket::connect_to(port_);
    ASSERT_TRUE(s.send_all(bad));
    auto r = s.read_response();
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_NE(r->body.find("malformed HTTP request: "), std::string::npos) << r->body;
    EXPECT_TRUE(s.wait_closed(5s));
  }
}

TEST_F(server_test, responder_may_be_called_later_from_another_thread) {
  auto pending = std::make_shared<std::promise<responder>>();
  route("POST", "/v1/events",
        [pending](http_request&&, responder reply) { pending->set_value(std::move(reply)); });
  start();
  http_client client(io_.ioc(), {});
  auto result = std::make_shared<std::promise<client_response>>();
  client.send(make_request("POST", url("/v1/events"), "{}"),
              [result](client_response r) { result->set_value(std::move(r)); });
  auto reply_future = pending->get_future();
  ASSERT_EQ(reply_future.wait_for(5s), std::future_status::ready);
  auto reply = reply_future.get();
  auto response_future = result->get_future();
  // Nothing answers until the responder runs.
  EXPECT_EQ(response_future.wait_for(0ms), std::future_status::timeout);
  std::thread other([reply] { reply(text("later", 202)); });
  other.join();
  ASSERT_EQ(response_future.wait_for(5s), std::future_status::ready);
  auto r = response_future.get();
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "later");
  // A second call is ignored.
  reply(text("again", 500));
}

TEST_F(server_test, dropped_responder_answers_500) {
  route("GET", "/drop", [](http_request&&, responder) {});
  route("GET", "/ok", [](http_request&&, responder reply) { reply(text("ok")); });
  start();
  http_client client(io_.ioc(), {});
  auto r = send_and_wait(client, make_request("GET", url("/drop")));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, core::error_body("internal: request dropped"));
  // The connection stays usable.
  EXPECT_EQ(send_and_wait(client, make_request("GET", url("/ok"))).status, 200);
  EXPECT_EQ(server_->accepted_connections(), 1u);
}

TEST_F(server_test, handler_exception_answers_500) {
  route("GET", "/throw", [](http_request&&, responder) { throw std::runtime_error("boom"); });
  route("GET", "/answer-then-throw", [](http_request&&, responder reply) {
    reply(text("first"));
    throw std::runtime_error("boom");
  });
  start();
  http_client client(io_.ioc(), {});
  auto r = send_and_wait(client, make_request("GET", url("/throw")));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, core::error_body("internal: request handler failed"));
  auto first = send_and_wait(client, make_request("GET", url("/answer-then-throw")));
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "first");
}

TEST_F(server_test, keeps_alive_two_requests_on_one_connection) {
  route("GET", "/n/{i}", [](http_request&& r, responder reply) { reply(text(r.params.at(0))); });
  start();
  auto s = raw_socket::connect_to(port_);
  ASSERT_TRUE(s.send_all("GET /n/1 HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto first = s.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body, "1");
  ASSERT_TRUE(s.send_all("GET /n/2 HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto second = s.read_response();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "2");
  // Two pipelined requests are answered in order.
  ASSERT_TRUE(
    s.send_all("GET /n/3 HTTP/1.1\r\nHost: a\r\n\r\nGET /n/4 HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto third = s.read_response();
  auto fourth = s.read_response();
  ASSERT_TRUE(third && fourth);
  EXPECT_EQ(third->body, "3");
  EXPECT_EQ(fourth->body, "4");
  EXPECT_EQ(server_->accepted_connections(), 1u);
  // Connection: close is honoured.
  ASSERT_TRUE(s.send_all("GET /n/5 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  auto last = s.read_response();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->header("connection"), "close");
  EXPECT_TRUE(s.wait_closed(5s));
}

TEST_F(server_test, head_gets_headers_without_a_body) {
  route("GET", "/", [](http_request&&, responder reply) { reply(text("root")); });
  start();
  auto s = raw_socket::connect_to(port_);
  ASSERT_TRUE(s.send_all("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(
    s.read_until([](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; }, 5s));
  auto head = s.pending();
  raw_response r;
  r.head = head;
  EXPECT_EQ(head.substr(0, 12), "HTTP/1.1 405");
  EXPECT_EQ(r.header("content-length"),
            std::to_string(core::error_body("method HEAD not allowed on /; allowed: GET").size()));
  // Nothing follows the header: the next response starts right after it.
  ASSERT_TRUE(s.send_all("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(
    s.read_until([](const std::string& b) { return b.find("root") != std::string::npos; }, 5s));
  auto rest = s.pending().substr(head.size());
  EXPECT_EQ(rest.substr(0, 15), "HTTP/1.1 200 OK");
}

TEST_F(server_test, http_1_0_without_keep_alive_closes) {
  route("GET", "/", [](http_request&&, responder reply) { reply(text("root")); });
  start();
  auto s = raw_socket::connect_to(port_);
  ASSERT_TRUE(s.send_all("GET / HTTP/1.0\r\n\r\n"));
  auto r = s.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->head.substr(0, 8), "HTTP/1.0");
  EXPECT_TRUE(s.wait_closed(5s));
}

TEST_F(server_test, client_reuses_one_connection_for_sequential_requests) {
  route("GET", "/", [](http_request&&, responder reply) { reply(text("root")); });
  start();
  http_client client(io_.ioc(), {});
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(send_and_wait(client, make_request("GET", url("/"))).status, 200);
  EXPECT_EQ(server_->accepted_connections(), 1u);
}

TEST_F(server_test, read_timeout_closes_a_half_sent_request) {
  route("POST", "/v1/events", [](http_request&&, responder reply) { reply(text("ok")); });
  server_limits limits;
  limits.read_timeout = 200ms;
  limits.idle_timeout = 30s;
  start(limits);
  auto s = raw_socket::connect_to(port_);
  auto began = clock_type::now();
  ASSERT_TRUE(s.send_all("POST /v1/events HTTP/1.1\r\nHost: a\r\nContent-Len"));
  EXPECT_TRUE(s.wait_closed(10s));
  auto took = clock_type::now() - began;
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 5s);

  // A client that connects and says nothing gets the same limit.
  auto silent = raw_socket::connect_to(port_);
  EXPECT_TRUE(silent.wait_closed(10s));
}

TEST_F(server_test, read_timeout_counts_from_the_first_byte_of_a_keep_alive_request) {
  route("POST", "/v1/events", [](http_request&&, responder reply) { reply(text("ok")); });
  server_limits limits;
  limits.read_timeout = 200ms;
  limits.idle_timeout = 30s;
  start(limits);
  auto s = raw_socket::connect_to(port_);
  ASSERT_TRUE(s.send_all("POST /v1/events HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"));
  ASSERT_TRUE(s.read_response());
  ASSERT_TRUE(s.send_all("POST /v1/events HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"));
  auto began = clock_type::now();
  EXPECT_TRUE(s.wait_closed(10s));
  EXPECT_LT(clock_type::now() - began, 5s);
}

TEST_F(server_test, idle_timeout_closes_a_quiet_keep_alive_connection) {
  route("GET", "/", [](http_request&&, responder reply) { reply(text("root")); });
  server_limits limits;
  limits.read_timeout = 30s;
  limits.idle_timeout = 200ms;
  start(limits);
  auto s = raw_socket::connect_to(port_);
  ASSERT_TRUE(s.send_all("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r = s.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto began = clock_type::now();
  EXPECT_TRUE(s.wait_closed(10s));
  auto took = clock_type::now() - began;
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 5s);
}

TEST_F(server_test, answers_100_continue_before_the_body) {
  route("POST", "/v1/events",
        [](http_request&& r, responder reply) { reply(text("got " + r.body)); });
  start();
  auto s = raw_socket::connect_to(port_);
  ASSERT_TRUE(s.send_all(
    "POST /v1/events HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  ASSERT_TRUE(
    s.read_until([](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; }, 5s));
  EXPECT_EQ(s.pending().substr(0, 25), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(s.send_all("hello"));
  auto interim = s.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  auto r = s.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "got hello");
}

TEST_F(server_test, filter_short_circuits_before_routing) {
  route("GET", "/v1/subscriptions", [](http_request&&, responder reply) { reply(text("list")); });
  configure([](http_server& s) {
    s.set_filter([](const http_request& r) -> std::optional<http_response> {
      if (r.header("authorization") != "Bearer t")
        return text("no", 401);
      return std::nullopt;
    });
  });
  start();
  http_client client(io_.ioc(), {});
  EXPECT_EQ(send_and_wait(client, make_request("GET", url("/v1/subscriptions"))).status, 401);
  // The filter also sees unrouted paths.
  EXPECT_EQ(send_and_wait(client, make_request("GET", url("/nowhere"))).status, 401);
  auto req = make_request("GET", url("/v1/subscriptions"));
  req.headers.emplace_back("Authorization", "Bearer t");
  EXPECT_EQ(send_and_wait(client, std::move(req)).body, "list");
}

TEST_F(server_test, observer_sees_method_route_status_and_latency) {
  struct observation {
    std::string method, route;
    int status;
    double seconds;
  };
  auto seen = std::make_shared<std::vector<std::promise<observation>>>(2);
  auto count = std::make_shared<std::atomic<int>>(0);
  route("GET", "/v1/subscriptions/{id}",
        [](http_request&&, responder reply) { reply(text("one")); });
  configure([seen, count](http_server& server) {
    server.set_observer(
      [seen, count](const std::string& m, const std::string& r, int status, double s) {
        int i = (*count)++;
        if (i < 2)
          (*seen)[static_cast<std::size_t>(i)].set_value({m, r, status, s});
      });
  });
  start();
  http_client client(io_.ioc(), {});
  EXPECT_EQ(send_and_wait(client, make_request("GET", url("/v1/subscriptions/7"))).status, 200);
  EXPECT_EQ(send_and_wait(client, make_request("PUT", url("/missing"), "{}")).status, 404);
  auto first = (*seen)[0].get_future();
  auto second = (*seen)[1].get_future();
  ASSERT_EQ(first.wait_for(5s), std::future_status::ready);
  ASSERT_EQ(second.wait_for(5s), std::future_status::ready);
  auto a = first.get();
  EXPECT_EQ(a.method, "GET");
  EXPECT_EQ(a.route, "/v1/subscriptions/{id}");
  EXPECT_EQ(a.status, 200);
  EXPECT_GE(a.seconds, 0.0);
  EXPECT_LT(a.seconds, 5.0);
  auto b = second.get();
  EXPECT_EQ(b.method, "PUT");
  EXPECT_EQ(b.route, "");
  EXPECT_EQ(b.status, 404);
}

TEST_F(server_test, observer_sees_the_route_of_filtered_requests_and_405s) {
  auto seen = std::make_shared<std::vector<std::promise<std::pair<std::string, int>>>>(3);
  auto count = std::make_shared<std::atomic<int>>(0);
  route("POST", "/v1/subscriptions/{id}/pause",
        [](http_request&&, responder reply) { reply(text("ok")); });
  configure([seen, count](http_server& server) {
    server.set_filter([](const http_request& r) -> std::optional<http_response> {
      if (r.header("authorization") != "Bearer t")
        return text("no", 401);
      return std::nullopt;
    });
    server.set_observer(
      [seen, count](const std::string&, const std::string& r, int status, double) {
        int i = (*count)++;
        if (i < 3)
          (*seen)[static_cast<std::size_t>(i)].set_value({r, status});
      });
  });
  start();
  http_client client(io_.ioc(), {});
  EXPECT_EQ(send_and_wait(client, make_request("POST", url("/v1/subscriptions/7/pause"))).status,
            401);
  auto put = make_request("PUT", url("/v1/subscriptions/7/pause"));
  put.headers.emplace_back("Authorization", "Bearer t");
  EXPECT_EQ(send_and_wait(client, std::move(put)).status, 405);
  auto missing = make_request("GET", url("/v1/nothing"));
  missing.headers.emplace_back("Authorization", "Bearer t");
  EXPECT_EQ(send_and_wait(client, std::move(missing)).status, 404);
  std::vector<std::pair<std::string, int>> got;
  for (auto& p : *seen) {
    auto f = p.get_future();
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    got.push_back(f.get());
  }
  EXPECT_EQ(got[0], (std::pair<std::string, int>{"/v1/subscriptions/{id}/pause", 401}));
  EXPECT_EQ(got[1], (std::pair<std::string, int>{"/v1/subscriptions/{id}/pause", 405}));
  EXPECT_EQ(got[2], (std::pair<std::string, int>{"", 404}));
}

TEST_F(server_test, stop_closes_idle_connections_and_finishes_requests_in_progress) {
  auto pending = std::make_shared<std::promise<responder>>();
  route("GET", "/idle", [](http_request&&, responder reply) { reply(text("idle")); });
  route("GET", "/slow",
        [pending](http_request&&, responder reply) { pending->set_value(std::move(reply)); });
  start();
  auto idle = raw_socket::connect_to(port_);
  ASSERT_TRUE(idle.send_all("GET /idle HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(idle.read_response());
  auto busy = raw_socket::connect_to(port_);
  ASSERT_TRUE(busy.send_all("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto reply_future = pending->get_future();
  ASSERT_EQ(reply_future.wait_for(5s), std::future_status::ready);

  server_->stop();
  EXPECT_TRUE(idle.wait_closed(5s));
  reply_future.get()(text("done"));
  auto r = busy.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "done");
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(busy.wait_closed(5s));
  // No one listens any more.
  EXPECT_FALSE(raw_socket::connect_to(port_).valid());
}

TEST_F(server_test, listen_reports_an_address_in_use) {
  start();
  http_server second(io_.ioc(), {});
  std::string error;
  EXPECT_FALSE(second.listen("127.0.0.1", port_, error));
  EXPECT_NE(error.find("cannot listen on 127.0.0.1:" + std::to_string(port_)), std::string::npos)
    << error;
}

} // namespace
} // namespace sy::transport
