#include "proto/status.hpp"

namespace ringload::proto {

const char* to_string(ParseError e) noexcept {
  switch (e) {
    case ParseError::none: return "none";
    case ParseError::bad_version: return "bad HTTP version";
    case ParseError::bad_status: return "bad status code";
    case ParseError::bad_reason: return "bad reason phrase";
    case ParseError::bad_header_name: return "bad header name";
    case ParseError::bad_header_value: return "bad header value";
    case ParseError::header_too_large: return "response head too large";
    case ParseError::too_many_headers: return "too many headers";
    case ParseError::bad_content_length: return "bad Content-Length";
    case ParseError::conflicting_content_length: return "conflicting Content-Length values";
    case ParseError::bad_transfer_encoding: return "bad Transfer-Encoding";
    case ParseError::bad_chunk_size: return "bad chunk size";
    case ParseError::bad_chunk_extension: return "bad chunk extension";
    case ParseError::bad_chunk_data_end: return "chunk data not followed by CRLF";
    case ParseError::trailer_too_large: return "trailer section too large";
    case ParseError::bad_trailer: return "bad trailer field";
    case ParseError::unexpected_eof: return "connection closed before the message ended";
    case ParseError::sse_event_too_large: return "server-sent event too large";
    case ParseError::ws_reserved_bits: return "WebSocket frame with reserved bits set";
    case ParseError::ws_reserved_opcode: return "WebSocket frame with a reserved opcode";
    case ParseError::ws_masked_frame: return "masked WebSocket frame from the server";
    case ParseError::ws_bad_length: return "bad WebSocket payload length";
    case ParseError::ws_bad_control_frame: return "fragmented or oversized WebSocket control frame";
    case ParseError::ws_unexpected_continuation: return "WebSocket continuation frame without a message";
    case ParseError::ws_expected_continuation: return "WebSocket data frame inside a fragmented message";
    case ParseError::ws_message_too_large: return "WebSocket message too large";
    case ParseError::ws_invalid_utf8: return "invalid UTF-8 in a WebSocket text message";
  }
  return "unknown parse error";
}

}  // namespace ringload::proto
