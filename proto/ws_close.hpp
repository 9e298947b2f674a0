// WebSocket (RFC 6455) close payloads (§5.5.1) and status codes (§7.4): parsing the
// server's, writing ours, and the code that goes with each parse error.
//
// Zero-copy: a parsed reason points into the caller's payload. No allocation, no I/O.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "proto/status.hpp"

namespace ringload::proto::ws {

struct CloseInfo {
  bool has_code = false;  // the payload carried a status code
  uint16_t code = 1005;   // the code; 1005 ("no status received", §7.4.1) when absent
  std::string_view reason;  // inside the payload
  bool valid = true;      // false: 1 byte long, a code not allowed on the wire, or a
                          // reason that is not UTF-8; the engine fails the session (1002)
};

// Parses a whole close payload (the engine accumulates it; it is at most 125 bytes).
CloseInfo parse_close(std::span<const char> payload) noexcept;

// Codes a close frame may carry (§7.4.1, §7.4.2 and the IANA registry): 1000-1003,
// 1007-1014, 3000-4999. 1004 is reserved; 1005, 1006 and 1015 never go on the wire.
bool valid_close_code(uint16_t code) noexcept;

// A close payload: the code (big-endian) and the reason. Returns its size, 0 if it does
// not fit, the code is not valid_close_code(), the reason is not UTF-8 or 2 + reason
// exceeds 125 bytes. code 0 means no code: the payload is empty (0 is returned).
// The whole frame: encode_close_frame() in ws_encode.hpp.
std::size_t encode_close_payload(std::span<char> out, uint16_t code, std::string_view reason) noexcept;

// The close code to send when failing the connection for `e` (§7.4.1): 1007 for invalid
// UTF-8, 1009 for a message over the limit, 1002 (protocol error) otherwise.
uint16_t close_code_for(ParseError e) noexcept;

}  // namespace ringload::proto::ws
