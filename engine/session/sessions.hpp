// The sessions of one shard's slots: the dispatch from a slot's SessionKind to its
// session type (session.hpp has the contract), and the per-slot state of the kinds that
// keep some, allocated only for the kinds the run has (SSE and WebSocket lines).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/conn.hpp"
#include "engine/session/http_session.hpp"
#include "engine/session/session.hpp"
#include "engine/session/sse_session.hpp"
#include "engine/session/ws_session.hpp"

namespace ringload {

class Sessions {
 public:
  // Per-slot state for `slots` connections, for the stream kinds `table` has.
  std::string setup(uint32_t slots, const RequestTable& table, const RunConfig& config) noexcept;
  // Bytes of the per-slot stream state (0: a run without streams).
  std::size_t bytes() const noexcept {
    return sse_.capacity() * sizeof(SseSession) + ws_.capacity() * sizeof(WsSession);
  }

  // The kind of session a request line is.
  static SessionKind kind_of(const StreamSpec* stream) noexcept {
    if (stream == nullptr) return SessionKind::http;
    return stream->proto == StreamProto::sse ? SessionKind::sse : SessionKind::ws;
  }
  // The session needs to hear when its sends complete (it writes its next bytes into
  // the same scratch); otherwise a successful send may post no completion.
  static bool needs_send_completion(const Conn& c) noexcept { return c.session == SessionKind::ws; }
  // The consumer of the stream the slot's HttpExchange reads (null: plain HTTP).
  StreamSink* sink(uint32_t slot, const Conn& c) noexcept {
    switch (c.session) {
      case SessionKind::http: return nullptr;
      case SessionKind::sse: return &sse_[slot];
      case SessionKind::ws: return &ws_[slot];
    }
    return nullptr;
  }

  // What becomes of a request once its session set up and the plugins saw it: sent,
  // skipped by a plugin, or failed in a plugin's hook (failure_message() says why).
  enum class Start : uint8_t { send, skip, failed };
  Start start(uint32_t slot, Conn& c, SessionEnv& env, const RequestTable& table, uint64_t now) noexcept {
    switch (c.session) {
      case SessionKind::http: HttpSession::start(c, env, now); break;
      case SessionKind::sse: sse_[slot].start(c, env, now); break;
      case SessionKind::ws: ws_[slot].start(c, env, now); break;
    }
    return env.plugins == nullptr ? Start::send : before_send(c, env, table);
  }
  static const char* failure_message(const SessionEnv& env) noexcept;
  Step produce(uint32_t slot, Conn& c, SessionEnv& env, const RequestTable& table, Output& out) noexcept {
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
  static Start before_send(Conn& c, SessionEnv& env, const RequestTable& table) noexcept;
  // A response or stream that ended well goes to the plugins' on_response: their verdict.
  static Step judged(Conn& c, SessionEnv& env, Step step) noexcept;

  std::vector<SseSession> sse_;  // one per slot when the run has SSE lines
  std::vector<WsSession> ws_;    // one per slot when the run has WebSocket lines
};

}  // namespace ringload
