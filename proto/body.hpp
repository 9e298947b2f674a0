// Resumable HTTP/1.1 body decoder: Content-Length, chunked (extensions and trailers
// skipped), close-delimited. Zero-copy: it never copies body bytes, it tells the
// caller which part of its input is body data. Accepts input split at any byte.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/http_response.hpp"
#include "proto/status.hpp"

namespace ringload::proto {

struct BodyResult {
  Status status = Status::need_more;
  std::size_t consumed = 0;     // bytes of the input used by this call
  std::span<const char> data;   // body bytes inside the input (a subspan of it; may be empty)
  ParseError error = ParseError::none;
};

class BodyDecoder {
 public:
  // Prepares for the body of `head` (its `body` and `content_length`).
  void reset(const ResponseHead& head) noexcept;
  void reset(BodyKind kind, uint64_t content_length) noexcept;

  // Feeds the next bytes of the stream. Each call returns at most one data span, so
  // the caller loops:
  //   while (!in.empty()) { r = d.feed(in); use(r.data); in = in.subspan(r.consumed);
  //                         if (r.status != Status::need_more) break; }
  // need_more: keep feeding (the rest of `in`, then later reads).
  // done: the body ended exactly at `consumed`; what follows belongs to the next message.
  // error: malformed framing. A non-empty input always consumes at least one byte unless
  // the result is done or error.
  BodyResult feed(std::span<const char> in) noexcept;

  // The peer closed the connection. done for a close-delimited body (or a body that had
  // already ended), error (unexpected_eof) when the framing says more was due.
  Status finish() noexcept;

  bool complete() const noexcept { return state_ == State::done; }
  uint64_t body_bytes() const noexcept { return body_bytes_; }  // data bytes so far

 private:
  // chunk_ext: after ';', before the extension name. The chunk_ext_* states follow
  // RFC 9112 §7.1.1: name [BWS "=" BWS (token / quoted-string)], BWS only before ';'/'='.
  enum class State : uint8_t {
    length, until_close,
    chunk_size, chunk_size_ws, chunk_ext, chunk_size_lf, chunk_data, chunk_data_cr, chunk_data_lf,
    trailer_line_start, trailer_line, trailer_lf, trailer_end_lf,
    done, error,
    chunk_ext_name, chunk_ext_name_ws, chunk_ext_value_start, chunk_ext_value,
    chunk_ext_quoted, chunk_ext_quoted_pair, chunk_ext_quoted_end, chunk_ext_ws,
    trailer_name,
  };
  // One byte of a chunk line after its size digits: the next state, chunk_size_lf at
  // its CR, or error.
  static State chunk_line_next(State s, char c) noexcept;
  // One byte of the trailer section (RFC 9112 §7.1.2): the next state, or error.
  static State trailer_next(State s, char c) noexcept;

  State state_ = State::done;
  uint64_t remaining_ = 0;     // bytes left in the body (length) or the current chunk
  uint64_t body_bytes_ = 0;
  uint32_t counter_ = 0;       // digits / extension bytes / trailer bytes seen: each bounded
  ParseError error_ = ParseError::none;  // why state_ is error, repeated by later feeds
};

}  // namespace ringload::proto
