#include "app/listen.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <simdjson.h>

#include <csignal>
#include <ctime>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "app/client.hpp"
#include "core/json_writer.hpp"
#include "core/signing.hpp"
#include "transport/http_server.hpp"

namespace sy::app {

namespace {

namespace asio = boost::asio;

constexpr const char* hook_path = "/webhook";

// The subscription's keys, known once it is created; read by the I/O
// thread's handlers, written once by the command's thread.
struct receiver_state {
  std::mutex mutex;
  std::string private_key;
  bool json = false;
};

// The outcome of checking one delivery's two signatures.
struct signature_check {
  bool notificare = false;
  bool standard = false;
};

signature_check check_signatures(const transport::http_request& req, const std::string& key) {
  signature_check out;
  out.notificare = core::constant_time_equal(req.header("x-notificare-signature"),
                                             core::notificare_signature(key, req.body));
  std::string id(req.header("webhook-id"));
  std::string ts(req.header("webhook-timestamp"));
  int64_t timestamp = 0;
  try {
    std::size_t used = 0;
    timestamp = std::stoll(ts, &used);
    if (used != ts.size())
      return out;
  } catch (const std::exception&) {
    return out;
  }
  auto want = core::standard_webhooks_signature(key, id, timestamp, req.body);
  // During a key rotation the header carries several signatures: one is enough.
  std::istringstream list{std::string(req.header("webhook-signature"))};
  std::string candidate;
  while (list >> candidate)
    out.standard = core::constant_time_equal(candidate, want) || out.standard;
  return out;
}

std::string clock_text() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

// Returns the line printed for one delivery.
std::string describe(const transport::http_request& req, signature_check sig, bool json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  bool parsed = !parser.parse(req.body).get(doc);
  if (json) {
    core::json_writer w;
    w.begin_object().key("webhook_id").value(req.header("webhook-id"));
    w.key("signatures")
      .begin_object()
      .key("notificare")
      .value(sig.notificare)
      .key("standard_webhooks")
      .value(sig.standard)
      .end_object();
    w.key("event");
    if (parsed)
      w.raw(simdjson::minify(doc));
    else
      w.value(req.body);
    w.end_object();
    return std::move(w).str();
  }
  auto text = [&](const char* key) {
    std::string_view v;
    return parsed && !doc[key].get_string().get(v) ? std::string(v) : std::string("-");
  };
  std::string data = "-";
  simdjson::dom::element d;
  if (parsed && !doc["data"].get(d))
    data = simdjson::minify(d);
  auto mark = [](bool ok) { return ok ? "ok" : "INVALID"; };
  return clock_text() + "  " + text("id") + "  " + text("type") + "  " + text("country") +
         "  signatures: notificare " + mark(sig.notificare) + ", standard-webhooks " +
         mark(sig.standard) + "  " + data;
}

// Waits for SIGINT or SIGTERM, which main() blocked in every thread.
void wait_for_stop_signal() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  int sig = 0;
  sigwait(&stop, &sig);
}

std::string string_field(const std::string& json, const char* key) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view v;
  if (parser.parse(json).get(doc) || doc[key].get_string().get(v))
    return {};
  return std::string(v);
}

int report(const transport::client_response& res, const std::string& what) {
  std::cerr << "switchyard listen: " << what << ": "
            << (res.status ? std::to_string(res.status) + ": " : std::string()) << error_text(res)
            << "\n";
  return exit_failed;
}

} // namespace

int run_listen(const api_endpoint& endpoint, const listen_options& options) {
  asio::io_context ioc;
  auto work = asio::make_work_guard(ioc);
  transport::server_limits limits;
  limits.max_body_bytes = 16 << 20; // whatever the server accepted, it may deliver
  transport::http_server server(ioc, limits);
  auto state = std::make_shared<receiver_state>();
  state->json = options.json;

  server.route("GET", hook_path, [state](transport::http_request&& req, transport::responder respond) {
    std::string key;
    {
      std::lock_guard<std::mutex> guard(state->mutex);
      key = state->private_key;
    }
    auto challenge = req.query_param("challenge");
    if (key.empty() || challenge.empty())
      return respond({404, "application/json", core::error_body("no challenge to answer"), {}, {}});
    std::cerr << "switchyard listen: answered the verification challenge\n";
    respond({200, "text/plain", core::notificare_signature(key, challenge), {}, {}});
  });
  server.route(
    "POST", hook_path, [state](transport::http_request&& req, transport::responder respond) {
      std::lock_guard<std::mutex> guard(state->mutex);
      if (state->private_key.empty())
        return respond({503, "application/json", core::error_body("not subscribed yet"), {}, {}});
      auto sig = check_signatures(req, state->private_key);
      // One line per delivery, flushed, so that a pipe sees it at once.
      std::cout << describe(req, sig, state->json) << std::endl;
      if (sig.notificare && sig.standard)
        return respond({200, "application/json", "{}", {}, {}});
      // A receiver refuses what it cannot authenticate; the server retries it.
      respond({401, "application/json", core::error_body("signature invalid"), {}, {}});
    });

  std::string error;
  auto port = server.listen("127.0.0.1", options.port, error);
  if (!port) {
    std::cerr << "switchyard listen: cannot listen on 127.0.0.1:" << options.port << ": " << error
              << "\n";
    return exit_failed;
  }
  std::thread io([&ioc] { ioc.run(); });
  auto stop_receiver = [&] {
    server.stop();
    work.reset();
    ioc.stop();
    io.join();
  };
  const std::string url = "http://127.0.0.1:" + std::to_string(*port) + hook_path;
  std::cerr << "switchyard listen: receiving on " << url << " (port " << *port << ")\n";

  api_client client(endpoint);
  core::json_writer w;
  w.begin_object().key("service").value(options.service).key("url").value(url);
  if (!options.types.empty()) {
    w.key("types").value(options.types);
  }
  if (!options.country.empty())
    w.key("country").value(options.country);
  w.end_object();
  auto created = client.call("POST", "/v1/subscriptions", std::move(w).str());
  if (created.status != 201) {
    stop_receiver();
    return report(created, "cannot create the subscription on " + endpoint.server);
  }
  const auto id = string_field(created.body, "id");
  {
    std::lock_guard<std::mutex> guard(state->mutex);
    state->private_key = string_field(created.body, "privateKey");
  }
  const auto sub_path = "/v1/subscriptions/" + path_segment(id);
  auto remove = [&] {
    auto res = client.call("DELETE", sub_path);
    if (res.status != 204 && res.status != 200)
      return report(res, "cannot delete subscription " + id);
    std::cerr << "switchyard listen: deleted subscription " << id << "\n";
    return exit_ok;
  };

  auto verified = client.call("POST", sub_path + "/verify");
  if (verified.status != 200) {
    report(verified, "subscription " + id + " failed verification");
    remove();
    stop_receiver();
    return exit_failed;
  }
  std::cerr << "switchyard listen: subscription " << id
            << " is active; Ctrl-C deletes it and stops\n";

  wait_for_stop_signal();
  int status = remove();
  stop_receiver();
  return status;
}

} // namespace sy::app
