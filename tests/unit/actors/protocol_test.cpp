// Every message of the actor protocol (actors/messages.hpp) survives CAF's
// binary serializer, alone and inside a caf::message as it would cross
// nodes, and domain errors keep their kind, message and field.

#include "actors/messages.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace sy::actors {
namespace {

// Every member set to a value other than its default, so that a member the
// inspect overload forgets cannot round-trip by luck.
subscription full_subscription() {
  subscription s;
  s.number = 42;
  s.id = "sub_0123456789ab";
  s.kind = subscription_kind::dashboard;
  s.service = "shop";
  s.url = "https://example.test/hook?x=1";
  s.types = {"re.notifica.event.custom.*", "billing.**"};
  s.country = "NO";
  s.delivery = core::delivery_mode::pull;
  s.verification_required = false;
  s.state = core::subscription_state::paused;
  s.public_key = "pk";
  s.private_key = "whsec_c2VjcmV0";
  s.created_at = 1700000000123;
  s.max_in_flight = 7;
  s.rate_limit = 99;
  s.auth = {"OAuth", "k", "u", "p", "https://auth.test/token", "cid", "csecret", "rt", "sk"};
  s.access_key = "ak_1";
  s.dashboard_event = "REGISTER";
  s.notification_key = "nk";
  s.verified = true;
  return s;
}

stats_snapshot full_stats() {
  return stats_snapshot{1, 2, 3, 4, 5, 6, 7, "HTTP 503", 8, 9, 10, true, 11, {12, 13, 14}, 15};
}

core::subscription_spec full_spec() {
  core::subscription_spec spec;
  spec.service = "svc";
  spec.url = "http://127.0.0.1:1/h";
  spec.types = std::vector<std::string>{"a.*"};
  spec.country = "";
  spec.delivery = core::delivery_mode::push;
  spec.verification_required = true;
  spec.max_in_flight = 3;
  spec.rate_limit = 0;
  spec.auth = core::egress_auth{"APIKey", "key", "", "", "", "", "", "", ""};
  spec.private_key = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
  return spec;
}

core::event_type_def full_event_type() {
  core::event_type_def t;
  t.code = "c1";
  t.name = "Name";
  t.description = "d";
  t.ns = "acme";
  t.version = 2.5;
  t.registration_type = "SUBSCRIBE";
  t.attributes = {{"total", "number"}, {"when", "date"}};
  return t;
}

core::send_to_list_spec full_send_to_list() {
  core::send_to_list_spec s;
  s.tokens = {"t1", "t2"};
  s.has_tokens = true;
  s.by_association = true;
  s.app_id = "app";
  s.device_types = {"iOS"};
  s.cellphones = {"4712345678"};
  s.emails = {"a@b.test"};
  s.title = "T";
  s.message = "M";
  s.image_url = "https://img.test/x.png";
  s.data = {{"k", "v"}, {"k2", "v2"}};
  return s;
}

template <class T>
T round_trip(const T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto copy = x;
  EXPECT_FALSE(sink(copy)) << typeid(T).name();
  T out;
  caf::binary_deserializer source{nullptr, buf};
  EXPECT_FALSE(source(out)) << typeid(T).name();
  return out;
}

// Serializes `x` and returns the bytes, to compare types without operator==.
template <class T>
std::vector<char> bytes_of(const T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto copy = x;
  EXPECT_FALSE(sink(copy));
  return buf;
}

template <class T>
void expect_bytes_round_trip(const T& x) {
  EXPECT_EQ(bytes_of(round_trip(x)), bytes_of(x)) << typeid(T).name();
  EXPECT_EQ(caf::deep_to_string(round_trip(x)), caf::deep_to_string(x));
}

TEST(protocol, domain_values_round_trip_with_every_member) {
  EXPECT_EQ(round_trip(full_subscription()), full_subscription());
  EXPECT_EQ(round_trip(full_stats()), full_stats());
  EXPECT_EQ(round_trip(full_spec()), full_spec());
  EXPECT_EQ(round_trip(full_event_type()), full_event_type());
  EXPECT_EQ(round_trip(full_send_to_list()), full_send_to_list());
  core::dashboard_spec d{"http://x.test/", "NOR", "CHANGE"};
  EXPECT_EQ(round_trip(d), d);
  core::watcher_spec w{"key", "http://w.test/", {"Basic", "", "user", "pw", "", "", "", "", ""}};
  EXPECT_EQ(round_trip(w), w);
  core::association_spec a{"app", "tok", "4799999999", "x@y.test", "Android"};
  EXPECT_EQ(round_trip(a), a);
}

TEST(protocol, optional_members_keep_absence_and_presence) {
  core::subscription_spec empty;
  EXPECT_EQ(round_trip(empty), empty);
  core::subscription_spec some;
  some.country = ""; // present but empty: a PATCH that clears the country
  auto back = round_trip(some);
  ASSERT_TRUE(back.country.has_value());
  EXPECT_EQ(*back.country, "");
  EXPECT_FALSE(back.url.has_value());
}

TEST(protocol, every_request_and_reply_round_trips) {
  auto sub = full_subscription();
  subscription_view view{sub, full_stats(), true};
  expect_bytes_round_trip(view);
  expect_bytes_round_trip(subscription_list{{view, view}});
  expect_bytes_round_trip(done{});
  expect_bytes_round_trip(purged{12});
  expect_bytes_round_trip(replayed{13});
  expect_bytes_round_trip(
    dead_letter_list{{{"evt_1", "t", "NO", R"({"a":1})", 5, "too old", 0, "", 0}}});
  expect_bytes_round_trip(dead_letter_list{
    {{"evt_1", "t", "NO", R"({"a":1})", 5, "too old", 7, "HTTP 500", 1767225600000}}, true});
  expect_bytes_round_trip(watcher_view{sub, true});
  expect_bytes_round_trip(event_type_stored{full_event_type(), true});
  expect_bytes_round_trip(event_type_deleted{true});
  expect_bytes_round_trip(event_type_list{{full_event_type()}});
  expect_bytes_round_trip(push_tokens{{"a", "b"}});
  expect_bytes_round_trip(stats_table{{{"sub_1", full_stats()}}});
  expect_bytes_round_trip(event_file_names{{"evf_1.ndjson"}});
  expect_bytes_round_trip(event_file_body{"{}\n{}\n"});
  expect_bytes_round_trip(create_subscription{full_spec()});
  expect_bytes_round_trip(create_dashboard_subscription{{"http://x.test/", "NO", "DELETE"}});
  expect_bytes_round_trip(list_subscriptions{subscription_kind::dashboard});
  expect_bytes_round_trip(get_subscription{subscription_kind::native, "sub_1"});
  expect_bytes_round_trip(patch_subscription{"sub_1", full_spec()});
  expect_bytes_round_trip(delete_subscription{subscription_kind::watcher, "x"});
  expect_bytes_round_trip(verify_subscription{"sub_2"});
  expect_bytes_round_trip(pause_subscription{"sub_3"});
  expect_bytes_round_trip(activate_subscription{"sub_4"});
  expect_bytes_round_trip(purge_subscription{"sub_5"});
  expect_bytes_round_trip(list_dead_letters{"sub_6"});
  expect_bytes_round_trip(replay_subscription{"sub_7"});
  expect_bytes_round_trip(list_dead_letters{"sub_6", 10, 42});
  expect_bytes_round_trip(replay_subscription{"sub_7", 1767225600000, 1767229200000});
  expect_bytes_round_trip(replay_dead_letter{"sub_7", "evt_0000000000000003"});
  expect_bytes_round_trip(drop_dead_letters{"sub_7"});
  expect_bytes_round_trip(put_watcher{{"k", "http://w.test/", {}}});
  expect_bytes_round_trip(get_watcher{});
  expect_bytes_round_trip(delete_watcher{});
  expect_bytes_round_trip(put_event_type{full_event_type()});
  expect_bytes_round_trip(delete_event_type{"c1"});
  expect_bytes_round_trip(list_subscribed_event_types{});
  expect_bytes_round_trip(put_association{{"app", "tok", "1", "", ""}});
  expect_bytes_round_trip(resolve_push_tokens{full_send_to_list()});
  expect_bytes_round_trip(find_pull_subscriber{"ak_x"});
  expect_bytes_round_trip(list_stats{});
  expect_bytes_round_trip(verification_answer{9, 200, "sig", ""});
  expect_bytes_round_trip(update_subscription{sub});
  expect_bytes_round_trip(purge_queue{});
  expect_bytes_round_trip(replay_dead_letters{});
  expect_bytes_round_trip(replay_dead_letters{"evt_0000000000000003"});
  expect_bytes_round_trip(replay_dead_letters{"", -5, 1767229200000});
  expect_bytes_round_trip(list_event_files{3});
  expect_bytes_round_trip(read_event_file{"evf_1.ndjson"});
  expect_bytes_round_trip(delete_event_file{"evf_2.ndjson"});
}

TEST(protocol, a_non_finite_event_type_version_is_refused_not_sent) {
  auto t = full_event_type();
  t.version = std::numeric_limits<double>::infinity();
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  EXPECT_TRUE(sink(t)); // an error, instead of CAF 0.17's endless loop
}

// A caf::message is what crosses nodes: it needs the type-ID block
// registered with the actor system to serialize at all.
TEST(protocol, registered_messages_cross_as_caf_messages) {
  caf::actor_system_config cfg;
  register_protocol(cfg);
  caf::actor_system sys{cfg};
  auto msg = caf::make_message(patch_subscription{"sub_1", full_spec()});
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  ASSERT_FALSE(sink(msg));
  caf::message back;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(back));
  ASSERT_TRUE(back.match_elements<patch_subscription>());
  EXPECT_EQ(back.get_as<patch_subscription>(0).id, "sub_1");
  EXPECT_EQ(back.get_as<patch_subscription>(0).spec, full_spec());
}

TEST(protocol, domain_errors_keep_kind_message_and_field) {
  caf::actor_system_config cfg;
  register_protocol(cfg);
  caf::actor_system sys{cfg};
  auto err = make_error(errc::invalid, "verification failed", "url");
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  ASSERT_FALSE(sink(err));
  caf::error back;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(back));
  auto d = to_domain_error(back);
  EXPECT_EQ(d.code, errc::invalid);
  EXPECT_EQ(d.message, "verification failed");
  EXPECT_EQ(d.field, "url");
  EXPECT_NE(sys.render(back).find("invalid"), std::string::npos);
}

TEST(protocol, errors_of_other_categories_are_unavailable) {
  auto d = to_domain_error(caf::make_error(caf::sec::request_timeout));
  EXPECT_EQ(d.code, errc::unavailable);
  EXPECT_FALSE(d.message.empty());
  EXPECT_EQ(to_domain_error(caf::error{}).code, errc::none);
}

} // namespace
} // namespace sy::actors
