// One request in flight: what the shard needs to time, count and export it. A connection
// whose session is a request's (HTTP/1.1, SSE, WebSocket: one at a time) keeps it in
// Conn::req; a session that multiplexes (HTTP/2 streams; HTTP/1.1 pipelining) owns a
// table of them, one per request on the wire, and hands each back to the shard when it
// ends (RequestEnds in session.hpp).
#pragma once
#include <cstdint>
#include <span>

#include "engine/requests/request_table.hpp"
#include "engine/session/http_exchange.hpp"

namespace ringload {

struct InFlight {
  const RequestLine* request = nullptr;
  const StreamSpec* stream = nullptr;  // its stream (SSE, WebSocket); null: plain HTTP
  uint32_t iteration = 0;            // the pass the request belongs to
  uint64_t seq = 0;                  // the shard's count of requests sent before it (the export id)
  uint32_t head_len = 0;             // bytes of the assembled request head in the slot's scratch
  bool request_queued = false;       // the request's bytes went to the transport
  bool resent = false;               // a second attempt (not processed the first time: a GOAWAY)
  uint16_t record = 0;               // its index in its session's table (0: Conn::req), which
                                     // also addresses its plugin state (plugin_shard.hpp)
  std::span<const char> body;        // the request body: the table's, or a plugin's
  uint64_t intended_ns = 0;          // when the request should have been sent
  uint64_t sent_ns = 0;              // when its send was queued
  uint64_t first_byte_ns = 0;        // first response byte (0: none yet)
  ResponseTap tap;                   // what of the response the export and plugins keep
};

}  // namespace ringload
