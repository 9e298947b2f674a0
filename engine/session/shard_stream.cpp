// Streams on a shard's connections: Server-Sent Events over an HTTP response body and
// WebSocket sessions after a 101. The HTTP exchange parses the head and (SSE) the body
// framing and hands the stream's bytes here through the connection's ConnSink; this file
// decides when a stream ends, what it counts and what it exports.
//
// A stream is one "request" for the run (-n, --qps, requests/s). It ends well (the server
// ended it, or the line's max_events / until / stream_timeout / expect / idle_timeout
// said stop) or fails through fail() like any request: the events and messages received
// before a failure are exported all the same.
#include <sys/random.h>
#include <sys/socket.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha.h>

#include <algorithm>
#include <cstring>

#include "engine/core/clock.hpp"
#include "engine/output/export_queue.hpp"
#include "engine/core/shard.hpp"
#include "proto/token.hpp"

namespace ringload {
namespace {

namespace ws = proto::ws;

// How long a client-initiated close waits for the server's close frame.
constexpr uint64_t ws_close_wait_ns = 2'000'000'000;

}  // namespace

StreamSink::Verdict ConnSink::on_stream_head(const proto::ResponseHead& head,
                                             std::span<const proto::Header> headers, const char*& why) noexcept {
  return shard->stream_head(slot, head, headers, why);
}

bool ConnSink::on_stream_data(std::span<const char> data) noexcept {
  Conn& c = shard->conns_[slot];
  if (c.stream == nullptr) return false;  // the connection failed under the head's handling
  return c.stream->proto == StreamProto::sse ? shard->sse_data(slot, data) : shard->ws_data(slot, data);
}

// Per-slot stream state, only for the kinds of stream the run has.
std::string Shard::setup_streams(uint32_t slots) noexcept {
  bool sse = false, websocket = false;
  for (const StreamSpec& s : table_.streams) (s.proto == StreamProto::sse ? sse : websocket) = true;
  try {
    if (sse) sse_ = std::vector<proto::SseParser>(slots);
    if (websocket) ws_ = std::vector<WsConn>(slots);
  } catch (const std::bad_alloc&) {
    return "out of memory for the stream state of " + std::to_string(slots) + " connections";
  }
  for (uint32_t i = 0; i < slots; ++i) {
    Conn& c = conns_[i];
    c.sink.shard = this;
    c.sink.slot = i;
    if (sse) c.sse = &sse_[i];
    if (websocket) {
      c.ws = &ws_[i];
      c.ws->assembler = ws::MessageAssembler(config_.ws_max_message);
    }
  }
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = now_ns();
  rng_ = seed | 1;
  return {};
}

// splitmix64: WebSocket keys and masking keys need to be unpredictable to a browser's
// script (RFC 6455 §10.3), not secret: a load generator has no script to protect from.
uint64_t Shard::next_random() noexcept {
  uint64_t z = (rng_ += 0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

// The request was assembled in the scratch; a WebSocket key is written over the
// placeholder and the accept value it calls for computed (wolfSSL's SHA-1 and Base64).
void Shard::stream_start(uint32_t slot, uint64_t now) noexcept {
  Conn& c = conns_[slot];
  c.stream_items = 0;
  c.last_item_ns = 0;
  c.last_rx_ns = now;
  c.stream_end = StreamEnd::server;
  if (c.stream->proto == StreamProto::sse) {
    c.sse->reset();
    return;
  }
  WsConn& w = *c.ws;
  const ws::MessageAssembler assembler = w.assembler;
  w = WsConn{};
  w.assembler = assembler;
  w.assembler.reset();
  w.sending = true;  // the handshake request itself
  uint64_t raw[2] = {next_random(), next_random()};
  char key[ws::key_length + 4];
  word32 key_len = sizeof key;
  Base64_Encode_NoNl(reinterpret_cast<const byte*>(raw), sizeof raw, reinterpret_cast<byte*>(key), &key_len);
  std::memcpy(c.scratch + c.stream->key_offset, key, ws::key_length);
  char input[ws::key_length + ws::accept_guid.size()];
  const std::size_t n = ws::accept_key_input(input, {key, ws::key_length});
  byte sha[WC_SHA_DIGEST_SIZE];
  wc_ShaHash(reinterpret_cast<const byte*>(input), static_cast<word32>(n), sha);
  char accept[ws::accept_length + 4];
  word32 accept_len = sizeof accept;
  Base64_Encode_NoNl(sha, sizeof sha, reinterpret_cast<byte*>(accept), &accept_len);
  std::memcpy(w.accept, accept, ws::accept_length);
}

StreamSink::Verdict Shard::stream_head(uint32_t slot, const proto::ResponseHead& head,
                                       std::span<const proto::Header> headers, const char*& why) noexcept {
  Conn& c = conns_[slot];
  const uint64_t now = rx_ns_;
  c.last_rx_ns = now;
  if (c.stream->proto == StreamProto::sse) {
    // An error page is read as an ordinary response (its status decides); a 2xx must be
    // an event stream.
    if (head.status < 200 || head.status > 299) return StreamSink::Verdict::http;
    for (const proto::Header& h : headers) {
      if (!proto::iequals(h.name, "content-type")) continue;
      if (proto::iequals(proto::trim_ows(h.value.substr(0, h.value.find(';'))), "text/event-stream"))
        return StreamSink::Verdict::stream;
    }
    why = "SSE: the response's Content-Type is not text/event-stream";
    return StreamSink::Verdict::fail;
  }
  WsConn& w = *c.ws;
  if (head.status != 101) {
    why = "WebSocket handshake: the server did not answer 101 Switching Protocols";
    return StreamSink::Verdict::fail;
  }
  const std::span<const std::string> offered = c.stream->subprotocols;
  std::array<std::string_view, 16> protocols;
  const std::size_t count = std::min(offered.size(), protocols.size());
  for (std::size_t i = 0; i < count; ++i) protocols[i] = offered[i];
  why = ws::check_upgrade_headers(headers, {w.accept, ws::accept_length}, {protocols.data(), count});
  if (why != nullptr) return StreamSink::Verdict::fail;
  stats_->ws_handshake.record(now - c.sent_ns);
  w.phase = WsConn::Phase::open;
  stream_arm_timer(slot, now);  // from the head's deadline to the session's idle one
  ws_pump(slot);
  return StreamSink::Verdict::stream;
}

// Decoded body bytes of an SSE stream. false: the stream ended here (the connection was
// closed, or failed).
bool Shard::sse_data(uint32_t slot, std::span<const char> in) noexcept {
  Conn& c = conns_[slot];
  const uint64_t now = rx_ns_;
  c.last_rx_ns = now;
  StreamCounters& k = stats_->streams;
  k.sse_bytes += in.size();
  const StreamSpec& spec = *c.stream;
  while (!in.empty()) {
    proto::SseEvent ev;
    const proto::SseResult r = c.sse->feed(in, ev);
    in = in.subspan(r.consumed);
    if (r.status == proto::Status::error) {
      fail(slot, ErrorKind::protocol, proto::to_string(r.error));
      return false;
    }
    if (r.status != proto::Status::done) break;
    ++k.sse_events;
    ++c.stream_items;
    if (c.last_item_ns == 0) {
      stats_->sse_ttfe.record(now - c.sent_ns);
    } else {
      stats_->sse_gap.record(now - c.last_item_ns);
    }
    c.last_item_ns = now;
    if (plan_.export_queue != nullptr) {
      ExportItem item;
      item.t_ns = now - c.intended_ns;
      item.has_type = !ev.type.empty();
      item.type = ev.type;
      item.event_id = ev.id;
      plan_.export_queue->item(c.tap.id, item);
      plan_.export_queue->item_data(c.tap.id, ev.data);
    }
    if (spec.has_until && ev.data == spec.until) {
      stream_finish(slot, StreamEnd::until);
      return false;
    }
    if (spec.max_events != 0 && c.stream_items >= spec.max_events) {
      stream_finish(slot, StreamEnd::max_events);
      return false;
    }
  }
  return true;
}

// Bytes after the 101: frames, through the message assembler.
bool Shard::ws_data(uint32_t slot, std::span<const char> in) noexcept {
  Conn& c = conns_[slot];
  WsConn& w = *c.ws;
  const uint32_t gen = c.gen;
  const uint64_t now = rx_ns_;
  StreamCounters& k = stats_->streams;
  const StreamSpec& spec = *c.stream;
  while (!in.empty() && !w.assembler.closed()) {
    const ws::MessageResult r = w.assembler.feed(in);
    in = in.subspan(r.consumed);
    const bool control = ws::is_control(r.opcode);
    // A header that breaks a rule (size limit, fragmentation) opens nothing.
    if (r.message_start && r.status != proto::Status::error) {
      if (control) {
        w.ctrl_len = 0;
        w.ctrl_op = r.opcode;
      } else {
        w.data_len = 0;
        w.until_match = spec.has_until && r.opcode == ws::Opcode::text;
        if (plan_.export_queue != nullptr) {
          ExportItem item;
          item.t_ns = now - c.intended_ns;
          item.message = true;
          item.binary = r.opcode == ws::Opcode::binary;
          plan_.export_queue->item(c.tap.id, item);
        }
      }
    }
    if (!r.data.empty() && r.status != proto::Status::error) {
      if (control) {
        // A control payload is at most 125 bytes (the decoder enforces it).
        std::memcpy(w.ctrl + w.ctrl_len, r.data.data(), r.data.size());
        w.ctrl_len = static_cast<uint8_t>(w.ctrl_len + r.data.size());
      } else {
        if (plan_.export_queue != nullptr) plan_.export_queue->item_data(c.tap.id, r.data);
        if (w.until_match) {
          const std::string_view got(r.data.data(), r.data.size());
          w.until_match = w.data_len + got.size() <= spec.until.size() &&
                          spec.until.compare(w.data_len, got.size(), got) == 0;
        }
        w.data_len += r.data.size();
        k.ws_bytes_received += r.data.size();
        c.last_rx_ns = now;  // data, not pings: a server's keepalive does not hold a session
      }
    }
    if (r.status == proto::Status::error) {
      ws_fail(slot, ws::close_code_for(r.error), proto::to_string(r.error));
      return false;
    }
    if (r.status != proto::Status::done) continue;
    if (control) {
      ws_control(slot);
      if (c.gen != gen) return false;
      continue;
    }
    c.last_rx_ns = now;
    ++k.ws_received;
    ++c.stream_items;
    // FIFO: this message answers the oldest send not yet answered (or one not timed).
    if (w.rtt_head != w.rtt_tail) {
      stats_->ws_rtt.record(now - w.rtt_sent[w.rtt_head++ % w.rtt_sent.size()]);
    } else if (w.rtt_untimed != 0) {
      --w.rtt_untimed;
    }
    if (w.phase != WsConn::Phase::open) continue;
    if (w.until_match && w.data_len == spec.until.size()) {
      ws_begin_close(slot, StreamEnd::until, now);
    } else if (spec.has_expect && c.stream_items >= spec.expect) {
      ws_begin_close(slot, StreamEnd::expect, now);
    }
    if (c.gen != gen) return false;
  }
  return c.gen == gen;
}

// A whole control frame is in w.ctrl.
void Shard::ws_control(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  WsConn& w = *c.ws;
  StreamCounters& k = stats_->streams;
  switch (w.ctrl_op) {
    case ws::Opcode::ping:
      // Only the latest ping needs its pong (RFC 6455 §5.5.3).
      ++k.ws_pings;
      std::memcpy(w.pong, w.ctrl, w.ctrl_len);
      w.pong_len = w.ctrl_len;
      w.pong_queued = true;
      ws_pump(slot);
      return;
    case ws::Opcode::pong:
      ++k.ws_pongs_received;
      return;
    default:
      break;
  }
  const ws::CloseInfo info = ws::parse_close({w.ctrl, w.ctrl_len});
  if (!info.valid) {
    ws_fail(slot, 1002, "WebSocket: invalid close frame");
    return;
  }
  w.close_received = true;
  k.close_codes.add(info.code);
  // 1002-1015 say something went wrong (protocol error, 1011 internal error ...): the
  // session failed, like an HTTP 5xx. 1000, 1001, no code and 3000-4999 end it normally.
  w.server_error_close = info.code >= 1002 && info.code <= 1015 && info.code != 1005;
  if (!w.close_sent && !w.close_queued) {
    // The server closes: echo its code (§5.5.1) and end once the echo is out.
    w.closed_by_server = true;
    c.stream_end = StreamEnd::server;
    w.close_deadline_ns = rx_ns_ + ws_close_wait_ns;
    if (plan_.export_queue != nullptr) plan_.export_queue->close(c.tap.id, info.code, true, info.reason);
    w.close_code = info.has_code ? info.code : 0;
    w.close_queued = true;
    w.phase = WsConn::Phase::closing;
    stream_arm_timer(slot, rx_ns_);
    ws_pump(slot);  // it ends the session once the echo is sent
    return;
  }
  // Ours went first: the handshake is complete. (Ours still queued: ws_pump ends it.)
  if (w.close_sent) stream_finish(slot, c.stream_end);
}

// The server broke the protocol: tell it why with a close frame (RFC 6455 §7.1.7, a
// SHOULD), best effort and only where nothing else is being sent (plain connections),
// then fail the session.
void Shard::ws_fail(uint32_t slot, uint16_t code, const char* message) noexcept {
  Conn& c = conns_[slot];
  if (c.tls == nullptr && !c.ws->sending && !c.ws->close_sent && c.fd >= 0) {
    char frame[16];
    const std::size_t n = ws::encode_close_frame(frame, code, {}, static_cast<uint32_t>(next_random()));
    if (n != 0) (void)::send(c.fd, frame, n, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  fail(slot, ErrorKind::protocol, message);
}

// Our side ends the session: a close frame 1000, then the server's close (or a bound).
void Shard::ws_begin_close(uint32_t slot, StreamEnd end, uint64_t now) noexcept {
  Conn& c = conns_[slot];
  WsConn& w = *c.ws;
  if (w.phase == WsConn::Phase::closing) return;
  c.stream_end = end;
  w.phase = WsConn::Phase::closing;
  w.close_code = 1000;
  w.close_queued = true;
  w.close_deadline_ns = now + ws_close_wait_ns;
  if (plan_.export_queue != nullptr) plan_.export_queue->close(c.tap.id, 1000, false, {});
  stream_arm_timer(slot, now);
  ws_pump(slot);
}

// Messages left to send (this pass, or passes to come).
bool Shard::ws_more(const Conn& c) noexcept {
  return c.ws->next_message < c.stream->messages.size();
}

bool Shard::ws_busy(const Conn& c) const noexcept {
  if (c.tls != nullptr) return !c.tls_pending.head.empty() || !c.tls_pending.body.empty();
  return c.ws->sending;
}

// Sends what is due in one send, as much as the scratch holds: a pong, then our close
// (nothing follows it), else the line's messages in order, each masked with a fresh key.
// A message larger than the scratch goes out in pieces, one send each.
void Shard::ws_pump(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  WsConn& w = *c.ws;
  const uint32_t gen = c.gen;
  while (c.gen == gen && c.state == ConnState::busy && !ws_busy(c)) {
    if (w.close_sent) {
      // On TLS the close frame must leave the session's output before the socket closes.
      const bool flushed = c.tls == nullptr || (!c.tls_sending && c.tls->output().empty());
      if (w.close_received && flushed) stream_finish(slot, c.stream_end);
      return;
    }
    const std::span<char> out{c.scratch, scratch_size_};
    std::size_t len = 0;
    if (w.pong_queued) {
      w.pong_queued = false;
      len = ws::encode_pong_frame(out, {w.pong, w.pong_len}, static_cast<uint32_t>(next_random()));
      ++stats_->streams.ws_pongs_sent;
    }
    if (w.close_queued) {
      w.close_queued = false;
      w.close_sent = true;
      len += ws::encode_close_frame(out.subspan(len), w.close_code, {}, static_cast<uint32_t>(next_random()));
    } else {
      len = ws_fill(slot, out, len);
    }
    if (len == 0) {
      // Every message is out and none (or no more) is expected back: done.
      if (w.phase == WsConn::Phase::open && c.stream->has_expect && c.stream_items >= c.stream->expect)
        ws_begin_close(slot, StreamEnd::expect, now_ns());
      return;
    }
    stats_->counters.bytes_out += len;
    if (c.tls != nullptr) {
      c.tls_pending = {{c.scratch, len}, {}};
      tls_write(slot);
      continue;
    }
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_send(sqe, c.fd, c.scratch, len, MSG_WAITALL | MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, pack(Op::send, slot, c.gen));
    c.send_len = static_cast<uint32_t>(len);
    w.sending = true;
  }
}

// Appends the line's next messages to out[len..], each masked with a fresh key; returns
// the new length. A message that does not fit goes as fragments, one per send, so a pong
// or our close can go between them (RFC 6455 §5.4 lets control frames interleave).
std::size_t Shard::ws_fill(uint32_t slot, std::span<char> out, std::size_t len) noexcept {
  Conn& c = conns_[slot];
  WsConn& w = *c.ws;
  const std::vector<WsMessage>& messages = c.stream->messages;
  uint64_t now = 0;
  const uint64_t interval = c.stream->interval_ns;
  while (w.phase == WsConn::Phase::open && ws_more(c)) {
    const WsMessage& m = messages[w.next_message];
    // Paced: a message starts only when due (the timer calls ws_pump then).
    if (interval != 0 && w.message_offset == 0) {
      if (now == 0) now = now_ns();
      if (w.next_send_ns == 0) w.next_send_ns = now;
      if (now < w.next_send_ns) {
        stream_arm_timer(slot, now);  // wake for it
        break;
      }
    }
    const std::size_t room = out.size() - len;
    const std::size_t remaining = m.data.size() - w.message_offset;
    if (room < ws::limits::max_client_header + (remaining == 0 ? 0 : 1)) break;
    const std::size_t piece = std::min(room - ws::limits::max_client_header, remaining);
    const bool fin = piece == remaining;
    const ws::Opcode op = w.message_offset != 0 ? ws::Opcode::continuation
                          : m.binary            ? ws::Opcode::binary
                                                : ws::Opcode::text;
    const auto key = static_cast<uint32_t>(next_random());
    len += ws::encode_frame_header(out.subspan(len), op, fin, piece, key);
    std::memcpy(out.data() + len, m.data.data() + w.message_offset, piece);
    ws::mask_payload(out.subspan(len, piece), key, 0);
    len += piece;
    w.message_offset += piece;
    if (!fin) break;  // the rest after this send
    w.message_offset = 0;
    if (++w.next_message == messages.size() && (c.stream->repeat == 0 || ++w.pass < c.stream->repeat))
      w.next_message = 0;  // the next pass
    if (interval != 0) w.next_send_ns += interval;  // an absolute schedule: no drift
    StreamCounters& k = stats_->streams;
    ++k.ws_sent;
    k.ws_bytes_sent += m.data.size();
    if (now == 0) now = now_ns();
    c.last_rx_ns = now;  // the idle time counts from the last message sent too
    // Send times for the round trip, FIFO; once one is not kept (the queue is full), none
    // is until the queue and the untimed ones drain, so replies never pair with the wrong send.
    if (w.rtt_untimed == 0 && w.rtt_tail - w.rtt_head < w.rtt_sent.size()) {
      w.rtt_sent[w.rtt_tail++ % w.rtt_sent.size()] = now;
    } else {
      ++w.rtt_untimed;
    }
  }
  return len;
}

// The server closed the connection during a session.
void Shard::ws_on_eof(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  WsConn& w = *c.ws;
  if (w.close_received || (w.close_sent && c.exchange.streaming())) {
    // The close handshake was under way: the session's work is done.
    stream_finish(slot, c.stream_end);
    return;
  }
  fail(slot, ErrorKind::read,
       c.exchange.streaming() ? "WebSocket: connection closed without a close frame"
                              : "connection closed before the WebSocket handshake completed");
}

// A stream that ended well: counted like a complete response, then the connection is
// closed (the rest of an SSE body or a WebSocket cannot carry another request).
void Shard::stream_finish(uint32_t slot, StreamEnd end) noexcept {
  Conn& c = conns_[slot];
  c.stream_end = end;
  count_response(slot, c.stream->proto == StreamProto::ws ? !c.ws->server_error_close
                                                          : success_status(c.exchange.status()));
  ++stats_->counters.closes_by_client;
  close_conn(slot);
  if (!stopping_) start_connect(slot);
}

// Stream figures of a finished stream (from finish_request, for every end).
void Shard::stream_account(Conn& c, bool ok, uint64_t now) noexcept {
  StreamCounters& k = stats_->streams;
  const auto end = static_cast<std::size_t>(ok ? c.stream_end : StreamEnd::error);
  if (c.stream->proto == StreamProto::sse) {
    ++k.sse_streams;
    ++k.sse_end[end];
    k.sse_comments += c.sse->comments();
    if (c.exchange.streaming()) stats_->sse_duration.record(now - c.sent_ns);
    return;
  }
  const WsConn& w = *c.ws;
  ++k.ws_sessions;
  ++k.ws_end[end];
  k.ws_closed_by[w.closed_by_server ? 1 : w.close_sent ? 0 : 2]++;
}

void Shard::stream_on_timer(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  const uint64_t now = now_ns();
  const uint64_t timeout = request_timeout(*c.request);
  const StreamSpec& spec = *c.stream;
  if (!c.exchange.streaming()) {
    // Before the head, stream_timeout cuts the wait too; an error page (no stream) only
    // has the gap bound.
    const bool head = c.exchange.state() == ExchangeState::head;
    const bool cut = head && spec.stream_timeout_ns != 0 && now >= c.sent_ns + spec.stream_timeout_ns;
    if (cut || (timeout != 0 && now >= c.last_rx_ns + timeout)) {
      fail(slot, ErrorKind::timeout, head ? "no response head in time" : "request timed out");
      return;
    }
  } else if (spec.proto == StreamProto::sse) {
    if (spec.stream_timeout_ns != 0 && now >= c.sent_ns + spec.stream_timeout_ns) {
      stream_finish(slot, StreamEnd::stream_timeout);
      return;
    }
    if (timeout != 0 && now >= c.last_rx_ns + timeout) {
      fail(slot, ErrorKind::timeout, "SSE: nothing received for longer than the timeout");
      return;
    }
  } else {
    WsConn& w = *c.ws;
    if (w.phase == WsConn::Phase::open && spec.interval_ns != 0 && ws_more(c) &&
        now >= w.next_send_ns) {
      const uint32_t gen = c.gen;
      ws_pump(slot);
      if (c.gen != gen || c.state != ConnState::busy) return;
    }
    if (w.phase == WsConn::Phase::open && spec.stream_timeout_ns != 0 && now >= c.sent_ns + spec.stream_timeout_ns) {
      ws_begin_close(slot, StreamEnd::stream_timeout, now);
      return;
    }
    if (w.phase == WsConn::Phase::closing) {
      if (now >= w.close_deadline_ns) {
        stream_finish(slot, c.stream_end);  // the server never answered our close
        return;
      }
    } else if (spec.idle_timeout_ns != 0) {
      if (now >= c.last_rx_ns + spec.idle_timeout_ns) {
        ws_begin_close(slot, StreamEnd::idle_timeout, now);
        return;
      }
    } else if (timeout != 0 && now >= c.last_rx_ns + timeout) {
      fail(slot, ErrorKind::timeout, "WebSocket: nothing received for longer than the timeout");
      return;
    }
  }
  stream_arm_timer(slot, now);
}

// One timer per slot, at the earliest deadline in force. Activity moves the idle
// deadlines later without touching the timer: it fires early and is armed again.
void Shard::stream_arm_timer(uint32_t slot, uint64_t now) noexcept {
  Conn& c = conns_[slot];
  const uint64_t timeout = request_timeout(*c.request);
  const StreamSpec& spec = *c.stream;
  uint64_t at = UINT64_MAX;
  if (spec.proto == StreamProto::sse || c.ws->phase == WsConn::Phase::handshake) {
    if (spec.proto == StreamProto::sse && spec.stream_timeout_ns != 0) at = c.sent_ns + spec.stream_timeout_ns;
    if (timeout != 0) at = std::min(at, c.last_rx_ns + timeout);
  } else if (c.ws->phase == WsConn::Phase::closing) {
    at = c.ws->close_deadline_ns;
  } else if (spec.idle_timeout_ns != 0) {
    at = c.last_rx_ns + spec.idle_timeout_ns;
  } else if (timeout != 0) {
    at = c.last_rx_ns + timeout;
  }
  const WsConn* w = spec.proto == StreamProto::ws ? c.ws : nullptr;
  if (w != nullptr && w->phase == WsConn::Phase::open && spec.stream_timeout_ns != 0)
    at = std::min(at, c.sent_ns + spec.stream_timeout_ns);
  if (w != nullptr && w->phase == WsConn::Phase::open && spec.interval_ns != 0 &&
      ws_more(c) && w->next_send_ns != 0)
    at = std::min(at, w->next_send_ns);
  if (at == UINT64_MAX) {
    timers_.cancel(slot);
  } else {
    timers_.arm(slot, std::max(at, now));
  }
}

}  // namespace ringload
