#pragma once
// One connection's HTTP/1.x state: it turns received bytes into queued responses, in order,
// and knows nothing about sockets, epoll or clocks (the worker drives it). After a 101 to
// /ws the connection is a WebSocket echo (ws_echo.hpp).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "counters.hpp"
#include "limiter.hpp"
#include "out_queue.hpp"
#include "request_parser.hpp"
#include "router.hpp"
#include "ws_echo.hpp"

namespace ringload::target {

namespace limits {
// Stop answering pipelined requests while this much output waits for the socket.
inline constexpr std::size_t out_high_water = 256 * 1024;
}  // namespace limits

// Per worker thread, shared by that thread's sessions.
struct SessionEnv {
  FixedBody fixed;
  bool force_close = false;  // --close
  RequestCounters* counters = nullptr;
  RateLimiter* limiter = nullptr;  // --capacity, shared by all workers; nullptr: unlimited
  std::size_t thread = 0;    // this worker's counter
  DateCache date;
  std::string scratch;       // a generated reply body, rendered before the next request
  std::array<Header, limits::max_headers> headers;
};

// A wait the session asks the worker for (see Session::take_timer).
struct TimerRequest {
  std::uint64_t ns = 0;  // 0: none
  // Counted from the deadline of the timer that fired last, not from now, so that paced
  // events keep their schedule instead of drifting by the time spent sending each one.
  bool chained = false;
};

class Session {
 public:
  // Parses and answers requests at the start of `in` until it runs out or blocked() becomes
  // true. Returns the bytes consumed; the caller keeps the rest and offers it again, with
  // more bytes appended, once there is more input or the session is no longer blocked.
  std::size_t consume(std::string_view in, SessionEnv& env);

  // No further request (or WebSocket frame) may be taken now: the connection is closing, a
  // response is delayed, a long body is being queued, or too much output is waiting.
  bool blocked() const noexcept {
    return closing_ || delayed_ || streaming() || out_.queued() >= limits::out_high_water;
  }
  // The response that closes the connection is completely queued and sent: close now.
  bool finished() const noexcept { return closing_ && !streaming() && out_.empty(); }
  // A request is partly consumed (a body is being read): EOF now leaves it unanswered.
  bool mid_request() const noexcept { return phase_ == Phase::body; }
  bool delayed() const noexcept { return delayed_; }
  bool streaming() const noexcept { return stream_.active || sse_.active; }

  // A wait that was just requested, once: a deferred response (/delay, --latency-ms) or the
  // gap before the next paced SSE event. The caller starts a timer and calls fire_timer()
  // when it expires. ns == 0 if nothing new was requested.
  TimerRequest take_timer() noexcept {
    const TimerRequest t = timer_;
    timer_ = {};
    return t;
  }
  void fire_timer(SessionEnv& env);

  // Queues more of a streamed body, up to the high-water mark. True if it queued anything
  // or the stream ended; false while a paced stream waits for its timer.
  bool fill(SessionEnv& env);

  OutQueue& out() noexcept { return out_; }
  // Back to a fresh connection's state, releasing large buffers.
  void reset() noexcept;

 private:
  enum class Phase : std::uint8_t { head, body };
  enum class Mode : std::uint8_t { http, websocket };
  enum class Framing : std::uint8_t { none, length, chunked };

  struct Meta {
    bool head = false;        // HEAD: headers only (RFC 9110 §9.3.2)
    bool keep_alive = true;
    int minor_version = 1;
  };

  // A long body generated a slice at a time (/bytes, /chunked, a large --body-size).
  struct Stream {
    bool active = false;
    bool chunked = false;
    std::uint64_t data_left = 0;    // pattern bytes left in the current chunk (or the body)
    std::uint64_t chunks_left = 0;  // chunks not yet started
    std::uint64_t chunk_size = 0;
    std::uint64_t offset = 0;       // pattern offset of the next byte
  };

  // /sse: event i (from 1) is "id: i\ndata: " + `size` pattern bytes + "\n\n", one chunk each.
  struct SseStream {
    bool active = false;
    bool chunked = false;
    bool due = false;               // paced: the timer fired, the next event may go out
    std::uint64_t next_id = 1;
    std::uint64_t last_id = 0;      // the number of events
    std::uint64_t size = 0;         // data bytes per event
    std::uint64_t data_left = 0;    // data bytes of the current event not yet queued
    std::uint32_t interval_us = 0;  // 0: unpaced
  };

  void start_request(const Request& req, std::string_view head_bytes, bool body_follows,
                     SessionEnv& env);
  std::size_t feed_body(std::string_view in, SessionEnv& env);
  void finish_body(SessionEnv& env);
  void dispatch(const RequestInfo& info, SessionEnv& env);
  void emit(const Reply& reply, const Meta& meta, SessionEnv& env);
  void emit_body(const Reply& reply, bool chunked_framing, SessionEnv& env);
  void fill_pattern();
  void fill_sse();
  void start_event();
  void answer_error(int status, SessionEnv& env);

  OutQueue out_;
  Phase phase_ = Phase::head;
  bool closing_ = false;
  bool delayed_ = false;
  Mode mode_ = Mode::http;
  TimerRequest timer_;
  std::size_t scanned_ = 0;  // parse_request's resume point for the current head
  Meta meta_;                // of the request being read or delayed
  // Body being read: framing, bytes left (length), decoder (chunked), the head (re-parsed
  // once the body is complete) and, for /echo only, the collected body.
  Framing framing_ = Framing::none;
  std::uint64_t body_left_ = 0;
  bool collect_ = false;
  ChunkedDecoder chunked_;
  std::string head_copy_;
  std::string body_;
  Reply delayed_reply_;
  Stream stream_;
  SseStream sse_;
  WsEcho ws_;
};

}  // namespace ringload::target
