#pragma once
// Browser safety of the API (docs/api.md §9): a web page the operator
// visits must not act on a switchyard it can reach (cross-site requests,
// DNS rebinding). Pure functions of the request, so the filter in
// common.cpp and the unit tests share them.

#include <string>
#include <string_view>
#include <vector>

#include "transport/http_types.hpp"

namespace sy::api {

/// Returns true when `req` changes state (POST, PUT, PATCH, DELETE) and a
/// browser says it comes from another site: Sec-Fetch-Site cross-site or
/// same-site, or, without that header, an Origin other than the request's
/// own. Requests with neither header (curl, SDKs, servers) pass.
bool is_cross_origin_write(const transport::http_request& req);

/// Returns true when the Host header names a loopback host (localhost,
/// 127.0.0.0/8, [::1], any port) or one of `allowed` (compared without
/// case, with or without the port).
bool is_allowed_host(std::string_view host_header, const std::vector<std::string>& allowed);

} // namespace sy::api
