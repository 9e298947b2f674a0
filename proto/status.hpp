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
  bad_content_length,     // not digits, overflows, or conflicting repeats (RFC 9110 §8.6)
  bad_transfer_encoding,  // with Content-Length (RFC 9112 §6.3 rule 3; chunked not last is until_close)
  bad_chunk_size,         // not hex, more than limits::max_chunk_size_digits (RFC 9112 §7.1)
  bad_chunk_extension,    // control byte in a chunk extension
  bad_chunk_data_end,     // chunk data not followed by CRLF
  trailer_too_large,      // trailer section over limits::max_trailer_bytes
  bad_trailer,            // malformed trailer field
  unexpected_eof,         // the peer closed before the message ended
};

const char* to_string(ParseError e) noexcept;

namespace limits {
inline constexpr std::size_t max_head_bytes = 64 * 1024;     // whole status line + header block
inline constexpr std::size_t max_chunk_size_digits = 16;     // 16 hex digits: 2^64 - 1
inline constexpr std::size_t max_chunk_ext_bytes = 4 * 1024; // chunk extensions per chunk line
inline constexpr std::size_t max_trailer_bytes = 16 * 1024;  // whole trailer section
}  // namespace limits

}  // namespace ringload::proto
