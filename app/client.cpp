#include "app/client.hpp"

#include <CLI/CLI.hpp>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "app/api_client.hpp"
#include "app/config.hpp"
#include "app/listen.hpp"
#include "core/ascii.hpp"
#include "app/tail.hpp"
#include "core/json_writer.hpp"
#include "core/signing.hpp"

namespace sy::app {

namespace {

using transport::client_response;

// NDJSON events are sent in batches of at most this many events or bytes,
// well under the server's default http.max_body_bytes (1 MiB).
constexpr std::size_t batch_max_events = 500;
constexpr std::size_t batch_max_bytes = 256 << 10;

const std::string whsec_prefix = "whsec_";

// -- output -------------------------------------------------------------------

// Returns the text of a JSON value for a table cell: strings bare, null as
// "-", arrays of scalars joined with ",", anything else as compact JSON.
std::string cell(simdjson::dom::element v) {
  using simdjson::dom::element_type;
  switch (v.type()) {
    case element_type::STRING: return std::string(std::string_view(v));
    case element_type::NULL_VALUE: return "-";
    case element_type::ARRAY: {
      std::string out;
      for (auto item : simdjson::dom::array(v)) {
        if (!out.empty())
          out += ",";
        out += cell(item);
      }
      return out;
    }
    default: return simdjson::minify(v);
  }
}

// Returns the elements of `v`; none when it is not an array.
std::vector<simdjson::dom::element> as_array(simdjson::dom::element v) {
  std::vector<simdjson::dom::element> out;
  simdjson::dom::array a;
  if (!v.get_array().get(a))
    for (auto item : a)
      out.push_back(item);
  return out;
}

// Returns the cell of `path` ("stats.queued") in object `obj`, "" when absent.
std::string field(simdjson::dom::element obj, std::string_view path) {
  std::string pointer = "/" + std::string(path);
  std::replace(pointer.begin(), pointer.end(), '.', '/');
  simdjson::dom::element v;
  if (obj.at_pointer(pointer).get(v))
    return "";
  return cell(v);
}

// Prints rows under a header, each column as wide as its widest cell.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& r : rows)
      width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (std::size_t c = 0; c < r.size(); ++c) {
      out += r[c];
      if (c + 1 < r.size())
        out.append(width[c] - r[c].size() + 2, ' ');
    }
    std::cout << out << "\n";
  };
  line(header);
  for (const auto& r : rows)
    line(r);
}

// Appends "key: value" lines for every field of `obj`, nested objects with
// dotted keys.
void flatten(simdjson::dom::element obj, const std::string& prefix,
             std::vector<std::vector<std::string>>& rows) {
  for (auto [key, value] : simdjson::dom::object(obj)) {
    std::string name = prefix + std::string(key);
    if (value.type() == simdjson::dom::element_type::OBJECT)
      flatten(value, name + ".", rows);
    else
      rows.push_back({name + ":", cell(value)});
  }
}

// Prints an object as aligned "key: value" lines.
void print_fields(simdjson::dom::element obj) {
  std::vector<std::vector<std::string>> rows;
  flatten(obj, "", rows);
  std::size_t w = 0;
  for (const auto& r : rows)
    w = std::max(w, r[0].size());
  for (const auto& r : rows)
    std::cout << r[0] << std::string(w - r[0].size() + 1, ' ') << r[1] << "\n";
}

// Reports an API error on stderr: the status and the server's message.
int api_error(const client_response& res, const std::string& server) {
  if (res.status == 0)
    std::cerr << "switchyard: no answer from " << server << ": " << res.error << "\n";
  else
    std::cerr << "switchyard: " << res.status << ": " << error_text(res) << "\n";
  return exit_failed;
}

int usage_error(const std::string& message) {
  std::cerr << "switchyard: " << message << "\n";
  return exit_usage;
}

std::string read_stdin() {
  std::ostringstream ss;
  ss << std::cin.rdbuf();
  return ss.str();
}

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// Returns the Standard Webhooks secret of a whsec_ key, or nullopt.
std::optional<std::string> whsec_secret(std::string_view key) {
  if (key.substr(0, whsec_prefix.size()) != whsec_prefix)
    return std::nullopt;
  auto secret = core::base64_decode(key.substr(whsec_prefix.size()));
  if (!secret || secret->empty())
    return std::nullopt;
  return secret;
}

} // namespace

// -- the commands ---------------------------------------------------------------

struct client_commands::impl {
  // Shared by the commands that call the server.
  api_endpoint endpoint;
  bool json_flag = false;
  // Arguments.
  std::string id, service, url, country, type, data, secret, msg_id, signature,
    notificare_signature, file, since, until, after;
  int64_t limit = 0;
  std::vector<std::string> types;
  std::string tail_subscription;
  bool skip_verification = false;
  int64_t timestamp = 0;
  int port = 0;
  // The leaf commands, each with what it runs.
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands;

  bool json() const { return json_flag || !::isatty(STDOUT_FILENO); }

  // Adds --server, --token and --json to a command that calls the server.
  void add_server_options(CLI::App* cmd) {
    cmd
      ->add_option("--server", endpoint.server,
                   "switchyard's base URL (default http://127.0.0.1:8080)")
      ->envname("SWITCHYARD_URL");
    cmd->add_option("--token", endpoint.token, "bearer token")->envname("SWITCHYARD_TOKEN");
    cmd->add_option("--cacert", endpoint.ca_file, "PEM CA file trusted for an https:// --server")
      ->envname("SWITCHYARD_CACERT");
    add_json_option(cmd);
  }
  void add_json_option(CLI::App* cmd) {
    cmd->add_flag("--json", json_flag, "print JSON (the default when stdout is not a terminal)");
  }
  CLI::App* leaf(CLI::App* parent, const std::string& name, const std::string& what,
                 std::function<int()> run) {
    auto* cmd = parent->add_subcommand(name, what);
    commands.emplace_back(cmd, std::move(run));
    return cmd;
  }
  CLI::App* server_leaf(CLI::App* parent, const std::string& name, const std::string& what,
                        std::function<int()> run) {
    auto* cmd = leaf(parent, name, what, std::move(run));
    add_server_options(cmd);
    return cmd;
  }
  void add_id(CLI::App* cmd) { cmd->add_option("id", id, "subscription id")->required(); }

  // Calls the server and returns its answer when it has one of `ok`
  // statuses; else reports the error and returns nullopt.
  std::optional<client_response> call(const std::string& method, const std::string& path,
                                      std::string body = "",
                                      std::initializer_list<int> ok = {200}) {
    api_client client(endpoint);
    auto res = client.call(method, path, std::move(body));
    if (std::find(ok.begin(), ok.end(), res.status) == ok.end()) {
      api_error(res, endpoint.server);
      return std::nullopt;
    }
    return res;
  }

  // Prints a JSON answer as is, or through `table` on a terminal.
  int show(const client_response& res, const std::function<void(simdjson::dom::element)>& table) {
    if (json()) {
      std::cout << res.body << "\n";
      return exit_ok;
    }
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(res.body).get(doc)) {
      std::cout << res.body << "\n";
      return exit_ok;
    }
    table(doc);
    return exit_ok;
  }

  std::string sub_path(const std::string& suffix = "") const {
    return "/v1/subscriptions/" + path_segment(id) + suffix;
  }

  // -- subscriptions --------------------------------------------------------------

  int subscriptions_ls() {
    auto res = call("GET", "/v1/subscriptions");
    if (!res)
      return exit_failed;
    return show(*res, [](simdjson::dom::element doc) {
      std::vector<std::vector<std::string>> rows;
      for (auto s : as_array(doc))
        rows.push_back({field(s, "id"), field(s, "service"), field(s, "state"), field(s, "types"),
                        field(s, "country"), field(s, "stats.queued"), field(s, "stats.delivered"),
                        field(s, "stats.failed_attempts"), field(s, "url")});
      if (rows.empty()) {
        std::cout << "no subscriptions\n";
        return;
      }
      print_table(
        {"ID", "SERVICE", "STATE", "TYPES", "COUNTRY", "QUEUED", "DELIVERED", "FAILED", "URL"},
        rows);
    });
  }

  int subscriptions_get() {
    auto res = call("GET", sub_path());
    return res ? show(*res, print_fields) : exit_failed;
  }

  int subscriptions_create() {
    core::json_writer w;
    w.begin_object().key("service").value(service).key("url").value(url);
    if (!types.empty()) {
      w.key("types").value(types);
    }
    if (!country.empty())
      w.key("country").value(country);
    if (skip_verification)
      w.key("verification").value("skip");
    w.end_object();
    auto res = call("POST", "/v1/subscriptions", std::move(w).str(), {201});
    if (!res)
      return exit_failed;
    return show(*res, [](simdjson::dom::element doc) {
      print_fields(doc);
      std::cout << "(the privateKey is shown only now)\n";
    });
  }

  int subscriptions_rm() {
    if (!call("DELETE", sub_path(), "", {204, 200}))
      return exit_failed;
    if (json()) {
      core::json_writer w;
      w.begin_object().key("id").value(id).key("deleted").value(true).end_object();
      std::cout << w.str() << "\n";
    } else {
      std::cout << "deleted " << id << "\n";
    }
    return exit_ok;
  }

  // verify, pause, activate: the answer is the subscription in its new state.
  int subscriptions_action(const std::string& action) {
    auto res = call("POST", sub_path("/" + action));
    if (!res)
      return exit_failed;
    return show(*res, [](simdjson::dom::element doc) {
      std::cout << field(doc, "id") << " " << field(doc, "state") << "\n";
    });
  }

  int subscriptions_purge() {
    auto res = call("POST", sub_path("/purge"));
    if (!res)
      return exit_failed;
    return show(*res, [this](simdjson::dom::element doc) {
      std::cout << "purged " << field(doc, "purged") << " queued events of " << id << "\n";
    });
  }

  // -- backup ---------------------------------------------------------------------

  // `file` is the new directory; a relative one is made absolute here, for a
  // server on this machine (the server resolves the path on its own).
  int backup() {
    auto dir = std::filesystem::absolute(file).lexically_normal().string();
    core::json_writer w;
    w.begin_object().key("path").value(dir).end_object();
    api_client client(endpoint);
    // A checkpoint of a large journal copies files when DIR is on another
    // filesystem: wait longer than for an ordinary call.
    auto res = client.call("POST", "/v1/admin/backup", std::move(w).str(),
                           std::chrono::minutes(30));
    if (res.status != 200) {
      api_error(res, endpoint.server);
      return exit_failed;
    }
    return show(res, [](simdjson::dom::element doc) {
      std::cout << "backup written to " << field(doc, "path") << " in " << field(doc, "tookMs")
                << " ms; restore with: " << field(doc, "restore") << "\n";
    });
  }

  // -- dead letters ---------------------------------------------------------------

  int dead_letters_ls() {
    std::string query;
    if (limit > 0)
      query += "limit=" + std::to_string(limit);
    if (!after.empty())
      query += (query.empty() ? "" : "&") + std::string("after=") + after;
    auto res = call("GET", sub_path("/dead-letters") + (query.empty() ? "" : "?" + query));
    if (!res)
      return exit_failed;
    // One page at a time (the server's default is its largest, 1000): the
    // next one starts after the last id shown.
    for (const auto& [name, value] : res->headers)
      if (core::equal_nocase(name, "link"))
        std::cerr << "more dead letters follow: ls --after <last ID>"
                  << (limit > 0 ? " --limit " + std::to_string(limit) : std::string()) << "\n";
    return show(*res, [](simdjson::dom::element doc) {
      std::vector<std::vector<std::string>> rows;
      for (auto d : as_array(doc))
        rows.push_back({field(d, "id"), field(d, "type"), field(d, "country"),
                        field(d, "timestamp"), field(d, "attempts"), field(d, "last_error"),
                        field(d, "dead_lettered_at"), field(d, "reason")});
      if (rows.empty()) {
        std::cout << "no dead letters\n";
        return;
      }
      print_table(
        {"ID", "TYPE", "COUNTRY", "TIMESTAMP", "ATTEMPTS", "LAST ERROR", "DEAD SINCE", "REASON"},
        rows);
    });
  }

  int dead_letters_replay() {
    std::string body;
    if (!since.empty() || !until.empty()) {
      core::json_writer w;
      w.begin_object();
      if (!since.empty())
        w.key("since").value(since);
      if (!until.empty())
        w.key("until").value(until);
      w.end_object();
      body = std::move(w).str();
    }
    auto res = call("POST", sub_path("/dead-letters/replay"), std::move(body));
    if (!res)
      return exit_failed;
    return show(*res, [this](simdjson::dom::element doc) {
      std::cout << "replayed " << field(doc, "replayed") << " dead letters of " << id << "\n";
    });
  }

  // -- publish --------------------------------------------------------------------

  int publish() {
    std::vector<std::string> ids;
    int status = type.empty() ? publish_stdin(ids) : publish_one(ids);
    if (status == exit_usage)
      return status;
    if (json()) {
      core::json_writer w;
      w.begin_object().key("ids").value(ids).end_object();
      std::cout << w.str() << "\n";
    } else {
      for (const auto& i : ids)
        std::cout << i << "\n";
    }
    return status;
  }

  int publish_one(std::vector<std::string>& ids) {
    core::json_writer w;
    w.begin_object().key("type").value(type);
    if (!country.empty())
      w.key("country").value(country);
    if (!data.empty()) {
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      if (parser.parse(data).get(doc) || doc.type() != simdjson::dom::element_type::OBJECT)
        return usage_error("--data: must be a JSON object, e.g. '{\"total\":12.5}'");
      w.key("data").raw(data);
    }
    w.end_object();
    return send_batch(std::move(w).str(), 0, ids);
  }

  int publish_stdin(std::vector<std::string>& ids) {
    if (!country.empty() || !data.empty())
      return usage_error(
        "--country and --data need --type (events on standard input carry their own)");
    if (::isatty(STDIN_FILENO))
      return usage_error(
        "publish: give --type, or NDJSON events (one JSON object a line) on standard input");
    simdjson::dom::parser parser;
    std::string batch;
    std::vector<std::size_t> lines; // the input line of each event in the batch
    auto flush = [&]() -> int {
      if (lines.empty())
        return exit_ok;
      batch += "]";
      int status = send_batch(batch, lines.front(), ids, &lines);
      batch.clear();
      lines.clear();
      return status;
    };
    std::string line;
    std::size_t number = 0;
    while (std::getline(std::cin, line)) {
      ++number;
      if (is_blank(line))
        continue;
      simdjson::dom::element doc;
      if (auto err = parser.parse(line).get(doc))
        return usage_error("standard input line " + std::to_string(number) +
                           ": invalid JSON: " + simdjson::error_message(err));
      if (doc.type() != simdjson::dom::element_type::OBJECT)
        return usage_error("standard input line " + std::to_string(number) +
                           ": must be an event object");
      batch += lines.empty() ? "[" : ",";
      batch += line;
      lines.push_back(number);
      if (lines.size() >= batch_max_events || batch.size() >= batch_max_bytes)
        if (int status = flush())
          return status;
    }
    if (number == 0 || (lines.empty() && ids.empty()))
      return usage_error("publish: no events on standard input");
    return flush();
  }

  // POSTs one event or batch; on an error naming an `index`, says which
  // input line it came from.
  int send_batch(const std::string& body, std::size_t first_line, std::vector<std::string>& ids,
                 const std::vector<std::size_t>* lines = nullptr) {
    api_client client(endpoint);
    auto res = client.call("POST", "/v1/events", body);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    bool parsed = res.status != 0 && !parser.parse(res.body).get(doc);
    if (res.status != 202 || !parsed) {
      int64_t index = 0;
      if (lines && parsed && !doc["index"].get_int64().get(index) && index >= 0 &&
          static_cast<std::size_t>(index) < lines->size())
        std::cerr << "switchyard: standard input line " << (*lines)[static_cast<std::size_t>(index)]
                  << " (nothing from line " << first_line << " on was accepted):\n";
      return api_error(res, endpoint.server);
    }
    simdjson::dom::array list;
    if (!doc["ids"].get_array().get(list))
      for (auto v : list) {
        std::string_view s;
        if (!v.get_string().get(s))
          ids.emplace_back(s);
      }
    return exit_ok;
  }

  // -- health ---------------------------------------------------------------------

  int health() {
    api_client client(endpoint);
    auto live = client.call("GET", "/healthz");
    auto ready = client.call("GET", "/readyz");
    auto ok = live.status == 200 && ready.status == 200;
    auto describe = [](const client_response& r) {
      return r.status == 0 ? r.error : error_text(r);
    };
    if (json()) {
      core::json_writer w;
      w.begin_object();
      for (auto [name, r] : {std::pair{"healthz", &live}, std::pair{"readyz", &ready}}) {
        w.key(name).begin_object().key("status").value(r->status);
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        if (r->status != 0 && !parser.parse(r->body).get(doc))
          w.key("body").raw(simdjson::minify(doc));
        else
          w.key("error").value(describe(*r));
        w.end_object();
      }
      w.key("ok").value(ok).end_object();
      std::cout << w.str() << "\n";
    } else {
      for (auto [name, r] : {std::pair{"healthz", &live}, std::pair{"readyz", &ready}}) {
        std::string what = r->status == 0 ? r->error : r->body;
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        if (r->status != 0 && !parser.parse(r->body).get(doc))
          what = field(doc, "status").empty() ? error_text(*r) : field(doc, "status");
        std::cout << name << "  " << (r->status == 0 ? std::string("-") : std::to_string(r->status))
                  << "  " << what << "\n";
      }
    }
    return ok ? exit_ok : exit_failed;
  }

  // -- signatures -----------------------------------------------------------------

  int sign() {
    if (!whsec_secret(secret))
      return usage_error(
        "--secret: must be whsec_ followed by base64, as a subscription's privateKey");
    auto body = read_stdin();
    auto standard = core::standard_webhooks_signature(secret, msg_id, timestamp, body);
    auto notificare = core::notificare_signature(secret, body);
    if (json()) {
      core::json_writer w;
      w.begin_object()
        .key("webhook-id")
        .value(msg_id)
        .key("webhook-timestamp")
        .value(std::to_string(timestamp))
        .key("webhook-signature")
        .value(standard)
        .key("x-notificare-signature")
        .value(notificare)
        .end_object();
      std::cout << w.str() << "\n";
    } else {
      std::cout << "webhook-id: " << msg_id << "\n"
                << "webhook-timestamp: " << timestamp << "\n"
                << "webhook-signature: " << standard << "\n"
                << "x-notificare-signature: " << notificare << "\n";
    }
    return exit_ok;
  }

  int verify_signature() {
    if (!whsec_secret(secret))
      return usage_error(
        "--secret: must be whsec_ followed by base64, as a subscription's privateKey");
    if (!signature.empty() && msg_id.empty())
      return usage_error(
        "--signature needs --id and --timestamp (the webhook-id and webhook-timestamp headers)");
    auto body = read_stdin();
    bool valid = false;
    if (!signature.empty()) {
      auto want = core::standard_webhooks_signature(secret, msg_id, timestamp, body);
      std::istringstream list(signature);
      std::string candidate;
      while (list >> candidate)
        valid = core::constant_time_equal(candidate, want) || valid;
    } else {
      std::string given = notificare_signature;
      while (!given.empty() && (given.back() == ' ' || given.back() == '\t'))
        given.pop_back();
      valid = core::constant_time_equal(given, core::notificare_signature(secret, body));
    }
    if (json())
      std::cout << (valid ? R"({"valid":true})" : R"({"valid":false})") << "\n";
    else
      std::cout << (valid ? "valid" : "invalid") << "\n";
    return valid ? exit_ok : exit_failed;
  }

  // -- config check ---------------------------------------------------------------

  int config_check() {
    if (!std::filesystem::exists(file))
      return usage_error("config file " + file + " does not exist");
    config cfg;
    auto err = load_config_file(file, cfg);
    if (!err)
      err = validate_config(cfg);
    if (err)
      return usage_error("bad configuration: " + err->message);
    std::cout << file << ": ok\n";
    return exit_ok;
  }

  // -- wiring ---------------------------------------------------------------------

  void add_to(CLI::App& cli) {
    auto* subs = cli.add_subcommand("subscriptions", "list and manage subscriptions");
    subs->require_subcommand(1);
    server_leaf(subs, "ls", "list subscriptions", [this] { return subscriptions_ls(); });
    add_id(
      server_leaf(subs, "get", "show one subscription", [this] { return subscriptions_get(); }));
    auto* create = server_leaf(subs, "create", "create a subscription",
                               [this] { return subscriptions_create(); });
    create->add_option("--service", service, "service name")->required();
    create->add_option("--url", url, "webhook URL")->required();
    create->add_option("--types", types, "event type patterns (default **)")->delimiter(',');
    create->add_option("--country", country, "ISO 3166 alpha-2 country filter");
    create->add_flag("--skip-verification", skip_verification, "make it active at once");
    add_id(server_leaf(subs, "rm", "delete a subscription", [this] { return subscriptions_rm(); }));
    for (const char* action : {"verify", "pause", "activate"})
      add_id(server_leaf(subs, action, std::string(action) + " a subscription",
                         [this, a = std::string(action)] { return subscriptions_action(a); }));
    add_id(server_leaf(subs, "purge", "drop every queued event of a subscription",
                       [this] { return subscriptions_purge(); }));

    auto* dead = cli.add_subcommand("dead-letters", "list and replay dead letters");
    dead->require_subcommand(1);
    auto* dead_ls = server_leaf(dead, "ls", "list a subscription's dead letters, oldest first",
                                [this] { return dead_letters_ls(); });
    add_id(dead_ls);
    dead_ls->add_option("--limit", limit, "at most this many (1 to 1000; default 1000)")
      ->check(CLI::Range(1, 1000));
    dead_ls->add_option("--after", after, "only those of events after this event id");
    auto* dead_replay = server_leaf(dead, "replay", "requeue a subscription's dead letters",
                                    [this] { return dead_letters_replay(); });
    add_id(dead_replay);
    dead_replay->add_option("--since", since,
                            "only events whose timestamp is at or after this ISO-8601 time");
    dead_replay->add_option("--until", until,
                            "only events whose timestamp is before this ISO-8601 time");

    auto* pub = server_leaf(&cli, "publish",
                            "publish one event, or NDJSON events from standard input",
                            [this] { return publish(); });
    pub->add_option("--type", type, "event type (without it, events are read from stdin)");
    pub->add_option("--country", country, "ISO 3166 alpha-2 country");
    pub->add_option("--data", data, "event data, a JSON object");

    auto* listen = server_leaf(&cli, "listen",
                               "receive events on a local port for as long as it runs",
                               [this] { return run_listen_command(); });
    listen->add_option("--port", port, "port on 127.0.0.1 (0 picks a free one)")
      ->required()
      ->check(CLI::Range(0, 65535));
    listen->add_option("--types", types, "event type patterns (default **)")->delimiter(',');
    listen->add_option("--country", country, "ISO 3166 alpha-2 country filter");
    listen->add_option("--service", service, "service name of the subscription");

    auto* sig = leaf(&cli, "sign", "print the signature headers of a body read from stdin",
                     [this] { return sign(); });
    sig->add_option("--secret", secret, "whsec_… private key")->required();
    sig->add_option("--id", msg_id, "webhook-id")->required();
    sig->add_option("--timestamp", timestamp, "webhook-timestamp (seconds)")->required();
    add_json_option(sig);

    auto* check = leaf(&cli, "verify-signature",
                       "check a signature of a body read from stdin (exit 0 valid, 1 not)",
                       [this] { return verify_signature(); });
    check->add_option("--secret", secret, "whsec_… private key")->required();
    check->add_option("--id", msg_id, "webhook-id");
    check->add_option("--timestamp", timestamp, "webhook-timestamp (seconds)");
    auto* standard = check->add_option("--signature", signature,
                                       "webhook-signature header (v1,<base64> …)");
    auto* notificare = check->add_option("--notificare-signature", notificare_signature,
                                         "x-notificare-signature header");
    auto* one_of = check->add_option_group("signature");
    one_of->add_options(standard, notificare);
    one_of->require_option(1, 1);
    add_json_option(check);

    auto* cfg = cli.add_subcommand("config", "configuration tools");
    cfg->require_subcommand(1);
    leaf(cfg, "check", "check a configuration file (exit 2 naming a bad key)",
         [this] { return config_check(); })
      ->add_option("file", file, "TOML file")
      ->required();

    server_leaf(&cli, "health", "check /healthz and /readyz", [this] { return health(); });

    server_leaf(&cli, "tail", "print each delivery attempt and state change as it happens", [this] {
      return run_tail(endpoint, tail_subscription, json());
    })->add_option("--subscription", tail_subscription, "only this subscription's");

    server_leaf(&cli, "backup",
                "write an online backup of the server's journal into the new directory DIR",
                [this] { return backup(); })
      ->add_option("dir", file, "directory to create (restore: switchyard serve --data DIR)")
      ->required();
  }

  int run_listen_command() {
    listen_options o;
    o.port = static_cast<uint16_t>(port);
    o.types = types;
    o.country = country;
    if (!service.empty())
      o.service = service;
    o.json = json();
    return run_listen(endpoint, o);
  }
};

client_commands::client_commands(CLI::App& cli) : impl_(std::make_unique<impl>()) {
  impl_->add_to(cli);
}

client_commands::~client_commands() = default;

std::optional<int> client_commands::run() {
  for (auto& [cmd, action] : impl_->commands) {
    if (!cmd->parsed())
      continue;
    if (auto why = validate_server_url(impl_->endpoint.server))
      return usage_error(*why);
    const auto& ca_file = impl_->endpoint.ca_file;
    if (!ca_file.empty() && !std::filesystem::is_regular_file(ca_file))
      return usage_error("--cacert / SWITCHYARD_CACERT: " + ca_file + " is not a readable file");
    try {
      return action();
    } catch (const std::runtime_error& e) {
      // http_client refuses a --cacert that is not PEM.
      return usage_error(std::string("--cacert / SWITCHYARD_CACERT: ") + e.what());
    }
  }
  return std::nullopt;
}

} // namespace sy::app
