// Request files: JSON Lines, one request per line, loaded into a RequestTable before a run.
//
// Each non-blank line is one JSON object (RFC 8259); blank (whitespace-only) lines are
// skipped; LF and CRLF line endings are accepted, and the last line may lack one. Keys:
//   "url"         required string, http://, https://, ws:// or wss:// (TLS only with allow_https)
//   "method"      string, a token; default GET, or POST when the line has a body
//   "headers"     {"Name": "value", ...} or [["Name", "value"], ...] (order and repeats kept);
//                 values are strings without CR, LF or NUL
//   "body"        a string, sent as is; or an object/array, sent minified with
//                 "Content-Type: application/json" unless the line sets a Content-Type
//   "body_base64" standard base64 (padding optional), decoded; excludes "body"
//   "timeout"     number of seconds > 0 (fractions allowed): the request's deadline
//   "name"        non-empty string: the stats bucket of the line
//   "proto"       "http" (default), "sse" or "ws"; a ws:// or wss:// url implies "ws" (and
//                 "ws" turns http:// into ws://, https:// into wss://)
//   SSE lines:    "max_events" (integer >= 1), "stream_timeout" (seconds), "until" (string)
//   WS lines:     "messages" [string | {"text": s} | {"binary_base64": s}], "interval" (seconds
//                 between them), "expect" (integer
//                 >= 0), "until" (string), "idle_timeout" (seconds), "subprotocols" [tokens];
//                 GET only, no body; "headers" go into the opening handshake
// A stream key on a line of another proto is an error (it would be silently ignored).
// A key appearing twice on a line is an error; an unknown key is reported through `warn`
// and ignored.
#pragma once
#include <cstdint>
#include <expected>
#include <functional>
#include <string>

#include "ringload/export.hpp"
#include "ringload/requests.hpp"

namespace ringload {

struct RINGLOAD_API RequestFileError {
  std::string file;     // the path as given
  uint32_t line = 0;    // 1-based; 0: the error concerns the whole file (missing, empty ...)
  uint32_t column = 0;  // 1-based byte column of the offending value or token, else 1
  std::string message;  // what is wrong, without the position

  // "FILE:LINE:COLUMN: message", or "FILE: message" when line is 0.
  std::string to_string() const;
};

struct RequestFileOptions {
  bool allow_https = false;  // false: an https:// line is an error ("https is not supported yet")
};

// Loads and renders the request file at `path`. Stops at the first error. `warn` (may be
// empty) receives "FILE:LINE: unknown key 'k' (ignored)" once per distinct unknown key, at
// the first line that has it. Each request remembers its line number in the file (the
// export's `line`).
//
// Memory: the file is read in blocks, never whole; the table is reserved from the file's
// size, so peak memory stays under about twice the file's size for typical lines.
RINGLOAD_API std::expected<RequestFile, RequestFileError> load_request_file(
    const std::string& path, const RequestFileOptions& options,
    const std::function<void(const std::string&)>& warn);

}  // namespace ringload
