// A connection slot of the slab, addressed by index: its socket, its transport, and the
// request in flight on it. The session state beyond the HTTP exchange lives in per-kind
// arrays (engine/session/sessions.hpp), allocated only for the kinds a run has.
#pragma once
#include <cstdint>
#include <span>

#include "engine/session/http_exchange.hpp"
#include "engine/transport/transport.hpp"
#include "engine/core/in_flight.hpp"
#include "engine/requests/request_table.hpp"

namespace ringload {

enum class ConnState : uint8_t { closed, connecting, handshaking, idle, busy, retry_wait };

// Which session the request in flight is (engine/session/); h2, pipe (HTTP/1.1
// pipelining): the connection's.
enum class SessionKind : uint8_t { http, sse, ws, h2, pipe };

struct Conn {
  int fd = -1;                       // open: the descriptor, or with direct sockets the slot's
                                     // index in the ring's file table (direct_fd.hpp)
  uint32_t gen = 0;                  // changes with each new socket: older completions are stale
  ConnState state = ConnState::closed;
  SessionKind session = SessionKind::http;  // busy: the kind of the request in flight
  bool recv_armed = false;
  bool in_free_list = false;         // its slot is in the origin's free list (maybe stale: check state)
  uint16_t origin = 0;
  uint32_t slot = 0;                 // its index in the slab
  uint32_t connect_failures = 0;     // consecutive, for the reconnect back-off
  uint16_t setup_errno = 0;          // a direct socket's chain failed before its connect
  uint32_t unanswered = 0;           // consecutive HTTP/2 connections that failed before any
                                     // stream was answered (a rejected preface): back-off too
  bool answered = false;             // a request got a complete response on this connection
  uint16_t capacity = 1;             // requests it may carry at once (the session says, once ready)
  uint16_t in_flight = 0;            // requests on it now (state == busy while > 0)
  bool mux = false;                  // the session is the connection's, not a request's: it owns
                                     // the in-flight records (HTTP/2 streams, a pipeline; in_flight.hpp)
  InFlight req;                      // the request in flight when the session is a request's
  CarryBuffer carry;                 // a response head split across reads
  char* scratch = nullptr;           // the request head, then (WebSocket) outgoing frames
  HttpExchange exchange;             // HTTP/1.1 response reader (every session starts with one)
  Transport transport;
};

}  // namespace ringload
