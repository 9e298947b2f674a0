#pragma once
// The endpoints: a pure function from a complete request to a description of its response.
// Rendering the bytes (framing, Connection, HEAD) is the session's job.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "counters.hpp"
#include "request_parser.hpp"

namespace ringload::target {

namespace limits {
inline constexpr std::uint32_t max_delay_ms = 600'000;
// /echo keeps the whole body in memory; anything larger is 413.
inline constexpr std::size_t max_echo_body = 1024 * 1024;
inline constexpr std::uint64_t max_chunk_count = 1'000'000'000;
inline constexpr std::uint64_t max_chunk_size = 1024 * 1024;
inline constexpr std::uint64_t max_bytes = std::uint64_t{1} << 50;
inline constexpr std::uint64_t max_sse_events = 100'000'000;
inline constexpr std::uint64_t max_sse_size = 1024 * 1024;
inline constexpr std::uint64_t max_sse_interval_us = 600'000'000;
}  // namespace limits

// What every plain request gets: the body (--body-size) after a delay (--latency-ms).
struct FixedBody {
  std::uint64_t size = 13;      // 13: "Hello, world\n"; otherwise the deterministic pattern
  std::uint32_t latency_ms = 0;  // only for the plain endpoint; /delay/MS has its own
};

struct RequestInfo {
  std::string_view method;
  std::string_view target;
  int minor_version = 1;
  std::span<const Header> headers;
  std::string_view body;  // collected only for /echo (see wants_body)
};

enum class BodyKind : std::uint8_t {
  none,     // no content (Content-Length: 0 unless the status forbids the field)
  text,     // `text`
  pattern,  // `length` bytes of the deterministic pattern
  chunked,  // `chunks` chunks of `length` pattern bytes (plain Content-Length to HTTP/1.0)
  sse,      // `chunks` events of `length` data bytes `interval_us` apart, then [DONE]; chunked
            // like `chunked`
};

struct Reply {
  int status = 200;
  int interim = 0;  // a 1xx sent first (HTTP/1.1 clients only), 0 for none
  std::string_view content_type = "text/plain";
  BodyKind kind = BodyKind::text;
  std::string_view text;     // static, or the caller's scratch string: valid until rendered
  std::uint64_t length = 0;  // pattern / chunked
  std::uint64_t chunks = 0;  // chunked, sse
  std::uint32_t interval_us = 0;  // sse: between events, 0 for as fast as the socket takes them
  // Field lines (each ending in CRLF) sent after the standard ones: static, or the caller's
  // scratch string like `text`. A 101 gets only these, and the session switches to WebSocket.
  std::string_view extra_headers;
  std::uint32_t delay_ms = 0;
  bool close = false;    // close the connection after this response whatever the request said
  bool counted = true;   // false for /count, /reset and /stats
  Outcome outcome = Outcome::ok;  // which counter a counted reply bumps
};

// The deterministic "Hello, world\n" or pattern body of `fixed`, as a 200 text/plain reply.
Reply fixed_reply(const FixedBody& fixed) noexcept;
// An error reply (400, 413, 431, 501, 505...) with a one-line body; always closes.
Reply error_reply(int status) noexcept;
// The 503 of a request over --capacity: small body, keeps the connection.
Reply unavailable_reply() noexcept;
// True for /count, /reset and /stats: never limited by --capacity and never counted, so
// they can observe a server under overload without changing what they observe.
bool is_control(std::string_view target) noexcept;
// True if the endpoint needs the request body (only /echo; others discard it unread).
bool wants_body(std::string_view target) noexcept;
// Chooses the response. `scratch` holds a generated text body (status, echo, count, stats)
// or the header lines of a 101.
Reply route(const RequestInfo& req, const FixedBody& fixed, RequestCounters& counters,
            std::string& scratch);

std::string_view reason_phrase(int status) noexcept;

}  // namespace ringload::target
