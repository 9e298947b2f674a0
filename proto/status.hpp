// Shared result vocabulary of the proto/ parsers. Standard library only.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ringload::proto {

enum class Status : uint8_t {
  done,       // a complete unit (head, body, event ...) ended at `consumed`
  need_more,  // every byte up to `consumed` is used; call again with more input
  error,      // the input is not valid; `error` says why, `consumed` where
};

// Why a parser rejected its input. One enumerator per distinct cause; the engine
// counts them all as `protocol` errors and reports the first message it met.
enum class ParseError : uint8_t {
  none,
  bad_version,            // not "HTTP/1.x" (RFC 9112 §2.3)
  bad_status,             // status code not three digits (RFC 9112 §4)
  bad_reason,             // control character in the reason phrase
  bad_header_name,        // empty name or a non-token byte (RFC 9110 §5.1)
  bad_header_value,       // CR without LF, NUL or other control byte in a value
  header_too_large,       // header block over limits::max_head_bytes
  too_many_headers,       // over the caller's header capacity
  bad_content_length,     // not digits, or overflows (RFC 9110 §8.6)
  conflicting_content_length,  // repeated with different values (RFC 9112 §6.3 rule 5)
  bad_transfer_encoding,  // with Content-Length (RFC 9112 §6.3 rule 3; chunked not last is until_close)
  bad_chunk_size,         // not hex, more than limits::max_chunk_size_digits (RFC 9112 §7.1)
  bad_chunk_extension,    // control byte in a chunk extension
  bad_chunk_data_end,     // chunk data not followed by CRLF
  trailer_too_large,      // trailer section over limits::max_trailer_bytes
  bad_trailer,            // malformed trailer field
  unexpected_eof,         // the peer closed before the message ended
  sse_event_too_large,    // an SSE event's data, type or ID over the parser's limit (proto/sse.hpp)
  ws_reserved_bits,       // RSV1-3 set, no extension negotiated (RFC 6455 §5.2)
  ws_reserved_opcode,     // opcode 0x3-0x7 or 0xB-0xF (RFC 6455 §5.2)
  ws_masked_frame,        // a server frame with MASK set (RFC 6455 §5.1)
  ws_bad_length,          // 64-bit length with its MSB set, or not minimally encoded (§5.2)
  ws_bad_control_frame,   // control frame fragmented or over 125 bytes (RFC 6455 §5.5)
  ws_unexpected_continuation,  // continuation frame with no message open (RFC 6455 §5.4)
  ws_expected_continuation,    // new data frame inside a fragmented message (§5.4)
  ws_message_too_large,   // message over the assembler's size limit
  ws_invalid_utf8,        // text message not UTF-8 (RFC 6455 §8.1)
};

const char* to_string(ParseError e) noexcept;

namespace limits {
inline constexpr std::size_t max_head_bytes = 64 * 1024;     // whole status line + header block
inline constexpr std::size_t max_chunk_size_digits = 16;     // 16 hex digits: 2^64 - 1
inline constexpr std::size_t max_chunk_ext_bytes = 4 * 1024; // chunk extensions per chunk line
inline constexpr std::size_t max_trailer_bytes = 16 * 1024;  // whole trailer section
}  // namespace limits

}  // namespace ringload::proto
