#include "actors/subscription.hpp"

#include <algorithm>

#include "core/json_input.hpp"
#include "core/time_format.hpp"

namespace sy::actors {

namespace {

const char* kind_name(subscription_kind k) {
  switch (k) {
    case subscription_kind::dashboard: return "dashboard";
    case subscription_kind::push_gateway: return "push_gateway";
    case subscription_kind::watcher: return "watcher";
    case subscription_kind::native: break;
  }
  return "native";
}

subscription_kind parse_kind(std::string_view name) {
  if (name == "dashboard")
    return subscription_kind::dashboard;
  if (name == "push_gateway")
    return subscription_kind::push_gateway;
  if (name == "watcher")
    return subscription_kind::watcher;
  return subscription_kind::native;
}

std::string iso_time(int64_t ms) { return ms <= 0 ? std::string() : core::format_iso8601_ms(ms); }

void write_time(core::json_writer& w, int64_t ms) {
  if (ms <= 0)
    w.null();
  else
    w.value(iso_time(ms));
}

} // namespace

std::string encode_subscription(const subscription& s) {
  core::json_writer w;
  w.begin_object()
    .key("v")
    .value(1)
    .key("number")
    .value(s.number)
    .key("id")
    .value(s.id)
    .key("kind")
    .value(kind_name(s.kind))
    .key("service")
    .value(s.service)
    .key("url")
    .value(s.url)
    .key("types")
    .value(s.types)
    .key("country")
    .value(s.country)
    .key("delivery")
    .value(core::to_string(s.delivery))
    .key("verification_required")
    .value(s.verification_required)
    .key("state")
    .value(core::to_string(s.state))
    .key("verified")
    .value(s.verified)
    .key("public_key")
    .value(s.public_key)
    .key("private_key")
    .value(s.private_key)
    .key("created_at")
    .value(s.created_at)
    .key("max_in_flight")
    .value(s.max_in_flight)
    .key("rate_limit")
    .value(s.rate_limit)
    .key("auth");
  core::write_egress_auth(w, s.auth, false);
  w.key("access_key")
    .value(s.access_key)
    .key("dashboard_event")
    .value(s.dashboard_event)
    .key("notification_key")
    .value(s.notification_key);
  if (!s.previous_private_key.empty())
    w.key("previous_private_key")
      .value(s.previous_private_key)
      .key("previous_key_until")
      .value(s.previous_key_until);
  w.end_object();
  return std::move(w).str();
}

std::optional<subscription> decode_subscription(std::string bytes) {
  using namespace core::json;
  // The record was written by encode_subscription; any surprise is corruption.
  std::string auth_raw;
  auto r = decode<subscription>(bytes, [&auth_raw](od::document& doc) {
    subscription s;
    bool seen_verified = false;
    od::object obj = doc.get_object();
    for (auto field : obj) {
      std::string_view key = field.unescaped_key();
      od::value v = field.value();
      if (key == "number")
        s.number = v.get_uint64();
      else if (key == "id")
        s.id = std::string(std::string_view(v.get_string()));
      else if (key == "kind")
        s.kind = parse_kind(std::string_view(v.get_string()));
      else if (key == "service")
        s.service = std::string(std::string_view(v.get_string()));
      else if (key == "url")
        s.url = std::string(std::string_view(v.get_string()));
      else if (key == "types") {
        for (auto t : v.get_array())
          s.types.emplace_back(std::string_view(t.get_string()));
      } else if (key == "country")
        s.country = std::string(std::string_view(v.get_string()));
      else if (key == "delivery")
        s.delivery = core::parse_delivery_mode(std::string_view(v.get_string()))
                       .value_or(core::delivery_mode::push);
      else if (key == "verification_required")
        s.verification_required = v.get_bool();
      else if (key == "state")
        s.state = core::parse_state(std::string_view(v.get_string()))
                    .value_or(core::subscription_state::paused);
      else if (key == "verified") {
        s.verified = v.get_bool();
        seen_verified = true;
      } else if (key == "public_key")
        s.public_key = std::string(std::string_view(v.get_string()));
      else if (key == "private_key")
        s.private_key = std::string(std::string_view(v.get_string()));
      else if (key == "created_at")
        s.created_at = v.get_int64();
      else if (key == "max_in_flight")
        s.max_in_flight = v.get_int64();
      else if (key == "rate_limit")
        s.rate_limit = v.get_int64();
      else if (key == "auth") {
        // Decoded after this document: a nested decode would reuse the
        // thread's parser under the outer one.
        if (!is_null(v)) {
          od::object auth_obj = v.get_object();
          auth_raw = std::string(std::string_view(auth_obj.raw_json()));
        }
      } else if (key == "access_key")
        s.access_key = std::string(std::string_view(v.get_string()));
      else if (key == "dashboard_event")
        s.dashboard_event = std::string(std::string_view(v.get_string()));
      else if (key == "notification_key")
        s.notification_key = std::string(std::string_view(v.get_string()));
      else if (key == "previous_private_key")
        s.previous_private_key = std::string(std::string_view(v.get_string()));
      else if (key == "previous_key_until")
        s.previous_key_until = v.get_int64();
    }
    // Records from before "verified" existed: an active or paused one was.
    if (!seen_verified)
      s.verified = s.state != core::subscription_state::pending_verification;
    return s;
  });
  if (!r)
    return std::nullopt;
  if (!auth_raw.empty()) {
    auto auth = core::decode_egress_auth_body(auth_raw);
    if (!auth)
      return std::nullopt;
    r->auth = std::move(auth).value();
  }
  return std::move(r).value();
}

void subscription_stats::add_latency(int64_t ms) {
  constexpr std::size_t kept = 1024;
  if (latencies_ms.size() < kept) {
    latencies_ms.push_back(ms);
  } else {
    latencies_ms[latency_next] = ms;
    latency_next = (latency_next + 1) % kept;
  }
  auto bucket = std::lower_bound(latency_bucket_ms.begin(), latency_bucket_ms.end(), ms);
  ++latency_buckets[static_cast<std::size_t>(bucket - latency_bucket_ms.begin())];
  latency_sum_ms += ms;
}

stats_snapshot snapshot_of(const subscription_stats& st) {
  std::vector<int64_t> sorted;
  stats_snapshot out;
  {
    std::lock_guard<std::mutex> guard(st.mutex);
    out.queued = st.queued;
    out.in_flight = st.in_flight;
    out.delivered = st.delivered;
    out.failed_attempts = st.failed_attempts;
    out.dead_lettered = st.dead_lettered;
    out.last_success_at = st.last_success_at;
    out.last_failure_at = st.last_failure_at;
    out.last_error = st.last_error;
    out.backing_off_until = st.backing_off_until;
    out.probing = st.probing;
    out.next_attempt_at = st.next_attempt_at;
    sorted.assign(st.latencies_ms.begin(), st.latencies_ms.end());
    if (!sorted.empty())
      out.latency_buckets.assign(st.latency_buckets.begin(), st.latency_buckets.end());
    out.latency_sum_ms = st.latency_sum_ms;
  }
  if (!sorted.empty()) {
    std::sort(sorted.begin(), sorted.end());
    auto at = [&](double q) {
      auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
      return sorted[std::min(i, sorted.size() - 1)];
    };
    out.latency_p50_ms = at(0.50);
    out.latency_p99_ms = at(0.99);
  }
  return out;
}

void write_stats(core::json_writer& w, const stats_snapshot& st) {
  w.begin_object()
    .key("queued")
    .value(st.queued)
    .key("in_flight")
    .value(st.in_flight)
    .key("delivered")
    .value(st.delivered)
    .key("failed_attempts")
    .value(st.failed_attempts)
    .key("dead_lettered")
    .value(st.dead_lettered)
    .key("last_success_at");
  write_time(w, st.last_success_at);
  w.key("last_failure_at");
  write_time(w, st.last_failure_at);
  w.key("last_error");
  if (st.last_error.empty())
    w.null();
  else
    w.value(st.last_error);
  w.key("state_detail");
  if (st.backing_off_until > 0)
    w.value("backing_off until " + core::format_iso8601_ms(st.backing_off_until));
  else if (st.probing)
    w.value("probing");
  else
    w.null();
  w.key("next_attempt_at");
  write_time(w, st.next_attempt_at);
  w.key("latency_ms").begin_object();
  if (st.latency_p50_ms < 0)
    w.key("p50").null().key("p99").null();
  else
    w.key("p50").value(st.latency_p50_ms).key("p99").value(st.latency_p99_ms);
  w.end_object().end_object();
}

void write_subscription(core::json_writer& w, const subscription& s, const stats_snapshot* stats,
                        bool show_private_key, const placement_view* where,
                        std::string_view stats_json) {
  if (s.kind == subscription_kind::dashboard) {
    w.begin_object()
      .key("id")
      .value(s.id)
      .key("url")
      .value(s.url)
      .key("country")
      .value(s.country)
      .key("event")
      .value(s.dashboard_event)
      .end_object();
    return;
  }
  w.begin_object().key("id").value(s.id).key("service").value(s.service).key("url");
  if (s.url.empty())
    w.null();
  else
    w.value(s.url);
  w.key("types").value(s.types).key("country");
  if (s.country.empty())
    w.null();
  else
    w.value(s.country);
  w.key("delivery")
    .value(core::to_string(s.delivery))
    .key("verification")
    .value(s.verification_required ? "required" : "skip")
    .key("state")
    .value(core::to_string(s.state))
    .key("publicKey")
    .value(s.public_key);
  if (show_private_key)
    w.key("privateKey").value(s.private_key);
  if (s.delivery == core::delivery_mode::pull && show_private_key)
    w.key("accessKey").value(s.access_key);
  w.key("max_in_flight").value(s.max_in_flight).key("rate_limit").value(s.rate_limit).key("auth");
  core::write_egress_auth(w, s.auth, true);
  w.key("createdAt").value(iso_time(s.created_at));
  if (!stats_json.empty())
    w.key("stats").raw(stats_json);
  else if (stats) {
    w.key("stats");
    write_stats(w, *stats);
  }
  if (where) {
    w.key("partition").value(static_cast<int64_t>(where->partition)).key("primary");
    if (where->primary.empty())
      w.null();
    else
      w.value(where->primary);
  }
  w.end_object();
}

} // namespace sy::actors
