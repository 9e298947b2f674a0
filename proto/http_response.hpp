// HTTP/1.1 response head parser (status line + header block), after picohttpparser.
//
// Zero-copy: every string_view in the output points into the caller's buffer and is
// valid only while that buffer is. No allocation, no I/O, no clock.
//
// The head must be contiguous. When it arrives split across reads the caller keeps the
// bytes so far (the engine's per-connection carry buffer), appends the next read and
// calls again with `last_len` = the length already scanned, so a slow head
// (slowloris) is not re-scanned for its end from the start each time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "proto/status.hpp"

namespace ringload::proto {

struct Header {
  std::string_view name;   // as received (case preserved); compare case-insensitively
  std::string_view value;  // leading and trailing OWS removed
};

enum class BodyKind : uint8_t {
  none,            // HEAD response, 1xx, 204, 304, or Content-Length: 0
  content_length,  // exactly `content_length` bytes
  chunked,         // Transfer-Encoding with chunked last (RFC 9112 §6.1)
  until_close,     // no length: the body ends when the server closes (RFC 9112 §6.3 rule 8)
};

struct ResponseHead {
  int version_minor = 1;          // 0 for HTTP/1.0, 1 for HTTP/1.1
  int status = 0;                 // 100..999
  std::string_view reason;        // may be empty
  std::size_t num_headers = 0;    // headers written to the caller's span
  BodyKind body = BodyKind::none; // framing, decided by parse_response_head
  uint64_t content_length = 0;    // valid when body == content_length
  bool keep_alive = true;         // false: HTTP/1.0 without keep-alive, or Connection: close
  bool upgrade = false;           // 101 Switching Protocols (the bytes after the head are not HTTP)
};

struct HeadResult {
  Status status = Status::need_more;
  std::size_t consumed = 0;          // done: length of the head including the final CRLFCRLF
  ParseError error = ParseError::none;
};

// Parses one response head from `buf`.
// - `last_len`: bytes of `buf` already scanned by a previous call that returned need_more
//   (0 on the first call).
// - `headers`: capacity in; on done, out.num_headers entries are filled.
// - `head_request`: the request was HEAD, so the response has no body whatever it says.
// Returns done with `consumed` = head length, need_more (nothing is consumed; call again
// with a longer buffer), or error. A head longer than limits::max_head_bytes is an error.
// 1xx responses other than 101 are returned like any other (status 100..199, body none):
// the caller skips them and parses the next head from buf[consumed..].
HeadResult parse_response_head(std::span<const char> buf, std::size_t last_len,
                               ResponseHead& out, std::span<Header> headers,
                               bool head_request) noexcept;

// Case-insensitive ASCII comparison, for header names.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace ringload::proto
