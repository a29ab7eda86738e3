#pragma once
// The request parser every server connection runs, configured in one place
// so that the server and the fuzz target (tests/fuzz/http_request.cpp) parse
// the same way. Includes Beast: for transport .cpp files and tests only.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "transport/http_types.hpp"

namespace sy::transport {

/// Parses one request with its whole body in a string.
using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// Bytes of slack left after a request body, for simdjson's padding.
inline constexpr std::size_t body_padding = 64;

/// Sets `limits`' header and body caps on a parser that has read nothing yet.
void apply_limits(request_parser& parser, const server_limits& limits);

/// Returns the request as handlers see it: method, target split into path
/// and query, the header fields in order, and the body (moved out of `msg`)
/// with room for body_padding. `received` and `params` are left unset.
http_request to_http_request(boost::beast::http::request<boost::beast::http::string_body>& msg);

} // namespace sy::transport
