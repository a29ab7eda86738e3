#pragma once
// Subscription request bodies (docs/api.md §2): the native create and PATCH
// bodies, egress auth (§3) and the dashboard facade. Decoded values own
// their strings, so they outlive the body.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_writer.hpp"
#include "core/result.hpp"

namespace sy::core {

/// Longest `service` name accepted, in bytes.
inline constexpr std::size_t max_service_bytes = 256;
/// Most type patterns one subscription may hold.
inline constexpr std::size_t max_type_patterns = 64;
/// `max_in_flight` when the body gives none.
inline constexpr int64_t default_max_in_flight = 16;
/// Largest `max_in_flight` accepted.
inline constexpr int64_t max_max_in_flight = 1000;
/// Largest `rate_limit` (deliveries per second) accepted; 0 = unlimited.
inline constexpr int64_t max_rate_limit = 100000;

/// How a subscription receives its events.
enum class delivery_mode { push, pull };

/// Where a subscription is in its life cycle.
enum class subscription_state { pending_verification, active, paused };

/// Returns "push" or "pull".
const char* to_string(delivery_mode m);

/// Returns "pending_verification", "active" or "paused".
const char* to_string(subscription_state s);

/// Returns the state spelled exactly as to_string spells it, or nullopt.
std::optional<subscription_state> parse_state(std::string_view s);

/// Returns the delivery mode spelled exactly as to_string spells it, or nullopt.
std::optional<delivery_mode> parse_delivery_mode(std::string_view s);

/// How switchyard authenticates to a subscriber (docs/api.md §3). Only the members
/// of `type` are set; the others stay empty.
struct egress_auth {
  /// "APIKey", "Basic", "OAuth", "OAuthRefreshTokenOnly"; "" = none (cleared).
  std::string type;
  std::string api_key;       ///< APIKey
  std::string user_id;       ///< Basic
  std::string password;      ///< Basic
  std::string auth_url;      ///< OAuth, OAuthRefreshTokenOnly
  std::string client_id;     ///< OAuth
  std::string client_secret; ///< OAuth
  std::string refresh_token; ///< OAuth, OAuthRefreshTokenOnly
  std::string supplier_key;  ///< OAuthRefreshTokenOnly

  bool operator==(const egress_auth&) const = default;
};

/// A decoded create or PATCH body; an unset member was not given.
struct subscription_spec {
  std::optional<std::string> service;
  std::optional<std::string> url;
  std::optional<std::vector<std::string>> types;
  /// ISO alpha-2 code; "" = cleared (JSON null in a PATCH).
  std::optional<std::string> country;
  std::optional<delivery_mode> delivery;
  /// "required" → true, "skip" → false.
  std::optional<bool> verification_required;
  std::optional<int64_t> max_in_flight;
  std::optional<int64_t> rate_limit;
  /// Egress auth; type "" = cleared (JSON null in a PATCH).
  std::optional<egress_auth> auth;
  /// The signing key a receiver brings along ("whsec_" + base64 of 24 to 64
  /// bytes); create only, else switchyard draws one.
  std::optional<std::string> private_key;

  bool operator==(const subscription_spec&) const = default;
};

/// Least secret bytes a client-given privateKey may carry.
inline constexpr std::size_t min_private_key_bytes = 24;
/// Most secret bytes a client-given privateKey may carry.
inline constexpr std::size_t max_private_key_bytes = 64;

/// Returns why `key` is not a usable privateKey ("whsec_" + standard base64
/// of 24 to 64 bytes), or nullopt when it is.
std::optional<std::string> validate_private_key(std::string_view key);

/// Decodes POST /v1/subscriptions and fills in the defaults: every member is
/// set except `url` (pull without one), `country`, `auth` and `private_key`
/// (none given).
result<subscription_spec> decode_subscription_create(std::string& body);

/// Decodes PATCH /v1/subscriptions/{id}: only the members given are set; a
/// null `country` or `auth` clears it, `delivery` and `verification` are refused.
result<subscription_spec> decode_subscription_patch(std::string& body);

/// Which dead letters POST /v1/subscriptions/{id}/dead-letters/replay
/// requeues: those whose event timestamp is at or after `since_ms` and
/// before `until_ms` (an unset bound is open).
struct dead_letter_replay {
  std::optional<int64_t> since_ms;
  std::optional<int64_t> until_ms;
};

/// Decodes the replay body `{"since", "until"}` (ISO-8601 times, both
/// optional); an empty body is every dead letter. A wrong type or malformed
/// JSON is 400; an unknown field, a string that is not an ISO-8601 time, or
/// `since` not before `until` is 422 naming the field.
result<dead_letter_replay> decode_dead_letter_replay(std::string& body);

/// Decodes a body that is one egress auth object; error fields are prefixed
/// with `path` ("authentication" → "authentication.clientSecret").
result<egress_auth> decode_egress_auth_body(std::string& body, std::string_view path = {});

/// Writes `auth` as its JSON object (null when its type is ""), showing the
/// secrets (API key, password, client secret, refresh token, supplier key)
/// as "***" when `redact_secrets`.
void write_egress_auth(json_writer& w, const egress_auth& auth, bool redact_secrets);

/// Longest notificationKey accepted, in bytes.
inline constexpr std::size_t max_notification_key_bytes = 1024;

/// A decoded PUT /v1/subscription/notification body (docs/api.md §4): the one
/// watcher told of every subscription change.
struct watcher_spec {
  std::string notification_key; ///< "" when not given
  std::string notification_url;
  egress_auth auth; ///< type "" = none

  bool operator==(const watcher_spec&) const = default;
};

/// Decodes PUT /v1/subscription/notification.
result<watcher_spec> decode_watcher(std::string& body);

/// A decoded dashboard facade subscription (/dashboard/v1/notifications).
struct dashboard_spec {
  std::string url;
  std::string country; ///< 2 or 3 uppercase letters
  std::string event;   ///< REGISTER, CHANGE, DELETE or INVOKE

  bool operator==(const dashboard_spec&) const = default;
};

/// Decodes POST /dashboard/v1/notifications; one 422 names every missing field.
result<dashboard_spec> decode_dashboard_subscription(std::string& body);

} // namespace sy::core
