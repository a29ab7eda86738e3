#pragma once
// The domain errors actors answer with: a kind, a sentence for the client
// and, for `invalid`, the field it names. They travel as `caf::error`s of
// the category `switchyard` (the kind as code, {message, field} as context),
// so a request's error path is CAF's own and crosses nodes like any error.
// api/ alone turns them into HTTP statuses.

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <string>

namespace sy::actors {

/// What went wrong with a request, independent of any protocol.
enum class errc : uint8_t {
  /// Not an error.
  none = 0,
  /// The named object does not exist.
  not_found,
  /// The request conflicts with the object's state (e.g. pause before verify).
  conflict,
  /// A value is not acceptable; `field` names it.
  invalid,
  /// A dependency (the journal, a peer) failed; retrying may succeed.
  unavailable,
  /// The credentials presented do not open this object.
  unauthorized,
};

/// The error category of switchyard's domain errors.
inline constexpr caf::atom_value error_category = caf::atom("switchyard");

/// Returns "not_found", "conflict", … .
const char* to_string(errc x);

/// Returns the domain error `code` with `message` and, optionally, `field`.
caf::error make_error(errc code, std::string message, std::string field = {});

/// A domain error taken apart again.
struct domain_error {
  errc code = errc::none;
  std::string message;
  std::string field;
};

/// Returns `e` as a domain error. Errors of other categories (a request
/// timeout, a dead actor) become `unavailable` with CAF's description.
domain_error to_domain_error(const caf::error& e);

} // namespace sy::actors
