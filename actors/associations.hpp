#pragma once
// Device-token associations of the Masiv push contract (docs/api.md §5): which
// token belongs to which cellphone or email, and resolving a sendToList
// into the distinct tokens it addresses.

#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/push_codec.hpp"

namespace sy::actors {

/// Meta names of the associations: "assoc/<token>" → encode_association JSON.
inline constexpr std::string_view association_prefix = "assoc/";

/// Returns the meta name of the association of `token`.
std::string association_key(std::string_view token);

/// Returns the stored record: {"appId","token","cellphone","email","deviceType"}
/// ("" for what was not given).
std::string encode_association(const core::association_spec& a);

/// Returns the association stored in `bytes`, or nullopt when they are corrupt.
std::optional<core::association_spec> decode_association_record(std::string bytes);

/// Every association, by token, with indexes by cellphone and by email.
/// Not thread-safe: the registry actor owns the one instance.
class association_store {
public:
  /// Adds `a`, or replaces the association its token already had.
  void put(core::association_spec a);

  /// Returns the association of `token`, or null.
  const core::association_spec* find(std::string_view token) const {
    auto it = by_token_.find(std::string(token));
    return it == by_token_.end() ? nullptr : &it->second;
  }

  /// Returns the number of associated tokens.
  std::size_t size() const { return by_token_.size(); }

  /// Calls `f(association)` for each association, in no particular order.
  template <class F>
  void for_each(F f) const {
    for (const auto& entry : by_token_)
      f(entry.second);
  }

  /// Appends to `out` the tokens associated with `spec`'s cellphones and
  /// emails that pass its appId and deviceTypesToSend filters, skipping
  /// any already in `seen` (and adding the others to it).
  void look_up(const core::send_to_list_spec& spec, std::vector<std::string>& out,
               std::set<std::string, std::less<>>& seen) const;

private:
  void unindex(const core::association_spec& a);

  std::unordered_map<std::string, core::association_spec> by_token_;
  // std::set, so that a look-up yields its tokens in a stable order.
  std::unordered_map<std::string, std::set<std::string>> by_cellphone_;
  std::unordered_map<std::string, std::set<std::string>> by_email_;
};

/// Returns the distinct tokens a sendToList addresses: its explicit tokens
/// in body order, then (when `spec.by_association`) the tokens `store`
/// resolves. `store` may be null when `spec.by_association` is false.
std::vector<std::string> resolve_tokens(const core::send_to_list_spec& spec,
                                        const association_store* store);

} // namespace sy::actors
