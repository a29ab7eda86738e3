#include "actors/errors.hpp"

#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace sy::actors {

const char* to_string(errc x) {
  switch (x) {
    case errc::none: return "none";
    case errc::not_found: return "not_found";
    case errc::conflict: return "conflict";
    case errc::invalid: return "invalid";
    case errc::unavailable: return "unavailable";
    case errc::unauthorized: return "unauthorized";
  }
  return "unknown";
}

caf::error make_error(errc code, std::string message, std::string field) {
  return caf::error(static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(message), std::move(field)));
}

domain_error to_domain_error(const caf::error& e) {
  if (!e)
    return {};
  if (e.category() == error_category) {
    domain_error out{static_cast<errc>(e.code()), {}, {}};
    const auto& ctx = e.context();
    if (ctx.match_elements<std::string, std::string>()) {
      out.message = ctx.get_as<std::string>(0);
      out.field = ctx.get_as<std::string>(1);
    }
    return out;
  }
  if (e.category() == caf::atom("system") &&
      static_cast<caf::sec>(e.code()) == caf::sec::request_timeout)
    return {errc::unavailable, "the request timed out inside switchyard; retry", {}};
  return {errc::unavailable, "internal actor error (" + std::to_string(e.code()) + "); retry", {}};
}

} // namespace sy::actors
