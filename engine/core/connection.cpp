// A connection's life on the ring: connect, the transport's handshake, sends, receives,
// the peer's close, timers, and the slot's recycling. Protocol-free: bytes go to the
// session of the request in flight (exchange.cpp), whatever the transport.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/core/clock.hpp"
#include "engine/core/shard.hpp"
#include "engine/core/user_data.hpp"

namespace ringload {

void Shard::start_connect(uint32_t slot) noexcept {
  Conn& c = slab_[slot];
  const Endpoint& ep = prepared_.origins[c.origin].endpoint;
  const int fd = socket(ep.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    recorder_.error(ErrorKind::connect, strerror(errno));
    reconnect_later(slot);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c.fd = fd;
  c.state = ConnState::connecting;
  c.recv_armed = false;
  // The connect and its linked timeout must go to the kernel in one submission.
  ring_.reserve(2);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_connect(sqe, fd, reinterpret_cast<const sockaddr*>(&ep.addr), ep.addr_len);
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_sqe_set_data64(sqe, pack(Op::connect, slot, c.gen));
  sqe = ring_.sqe();
  io_uring_prep_link_timeout(sqe, &connect_timeout_, 0);
  io_uring_sqe_set_data64(sqe, pack(Op::link_timeout, slot, c.gen));
}

void Shard::on_connect(uint32_t slot, int res) noexcept {
  Conn& c = slab_[slot];
  if (res < 0) {
    fail(slot, ErrorKind::connect, res == -ECANCELED ? "connect timed out" : strerror(-res));
    return;
  }
  c.connect_failures = 0;
  ++recorder_.stats().counters.connects;
  arm_recv(slot);
  const uint64_t now = now_ns();
  const TransportEvent e = c.transport.connected(now);
  if (e.kind == TransportEvent::Kind::error) {
    fail(slot, e.error, e.message);
  } else if (e.kind == TransportEvent::Kind::ready) {
    on_ready(slot);
  } else {
    // A handshake: a server that never answers is bounded by the connect timeout.
    c.state = ConnState::handshaking;
    timers_.arm(slot, now + static_cast<uint64_t>(config_.connect_timeout.count()));
    flush(slot);
  }
}

// The connection can carry requests: its session says how many at once (HTTP/2 after
// ALPN or with prior knowledge: a connection's session, which may speak first).
void Shard::on_ready(uint32_t slot) noexcept {
  Conn& c = slab_[slot];
  timers_.cancel(slot);
  if (!sessions_.on_ready(slot, c, env_, now_ns())) {
    fail(slot, ErrorKind::protocol, "out of memory for the connection's HTTP/2 session");
    return;
  }
  slab_.release(slot);
  if (c.mux) pump_output(slot);
}

void Shard::arm_recv(uint32_t slot) noexcept {
  Conn& c = slab_[slot];
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffers_.group();
  io_uring_sqe_set_data64(sqe, pack(Op::recv, slot, c.gen));
  c.recv_armed = true;
}

// Sends what the transport has ready, unless a send of this slot is in flight.
void Shard::flush(uint32_t slot) noexcept {
  Conn& c = slab_[slot];
  if (!c.transport.has_output()) return;
  io_uring_sqe* sqe = ring_.sqe();
  const bool may_skip = ring_.skip_success() && !Sessions::needs_send_completion(c);
  if (c.transport.prep_send(sqe, c.fd, may_skip)) sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(sqe, pack(Op::send, slot, c.gen));
}

void Shard::on_send(uint32_t slot, int res) noexcept {
  Conn& c = slab_[slot];
  if (res < 0) {
    fail(slot, ErrorKind::write, strerror(-res));
    return;
  }
  const TransportEvent e = c.transport.sent(res);
  if (e.kind == TransportEvent::Kind::error) {
    fail(slot, e.error, e.message);
    return;
  }
  flush(slot);
  if (talking(c)) pump_output(slot);
}

void Shard::on_recv(uint32_t slot, const io_uring_cqe* cqe) noexcept {
  Conn& c = slab_[slot];
  if (!(cqe->flags & IORING_CQE_F_MORE)) c.recv_armed = false;
  const int res = cqe->res;
  if (res == 0) {
    on_eof(slot);
    return;
  }
  if (res < 0) {
    // -ENOBUFS only means the buffer ring ran dry: buffers come back this turn, re-arm.
    if (res != -ENOBUFS) {
      fail(slot, ErrorKind::read, strerror(-res));
      return;
    }
  } else {
    const auto bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    recorder_.stats().counters.bytes_in += static_cast<uint64_t>(res);
    env_.rx_ns = now_ns();
    c.transport.lend(buffers_.data(bid, static_cast<std::size_t>(res)));
    const bool open = take_events(slot);
    buffers_.recycle(bid);
    if (!open) return;
  }
  if (!c.recv_armed && (c.state == ConnState::busy || c.state == ConnState::idle)) arm_recv(slot);
}

// The server closed its side.
void Shard::on_eof(uint32_t slot) noexcept {
  Conn& c = slab_[slot];
  env_.rx_ns = now_ns();
  c.transport.eof();
  take_events(slot);
}

// Acts on what the transport has for the slot after a receive (or the EOF): plaintext to
// the session, the handshake's end, the peer's close, failures. Returns whether the slot
// still holds the same connection.
bool Shard::take_events(uint32_t slot) noexcept {
  Conn& c = slab_[slot];
  for (;;) {
    const TransportEvent e = c.transport.next();
    switch (e.kind) {
      case TransportEvent::Kind::none: {
        const TransportEvent end = c.transport.end_lend();
        if (end.kind == TransportEvent::Kind::error) {
          fail(slot, end.error, end.message);
          return false;
        }
        flush(slot);
        return true;
      }
      case TransportEvent::Kind::data:
        if (!deliver(slot, e.data)) return false;
        break;
      case TransportEvent::Kind::ready:
        on_ready(slot);
        break;
      case TransportEvent::Kind::flush:
        flush(slot);
        break;
      case TransportEvent::Kind::closed:
        // A connection's session hears the close between requests too (HTTP/2: before its
        // SETTINGS, the server refused the connection).
        if (c.state == ConnState::busy || c.mux) return apply(slot, sessions_.on_eof(slot, c, env_), env_.rx_ns);
        if (c.state == ConnState::handshaking) {
          fail(slot, ErrorKind::tls, "the server closed during the TLS handshake");
          return false;
        }
        // Between requests: the server's keep-alive timeout, say.
        ++recorder_.stats().counters.closes_by_server;
        close_conn(slot);
        start_connect(slot);
        return false;
      case TransportEvent::Kind::error:
        fail(slot, e.error, e.message);
        return false;
    }
  }
}

void Shard::on_timer(uint32_t slot) noexcept {
  Conn& c = slab_[slot];
  switch (c.state) {
    case ConnState::idle:
      if (!c.mux) return;
      [[fallthrough]];
    case ConnState::busy: {
      const uint64_t now = now_ns();
      apply(slot, sessions_.on_timer(slot, c, env_, now), now);
      return;
    }
    case ConnState::retry_wait: start_connect(slot); return;
    case ConnState::handshaking: {
      const TransportEvent e = c.transport.handshake_timeout();
      fail(slot, e.error, e.message);
      return;
    }
    default: return;
  }
}

void Shard::close_conn(uint32_t slot) noexcept {
  Conn& c = slab_[slot];
  if (c.fd >= 0) {
    // shutdown ends the multishot recv still holding the socket; its last completion
    // carries the old generation and is dropped.
    shutdown(c.fd, SHUT_RDWR);
    close(c.fd);
    c.fd = -1;
  }
  ++c.gen;
  c.state = ConnState::closed;
  c.in_flight = 0;
  c.capacity = 1;
  c.mux = false;
  c.recv_armed = false;
  c.carry.len = 0;
  c.transport.reset();
}

void Shard::reconnect_later(uint32_t slot) noexcept {
  Conn& c = slab_[slot];
  // Exponential back-off from 1 ms up to --reconnect-backoff, so a refusing server is
  // not hammered.
  const uint32_t shift = std::min<uint32_t>(c.connect_failures, 40);
  ++c.connect_failures;
  c.state = ConnState::retry_wait;
  const uint64_t delay = std::min(uint64_t{1'000'000} << shift, static_cast<uint64_t>(config_.reconnect_backoff.count()));
  timers_.arm(slot, now_ns() + delay);
}

}  // namespace ringload
