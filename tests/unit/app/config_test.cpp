#include "app/config.hpp"

#include <gtest/gtest.h>

using namespace sy::app;

namespace {

std::optional<config_error> load(const std::string& text, config& c) {
  return load_config_text(text, "test.toml", c);
}

} // namespace

TEST(config, shipped_default_file_equals_built_in_defaults) {
  config from_file;
  auto err = load_config_file(SWITCHYARD_SOURCE_DIR "/conf/switchyard.toml", from_file);
  ASSERT_FALSE(err) << err->message;
  config d;
  EXPECT_EQ(from_file.listen, d.listen);
  EXPECT_EQ(from_file.data_dir, d.data_dir);
  EXPECT_EQ(from_file.sync, d.sync);
  EXPECT_EQ(from_file.max_body_bytes, d.max_body_bytes);
  EXPECT_EQ(from_file.timeout_ms, d.timeout_ms);
  EXPECT_EQ(from_file.initial_ms, d.initial_ms);
  EXPECT_EQ(from_file.multiplier, d.multiplier);
  EXPECT_EQ(from_file.max_ms, d.max_ms);
  EXPECT_EQ(from_file.max_age_ms, d.max_age_ms);
  EXPECT_EQ(from_file.allow_private, d.allow_private);
  EXPECT_EQ(from_file.file_max_events, d.file_max_events);
  EXPECT_EQ(from_file.file_max_age_ms, d.file_max_age_ms);
  EXPECT_EQ(from_file.metrics_listen, d.metrics_listen);
  EXPECT_EQ(from_file.metrics_tokens, d.metrics_tokens);
  EXPECT_EQ(from_file.max_subscription_series, d.max_subscription_series);
  EXPECT_EQ(from_file.max_streams, d.max_streams);
  EXPECT_EQ(from_file.log_format, d.log_format);
  EXPECT_EQ(from_file.failure_interval_s, d.failure_interval_s);
  EXPECT_TRUE(from_file == d) << "a key of conf/switchyard.toml differs from its built-in default";
  EXPECT_FALSE(validate_config(from_file));
}

// Shipped with change-me placeholders on purpose: it must not start until
// an operator sets real tokens, and then it must.
TEST(config, production_file_refuses_to_start_until_its_tokens_are_set) {
  config c;
  auto err = load_config_file(SWITCHYARD_SOURCE_DIR "/conf/production.toml", c);
  ASSERT_FALSE(err) << err->message;
  EXPECT_FALSE(c.allow_private);
  EXPECT_EQ(c.log_format, "json");
  auto refused = validate_config(c);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->message.find("auth.admin_tokens[0] (\"ops\")"), std::string::npos)
    << refused->message;
  EXPECT_NE(refused->message.find("change-me"), std::string::npos) << refused->message;
  EXPECT_EQ(refused->message.find("change-me-admin-token"), std::string::npos)
    << "the message repeats the token: " << refused->message;
  c.admin_tokens[0].value = std::string(32, 'a');
  refused = validate_config(c);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->message.find("auth.publish_tokens[0] (\"producer\")"), std::string::npos)
    << refused->message;
  c.publish_tokens[0].value = std::string(32, 'b');
  EXPECT_FALSE(validate_config(c));
}

TEST(config, short_tokens_are_refused_naming_the_key_not_the_value) {
  const std::string strong(24, 'x');
  for (const char* list : {"admin_tokens", "publish_tokens", "metrics_tokens"}) {
    config c;
    const std::string weak_list = std::string(list) + " = [\"" + strong +
                                  "\", \"short-secret-23-chars-x\"]\n";
    auto err = load(
      std::string("[auth]\n") +
        (list == std::string("admin_tokens") ? "" : "admin_tokens = [\"" + strong + "\"]\n") +
        weak_list,
      c);
    ASSERT_FALSE(err) << err->message;
    auto refused = validate_config(c);
    ASSERT_TRUE(refused) << list;
    EXPECT_NE(refused->message.find(std::string("auth.") + list + "[1]"), std::string::npos)
      << refused->message;
    EXPECT_NE(refused->message.find("shorter than 24"), std::string::npos) << refused->message;
    EXPECT_EQ(refused->message.find("short-secret"), std::string::npos) << refused->message;
  }
  config exact;
  exact.admin_tokens = {{"admin#1", strong}};
  EXPECT_FALSE(validate_config(exact)) << "24 characters are enough";
  config placeholder;
  placeholder.admin_tokens = {{"admin#1", "change-me-but-long-enough-to-pass"}};
  auto refused = validate_config(placeholder);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->message.find("change-me"), std::string::npos) << refused->message;
}

TEST(config, tokens_take_names) {
  config c;
  auto err = load(R"(
[auth]
admin_tokens = ["plain-admin-token-000000000", {name = "ci", token = "ci-admin-token-0000000000000"}]
publish_tokens = [{token = "p-0000000000000000000000000", name = "producer"}]
)",
                  c);
  ASSERT_FALSE(err) << err->message;
  ASSERT_EQ(c.admin_tokens.size(), 2u);
  EXPECT_EQ(c.admin_tokens[0], (named_token{"admin#1", "plain-admin-token-000000000"}));
  EXPECT_EQ(c.admin_tokens[1], (named_token{"ci", "ci-admin-token-0000000000000"}));
  EXPECT_EQ(c.publish_tokens[0], (named_token{"producer", "p-0000000000000000000000000"}));
  EXPECT_FALSE(validate_config(c));

  for (const char* bad :
       {"admin_tokens = [{name = \"x\"}]", "admin_tokens = [{token = \"t\"}]",
        "admin_tokens = [{name = \"x\", token = \"t\", scope = \"all\"}]",
        "admin_tokens = [{name = \"a b\", token = \"t\"}]", "admin_tokens = [3]"}) {
    config b;
    auto e = load(std::string("[auth]\n") + bad + "\n", b);
    ASSERT_TRUE(e) << bad;
    EXPECT_NE(e->message.find("auth.admin_tokens"), std::string::npos) << e->message;
  }
}

TEST(config, log_keys_are_read_and_checked) {
  config c;
  EXPECT_EQ(c.log_format, "text");
  EXPECT_EQ(c.failure_interval_s, 60);
  auto err = load("[log]\nlevel = \"warn\"\nformat = \"json\"\nfailure_interval_s = 5\n", c);
  ASSERT_FALSE(err) << err->message;
  EXPECT_EQ(c.log_level, "warn");
  EXPECT_EQ(c.log_format, "json");
  EXPECT_EQ(c.failure_interval_s, 5);
  config b;
  err = load("[log]\nformat = \"xml\"\n", b);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("log.format"), std::string::npos) << err->message;
  err = load("[log]\nfailure_interval_s = 0\n", b);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("log.failure_interval_s"), std::string::npos) << err->message;
  // log.file: standard error by default, a path when given, a string or refused.
  EXPECT_EQ(config{}.log_file, "");
  config f;
  err = load("[log]\nfile = \"/var/log/switchyard/switchyard.log\"\n", f);
  ASSERT_FALSE(err) << err->message;
  EXPECT_EQ(f.log_file, "/var/log/switchyard/switchyard.log");
  err = load("[log]\nfile = 1\n", b);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("log.file"), std::string::npos) << err->message;
  err = load("[log]\nfiles = \"x\"\n", b);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("log.files"), std::string::npos) << err->message;
}

TEST(config, every_api_key_is_read) {
  config c;
  auto err = load(R"(
[http]
max_body_bytes = 2048
max_batch_events = 7
[delivery]
timeout_ms = 500
[retry]
initial_ms = 10
multiplier = 3
max_ms = 1000
max_age = "30m"
[storage]
sync = false
[egress]
allow_private = false
ca_file = "/tmp/ca.pem"
[auth]
admin_tokens = ["a"]
publish_tokens = ["p", "q"]
[pull]
file_max_events = 5
file_max_age_ms = 100
[push]
gateway_url = "http://127.0.0.1:9/push"
)",
                  c);
  ASSERT_FALSE(err) << err->message;
  EXPECT_EQ(c.max_body_bytes, 2048);
  EXPECT_EQ(c.max_batch_events, 7);
  EXPECT_EQ(c.timeout_ms, 500);
  EXPECT_EQ(c.initial_ms, 10);
  EXPECT_EQ(c.multiplier, 3.0);
  EXPECT_EQ(c.max_ms, 1000);
  EXPECT_EQ(c.max_age_ms, 30 * 60 * 1000);
  EXPECT_FALSE(c.sync);
  EXPECT_FALSE(c.allow_private);
  EXPECT_EQ(c.ca_file, "/tmp/ca.pem");
  EXPECT_EQ(c.admin_tokens, (std::vector<named_token>{{"admin#1", "a"}}));
  EXPECT_EQ(c.publish_tokens, (std::vector<named_token>{{"publish#1", "p"}, {"publish#2", "q"}}));
  EXPECT_EQ(c.file_max_events, 5);
  EXPECT_EQ(c.file_max_age_ms, 100);
  EXPECT_EQ(c.gateway_url, "http://127.0.0.1:9/push");
}

TEST(config, unknown_key_is_named) {
  config c;
  auto err = load("[retry]\ninitial_msec = 5\n", c);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("unknown key retry.initial_msec"), std::string::npos) << err->message;
}

TEST(config, breaker_keys_are_read_and_checked) {
  config d;
  EXPECT_EQ(d.breaker_ratio, 0.5);
  EXPECT_EQ(d.breaker_window_ms, 10000);
  EXPECT_EQ(d.breaker_min_attempts, 20);
  config c;
  auto err = load(
    "[retry]\nbreaker_ratio = 0.75\nbreaker_window_ms = 2000\nbreaker_min_attempts = 5\n", c);
  ASSERT_FALSE(err) << err->message;
  EXPECT_EQ(c.breaker_ratio, 0.75);
  EXPECT_EQ(c.breaker_window_ms, 2000);
  EXPECT_EQ(c.breaker_min_attempts, 5);
  ASSERT_FALSE(load("[retry]\nbreaker_ratio = 1\n", c));
  EXPECT_EQ(c.breaker_ratio, 1.0);
  for (const char* bad : {"breaker_ratio = 0", "breaker_ratio = 1.5", "breaker_ratio = \"half\"",
                          "breaker_window_ms = 0", "breaker_window_ms = 1.5",
                          "breaker_min_attempts = 0", "breaker_min_attempts = \"20\""}) {
    config x;
    auto e = load(std::string("[retry]\n") + bad + "\n", x);
    ASSERT_TRUE(e) << bad;
    const std::string key = std::string("retry.") +
                            std::string(bad).substr(0, std::string(bad).find(' '));
    EXPECT_NE(e->message.find(key), std::string::npos) << e->message;
  }
  auto typo = load("[retry]\nbreaker_ration = 0.5\n", c);
  ASSERT_TRUE(typo);
  EXPECT_NE(typo->message.find("unknown key retry.breaker_ration"), std::string::npos);
}

TEST(config, unknown_table_is_named) {
  config c;
  auto err = load("[retries]\ninitial_ms = 5\n", c);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("[retries]"), std::string::npos) << err->message;
}

TEST(config, wrong_type_is_named) {
  config c;
  auto err = load("[storage]\nsync = \"yes\"\n", c);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("storage.sync"), std::string::npos) << err->message;
  err = load("[http]\nmax_body_bytes = 1.5\n", c);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("http.max_body_bytes"), std::string::npos) << err->message;
  err = load("[http]\nmax_batch_events = 0\n", c);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("http.max_batch_events"), std::string::npos) << err->message;
  err = load("[auth]\nadmin_tokens = \"t\"\n", c);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("auth.admin_tokens"), std::string::npos) << err->message;
}

// Found by tests/fuzz/config: 12 digits of days overflowed int64 (undefined
// behaviour); this one wrapped to a positive 7.5e18 ms and was accepted.
TEST(config, duration_beyond_int64_is_refused) {
  config c;
  auto err = load("[retry]\nmax_age = \"300000000000d\"\n", c);
  ASSERT_TRUE(err) << "accepted as " << c.max_age_ms << " ms";
  EXPECT_NE(err->message.find("retry.max_age"), std::string::npos) << err->message;
  err = load("[retry]\nmax_age = \"999999999999ms\"\n", c);
  ASSERT_FALSE(err) << err->message;
  EXPECT_EQ(c.max_age_ms, 999999999999);
}

TEST(config, syntax_error_gives_position) {
  config c;
  auto err = load("[http\nmax_body_bytes = 5\n", c);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("test.toml:1"), std::string::npos) << err->message;
}

TEST(config, open_listener_without_tokens_is_refused) {
  config c;
  c.listen = "0.0.0.0:8080";
  auto err = validate_config(c);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("auth.admin_tokens"), std::string::npos);
  c.admin_tokens = {{"admin#1", std::string(24, 't')}};
  EXPECT_FALSE(validate_config(c));
}

TEST(config, allow_anonymous_opens_a_listener_without_tokens) {
  config c;
  auto err = load(R"(
[server]
listen = "0.0.0.0:8080"
allowed_hosts = ["switchyard.internal"]
[auth]
allow_anonymous = true
)",
                  c);
  ASSERT_FALSE(err) << err->message;
  EXPECT_TRUE(c.allow_anonymous);
  EXPECT_EQ(c.allowed_hosts, std::vector<std::string>{"switchyard.internal"});
  EXPECT_FALSE(validate_config(c));
  c.allow_anonymous = false;
  auto refused = validate_config(c);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->message.find("auth.allow_anonymous"), std::string::npos);
}

TEST(config, listen_address_forms) {
  EXPECT_EQ(split_host_port("127.0.0.1:8080")->second, 8080);
  EXPECT_EQ(split_host_port("[::1]:0")->first, "::1");
  EXPECT_FALSE(split_host_port("127.0.0.1"));
  EXPECT_FALSE(split_host_port("127.0.0.1:99999"));
  EXPECT_FALSE(split_host_port(":80"));
}

TEST(config, push_gateway_url_must_be_an_http_url) {
  config c;
  EXPECT_FALSE(validate_config(c)); // "" = push not configured
  c.gateway_url = "http://127.0.0.1:9/push";
  EXPECT_FALSE(validate_config(c));
  c.gateway_url = "not a url";
  auto err = validate_config(c);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("push.gateway_url"), std::string::npos) << err->message;
  c.gateway_url = "https://push.example.com/send";
  EXPECT_FALSE(validate_config(c)) << "https gateways are delivered over TLS";
  c.gateway_url = "ftp://push.example.com/send";
  err = validate_config(c);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("push.gateway_url"), std::string::npos) << err->message;
}

TEST(config, metrics_keys_are_read_and_checked) {
  config c;
  EXPECT_EQ(c.max_subscription_series, 1000);
  EXPECT_EQ(c.metrics_listen, "");
  auto err = load(R"(
[server]
metrics_listen = "127.0.0.1:9180"
[auth]
admin_tokens = ["a-strong-admin-token-000000"]
metrics_tokens = ["m1-scraper-token-0000000000", "m2-scraper-token-0000000000"]
[metrics]
max_subscription_series = 3
)",
                  c);
  ASSERT_FALSE(err) << err->message;
  EXPECT_EQ(c.metrics_listen, "127.0.0.1:9180");
  EXPECT_EQ(c.metrics_tokens,
            (std::vector<named_token>{{"metrics#1", "m1-scraper-token-0000000000"},
                                      {"metrics#2", "m2-scraper-token-0000000000"}}));
  EXPECT_EQ(c.max_subscription_series, 3);
  EXPECT_FALSE(validate_config(c));

  config bad;
  err = load("[metrics]\nmax_subscription_series = -1\n", bad);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("metrics.max_subscription_series"), std::string::npos)
    << err->message;
  err = load("[metrics]\nmax_series = 5\n", bad);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("unknown key metrics.max_series"), std::string::npos) << err->message;
  err = load("[auth]\nmetrics_tokens = [\"\"]\n", bad);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("auth.metrics_tokens"), std::string::npos) << err->message;

  config unparsable;
  unparsable.metrics_listen = "9180";
  auto refused = validate_config(unparsable);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->message.find("server.metrics_listen"), std::string::npos) << refused->message;

  // Metrics tokens alone would lock every other endpoint.
  config alone;
  alone.metrics_tokens = {{"metrics#1", std::string(24, 'm')}};
  refused = validate_config(alone);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->message.find("auth.metrics_tokens"), std::string::npos) << refused->message;
}

TEST(config, console_max_streams_is_read_and_checked) {
  config c;
  auto err = load("[console]\nmax_streams = 3\n", c);
  ASSERT_FALSE(err) << err->message;
  EXPECT_EQ(c.max_streams, 3);
  EXPECT_EQ(config{}.max_streams, 16);
  for (const char* bad : {"[console]\nmax_streams = 0\n", "[console]\nmax_streams = \"4\"\n"}) {
    config b;
    err = load(bad, b);
    ASSERT_TRUE(err) << bad;
    EXPECT_NE(err->message.find("console.max_streams"), std::string::npos) << err->message;
  }
  config b;
  err = load("[console]\nmax_stream = 4\n", b);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("unknown key console.max_stream"), std::string::npos) << err->message;
}

namespace {

const std::string good_cluster = R"([cluster]
node = "n1"
listen = "127.0.0.1:7101"
etcd = ["http://127.0.0.1:2379"]
preview = true
)";

// Returns the validation message of `good_cluster` with `edit` applied
// (a line appended to the [cluster] table), or "" when accepted.
std::string cluster_error(const std::string& extra, const std::string& table = good_cluster) {
  config c;
  if (auto err = load(table + extra, c))
    return err->message;
  auto err = validate_config(c);
  return err ? err->message : "";
}

} // namespace

TEST(config, no_cluster_table_is_a_single_node) {
  config c;
  EXPECT_FALSE(c.cluster_enabled);
  EXPECT_FALSE(validate_config(c));
}

TEST(config, cluster_table_takes_the_keys_of_api_section_10_with_their_defaults) {
  config c;
  auto err = load(good_cluster, c);
  ASSERT_FALSE(err) << err->message;
  EXPECT_TRUE(c.cluster_enabled);
  EXPECT_EQ(c.cluster_node, "n1");
  EXPECT_EQ(c.cluster_listen, "127.0.0.1:7101");
  EXPECT_EQ(c.cluster_etcd, std::vector<std::string>{"http://127.0.0.1:2379"});
  EXPECT_EQ(c.cluster_partitions, 64);
  EXPECT_EQ(c.cluster_replicas, 3);
  EXPECT_EQ(c.cluster_min_insync, 2);
  EXPECT_EQ(c.cluster_rebalance_every_s, 10);
  EXPECT_EQ(c.cluster_lease_ttl_s, 3);
  EXPECT_FALSE(validate_config(c));
  config d;
  ASSERT_FALSE(load(good_cluster + "partitions = 8\nreplicas = 2\nmin_insync = 1\n"
                                   "advertise = \"10.0.0.1:7101\"\nrebalance_every_s = 0\n"
                                   "lease_ttl_s = 10\n",
                    d));
  EXPECT_EQ(d.cluster_rebalance_every_s, 0);
  EXPECT_EQ(d.cluster_lease_ttl_s, 10);
  EXPECT_EQ(d.cluster_partitions, 8);
  EXPECT_EQ(d.cluster_replicas, 2);
  EXPECT_EQ(d.cluster_min_insync, 1);
  EXPECT_EQ(d.cluster_advertise, "10.0.0.1:7101");
  EXPECT_FALSE(validate_config(d));
}

TEST(config, cluster_mode_needs_the_preview_acknowledgement) {
  const std::string without = "[cluster]\nnode = \"n1\"\nlisten = \"127.0.0.1:7101\"\n"
                              "etcd = [\"http://127.0.0.1:2379\"]\n";
  auto why = cluster_error("", without);
  EXPECT_NE(why.find("cluster.preview"), std::string::npos) << why;
  EXPECT_NE(why.find("docs/cluster.md \"Not built yet\""), std::string::npos) << why;
  EXPECT_NE(why.find("Set cluster.preview = true"), std::string::npos) << why;
  EXPECT_NE(cluster_error("preview = false\n", without), "");
  EXPECT_EQ(cluster_error("preview = true\n", without), "");
}

TEST(config, cluster_keys_are_checked_naming_the_key) {
  struct bad_case {
    std::string table;
    std::string key;
  };
  const std::vector<bad_case> cases = {
    {"[cluster]\npreview = true\nlisten = \"127.0.0.1:7101\"\netcd = [\"http://127.0.0.1:1\"]\n",
     "cluster.node"},
    {"[cluster]\npreview = true\nnode = \"a b\"\nlisten = \"127.0.0.1:7101\"\n"
     "etcd = [\"http://127.0.0.1:1\"]\n",
     "cluster.node"},
    {"[cluster]\npreview = true\nnode = \"n1\"\netcd = [\"http://127.0.0.1:1\"]\n",
     "cluster.listen"},
    {"[cluster]\npreview = true\nnode = \"n1\"\nlisten = \"nowhere\"\n"
     "etcd = [\"http://127.0.0.1:1\"]\n",
     "cluster.listen"},
    {"[cluster]\npreview = true\nnode = \"n1\"\nlisten = \"127.0.0.1:7101\"\n", "cluster.etcd"},
    {"[cluster]\npreview = true\nnode = \"n1\"\nlisten = \"127.0.0.1:7101\"\netcd = []\n",
     "cluster.etcd"},
    {"[cluster]\npreview = true\nnode = \"n1\"\nlisten = \"127.0.0.1:7101\"\n"
     "etcd = [\"ftp://x\"]\n",
     "cluster.etcd[0]"},
    {"[cluster]\npreview = true\nnode = \"n1\"\nlisten = \"127.0.0.1:7101\"\n"
     "etcd = [\"https://127.0.0.1:2379\"]\n",
     "cluster.etcd[0]"},
    {"[cluster]\npreview = true\nnode = \"n1\"\nlisten = \"127.0.0.1:7101\"\n"
     "etcd = \"http://127.0.0.1:2379\"\n",
     "cluster.etcd"},
    {good_cluster + "advertise = \"x\"\n", "cluster.advertise"},
    {good_cluster + "partitions = 0\n", "cluster.partitions"},
    {good_cluster + "partitions = \"64\"\n", "cluster.partitions"},
    {good_cluster + "replicas = 0\n", "cluster.replicas"},
    {good_cluster + "replicas = 2\nmin_insync = 3\n", "cluster.min_insync"},
    {good_cluster + "rebalance_every_s = -1\n", "cluster.rebalance_every_s"},
    {good_cluster + "lease_ttl_s = 1\n", "cluster.lease_ttl_s"},
    {good_cluster + "lease_ttl_s = 61\n", "cluster.lease_ttl_s"},
    {good_cluster + "tls_cert = \"/nonexistent.pem\"\n", "cluster.tls_key"},
    {good_cluster + "tls_cert = \"/nonexistent/c.pem\"\ntls_key = \"/nonexistent/k.pem\"\n"
                    "tls_ca = \"/nonexistent/ca.pem\"\n",
     "cluster.tls_cert"},
    {"[cluster]\npreview = 1\n", "cluster.preview"},
    {good_cluster + "nodes = 3\n", "cluster.nodes"},
  };
  for (const auto& c : cases) {
    auto why = cluster_error("", c.table);
    EXPECT_NE(why.find(c.key), std::string::npos) << c.table << "\n→ " << why;
  }
}
