// WebSocket (RFC 6455) opening handshake, client side (§4.1): the pure pieces. No I/O, no
// allocation, no crypto: the engine draws the key and computes Sec-WebSocket-Accept =
// base64(SHA-1(key + accept_guid)) from accept_key_input().
//
// How the engine opens a session:
//  1. Render the request once: render_opening_request(). Send it.
//  2. Parse the response with parse_response_head(); then check_upgrade_response() with
//     the expected accept value. Any failure fails the connection (a protocol error, with
//     the returned text as the message). The bytes after the head are already frames:
//     ws_message.hpp takes over (steps 3-4), ws_encode.hpp writes what is sent (step 5).
#pragma once
#include <cstddef>
#include <span>
#include <string_view>

#include "proto/http_response.hpp"

namespace ringload::proto::ws {

inline constexpr std::string_view accept_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
inline constexpr std::size_t key_length = 24;     // base64 of 16 random bytes
inline constexpr std::size_t accept_length = 28;  // base64 of a 20-byte SHA-1

// Writes key + accept_guid (the SHA-1 input for Sec-WebSocket-Accept) into `out`;
// returns its length, or 0 if it does not fit.
std::size_t accept_key_input(std::span<char> out, std::string_view key) noexcept;

struct OpeningRequest {
  std::string_view host;       // Host value, with ":port" when not the scheme's default
  std::string_view target;     // origin-form request target: "/chat?room=1"
  std::string_view key;        // Sec-WebSocket-Key: base64 of 16 random bytes
  std::span<const std::string_view> protocols;  // offered subprotocols (tokens), may be empty
  std::span<const Header> extra_headers;        // e.g. Origin, Authorization; may be empty
};

// Renders the GET request with Upgrade, Connection, Sec-WebSocket-Key, -Version: 13, and
// -Protocol when protocols are offered, then the extra headers. Returns the length of the
// request; if it exceeds out.size() the output is truncated and the caller retries with
// a larger buffer. Returns 0 when a field is invalid: empty host or key, a target not
// starting with '/', a key that is not base64 (proto/base64.hpp: base64_valid), a
// protocol that is not a token, an extra header name that is not a token or names a
// header this function writes (or Sec-WebSocket-Extensions: no extension is supported),
// a CR, LF or other control byte.
std::size_t render_opening_request(std::span<char> out, const OpeningRequest& req) noexcept;

// Checks the response headers of a 101 (§4.1, client requirements 2-6):
//  - Upgrade contains the token "websocket" and Connection contains "Upgrade"
//    (case-insensitive, comma-separated lists, repeated fields combined);
//  - exactly one Sec-WebSocket-Accept, equal (case-sensitive) to `expected_accept`;
//  - no Sec-WebSocket-Extensions (we offer none);
//  - at most one Sec-WebSocket-Protocol, one of `offered_protocols` (exact); absent is
//    allowed by the RFC even when some were offered.
// Returns nullptr when the handshake is complete, else a static message saying why not.
// `selected_protocol`, if given, receives the server's choice (empty if none).
const char* check_upgrade_headers(std::span<const Header> headers, std::string_view expected_accept,
                                  std::span<const std::string_view> offered_protocols,
                                  std::string_view* selected_protocol = nullptr) noexcept;

// check_upgrade_headers() preceded by the status check: 101 Switching Protocols (§4.1
// requirement 1; anything else, such as 426 with Sec-WebSocket-Version, fails).
const char* check_upgrade_response(const ResponseHead& head, std::span<const Header> headers,
                                   std::string_view expected_accept,
                                   std::span<const std::string_view> offered_protocols,
                                   std::string_view* selected_protocol = nullptr) noexcept;

}  // namespace ringload::proto::ws
