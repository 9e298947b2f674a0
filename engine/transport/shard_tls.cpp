// TLS on a shard's connections: wolfSSL never sees the socket. Ciphertext comes from the
// ring's receive buffers (lent with feed() for one completion) and goes out from the
// session's output buffer, one send in flight per connection; decrypted bytes take the
// same path as a plain connection's (on_plain / on_eof).
#include <cstring>

#include "engine/core/clock.hpp"
#include "engine/core/shard.hpp"

namespace ringload {

void Shard::tls_start(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  c.state = ConnState::handshaking;
  c.session_taken = false;
  c.handshake_start_ns = now_ns();
  // A server that never answers the ClientHello: the connect timeout covers the handshake.
  timers_.arm(slot, c.handshake_start_ns + static_cast<uint64_t>(config_.connect_timeout.count()));
  TlsContext& ctx = *prepared_.origins[c.origin].tls;
  if (!c.tls->start(ctx, tls_cache_[c.origin].get())) {
    tls_fail(slot);
    return;
  }
  tls_handshake(slot);
}

void Shard::tls_handshake(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  const TlsStatus st = c.tls->handshake();
  if (st == TlsStatus::error || st == TlsStatus::closed) {
    tls_fail(slot);
    return;
  }
  tls_flush(slot);
  if (st != TlsStatus::done) return;
  timers_.cancel(slot);
  Counters& k = stats_->counters;
  ++k.tls_handshakes;
  if (c.tls->resumed()) ++k.tls_resumed;
  stats_->tls_handshake.record(now_ns() - c.handshake_start_ns);
  if (tls_version_ == nullptr) {
    tls_version_ = c.tls->version();
    tls_cipher_ = c.tls->cipher();
  }
  release(slot);
}

// Encrypts what is left of the request into the session's output, as far as it holds.
void Shard::tls_write(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  for (std::string_view* part : {&c.tls_pending.head, &c.tls_pending.body}) {
    while (!part->empty()) {
      const WriteResult r = c.tls->write({part->data(), part->size()});
      if (r.status == TlsStatus::error) {
        tls_fail(slot);
        return;
      }
      part->remove_prefix(r.bytes);
      if (r.status == TlsStatus::want_write) {
        tls_flush(slot);  // the rest goes when this send completes
        return;
      }
    }
  }
  tls_flush(slot);
}

// Sends the session's pending output, unless a send is already in flight.
void Shard::tls_flush(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  if (c.tls_sending) return;
  const std::span<const char> out = c.tls->output();
  if (out.empty()) return;
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_send(sqe, c.fd, out.data(), out.size(), MSG_WAITALL | MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, pack(Op::send, slot, c.gen));
  c.tls_sending = true;
}

void Shard::tls_on_sent(uint32_t slot, int res) noexcept {
  Conn& c = conns_[slot];
  c.tls_sending = false;
  if (res < 0) {
    fail(slot, ErrorKind::write, strerror(-res));
    return;
  }
  c.tls->consume_output(static_cast<std::size_t>(res));
  if (!c.tls_pending.head.empty() || !c.tls_pending.body.empty()) {
    const uint32_t gen = c.gen;
    tls_write(slot);
    if (c.gen != gen) return;
  } else {
    tls_flush(slot);
  }
  // A WebSocket session's next frame, once the scratch is free.
  if (c.state == ConnState::busy && ws_session(c)) ws_pump(slot);
}

void Shard::tls_on_recv(uint32_t slot, std::span<const char> data) noexcept {
  Conn& c = conns_[slot];
  const uint32_t gen = c.gen;
  c.tls->feed(data);
  if (c.state == ConnState::handshaking) {
    tls_handshake(slot);
    if (c.gen != gen) return;  // failed: the session was reset with the connection
  }
  while (c.gen == gen && c.state != ConnState::handshaking) {
    const ReadResult r = c.tls->read({plaintext_.data(), plaintext_.size()});
    if (r.bytes > 0) {
      if (!c.session_taken && config_.tls.resume) {
        // TLS 1.3 tickets arrive after the handshake: the first read with data has them.
        // Taken before the response is handled, which may close the connection.
        c.session_taken = true;
        if (TlsSessionPtr s = c.tls->take_session()) tls_cache_[c.origin] = std::move(s);
      }
      if (!on_plain(slot, {plaintext_.data(), r.bytes})) return;
    }
    if (r.status == TlsStatus::done) continue;
    if (r.status == TlsStatus::want_write) {
      tls_flush(slot);
      continue;
    }
    if (r.status == TlsStatus::closed) {
      on_eof(slot);
      return;
    }
    if (r.status == TlsStatus::error) {
      tls_fail(slot);
      return;
    }
    break;  // want_read
  }
  if (c.gen != gen) return;
  if (!c.tls->end_feed()) {
    tls_fail(slot);
    return;
  }
  tls_flush(slot);
}

void Shard::tls_on_eof(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  if (c.state == ConnState::handshaking) {
    c.tls->feed_eof();
    tls_handshake(slot);
    if (c.state == ConnState::handshaking) fail(slot, ErrorKind::tls, "the server closed during the TLS handshake");
    return;
  }
  c.tls->feed_eof();
  const uint32_t gen = c.gen;
  // Plaintext still buffered in the session comes before the close.
  while (c.gen == gen) {
    const ReadResult r = c.tls->read({plaintext_.data(), plaintext_.size()});
    if (r.bytes > 0 && !on_plain(slot, {plaintext_.data(), r.bytes})) return;
    if (r.status == TlsStatus::done) continue;
    break;
  }
  if (c.gen == gen) on_eof(slot);
}

void Shard::tls_fail(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  const char* reason = c.tls->error_reason();
  fail(slot, ErrorKind::tls, reason != nullptr && reason[0] != '\0' ? reason : "TLS failure");
}

}  // namespace ringload
