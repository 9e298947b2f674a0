// A Server-Sent Events stream: the request goes out like any HTTP request; the slot's
// HttpExchange reads the head and the body framing (chunked or close-delimited) and hands
// the decoded body here (as its StreamSink), where the WHATWG parser cuts it into events.
//
// A stream is one "request" for the run. It ends well when the server ends it, or at the
// line's max_events / until / stream_timeout; it fails like any request (the events
// received before a failure are exported all the same). A non-2xx answer is read as an
// ordinary response; a 2xx that is not text/event-stream is a protocol error.
#pragma once
#include <span>

#include "engine/core/conn.hpp"
#include "engine/session/session.hpp"
#include "proto/sse.hpp"

namespace ringload {

class SseSession final : public StreamSink {
 public:
  void start(Conn& c, SessionEnv& env, uint64_t now) noexcept;
  Step on_read(Conn& c, SessionEnv& env, std::span<const char> data) noexcept;
  Step on_eof(Conn& c, SessionEnv& env) noexcept;
  Step on_timer(Conn& c, SessionEnv& env, uint64_t now) noexcept;
  uint64_t deadline(const Conn& c, const SessionEnv& env) const noexcept;
  Step on_stop(Conn& c, SessionEnv& env) noexcept;
  int finish(Conn& c, SessionEnv& env, bool ok, uint64_t now) noexcept;

  // StreamSink (called from inside c.exchange.on_data()).
  Verdict on_stream_head(const proto::ResponseHead& head, std::span<const proto::Header> headers,
                         const char*& why) noexcept override;
  bool on_stream_data(std::span<const char> data) noexcept override;

 private:
  // The stream ended well for `end` (the connection closes: the rest of the body cannot
  // carry another request).
  Step end_by_client(StreamEnd end) noexcept;

  proto::SseParser parser_;
  Conn* c_ = nullptr;              // during on_read: the connection and environment
  SessionEnv* env_ = nullptr;
  Step step_;                      // what the sink callbacks decided
  StreamEnd end_ = StreamEnd::server;
  uint64_t events_ = 0;
  uint64_t last_event_ns_ = 0;     // 0: no event yet
  uint64_t last_rx_ns_ = 0;        // the last bytes received (before the head: the send)
};

}  // namespace ringload
