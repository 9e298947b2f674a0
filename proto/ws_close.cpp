// WebSocket close payloads (RFC 6455 §5.5.1) and status codes (§7.4).
#include "proto/ws_close.hpp"

#include <cstring>

#include "proto/utf8.hpp"
#include "proto/ws_frame.hpp"

namespace ringload::proto::ws {

bool valid_close_code(uint16_t code) noexcept {
  if (code >= 3000 && code <= 4999) return true;  // §7.4.2: libraries, applications
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

CloseInfo parse_close(std::span<const char> payload) noexcept {
  CloseInfo c;
  if (payload.empty()) return c;  // §5.5.1: the body is optional
  if (payload.size() == 1 || payload.size() > limits::max_control_payload) {
    c.valid = false;
    return c;
  }
  c.has_code = true;
  c.code = static_cast<uint16_t>(static_cast<uint8_t>(payload[0]) << 8 | static_cast<uint8_t>(payload[1]));
  c.reason = std::string_view(payload.data() + 2, payload.size() - 2);
  c.valid = valid_close_code(c.code) && valid_utf8(c.reason);  // §5.5.1: reason is UTF-8
  return c;
}

std::size_t encode_close_payload(std::span<char> out, uint16_t code, std::string_view reason) noexcept {
  if (code == 0) return 0;  // an empty payload, or a reason without a code (invalid)
  const std::size_t n = 2 + reason.size();
  if (!valid_close_code(code) || n > limits::max_control_payload || out.size() < n) return 0;
  if (!valid_utf8(reason)) return 0;  // §5.5.1
  out[0] = static_cast<char>(code >> 8);
  out[1] = static_cast<char>(code & 0xff);
  if (!reason.empty()) std::memcpy(out.data() + 2, reason.data(), reason.size());
  return n;
}

uint16_t close_code_for(ParseError e) noexcept {
  switch (e) {
    case ParseError::ws_invalid_utf8: return 1007;       // §7.4.1: inconsistent data
    case ParseError::ws_message_too_large: return 1009;  // §7.4.1: message too big
    default: return 1002;                                // §7.4.1: protocol error
  }
}

}  // namespace ringload::proto::ws
