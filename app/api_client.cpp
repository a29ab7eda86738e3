#include "app/api_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <simdjson.h>

#include <future>
#include <thread>

#include "core/url.hpp"
#include "transport/http_client.hpp"

namespace sy::app {

namespace asio = boost::asio;

std::optional<std::string> validate_server_url(std::string_view server) {
  if (auto why = core::validate_url(server))
    return "--server / SWITCHYARD_URL: " + *why;
  if (server.find_first_of("?#") != std::string_view::npos)
    return "--server / SWITCHYARD_URL: must not have a query or fragment";
  return std::nullopt;
}

struct api_client::impl {
  explicit impl(const std::string& ca_file) : client(ioc, client_options(ca_file)) {}

  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(ioc);
  transport::http_client client;
  std::thread runner{[this] { ioc.run(); }};

  static transport::client_options client_options(const std::string& ca_file) {
    transport::client_options o;
    o.ca_file = ca_file;
    o.allow_private = true; // the server is usually on loopback
    o.max_idle_per_origin = 4;
    o.max_response_bytes = 64 << 20; // a long subscription list must not be cut
    return o;
  }

  ~impl() {
    client.shutdown();
    work.reset();
    ioc.stop();
    runner.join();
  }
};

api_client::api_client(api_endpoint endpoint)
    : endpoint_(std::move(endpoint)), impl_(std::make_unique<impl>(endpoint_.ca_file)) {
  while (!endpoint_.server.empty() && endpoint_.server.back() == '/')
    endpoint_.server.pop_back();
}

api_client::~api_client() = default;

transport::client_response api_client::call(const std::string& method, const std::string& path,
                                            std::string body, std::chrono::milliseconds timeout) {
  transport::client_request req;
  req.method = method;
  req.url = endpoint_.server + path;
  req.body = std::move(body);
  req.timeout = timeout;
  req.headers.emplace_back("Accept", "application/json");
  if (!endpoint_.token.empty())
    req.headers.emplace_back("Authorization", "Bearer " + endpoint_.token);
  std::promise<transport::client_response> answer;
  auto done = answer.get_future();
  impl_->client.send(std::move(req), [&answer](transport::client_response res) {
    answer.set_value(std::move(res));
  });
  return done.get();
}

std::string path_segment(std::string_view segment) {
  std::string out;
  core::percent_encode_into(out, segment);
  return out;
}

std::string error_text(const transport::client_response& res) {
  if (res.status == 0)
    return res.error;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view text;
  if (!parser.parse(res.body).get(doc) && !doc["error"].get_string().get(text))
    return std::string(text);
  if (!parser.parse(res.body).get(doc) && !doc["message"].get_string().get(text))
    return std::string(text);
  return res.body.empty() ? "(empty body)" : res.body;
}

} // namespace sy::app
