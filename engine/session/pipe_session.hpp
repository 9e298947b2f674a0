// HTTP/1.1 pipelining (--pipeline N, RFC 9112 §9.3.2): up to N requests on the wire per
// connection, their responses read in order by the slot's HttpExchange. The session is
// the connection's (Conn::mux, capacity N): it owns a FIFO of N InFlight records, renders
// the requests not yet written into one output (their heads, and bodies while they fit:
// one send for a batch), and hands each record back through SessionEnv::ends when its
// response completes. The session contract is in session.hpp.
//
// When the connection ends with requests left (the server closed, answered
// `Connection: close`, sent a bad response, or the oldest timed out), the oldest takes the
// cause and every later one is "unanswered": an error of kind read, counted in
// Counters::pipeline_unanswered. None is resent, so -n stays exact (like HTTP/2's streams
// above a GOAWAY).
#pragma once
#include <cstdint>
#include <span>

#include "engine/core/conn.hpp"
#include "engine/requests/request.hpp"
#include "engine/session/session.hpp"

namespace ringload {

class PluginShard;

// What the pipelining sessions of a shard share: what they render from.
struct PipeShared {
  const RequestTable* table = nullptr;
  std::span<const Origin> origins;
  uint32_t depth = 1;            // --pipeline
  std::size_t head_room = 0;     // the longest head rendered (the slot scratch's size)
  std::size_t out_size = 0;      // bytes of each slot's output
  const PluginShard* plugins = nullptr;  // set: requests were rendered for the plugins (their
                                         // heads, as sent, are there); head_room fits any
};

class PipeSession {
 public:
  // The slot's records (shared.depth of them) and output (shared.out_size bytes).
  void bind(const PipeShared& shared, InFlight* records, char* out) noexcept {
    shared_ = &shared;
    records_ = records;
    out_ = out;
  }
  // The connection is ready: an empty pipeline of shared.depth.
  void ready(uint32_t slot, Conn& c) noexcept;
  InFlight& acquire() noexcept;
  // acquire()'s record goes back unused (a plugin skipped its request, or failed on it).
  void unacquire() noexcept {
    --held_;
    --unwritten_;
  }
  void start(InFlight& r, SessionEnv& env, uint64_t now) noexcept;
  Step produce(Conn& c, SessionEnv& env, Output& out) noexcept;
  Step on_read(Conn& c, SessionEnv& env, std::span<const char> data) noexcept;
  Step on_eof(Conn& c, SessionEnv& env) noexcept;
  Step on_timer(SessionEnv& env, uint64_t now) noexcept;
  uint64_t deadline() const noexcept { return earliest_; }
  // The connection is going: every request held ends as failed (the oldest with `kind`,
  // the others as unanswered).
  void abort(Conn& c, SessionEnv& env, ErrorKind kind, const char* message, uint64_t now) noexcept;

  // Requests held: written or waiting to be.
  uint32_t held() const noexcept { return held_; }

 private:
  InFlight& at(uint32_t i) const noexcept { return records_[(oldest_ + i) % shared_->depth]; }
  // The oldest request ends (it leaves the FIFO first: ended() may not see it held).
  void end_oldest(SessionEnv& env, const RequestEnd& end) noexcept;
  void end_answered(const Conn& c, SessionEnv& env) noexcept;

  const PipeShared* shared_ = nullptr;
  InFlight* records_ = nullptr;
  char* out_ = nullptr;
  uint32_t slot_ = 0;
  uint32_t oldest_ = 0;     // the FIFO's head in records_
  uint32_t held_ = 0;       // records in the FIFO
  uint32_t unwritten_ = 0;  // the last of them, not yet given to the transport
  bool reading_ = false;    // the exchange was started for the oldest's response
  uint64_t earliest_ = UINT64_MAX;  // no request's deadline is before this
};

}  // namespace ringload
