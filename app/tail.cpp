#include "app/tail.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <simdjson.h>

#include <iostream>
#include <limits>
#include <string_view>

#include "app/client.hpp"
#include "core/json_writer.hpp"
#include "core/url.hpp"

namespace sy::app {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// Returns the string or number at `key` of `obj` as text; "-" when null or absent.
std::string text_of(simdjson::dom::element obj, const char* key) {
  simdjson::dom::element v;
  if (obj[key].get(v) || v.is_null())
    return "-";
  if (v.is_string())
    return std::string(std::string_view(v));
  return simdjson::minify(v);
}

// Prints one SSE event (stats are left out: they are the console's).
void print_event(std::string_view name, std::string_view data, bool json) {
  if (name != "attempt" && name != "state")
    return;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(data.data(), data.size()).get(doc))
    return; // not JSON: nothing the server sends
  if (json) {
    core::json_writer w;
    w.begin_object().key("event").value(name).key("data").raw(simdjson::minify(doc)).end_object();
    std::cout << w.str() << std::endl;
    return;
  }
  if (name == "state") {
    std::cout << "state    " << text_of(doc, "subscription") << "  " << text_of(doc, "change")
              << " (now " << text_of(doc, "state") << ")" << std::endl;
    return;
  }
  auto status = text_of(doc, "status");
  auto outcome = text_of(doc, "error") == "-" ? status : text_of(doc, "error");
  std::cout << "attempt  " << text_of(doc, "subscription") << "  " << text_of(doc, "at") << "  "
            << text_of(doc, "event_id") << "  " << text_of(doc, "type") << "  #"
            << text_of(doc, "attempt") << "  " << outcome << "  " << text_of(doc, "duration_ms")
            << " ms" << std::endl;
}

// Splits the body into SSE events as it arrives: "event:" and "data:"
// lines, an empty line ending each, comments (":") skipped.
class sse_reader {
public:
  explicit sse_reader(bool json) : json_(json) {}

  void feed(std::string_view bytes) {
    pending_.append(bytes);
    std::size_t start = 0, nl;
    while ((nl = pending_.find('\n', start)) != std::string::npos) {
      std::string_view line(pending_.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
      on_line(line);
      start = nl + 1;
    }
    pending_.erase(0, start);
  }

private:
  void on_line(std::string_view line) {
    if (line.empty()) {
      if (!data_.empty())
        print_event(name_.empty() ? "message" : name_, data_, json_);
      name_.clear();
      data_.clear();
      return;
    }
    if (line.front() == ':')
      return;
    auto colon = line.find(':');
    auto field = line.substr(0, colon);
    auto value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
    if (field == "event")
      name_ = value;
    else if (field == "data")
      data_.append(data_.empty() ? "" : "\n").append(value);
  }

  bool json_;
  std::string pending_, name_, data_;
};

// Reads the response: the status, then the body piece by piece. Returns
// the exit status.
template <class Stream>
int follow(Stream& stream, const core::url_parts& url, const std::string& target,
           const api_endpoint& endpoint, bool json) {
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, url.host_header());
  req.set(http::field::accept, "text/event-stream");
  req.set(http::field::user_agent, "switchyard-cli");
  if (!endpoint.token.empty())
    req.set(http::field::authorization, "Bearer " + endpoint.token);
  http::write(stream, req);

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  // Not boost::none: Beast 1.74 compares a Content-Length with the optional
  // itself, and anything is greater than none.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  http::read_header(stream, buffer, parser);
  const int status = static_cast<int>(parser.get().result_int());
  char piece[8192];
  std::string error_body;
  sse_reader reader(json);
  beast::error_code ec;
  while (!parser.is_done()) {
    parser.get().body().data = piece;
    parser.get().body().size = sizeof piece;
    http::read_some(stream, buffer, parser, ec); // not read(): it waits for a full piece
    if (ec == http::error::need_buffer)
      ec = {};
    if (ec)
      break;
    std::string_view got(piece, sizeof piece - parser.get().body().size);
    if (status == 200)
      reader.feed(got);
    else if (error_body.size() < 4096)
      error_body.append(got);
  }
  if (status != 200) {
    transport::client_response res;
    res.status = status;
    res.body = error_body;
    std::cerr << "switchyard: " << status << ": " << error_text(res) << "\n";
    return exit_failed;
  }
  if (ec && ec != http::error::end_of_stream) {
    std::cerr << "switchyard: the stream from " << endpoint.server << " broke: " << ec.message()
              << "\n";
    return exit_failed;
  }
  return exit_ok; // the server ended the stream (it stopped)
}

} // namespace

int run_tail(const api_endpoint& endpoint, const std::string& only, bool json) {
  auto url = core::parse_url(endpoint.server);
  if (!url) {
    std::cerr << "switchyard: --server: not an http(s) URL\n";
    return exit_usage;
  }
  std::string base = url->target == "/" ? "" : url->target;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  auto target = base + "/v1/stream" + (only.empty() ? "" : "?subscription=" + path_segment(only));
  try {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    auto addresses = resolver.resolve(url->host, std::to_string(url->port));
    if (url->scheme == "http") {
      beast::tcp_stream stream(ioc);
      stream.connect(addresses);
      return follow(stream, *url, target, endpoint, json);
    }
    ssl::context tls(ssl::context::tls_client);
    tls.set_default_verify_paths();
    if (!endpoint.ca_file.empty())
      tls.load_verify_file(endpoint.ca_file);
    tls.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, tls);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), url->host.c_str()))
      throw beast::system_error(
        beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()));
    stream.set_verify_callback(ssl::host_name_verification(url->host));
    beast::get_lowest_layer(stream).connect(addresses);
    stream.handshake(ssl::stream_base::client);
    return follow(stream, *url, target, endpoint, json);
  } catch (const beast::system_error& e) {
    std::cerr << "switchyard: no answer from " << endpoint.server << ": " << e.code().message()
              << "\n";
    return exit_failed;
  }
}

} // namespace sy::app
