// A connection slot of the slab, addressed by index: its socket, its transport, and the
// request in flight on it. The session state beyond the HTTP exchange lives in per-kind
// arrays (engine/session/sessions.hpp), allocated only for the kinds a run has.
#pragma once
#include <cstdint>
#include <span>

#include "engine/session/http_exchange.hpp"
#include "engine/transport/transport.hpp"
#include "engine/requests/request_table.hpp"

namespace ringload {

enum class ConnState : uint8_t { closed, connecting, handshaking, idle, busy, retry_wait };

// Which session the request in flight is (engine/session/).
enum class SessionKind : uint8_t { http, sse, ws };

struct Conn {
  int fd = -1;
  uint32_t gen = 0;                  // changes with each new socket: older completions are stale
  ConnState state = ConnState::closed;
  SessionKind session = SessionKind::http;  // busy: the kind of the request in flight
  bool recv_armed = false;
  bool in_free_list = false;         // its slot is in the origin's free list (maybe stale: check state)
  bool request_queued = false;       // busy: the request's bytes went to the transport
  uint16_t origin = 0;
  uint32_t slot = 0;                 // its index in the slab
  uint32_t connect_failures = 0;     // consecutive, for the reconnect back-off
  // The request in flight (state == busy).
  const RequestLine* request = nullptr;
  const StreamSpec* stream = nullptr;  // its stream (SSE, WebSocket); null: plain HTTP
  uint32_t iteration = 0;            // the pass the request belongs to
  uint64_t seq = 0;                  // the shard's count of requests sent before it (the export id)
  uint32_t head_len = 0;             // bytes of the assembled request head in `scratch`
  std::span<const char> body;        // the request body: the table's, or a plugin's
  uint64_t intended_ns = 0;          // when the request should have been sent
  uint64_t sent_ns = 0;              // when its send was queued
  uint64_t first_byte_ns = 0;        // first response byte (0: none yet)
  CarryBuffer carry;                 // a response head split across reads
  char* scratch = nullptr;           // the request head, then (WebSocket) outgoing frames
  ResponseTap tap;                   // what of the response the export and plugins keep
  HttpExchange exchange;             // HTTP/1.1 response reader (every session starts with one)
  Transport transport;
};

}  // namespace ringload
