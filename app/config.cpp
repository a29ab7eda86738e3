#include "app/config.hpp"

#include <toml++/toml.h>

#include "core/url.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>

namespace sy::app {

namespace {

constexpr int64_t max_cluster_partitions = 4096;
constexpr int64_t max_cluster_replicas = 16;

using setter = std::function<std::optional<std::string>(const toml::node&, config&)>;

std::optional<std::string> want(const char* what) { return std::string("must be ") + what; }

// Sets an int64_t or int field; [min, max] lies within the field's type.
template <class Int>
setter int_key(Int config::*field, int64_t min, int64_t max) {
  return [=](const toml::node& n, config& c) -> std::optional<std::string> {
    auto v = n.value_exact<int64_t>();
    if (!v)
      return want("an integer");
    if (*v < min || *v > max)
      return "must be between " + std::to_string(min) + " and " + std::to_string(max);
    c.*field = static_cast<Int>(*v);
    return std::nullopt;
  };
}

setter bool_key(bool config::*field) {
  return [=](const toml::node& n, config& c) -> std::optional<std::string> {
    auto v = n.value_exact<bool>();
    if (!v)
      return want("true or false");
    c.*field = *v;
    return std::nullopt;
  };
}

setter string_key(std::string config::*field) {
  return [=](const toml::node& n, config& c) -> std::optional<std::string> {
    auto v = n.value_exact<std::string>();
    if (!v)
      return want("a string");
    c.*field = *v;
    return std::nullopt;
  };
}

setter string_list_key(std::vector<std::string> config::*field) {
  return [=](const toml::node& n, config& c) -> std::optional<std::string> {
    auto arr = n.as_array();
    if (!arr)
      return want("an array of strings");
    std::vector<std::string> out;
    for (auto& e : *arr) {
      auto v = e.value_exact<std::string>();
      if (!v || v->empty())
        return want("an array of non-empty strings");
      out.push_back(*v);
    }
    c.*field = std::move(out);
    return std::nullopt;
  };
}

// Reads a token list: each entry is "<token>" (named "<prefix>#<n>") or
// {name = "…", token = "…"}.
setter token_list_key(std::vector<named_token> config::*field, std::string prefix) {
  return [=](const toml::node& n, config& c) -> std::optional<std::string> {
    auto arr = n.as_array();
    if (!arr)
      return want("an array of tokens (strings or {name = \"…\", token = \"…\"} tables)");
    std::vector<named_token> out;
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const auto& e = *arr->get(i);
      const std::string at = "[" + std::to_string(i) + "]";
      named_token t;
      if (auto v = e.value_exact<std::string>()) {
        t.value = *v;
        t.name = prefix + "#" + std::to_string(i + 1);
      } else if (auto table = e.as_table()) {
        for (auto&& [k, v] : *table) {
          std::string key(k.str());
          auto text = v.value_exact<std::string>();
          if (key != "name" && key != "token")
            return at + ": unknown key " + key + " (a token table has name and token)";
          if (!text)
            return at + "." + key + " " + *want("a string");
          (key == "name" ? t.name : t.value) = *text;
        }
        if (t.name.empty())
          return at + ".name " + *want("a non-empty string");
        for (char ch : t.name)
          if (static_cast<unsigned char>(ch) < 0x21 || ch == '"' || ch == 0x7f)
            return at + ".name must be printable, without spaces or quotes";
      } else {
        return at + " " + *want("a string or a {name = \"…\", token = \"…\"} table");
      }
      if (t.value.empty())
        return at + " " + *want("a non-empty token");
      out.push_back(std::move(t));
    }
    c.*field = std::move(out);
    return std::nullopt;
  };
}

// Parses "72h", "30m", "10s", "500ms" or a plain integer of milliseconds.
std::optional<int64_t> parse_duration_ms(const toml::node& n) {
  if (auto i = n.value_exact<int64_t>())
    return *i >= 0 ? std::optional<int64_t>(*i) : std::nullopt;
  auto s = n.value_exact<std::string>();
  if (!s || s->empty())
    return std::nullopt;
  std::size_t pos = 0;
  while (pos < s->size() && std::isdigit(static_cast<unsigned char>((*s)[pos])))
    ++pos;
  if (pos == 0 || pos > 12)
    return std::nullopt;
  int64_t num = std::stoll(s->substr(0, pos));
  auto unit = s->substr(pos);
  static const std::map<std::string, int64_t> units = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  auto it = units.find(unit);
  if (it == units.end() || num > INT64_MAX / it->second)
    return std::nullopt;
  return num * it->second;
}

const std::map<std::string, std::map<std::string, setter>>& schema() {
  static const std::map<std::string, std::map<std::string, setter>> s = {
    {"server",
     {{"listen", string_key(&config::listen)},
      {"io_threads", int_key(&config::io_threads, 0, 256)},
      {"actor_threads", int_key(&config::actor_threads, 0, 256)},
      {"allowed_hosts", string_list_key(&config::allowed_hosts)},
      {"metrics_listen", string_key(&config::metrics_listen)},
      {"tls_cert", string_key(&config::tls_cert)},
      {"tls_key", string_key(&config::tls_key)}}},
    {"storage", {{"data_dir", string_key(&config::data_dir)}, {"sync", bool_key(&config::sync)}}},
    {"http",
     {{"max_body_bytes", int_key(&config::max_body_bytes, 1024, 1LL << 30)},
      {"max_header_bytes", int_key(&config::max_header_bytes, 1024, 1 << 20)},
      {"max_batch_events", int_key(&config::max_batch_events, 1, 10000000)},
      {"read_timeout_ms", int_key(&config::read_timeout_ms, 100, 3600000)},
      {"idle_timeout_ms", int_key(&config::idle_timeout_ms, 100, 3600000)}}},
    {"delivery", {{"timeout_ms", int_key(&config::timeout_ms, 10, 3600000)}}},
    {"retry",
     {{"initial_ms", int_key(&config::initial_ms, 1, 86400000)},
      {"multiplier",
       [](const toml::node& n, config& c) -> std::optional<std::string> {
         auto v = n.value<double>(); // accepts 2 as well as 2.0
         if (!v || !(n.is_floating_point() || n.is_integer()))
           return want("a number");
         if (*v < 1.0 || *v > 100.0)
           return "must be between 1 and 100";
         c.multiplier = *v;
         return std::nullopt;
       }},
      {"max_ms", int_key(&config::max_ms, 1, 7LL * 86400000)},
      {"max_age",
       [](const toml::node& n, config& c) -> std::optional<std::string> {
         auto v = parse_duration_ms(n);
         if (!v || *v < 1000)
           return want("a duration of at least 1s, such as \"72h\", \"30m\" or an integer of ms");
         c.max_age_ms = *v;
         return std::nullopt;
       }},
      {"breaker_ratio",
       [](const toml::node& n, config& c) -> std::optional<std::string> {
         auto v = n.value<double>(); // accepts 1 as well as 1.0
         if (!v || !(n.is_floating_point() || n.is_integer()))
           return want("a number");
         if (!(*v > 0.0 && *v <= 1.0))
           return "must be above 0 and at most 1";
         c.breaker_ratio = *v;
         return std::nullopt;
       }},
      {"breaker_window_ms", int_key(&config::breaker_window_ms, 100, 86400000)},
      {"breaker_min_attempts", int_key(&config::breaker_min_attempts, 1, 1000000)}}},
    {"egress",
     {{"allow_private", bool_key(&config::allow_private)},
      {"ca_file", string_key(&config::ca_file)}}},
    {"auth",
     {{"admin_tokens", token_list_key(&config::admin_tokens, "admin")},
      {"publish_tokens", token_list_key(&config::publish_tokens, "publish")},
      {"allow_anonymous", bool_key(&config::allow_anonymous)},
      {"metrics_tokens", token_list_key(&config::metrics_tokens, "metrics")}}},
    {"pull",
     {{"file_max_events", int_key(&config::file_max_events, 1, 10000000)},
      {"file_max_age_ms", int_key(&config::file_max_age_ms, 10, 86400000LL * 30)}}},
    {"push", {{"gateway_url", string_key(&config::gateway_url)}}},
    {"metrics",
     {{"max_subscription_series", int_key(&config::max_subscription_series, 0, 1000000)}}},
    {"console",
     {{"dir", string_key(&config::console_dir)},
      {"max_streams", int_key(&config::max_streams, 1, 10000)}}},
    {"log",
     {{"level",
       [](const toml::node& n, config& c) -> std::optional<std::string> {
         auto v = n.value_exact<std::string>();
         static const std::vector<std::string> levels = {"trace", "debug", "info",
                                                         "warn",  "error", "off"};
         if (!v || std::find(levels.begin(), levels.end(), *v) == levels.end())
           return want("one of trace, debug, info, warn, error, off");
         c.log_level = *v;
         return std::nullopt;
       }},
      {"format",
       [](const toml::node& n, config& c) -> std::optional<std::string> {
         auto v = n.value_exact<std::string>();
         if (!v || (*v != "text" && *v != "json"))
           return want("\"text\" or \"json\"");
         c.log_format = *v;
         return std::nullopt;
       }},
      {"failure_interval_s", int_key(&config::failure_interval_s, 1, 86400)},
      {"file", string_key(&config::log_file)}}},
    {"cluster",
     {{"node", string_key(&config::cluster_node)},
      {"listen", string_key(&config::cluster_listen)},
      {"advertise", string_key(&config::cluster_advertise)},
      {"etcd", string_list_key(&config::cluster_etcd)},
      {"partitions", int_key(&config::cluster_partitions, 1, max_cluster_partitions)},
      {"replicas", int_key(&config::cluster_replicas, 1, max_cluster_replicas)},
      {"min_insync", int_key(&config::cluster_min_insync, 1, max_cluster_replicas)},
      {"rebalance_every_s", int_key(&config::cluster_rebalance_every_s, 0, 3600)},
      {"lease_ttl_s", int_key(&config::cluster_lease_ttl_s, 2, 60)},
      {"tls_cert", string_key(&config::cluster_tls_cert)},
      {"tls_key", string_key(&config::cluster_tls_key)},
      {"tls_ca", string_key(&config::cluster_tls_ca)},
      {"preview", bool_key(&config::cluster_preview)}}},
  };
  return s;
}

std::optional<config_error> apply(const toml::table& root, const std::string& source, config& out) {
  for (auto&& [section_key, section_node] : root) {
    std::string section(section_key.str());
    auto sit = schema().find(section);
    if (sit == schema().end())
      return config_error{source + ": unknown table [" + section + "]"};
    auto table = section_node.as_table();
    if (!table)
      return config_error{source + ": " + section + " must be a table ([" + section + "])"};
    if (section == "cluster")
      out.cluster_enabled = true;
    for (auto&& [key, node] : *table) {
      std::string name = section + "." + std::string(key.str());
      auto kit = sit->second.find(std::string(key.str()));
      if (kit == sit->second.end())
        return config_error{source + ": unknown key " + name};
      if (auto why = kit->second(node, out))
        return config_error{source + ": " + name + " " + *why};
    }
  }
  return std::nullopt;
}

} // namespace

std::optional<config_error> load_config_text(const std::string& text, const std::string& source,
                                             config& out) {
  try {
    auto root = toml::parse(text, source);
    return apply(root, source, out);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << source << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return config_error{msg.str()};
  }
}

std::optional<config_error> load_config_file(const std::string& path, config& out) {
  try {
    auto root = toml::parse_file(path);
    return apply(root, path, out);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return config_error{msg.str()};
  }
}

std::optional<std::pair<std::string, uint16_t>> split_host_port(const std::string& s) {
  std::string host;
  std::string port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return std::nullopt;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos)
      return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5)
    return std::nullopt;
  for (char c : port)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return std::nullopt;
  int p = std::stoi(port);
  if (p > 65535)
    return std::nullopt;
  return std::make_pair(host, static_cast<uint16_t>(p));
}

namespace {

// A node name is an etcd key segment and appears in URLs and logs.
bool is_node_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
  });
}

std::optional<config_error> validate_cluster(const config& c) {
  if (c.cluster_node.empty())
    return config_error{"cluster.node is required in [cluster]: a unique name for this node, "
                        "such as \"n1\""};
  if (!is_node_name(c.cluster_node))
    return config_error{"cluster.node must be 1 to 64 letters, digits, '-', '_' or '.', got \"" +
                        c.cluster_node + "\""};
  if (c.cluster_listen.empty())
    return config_error{"cluster.listen is required in [cluster]: HOST:PORT for node-to-node "
                        "traffic, such as 127.0.0.1:7101"};
  if (!split_host_port(c.cluster_listen))
    return config_error{"cluster.listen must be HOST:PORT, such as 127.0.0.1:7101, got \"" +
                        c.cluster_listen + "\""};
  if (!c.cluster_advertise.empty() && !split_host_port(c.cluster_advertise))
    return config_error{"cluster.advertise must be HOST:PORT (what peers dial), got \"" +
                        c.cluster_advertise + "\""};
  if (c.cluster_etcd.empty())
    return config_error{"cluster.etcd is required in [cluster]: an array of etcd client URLs, "
                        "such as [\"http://127.0.0.1:2379\"]"};
  for (std::size_t i = 0; i < c.cluster_etcd.size(); ++i) {
    const auto& url = c.cluster_etcd[i];
    const std::string where = "cluster.etcd[" + std::to_string(i) + "]";
    auto parts = core::parse_url(url);
    if (!parts)
      return config_error{where + " is not a URL: " + core::validate_url(url).value_or("invalid") +
                          ", got \"" + url + "\""};
    if (parts->scheme != "http")
      return config_error{where + " must be an http:// URL (etcd over TLS is not supported yet)"};
    if (parts->target != "/")
      return config_error{where + " must be scheme://host:port with no path, got \"" + url + "\""};
  }
  if (c.cluster_min_insync > c.cluster_replicas)
    return config_error{"cluster.min_insync (" + std::to_string(c.cluster_min_insync) +
                        ") must not exceed cluster.replicas (" +
                        std::to_string(c.cluster_replicas) + ")"};
  const bool any_tls = !c.cluster_tls_cert.empty() || !c.cluster_tls_key.empty() ||
                       !c.cluster_tls_ca.empty();
  if (any_tls) {
    const std::pair<const char*, const std::string*> files[] = {
      {"cluster.tls_cert", &c.cluster_tls_cert},
      {"cluster.tls_key", &c.cluster_tls_key},
      {"cluster.tls_ca", &c.cluster_tls_ca}};
    for (auto [key, path] : files)
      if (path->empty())
        return config_error{std::string(key) +
                            " is missing: mutual TLS between nodes needs cluster.tls_cert, "
                            "cluster.tls_key and cluster.tls_ca together, or none of them"};
    for (auto [key, path] : files) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(*path, ec))
        return config_error{std::string(key) + ": no such file " + *path};
    }
  }
  if (!c.cluster_preview)
    return config_error{
      "cluster.preview must be true to start in cluster mode: events are replicated and "
      "partitions fail over (the fault lab lost none), but replication costs about 4 times a "
      "single node's CPU per event at 3 replicas, the push gateway's subscription and the "
      "console stream's attempts are per node, and a release that changes the node-to-node "
      "wire version needs a full stop (docs/cluster.md \"Not built yet\"). "
      "Set cluster.preview = true to run it anyway"};
  return std::nullopt;
}

} // namespace

std::optional<config_error> validate_config(const config& c) {
  auto hp = split_host_port(c.listen);
  if (!hp)
    return config_error{"server.listen must be HOST:PORT, such as 127.0.0.1:8080, got \"" +
                        c.listen + "\""};
  bool loopback = hp->first == "localhost" || hp->first == "::1" || hp->first.rfind("127.", 0) == 0;
  if (!loopback && c.admin_tokens.empty() && c.publish_tokens.empty() && !c.allow_anonymous)
    return config_error{"refusing to listen on " + c.listen +
                        " without auth: set auth.admin_tokens (and auth.publish_tokens), "
                        "listen on a loopback address, or set auth.allow_anonymous = true "
                        "if a proxy in front authenticates"};
  if (!c.metrics_listen.empty() && !split_host_port(c.metrics_listen))
    return config_error{"server.metrics_listen must be HOST:PORT, such as 127.0.0.1:9180, or \"\" "
                        "for none, got \"" +
                        c.metrics_listen + "\""};
  if (c.tls_cert.empty() != c.tls_key.empty())
    return config_error{
      c.tls_cert.empty()
        ? "server.tls_key needs server.tls_cert: set both (PEM files) for HTTPS, or neither"
        : "server.tls_cert needs server.tls_key: set both (PEM files) for HTTPS, or neither"};
  if (!c.metrics_tokens.empty() && c.admin_tokens.empty() && c.publish_tokens.empty())
    return config_error{"auth.metrics_tokens needs auth.admin_tokens: with metrics tokens alone "
                        "every other endpoint would refuse every request"};
  if (c.data_dir.empty())
    return config_error{"storage.data_dir must not be empty"};
  // A guessable token is an open server: refuse the placeholders of
  // conf/production.toml and anything short enough to guess or to have
  // been typed by hand. The message names the entry, never its value.
  for (auto [key, list] : {std::pair{"auth.admin_tokens", &c.admin_tokens},
                           std::pair{"auth.publish_tokens", &c.publish_tokens},
                           std::pair{"auth.metrics_tokens", &c.metrics_tokens}}) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto& t = (*list)[i];
      const std::string where = std::string(key) + "[" + std::to_string(i) + "] (\"" + t.name +
                                "\")";
      if (t.value.rfind("change-me", 0) == 0)
        return config_error{where +
                            " is still a change-me placeholder: set a random token of at "
                            "least " +
                            std::to_string(min_token_length) +
                            " characters, e.g. from `openssl rand -hex 32`"};
      if (t.value.size() < min_token_length)
        return config_error{where + " is shorter than " + std::to_string(min_token_length) +
                            " characters: use a random token, e.g. from `openssl rand -hex 32`"};
    }
  }
  if (!c.gateway_url.empty()) {
    // Refused at start-up rather than retried forever at delivery.
    if (auto why = core::validate_url(c.gateway_url))
      return config_error{"push.gateway_url: " + *why};
  }
  if (c.cluster_enabled)
    return validate_cluster(c);
  return std::nullopt;
}

} // namespace sy::app
