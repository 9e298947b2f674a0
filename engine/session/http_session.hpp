// An HTTP/1.1 request and its response: the request head (assembled in the slot's
// scratch) and body (in the request table) go out once; the slot's HttpExchange reads the
// response. Keeps no state of its own. The session contract is in session.hpp.
#pragma once
#include <span>

#include "engine/core/conn.hpp"
#include "engine/session/session.hpp"

namespace ringload {

struct HttpSession {
  // The request's bytes, once: the head in the scratch, the body in the table.
  static Output request(Conn& c, const RequestTable& table) noexcept;

  static void start(Conn&, SessionEnv&, uint64_t) noexcept {}
  static Step produce(Conn& c, SessionEnv& env, const RequestTable& table, Output& out) noexcept;
  static Step on_read(Conn& c, SessionEnv& env, std::span<const char> data) noexcept;
  static Step on_eof(Conn& c, SessionEnv& env) noexcept;
  static Step on_timer(Conn&, SessionEnv&, uint64_t) noexcept {
    return Step::fail(ErrorKind::timeout, "request timed out");
  }
  static uint64_t deadline(const Conn& c, const SessionEnv& env) noexcept;
  static Step on_stop(Conn&, SessionEnv&) noexcept { return Step::more(); }
  static int finish(Conn&, SessionEnv&, bool, uint64_t) noexcept { return -1; }

  // A complete response: its status decides success; the head says whether the
  // connection may carry the next request.
  static Step complete(const Conn& c, const SessionEnv& env) noexcept;
};

}  // namespace ringload
