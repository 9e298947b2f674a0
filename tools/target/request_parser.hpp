#pragma once
// The target server's own HTTP/1.1 request parser (RFC 9112). It depends on the standard
// library only and deliberately not on proto/: the target is the reference the client is
// measured against, so it must not share the client's bugs.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ringload::target {

namespace limits {
// The whole request head (request line + field lines + empty line) must fit here; the
// connection's read buffer has the same size. Beyond it: 431.
inline constexpr std::size_t max_head_bytes = 64 * 1024;
// More field lines than this: 431 (RFC 6585 §5).
inline constexpr std::size_t max_headers = 100;
// A chunk-size line's extensions and a trailer section are skipped, but not forever.
inline constexpr std::size_t max_chunk_ext_bytes = 4096;
inline constexpr std::size_t max_trailer_bytes = 16 * 1024;
}  // namespace limits

enum class ParseStatus : std::uint8_t { done, need_more, error };

// Why a message was rejected; the caller maps it to a status code.
enum class ParseError : std::uint8_t {
  none,
  bad_request,        // 400
  head_too_large,     // 431: head over max_head_bytes or too many fields
  bad_version,        // 505: well-formed HTTP-version whose major is not 1
  content_too_large,  // 413: decoded body over the caller's sink limit
};

struct ParseResult {
  ParseStatus status;
  std::size_t consumed;  // done: bytes of the message part just parsed; otherwise 0
  ParseError error;      // status == error only
};

struct Header {
  std::string_view name;   // as received (case preserved)
  std::string_view value;  // leading and trailing whitespace removed
};

// Views into the buffer given to parse_request(); valid as long as those bytes are.
struct Request {
  std::string_view method;
  std::string_view target;
  int minor_version = 1;            // HTTP/1.<minor>
  std::span<const Header> headers;  // the first header_count entries of the caller's array
};

// Parses one request head at the start of `buf`.
// - done: `consumed` = length of the head, including empty lines skipped before it
//   (RFC 9112 §2.2); `req` points into `buf`, its headers into `header_space`.
// - need_more: the head is incomplete. `scanned` remembers how far the search for the end of
//   the head got, so a head arriving byte by byte costs O(n) in total: pass the same variable
//   back with the same buffer start (grown), and zero it before the next request.
// - error: `error` says which status to answer with; the connection must be closed after.
ParseResult parse_request(std::string_view buf, Request& req, std::span<Header> header_space,
                          std::size_t& scanned) noexcept;

// Decodes a chunked request body (RFC 9112 §7.1), resumable at any byte boundary.
class ChunkedDecoder {
 public:
  // Consumes body bytes from `in`. Chunk data is appended to `sink` unless it is null; more
  // than `sink_limit` bytes in the sink is content_too_large. done: the last chunk and the
  // trailer section are complete and `consumed` is how much of `in` belonged to the body.
  // need_more: all of `in` was consumed (consumed == in.size()).
  ParseResult feed(std::string_view in, std::string* sink, std::size_t sink_limit) noexcept;
  void reset() noexcept { *this = ChunkedDecoder{}; }

 private:
  enum class State : std::uint8_t {
    size_first,  // first hex digit of chunk-size
    size,        // further hex digits
    ext,         // chunk-ext, skipped up to the line end
    size_lf,     // LF after the CR that ends the chunk-size line
    data,        // chunk-data
    data_cr,     // CRLF after chunk-data
    data_lf,
    trailer_start,  // start of a trailer field line or of the final empty line
    trailer_line,
    trailer_lf,
    final_lf,
  };
  State state_ = State::size_first;
  std::uint64_t remaining_ = 0;  // chunk-size being read, then data bytes left in the chunk
  std::uint8_t digits_ = 0;
  std::size_t line_bytes_ = 0;  // bytes of chunk-ext / trailer section seen, for the limits

  void line_end() noexcept;
};

// ASCII case-insensitive comparison (field names and tokens are case-insensitive).
bool iequals(std::string_view a, std::string_view b) noexcept;
// True if the comma-separated list `value` (RFC 9110 §5.6.1) holds `token`, case-insensitively.
bool list_has_token(std::string_view value, std::string_view token) noexcept;
// Parses 1*DIGIT as an unsigned integer; false on empty, non-digit or overflow past `max`.
bool parse_decimal(std::string_view s, std::uint64_t max, std::uint64_t& out) noexcept;

}  // namespace ringload::target
