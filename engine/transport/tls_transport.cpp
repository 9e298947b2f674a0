// TLS on a connection: wolfSSL never sees the socket. Ciphertext comes from the ring's
// receive buffers (lent with feed() for one completion) and goes out from the session's
// output buffer, one send in flight per connection (tls.hpp has the call order).
#include <sys/socket.h>

#include "engine/core/clock.hpp"
#include "engine/transport/tls_transport.hpp"
#include "engine/transport/transport.hpp"

namespace ringload {

void Transport::use_tls(TlsSession* session, TlsShared* shared, uint16_t origin) noexcept {
  tls_ = session;
  shared_ = shared;
  origin_ = origin;
}

TransportEvent Transport::tls_connected(uint64_t now_ns) noexcept {
  handshaking_ = true;
  session_taken_ = false;
  handshake_start_ns_ = now_ns;
  if (!tls_->start(*shared_->contexts[origin_], shared_->cache[origin_].get())) return tls_error("TLS failure");
  // The ClientHello lands in the output; ready comes from next() once the server answered.
  const TransportEvent e = tls_handshake();
  return e.kind == TransportEvent::Kind::ready ? TransportEvent{} : e;
}

TransportEvent Transport::tls_handshake() noexcept {
  const TlsStatus st = tls_->handshake();
  if (st == TlsStatus::error) return tls_error("TLS failure");
  if (st == TlsStatus::closed || (st != TlsStatus::done && eof_))
    return tls_error("the server closed during the TLS handshake");
  if (st != TlsStatus::done) return {};
  handshaking_ = false;
  Stats& stats = *shared_->stats;
  ++stats.counters.tls_handshakes;
  if (tls_->resumed()) ++stats.counters.tls_resumed;
  stats.tls_handshake.record(now_ns() - handshake_start_ns_);
  if (shared_->version == nullptr) {
    shared_->version = tls_->version();
    shared_->cipher = tls_->cipher();
  }
  return {TransportEvent::Kind::ready};
}

TransportEvent Transport::tls_error(const char* fallback) const noexcept {
  const char* reason = tls_->error_reason();
  return {TransportEvent::Kind::error, {}, ErrorKind::tls, reason != nullptr && reason[0] != '\0' ? reason : fallback};
}

// Encrypts what is queued into the session's output, as far as it holds; the rest waits
// for sent().
TransportEvent Transport::tls_encrypt() noexcept {
  for (std::span<const char>& part : pending_) {
    while (!part.empty()) {
      const WriteResult r = tls_->write(part);
      if (r.status == TlsStatus::error) return tls_error("TLS failure");
      part = part.subspan(r.bytes);
      if (r.status == TlsStatus::want_write) return {};
    }
  }
  return {};
}

std::span<const char> Transport::tls_output() const noexcept { return tls_->output(); }
void Transport::tls_consume(std::size_t n) noexcept { tls_->consume_output(n); }
// New bytes (or the end) may unblock reads that stopped at want_read.
void Transport::tls_feed(std::span<const char> ciphertext) noexcept {
  tls_->feed(ciphertext);
  after_ = static_cast<uint8_t>(TlsStatus::done);
}

void Transport::tls_feed_eof() noexcept {
  tls_->feed_eof();
  after_ = static_cast<uint8_t>(TlsStatus::done);
}

TransportEvent Transport::tls_end_feed() noexcept {
  if (!tls_->end_feed()) return tls_error("TLS failure");
  return {};
}

// The events of the ciphertext fed so far: the handshake's end, then plaintext until
// wolfSSL wants more (or the peer closed, or the connection failed).
TransportEvent Transport::tls_next() noexcept {
  if (handshaking_) return tls_handshake();
  if (closed_reported_) return {};
  // The read that returned the last plaintext also said what comes after it. After the
  // peer's EOF, whatever stops the reads is the close (a torn record included).
  const auto after = static_cast<TlsStatus>(after_);
  if (after != TlsStatus::done && eof_) {
    closed_reported_ = true;
    return {TransportEvent::Kind::closed};
  }
  switch (after) {
    case TlsStatus::want_write: after_ = static_cast<uint8_t>(TlsStatus::done); return {TransportEvent::Kind::flush};
    case TlsStatus::want_read: return {};
    case TlsStatus::closed: closed_reported_ = true; return {TransportEvent::Kind::closed};
    case TlsStatus::error: return tls_error("TLS failure");
    default: break;
  }
  for (;;) {
    std::vector<char>& buf = shared_->plaintext;
    const ReadResult r = tls_->read({buf.data(), buf.size()});
    if (r.bytes > 0) {
      // TLS 1.3 tickets arrive after the handshake: the first read with data has them.
      if (!session_taken_ && shared_->resume) {
        session_taken_ = true;
        if (TlsSessionPtr s = tls_->take_session()) shared_->cache[origin_] = std::move(s);
      }
      after_ = static_cast<uint8_t>(r.status);
      return {TransportEvent::Kind::data, {buf.data(), r.bytes}};
    }
    if (r.status != TlsStatus::done && eof_) {
      closed_reported_ = true;
      return {TransportEvent::Kind::closed};
    }
    switch (r.status) {
      case TlsStatus::done: continue;
      case TlsStatus::want_write: after_ = static_cast<uint8_t>(TlsStatus::done); return {TransportEvent::Kind::flush};
      case TlsStatus::closed: closed_reported_ = true; return {TransportEvent::Kind::closed};
      case TlsStatus::error: return tls_error("TLS failure");
      case TlsStatus::want_read: after_ = static_cast<uint8_t>(TlsStatus::want_read); return {};
    }
  }
}

void Transport::tls_send_now(const Socket& to, std::span<const char> bytes) noexcept {
  if (handshaking_ || tls_->write(bytes).status != TlsStatus::done) return;
  const std::span<const char> out = tls_->output();
  const ssize_t n = send_dontwait(to, out);
  if (n > 0) tls_->consume_output(static_cast<std::size_t>(n));
}

// An in-flight send may still read the session's output buffers: they keep their memory
// across reset(), and the socket it writes to is shut down.
void Transport::tls_reset() noexcept {
  tls_->reset();
  session_taken_ = false;
  after_ = static_cast<uint8_t>(TlsStatus::done);
}

}  // namespace ringload

namespace ringload {

bool Transport::alpn_h2() const noexcept { return tls_ != nullptr && tls_->alpn_h2(); }

}  // namespace ringload
