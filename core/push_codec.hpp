#pragma once
// Push notification bodies of the Masiv push contract (docs/api.md §5):
// associations of a device token with a cellphone or email, and sendToList.
// Every error of this contract is a 400 (input_error::status is always 400).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace sy::core {

/// A decoded POST /v1/association/create body.
struct association_spec {
  std::string app_id;      ///< "" when not given
  std::string token;       ///< the device token, never empty
  std::string cellphone;   ///< country code + number, digits only; "" when not given
  std::string email;       ///< lowercased; "" when not given
  std::string device_type; ///< "Android", "iOS", "Web", or "" when not given

  bool operator==(const association_spec&) const = default;
};

/// Decodes POST /v1/association/create; at least one of cellphone and email is set.
result<association_spec> decode_association(std::string& body);

/// A decoded POST /v1/notification/sendToList body.
struct send_to_list_spec {
  /// Device tokens given directly.
  std::vector<std::string> tokens;
  /// True when the body held a `tokens` array (possibly empty).
  bool has_tokens = false;

  /// True when the body held `tokensByAssociation`; the members below filter
  /// and drive the association look-ups only.
  bool by_association = false;
  std::string app_id;                    ///< "" = any application
  std::vector<std::string> device_types; ///< canonical; empty = every type
  std::vector<std::string> cellphones;   ///< digits only
  std::vector<std::string> emails;       ///< lowercased

  std::string title;
  std::string message;
  std::string image_url; ///< "" when not given

  /// The `data` members in body order, keys and values as sent.
  std::vector<std::pair<std::string, std::string>> data;

  bool operator==(const send_to_list_spec&) const = default;
};

/// Decodes POST /v1/notification/sendToList; tokens or tokensByAssociation is set.
result<send_to_list_spec> decode_send_to_list(std::string& body);

/// Returns true when `s` is a cellphone as the contract writes it: digits
/// only, country code + number, 8 to 15 digits.
bool is_valid_cellphone(std::string_view s);

/// Returns true when `s` looks like an email address: one '@', a non-empty
/// local part, a domain with a dot, no whitespace or control characters.
bool is_valid_email(std::string_view s);

/// Returns "Android", "iOS" or "Web" for `s` in any case, or "" for anything else.
std::string_view canonical_device_type(std::string_view s);

} // namespace sy::core
