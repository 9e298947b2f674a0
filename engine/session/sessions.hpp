// The sessions of one shard's slots: the dispatch from a slot's SessionKind to its
// session type (session.hpp has the contract), and the per-slot state of the kinds that
// keep some, allocated only for the kinds the run has (SSE and WebSocket lines).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/conn.hpp"
#include "engine/output/export_queue.hpp"
#include "engine/session/h2_session.hpp"
#include "engine/session/http_session.hpp"
#include "engine/session/pipe_session.hpp"
#include "engine/session/session.hpp"
#include "engine/session/sse_session.hpp"
#include "engine/session/ws_session.hpp"

namespace ringload {

class Sessions {
 public:
  // Per-slot state for `slots` connections, for the stream kinds `table` has.
  // With HTTP/2 (some origin's Origin::http2) also each slot's HTTP/2 session, its streams made when it
  // first becomes ready, and the run's requests as HTTP/2 header lists. With --pipeline N
  // each slot's N records and its output (N heads of up to `head_room` bytes each).
  // With `plugins`, HTTP/2 also gets room to turn a head a plugin changed into a header list.
  std::string setup(uint32_t slots, const RequestTable& table, const RunConfig& config,
                    std::span<const Origin> origins, Http2Counters& http2, std::size_t head_room,
                    bool plugins) noexcept;
  // Bytes of the per-slot stream state (0: a run without streams or HTTP/2).
  std::size_t bytes() const noexcept;

  // The connection is ready for requests: whose session it has. HTTP/2 (prior knowledge
  // on http://, or ALPN's choice on https://) makes the session the connection's
  // (Conn::mux) with room for its streams; otherwise each request brings its own, one at
  // a time. False: out of memory (the connection fails).
  bool on_ready(uint32_t slot, Conn& c, SessionEnv& env, uint64_t now) noexcept;
  // A multiplexing session's record for the next request (Conn::mux, in_flight < capacity).
  InFlight& acquire(uint32_t slot, Conn& c) noexcept {
    return c.session == SessionKind::pipe ? pipe_[slot].acquire() : h2_[slot].acquire();
  }
  // A multiplexing session's requests all fail (the connection is going).
  void abort(uint32_t slot, Conn& c, SessionEnv& env, ErrorKind kind, const char* message, uint64_t now) noexcept {
    if (c.session == SessionKind::pipe) {
      pipe_[slot].abort(c, env, kind, message, now);
    } else {
      h2_[slot].abort(c, env, kind, message, now);
    }
  }
  // The session batches the requests issued in a row into one send: the shard lets it
  // produce once after them (HTTP/1.1 pipelining; HTTP/2: all the HEADERS frames of a
  // loop turn in one send, not the first alone and the rest after its completion).
  static bool batches(const Conn& c) noexcept {
    return c.session == SessionKind::pipe || c.session == SessionKind::h2;
  }
  // The closed loop offers a connection that made room again only once its session wants
  // more: a pipeline once half of it was answered, so that each send carries at least N/2
  // requests (one per response would cost a send and a server read per request); the open
  // loop sends whenever a request is due.
  static bool refill(const Conn& c) noexcept {
    return c.session != SessionKind::pipe || c.in_flight <= c.capacity / 2;
  }
  // What the export says a response came over.
  static ExportProtocol protocol(const Conn& c) noexcept {
    return c.session == SessionKind::h2 ? ExportProtocol::h2 : ExportProtocol::http1;
  }

  // The kind of session a request line is.
  static SessionKind kind_of(const StreamSpec* stream) noexcept {
    if (stream == nullptr) return SessionKind::http;
    return stream->proto == StreamProto::sse ? SessionKind::sse : SessionKind::ws;
  }
  // The session needs to hear when its sends complete (it writes its next bytes into
  // the same scratch); otherwise a successful send may post no completion.
  // HTTP/2 batches frames in a per-slot buffer it rewrites at the next produce().
  static bool needs_send_completion(const Conn& c) noexcept {
    return c.session == SessionKind::ws || c.session == SessionKind::h2 || c.session == SessionKind::pipe;
  }
  // The consumer of the stream the slot's HttpExchange reads (null: plain HTTP).
  StreamSink* sink(uint32_t slot, const Conn& c) noexcept {
    switch (c.session) {
      case SessionKind::http: return nullptr;
      case SessionKind::sse: return &sse_[slot];
      case SessionKind::ws: return &ws_[slot];
      case SessionKind::h2: return nullptr;
      case SessionKind::pipe: return nullptr;
    }
    return nullptr;
  }

  // What becomes of a request once its session set up and the plugins saw it: sent,
  // skipped by a plugin, or failed in a plugin's hook (failure_message() says why).
  enum class Start : uint8_t { send, skip, failed };
  // `r`: Conn::req, or acquire()'s record.
  Start start(uint32_t slot, Conn& c, InFlight& r, SessionEnv& env, const RequestTable& table, uint64_t now) noexcept {
    switch (c.session) {
      case SessionKind::http: HttpSession::start(c, env, now); break;
      case SessionKind::sse: sse_[slot].start(c, env, now); break;
      case SessionKind::ws: ws_[slot].start(c, env, now); break;
      case SessionKind::h2: {
        std::span<const nghttp2_nv> nv;
        if (env.plugins != nullptr) {
          if (const Start s = plugged(slot, c, r, env, table); s != Start::send) return s;
          nv = plugged_h2(c, r, env);
        }
        start_error_ = h2_[slot].start(c, r, env, now, nv);
        return start_error_ == nullptr ? Start::send : Start::failed;
      }
      case SessionKind::pipe:
        if (env.plugins != nullptr) {
          if (const Start s = plugged(slot, c, r, env, table); s != Start::send) return s;
        }
        pipe_[slot].start(r, env, now);
        return Start::send;
    }
    return env.plugins == nullptr ? Start::send : before_send(c, env, table);
  }
  // Why start() said failed, and as which error kind.
  const char* failure_message(const SessionEnv& env) const noexcept;
  ErrorKind failure_kind() const noexcept { return start_error_ != nullptr ? ErrorKind::protocol : ErrorKind::plugin; }
  Step produce(uint32_t slot, Conn& c, SessionEnv& env, const RequestTable& table, Output& out) noexcept {
    if (c.session == SessionKind::h2) return h2_[slot].produce(c, env, out);
    if (c.session == SessionKind::pipe) return pipe_[slot].produce(c, env, out);
    if (c.session != SessionKind::ws) return HttpSession::produce(c, env, table, out);  // SSE sends like HTTP
    const Step step = ws_[slot].produce(c, env, table, out);
    return env.plugins == nullptr ? step : judged(c, env, step);
  }
  Step on_read(uint32_t slot, Conn& c, SessionEnv& env, std::span<const char> data) noexcept {
    Step step = Step::more();
    switch (c.session) {
      case SessionKind::http: step = HttpSession::on_read(c, env, data); break;
      case SessionKind::sse: step = sse_[slot].on_read(c, env, data); break;
      case SessionKind::ws: step = ws_[slot].on_read(c, env, data); break;
      case SessionKind::h2: return h2_[slot].on_read(c, env, data);
      case SessionKind::pipe: return pipe_[slot].on_read(c, env, data);
    }
    return env.plugins == nullptr ? step : judged(c, env, step);
  }
  Step on_eof(uint32_t slot, Conn& c, SessionEnv& env) noexcept;
  Step on_timer(uint32_t slot, Conn& c, SessionEnv& env, uint64_t now) noexcept;
  uint64_t deadline(uint32_t slot, const Conn& c, const SessionEnv& env) const noexcept;
  Step on_stop(uint32_t slot, Conn& c, SessionEnv& env) noexcept;
  int finish(uint32_t slot, Conn& c, SessionEnv& env, bool ok, uint64_t now) noexcept;
  std::span<const char> farewell(uint32_t slot, Conn& c, SessionEnv& env) noexcept;

 private:
  void setup_pipeline(uint32_t slots, const RequestTable& table, const RunConfig& config,
                      std::span<const Origin> origins, std::size_t head_room);  // throws bad_alloc
  static Start before_send(Conn& c, SessionEnv& env, const RequestTable& table) noexcept;
  // A multiplexed request `r` goes through the plugins' on_request (rendered for them):
  // skipped or failed, its record goes back to the session.
  Start plugged(uint32_t slot, Conn& c, InFlight& r, SessionEnv& env, const RequestTable& table) noexcept;
  // Its header list when a plugin changed its head (empty: the line's own).
  std::span<const nghttp2_nv> plugged_h2(const Conn& c, const InFlight& r, const SessionEnv& env) noexcept;
  // A response or stream that ended well goes to the plugins' on_response: their verdict.
  static Step judged(Conn& c, SessionEnv& env, Step step) noexcept;

  std::vector<SseSession> sse_;  // one per slot when the run has SSE lines
  std::vector<WsSession> ws_;    // one per slot when the run has WebSocket lines
  std::unique_ptr<H2Shared> h2_shared_;  // before h2_: its pool outlives the sessions
  std::unique_ptr<H2Session[]> h2_;      // one per slot with HTTP/2
  PipeShared pipe_shared_;
  std::unique_ptr<PipeSession[]> pipe_;  // one per slot with --pipeline N > 1 ...
  std::unique_ptr<InFlight[]> pipe_records_;  // ... N records each
  std::unique_ptr<char[]> pipe_out_;     // ... and its output (backed once written)
  H2HeadList h2_heads_;  // HTTP/2 with plugins that see requests
  std::span<const Origin> origins_;      // the connection groups (Origin::http2: each one's protocol)
  uint32_t slots_ = 0;
  const char* start_error_ = nullptr;
};

}  // namespace ringload
