#include "engine/session/ws_session.hpp"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha.h>

#include <algorithm>
#include <cstring>

#include "engine/core/clock.hpp"
#include "engine/output/export_queue.hpp"
#include "engine/plugins/plugin_shard.hpp"
#include "engine/session/http_session.hpp"
#include "proto/base64.hpp"
#include "proto/ws_close.hpp"
#include "proto/ws_encode.hpp"

namespace ringload {
namespace {

namespace ws = proto::ws;

// How long a client-initiated close waits for the server's close frame.
constexpr uint64_t close_wait_ns = 2'000'000'000;

}  // namespace

// The request (the opening handshake) is in the scratch: a fresh key goes over its
// placeholder, and the accept value it calls for is computed (SHA-1 from wolfSSL).
void WsSession::start(Conn& c, SessionEnv& env, uint64_t now) noexcept {
  const uint64_t max_message = env.config.ws_max_message;
  *this = WsSession(max_message);
  last_rx_ns_ = now;
  const uint64_t raw[2] = {env.random.next(), env.random.next()};
  char key[proto::base64_encoded_size(sizeof raw)];
  static_assert(sizeof key == ws::key_length);
  proto::base64_encode({reinterpret_cast<const char*>(raw), sizeof raw}, key);
  std::memcpy(c.scratch + c.req.stream->key_offset, key, ws::key_length);
  char input[ws::key_length + ws::accept_guid.size()];
  const std::size_t n = ws::accept_key_input(input, {key, ws::key_length});
  byte sha[WC_SHA_DIGEST_SIZE];
  wc_ShaHash(reinterpret_cast<const byte*>(input), static_cast<word32>(n), sha);
  static_assert(proto::base64_encoded_size(WC_SHA_DIGEST_SIZE) == ws::accept_length);
  proto::base64_encode({reinterpret_cast<const char*>(sha), sizeof sha}, accept_);
}

// The handshake first; once open, what is due in one send, as much as the scratch holds:
// a pong, then our close (nothing follows it), else the line's messages in order.
Step WsSession::produce(Conn& c, SessionEnv& env, const RequestTable& table, Output& out) noexcept {
  if (!c.req.request_queued) {
    out = HttpSession::request(c, table);
    return Step::more();
  }
  if (phase_ == Phase::handshake) return Step::more();
  c_ = &c;
  env_ = &env;
  // Everything sent before is out (the transport is writable): our close included.
  if (close_sent_) return close_received_ ? finished() : Step::more();
  const std::span<char> scratch{c.scratch, env.scratch_size};
  std::size_t len = 0;
  if (pong_queued_) {
    pong_queued_ = false;
    len = ws::encode_pong_frame(scratch, {pong_, pong_len_}, static_cast<uint32_t>(env.random.next()));
    ++env.stats.streams.ws_pongs_sent;
  }
  if (!close_queued_) len = fill(c, env, scratch, len);
  // Every message is out and none (or no more) is expected back: done.
  if (len == 0 && phase_ == Phase::open && c.req.stream->has_expect && received_ >= c.req.stream->expect)
    begin_close(StreamEnd::expect, now_ns());
  if (close_queued_) {
    close_queued_ = false;
    close_sent_ = true;
    len += ws::encode_close_frame(scratch.subspan(len), close_code_, {}, static_cast<uint32_t>(env.random.next()));
  }
  if (len == 0) return Step::more();
  env.stats.counters.bytes_out += len;
  out = {scratch.first(len), {}};
  return Step::more();
}

Step WsSession::on_read(Conn& c, SessionEnv& env, std::span<const char> data) noexcept {
  if (!c.exchange.streaming()) last_rx_ns_ = env.rx_ns;  // before the 101: any bytes
  c_ = &c;
  env_ = &env;
  step_ = Step::more();
  const ExchangeEvent ev = c.exchange.on_data(data, c.carry, env.headers, c.req.tap.active() ? &c.req.tap : nullptr);
  if (ev.kind == ExchangeEvent::Kind::error && !step_.terminal())
    return Step::fail(ErrorKind::protocol, ev.message != nullptr ? ev.message : proto::to_string(ev.error));
  return step_;
}

StreamSink::Verdict WsSession::on_stream_head(const proto::ResponseHead& head,
                                              std::span<const proto::Header> headers, const char*& why) noexcept {
  Conn& c = *c_;
  const uint64_t now = env_->rx_ns;
  last_rx_ns_ = now;
  if (head.status != 101) {
    why = "WebSocket handshake: the server did not answer 101 Switching Protocols";
    return Verdict::fail;
  }
  const std::span<const std::string> offered = c.req.stream->subprotocols;
  std::array<std::string_view, 16> protocols;
  const std::size_t count = std::min(offered.size(), protocols.size());
  for (std::size_t i = 0; i < count; ++i) protocols[i] = offered[i];
  why = ws::check_upgrade_headers(headers, {accept_, ws::accept_length}, {protocols.data(), count});
  if (why != nullptr) return Verdict::fail;
  env_->stats.ws_handshake.record(now - c.req.sent_ns);
  phase_ = Phase::open;
  return Verdict::stream;
}

// Bytes after the 101: frames, through the message assembler. false: the session ended
// here (step_ says how).
bool WsSession::on_stream_data(std::span<const char> in) noexcept {
  Conn& c = *c_;
  SessionEnv& env = *env_;
  const uint64_t now = env.rx_ns;
  StreamCounters& k = env.stats.streams;
  const StreamSpec& spec = *c.req.stream;
  while (!in.empty() && !assembler_.closed()) {
    const ws::MessageResult r = assembler_.feed(in);
    in = in.subspan(r.consumed);
    const bool control = ws::is_control(r.opcode);
    // A header that breaks a rule (size limit, fragmentation) opens nothing.
    if (r.message_start && r.status != proto::Status::error) {
      if (control) {
        ctrl_len_ = 0;
        ctrl_op_ = r.opcode;
      } else {
        data_len_ = 0;
        binary_ = r.opcode == ws::Opcode::binary;
        until_match_ = spec.has_until && r.opcode == ws::Opcode::text;
        if (env.exports != nullptr) {
          ExportItem item;
          item.t_ns = now - c.req.intended_ns;
          item.message = true;
          item.binary = r.opcode == ws::Opcode::binary;
          env.exports->item(c.req.tap.id, item);
        }
      }
    }
    if (!r.data.empty() && r.status != proto::Status::error) {
      if (control) {
        // A control payload is at most 125 bytes (the decoder enforces it).
        std::memcpy(ctrl_ + ctrl_len_, r.data.data(), r.data.size());
        ctrl_len_ = static_cast<uint8_t>(ctrl_len_ + r.data.size());
      } else {
        if (env.exports != nullptr) env.exports->item_data(c.req.tap.id, r.data);
        if (env.plugins != nullptr)
          env.plugins->message(c, binary_ ? RINGLOAD_MESSAGE_WS_BINARY : RINGLOAD_MESSAGE_WS_TEXT, {},
                               {r.data.data(), r.data.size()});
        if (until_match_) {
          const std::string_view got(r.data.data(), r.data.size());
          until_match_ = data_len_ + got.size() <= spec.until.size() && spec.until.compare(data_len_, got.size(), got) == 0;
        }
        data_len_ += r.data.size();
        k.ws_bytes_received += r.data.size();
        last_rx_ns_ = now;  // data, not pings: a server's keepalive does not hold a session
      }
    }
    if (r.status == proto::Status::error) {
      step_ = fail(ws::close_code_for(r.error), proto::to_string(r.error));
      return false;
    }
    if (r.status != proto::Status::done) continue;
    if (control) {
      step_ = on_control();
      if (step_.terminal()) return false;
      continue;
    }
    last_rx_ns_ = now;
    ++k.ws_received;
    ++received_;
    rtt_received(env, now);
    if (phase_ != Phase::open) continue;
    if (until_match_ && data_len_ == spec.until.size()) {
      begin_close(StreamEnd::until, now);
    } else if (spec.has_expect && received_ >= spec.expect) {
      begin_close(StreamEnd::expect, now);
    }
  }
  return true;
}

// A whole control frame is in ctrl_.
Step WsSession::on_control() noexcept {
  SessionEnv& env = *env_;
  StreamCounters& k = env.stats.streams;
  switch (ctrl_op_) {
    case ws::Opcode::ping:
      // Only the latest ping needs its pong (RFC 6455 §5.5.3); it goes with the next send.
      ++k.ws_pings;
      std::memcpy(pong_, ctrl_, ctrl_len_);
      pong_len_ = ctrl_len_;
      pong_queued_ = true;
      return Step::more();
    case ws::Opcode::pong:
      ++k.ws_pongs_received;
      return Step::more();
    default:
      break;
  }
  const ws::CloseInfo info = ws::parse_close({ctrl_, ctrl_len_});
  if (!info.valid) return fail(1002, "WebSocket: invalid close frame");
  close_received_ = true;
  k.close_codes.add(info.code);
  // 1002-1015 say something went wrong (protocol error, 1011 internal error ...): the
  // session failed, like an HTTP 5xx. 1000, 1001, no code and 3000-4999 end it normally.
  server_error_close_ = info.code >= 1002 && info.code <= 1015 && info.code != 1005;
  if (!close_sent_ && !close_queued_) {
    // The server closes: echo its code (§5.5.1); the session ends once the echo is out.
    closed_by_server_ = true;
    end_ = StreamEnd::server;
    close_deadline_ns_ = env.rx_ns + close_wait_ns;
    if (env.exports != nullptr) env.exports->close(c_->req.tap.id, info.code, true, info.reason);
    close_code_ = info.has_code ? info.code : 0;
    close_queued_ = true;
    phase_ = Phase::closing;
    return Step::more();
  }
  // Ours went first: the handshake is complete. (Ours still queued: produce() ends it.)
  return close_sent_ ? finished() : Step::more();
}

// The server broke the protocol: the session fails, and the server is told why with a
// close frame (RFC 6455 §7.1.7, a SHOULD) where nothing else is being sent.
Step WsSession::fail(uint16_t code, const char* message) noexcept {
  fail_code_ = code;
  return Step::fail(ErrorKind::protocol, message, true);
}

std::span<const char> WsSession::farewell(Conn&, SessionEnv& env) noexcept {
  if (close_sent_) return {};
  const std::size_t n = ws::encode_close_frame(farewell_, fail_code_, {}, static_cast<uint32_t>(env.random.next()));
  return {farewell_, n};
}

Step WsSession::finished() noexcept { return Step::done(!server_error_close_, Step::Then::close_by_client); }

// Our side ends the session: a close frame 1000, then the server's close (or a bound).
void WsSession::begin_close(StreamEnd end, uint64_t now) noexcept {
  if (phase_ == Phase::closing) return;
  end_ = end;
  phase_ = Phase::closing;
  close_code_ = 1000;
  close_queued_ = true;
  close_deadline_ns_ = now + close_wait_ns;
  if (env_->exports != nullptr) env_->exports->close(c_->req.tap.id, 1000, false, {});
}

// Appends the line's next messages to out[len..], each masked with a fresh key; returns
// the new length. A message that does not fit goes as fragments, one per send, so a pong
// or our close can go between them (RFC 6455 §5.4 lets control frames interleave).
std::size_t WsSession::fill(Conn& c, SessionEnv& env, std::span<char> out, std::size_t len) noexcept {
  const std::vector<WsMessage>& messages = c.req.stream->messages;
  uint64_t now = 0;
  const uint64_t interval = c.req.stream->interval_ns;
  while (phase_ == Phase::open && more_to_send(c)) {
    const WsMessage& m = messages[next_message_];
    // Paced: a message starts only when due (deadline() wakes the session for it).
    if (interval != 0 && message_offset_ == 0) {
      if (now == 0) now = now_ns();
      if (next_send_ns_ == 0) next_send_ns_ = now;
      if (now < next_send_ns_) break;
    }
    const std::size_t room = out.size() - len;
    const std::size_t remaining = m.data.size() - message_offset_;
    if (room < ws::limits::max_client_header + (remaining == 0 ? 0 : 1)) break;
    const std::size_t piece = std::min(room - ws::limits::max_client_header, remaining);
    const bool fin = piece == remaining;
    const ws::Opcode op = message_offset_ != 0 ? ws::Opcode::continuation
                          : m.binary            ? ws::Opcode::binary
                                                : ws::Opcode::text;
    const auto key = static_cast<uint32_t>(env.random.next());
    len += ws::encode_frame_header(out.subspan(len), op, fin, piece, key);
    std::memcpy(out.data() + len, m.data.data() + message_offset_, piece);
    ws::mask_payload(out.subspan(len, piece), key, 0);
    len += piece;
    message_offset_ += piece;
    if (!fin) break;  // the rest after this send
    message_offset_ = 0;
    if (++next_message_ == messages.size() && (c.req.stream->repeat == 0 || ++pass_ < c.req.stream->repeat))
      next_message_ = 0;  // the next pass
    if (interval != 0) next_send_ns_ += interval;  // an absolute schedule: no drift
    StreamCounters& k = env.stats.streams;
    ++k.ws_sent;
    k.ws_bytes_sent += m.data.size();
    if (now == 0) now = now_ns();
    last_rx_ns_ = now;  // the idle time counts from the last message sent too
    rtt_sent(now);
  }
  return len;
}

// Send times for the round trip, FIFO; once one is not kept (the queue is full), none is
// until the queue and the untimed ones drain, so replies never pair with the wrong send.
void WsSession::rtt_sent(uint64_t now) noexcept {
  if (rtt_untimed_ == 0 && rtt_tail_ - rtt_head_ < rtt_sent_.size()) {
    rtt_sent_[rtt_tail_++ % rtt_sent_.size()] = now;
  } else {
    ++rtt_untimed_;
  }
}

// A received message answers the oldest send not yet answered (or one not timed).
void WsSession::rtt_received(SessionEnv& env, uint64_t now) noexcept {
  if (rtt_head_ != rtt_tail_) {
    env.stats.ws_rtt.record(now - rtt_sent_[rtt_head_++ % rtt_sent_.size()]);
  } else if (rtt_untimed_ != 0) {
    --rtt_untimed_;
  }
}

Step WsSession::on_eof(Conn& c, SessionEnv& env) noexcept {
  c_ = &c;
  env_ = &env;
  // The close handshake was under way: the session's work is done.
  if (close_received_ || (close_sent_ && c.exchange.streaming())) return finished();
  return Step::fail(ErrorKind::read, c.exchange.streaming() ? "WebSocket: connection closed without a close frame"
                                                            : "connection closed before the WebSocket handshake completed");
}

Step WsSession::on_timer(Conn& c, SessionEnv& env, uint64_t now) noexcept {
  c_ = &c;
  env_ = &env;
  const uint64_t timeout = env.request_timeout(*c.req.request);
  const StreamSpec& spec = *c.req.stream;
  if (!c.exchange.streaming()) return before_stream_timer(c, env, last_rx_ns_, now);
  // A paced message that is due goes out when the shard pumps after this step, unless
  // the checks below end the session first.
  if (phase_ == Phase::open && spec.stream_timeout_ns != 0 && now >= c.req.sent_ns + spec.stream_timeout_ns) {
    begin_close(StreamEnd::stream_timeout, now);
    return Step::more();
  }
  if (phase_ == Phase::closing) {
    if (now >= close_deadline_ns_) return finished();  // the server never answered our close
  } else if (spec.idle_timeout_ns != 0) {
    if (now >= last_rx_ns_ + spec.idle_timeout_ns) begin_close(StreamEnd::idle_timeout, now);
  } else if (timeout != 0 && now >= last_rx_ns_ + timeout) {
    return Step::fail(ErrorKind::timeout, "WebSocket: nothing received for longer than the timeout");
  }
  return Step::more();
}

// The earliest deadline in force. Activity moves the idle deadlines later without
// touching the timer: it fires early and is armed again.
uint64_t WsSession::deadline(const Conn& c, const SessionEnv& env) const noexcept {
  const uint64_t timeout = env.request_timeout(*c.req.request);
  const StreamSpec& spec = *c.req.stream;
  uint64_t at = UINT64_MAX;
  if (phase_ == Phase::handshake) {
    if (timeout != 0) at = last_rx_ns_ + timeout;
  } else if (phase_ == Phase::closing) {
    at = close_deadline_ns_;
  } else if (spec.idle_timeout_ns != 0) {
    at = last_rx_ns_ + spec.idle_timeout_ns;
  } else if (timeout != 0) {
    at = last_rx_ns_ + timeout;
  }
  if (phase_ == Phase::open && spec.stream_timeout_ns != 0) at = std::min(at, c.req.sent_ns + spec.stream_timeout_ns);
  if (phase_ == Phase::open && spec.interval_ns != 0 && more_to_send(c) && next_send_ns_ != 0)
    at = std::min(at, next_send_ns_);
  return at;
}

// Still open when the run stops: counted and exported with what it received.
Step WsSession::on_stop(Conn& c, SessionEnv& env) noexcept {
  if (!c.exchange.streaming()) return Step::more();
  c_ = &c;
  env_ = &env;
  end_ = StreamEnd::run_end;
  return finished();
}

int WsSession::finish(Conn&, SessionEnv& env, bool ok, uint64_t) noexcept {
  StreamCounters& k = env.stats.streams;
  const StreamEnd end = ok ? end_ : StreamEnd::error;
  ++k.ws_sessions;
  ++k.ws_end[static_cast<std::size_t>(end)];
  ++k.ws_closed_by[closed_by_server_ ? 1 : close_sent_ ? 0 : 2];
  return static_cast<int>(end);
}

}  // namespace ringload
