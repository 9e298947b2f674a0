// The requests of a run, rendered once before it: a compact table shared read-only by
// every shard. A line costs one RequestLine (40 bytes) plus its rendered head and body in
// one arena, so a large request file stays within twice its size in memory.
//
// At send time a shard assembles: head + the origin's default headers the line did not
// set (Host, User-Agent, Accept) + CRLF, then sends the body from the arena.
#pragma once
#include <chrono>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ringload/config.hpp"
#include "ringload/requests.hpp"
#include "ringload/url.hpp"

namespace ringload {

struct RequestLine {
  uint64_t offset = 0;      // arena offset of the head: request line + own headers, each ending CRLF
  uint32_t head_len = 0;
  uint32_t body_len = 0;    // the body follows the head in the arena
  uint64_t timeout_ns = 0;  // whole-request deadline; 0: the run's default
  uint32_t source_line = 0; // 1-based line of the request file; 0: not from a file
  uint32_t name = 0;        // index into RequestTable::names (stats bucket)
  uint16_t origin = 0;      // index into RequestTable::origins
  uint8_t flags = 0;        // flag_* below
  uint8_t method_len = 0;   // the method is the head's first method_len bytes
  uint32_t stream = 0;      // 0: plain HTTP; else 1 + index into RequestTable::streams

  static constexpr uint8_t flag_head = 1;        // HEAD: the response has no body
  static constexpr uint8_t flag_has_host = 2;    // the line sets these headers itself
  static constexpr uint8_t flag_has_user_agent = 4;
  static constexpr uint8_t flag_has_accept = 8;
  static constexpr uint8_t flag_named = 16;      // `name` was given (else method + path)
};

class RequestTable {
 public:
  std::string arena;
  std::vector<RequestLine> lines;
  std::vector<std::string> names;  // stats buckets; the last may be "(other)"
  std::vector<Url> origins;        // scheme, host, port; `target` unused
  std::vector<LineHttp2> origin_http2;  // per origin: its lines' "http2" (one origin per choice)
  uint32_t first_h2_line = 0;      // the first line that says "http2": true (0: none)
  uint32_t first_h2_column = 0;    //   and where its key is, for messages
  std::string source;              // the request file, for messages ("" for the CLI URL)
  std::vector<StreamSpec> streams; // the stream lines' specs (RequestLine::stream - 1)

  LineHttp2 http2_of(uint16_t origin) const noexcept {
    return origin < origin_http2.size() ? origin_http2[origin] : LineHttp2::run;
  }
  const StreamSpec* stream(const RequestLine& l) const noexcept {
    return l.stream == 0 ? nullptr : &streams[l.stream - 1];
  }

  std::string_view head(const RequestLine& l) const noexcept { return {arena.data() + l.offset, l.head_len}; }
  std::string_view body(const RequestLine& l) const noexcept {
    return {arena.data() + l.offset + l.head_len, l.body_len};
  }
  std::string_view method(const RequestLine& l) const noexcept { return head(l).substr(0, l.method_len); }
  std::string_view target(const RequestLine& l) const noexcept;  // from the request line
};

// One request, as given (the CLI's URL, a request-file line, an embedding program).
struct RequestInput {
  Url url;
  std::string_view method = "GET";
  std::span<const std::pair<std::string_view, std::string_view>> headers;  // in order, repeats kept
  std::string_view body;
  std::string_view name;                 // "" : method + path
  std::chrono::nanoseconds timeout{0};   // 0: the run's default
  uint32_t source_line = 0;
  const StreamSpec* stream = nullptr;   // null: plain HTTP; copied into the table
  LineHttp2 http2 = LineHttp2::run;     // its origin is interned with this choice
};

// What a refused request was refused for, so that a caller can point at it (a request
// file's line and column).
struct RequestFault {
  enum class Part : uint8_t { request, method, header_name, header_value };
  Part part = Part::request;  // request: the whole of it (head size, stream settings ...)
  uint32_t header = 0;        // index into RequestInput::headers, for header_name / header_value
};

// Appends requests to a table: validates (method token, header names, no CR/LF/NUL in
// values, head size), adds Content-Length when a body is sent, interns origins and names.
// Host and Content-Length may appear once (RFC 9110 §5.3: neither is a list); a request
// with a body, or whose method expects one (POST, PUT, PATCH), gets Content-Length from
// the body and may not set it. Streams: an SSE line gets "Accept: text/event-stream"
// unless it sets Accept; a WebSocket line (GET, no body) is rendered as its opening
// handshake with a placeholder key that each connection overwrites with a fresh one.
class RequestTableBuilder {
 public:
  std::expected<void, std::string> add(const RequestInput& in);
  // After add() refused a request: which part of it was wrong.
  const RequestFault& fault() const noexcept { return fault_; }
  RequestTable finish() &&;
  std::size_t size() const noexcept { return table_.lines.size(); }
  void reserve(std::size_t lines, std::size_t arena_bytes);

 private:
  std::expected<void, std::string> check_headers(const RequestInput& in, bool body_expected, RequestLine& line);
  std::expected<void, std::string> add_ws(const RequestInput& in, RequestLine& line);
  std::expected<void, std::string> add_line(const RequestInput& in, RequestLine& line);
  std::unexpected<std::string> refuse(RequestFault where, std::string message);
  uint16_t intern_origin(const Url& url, LineHttp2 http2);
  static std::string origin_key(const Url& url, LineHttp2 http2);
  uint32_t intern_name(std::string_view name);
  RequestFault fault_;
  RequestTable table_;
  std::unordered_map<std::string, uint16_t> origin_index_;
  std::unordered_map<std::string, uint32_t> name_index_;
  uint32_t other_name_ = UINT32_MAX;
};

// A RequestSpec as the builder's input; `headers` holds the views of its headers.
RequestInput to_input(const RequestSpec& spec, std::vector<std::pair<std::string_view, std::string_view>>& headers);

}  // namespace ringload
