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
#include "engine/core/direct_fd.hpp"
#include "engine/core/shard.hpp"
#include "engine/core/user_data.hpp"

namespace ringload {

namespace {

const int one = 1;  // an option's value: must outlive the SQEs that point at it
// First connects in flight at once per shard: deep enough to open 10,000 connections in
// a fraction of a second, shallow enough for a server's accept queue (somaxconn: 4096).
constexpr uint32_t max_connecting = 1024;

}  // namespace

// A socket for the slot (an ordinary descriptor, or a direct one: direct_fd.hpp), bound to
// the origin's next source address if it has several, connected with a linked timeout.
void Shard::start_connect(uint32_t slot) noexcept {
  Conn& c = slab_[slot];
  const Origin& o = prepared_.origins[c.origin];
  const Endpoint& ep = o.endpoint;
  const Endpoint* source = o.sources.empty() ? nullptr : &o.sources[slot % o.sources.size()];
  c.state = ConnState::connecting;
  c.recv_armed = false;
  c.setup_errno = 0;
  // The chain (and its linked timeout) must go to the kernel in one submission.
  ring_.reserve(source != nullptr ? 6 : 4);
  io_uring_sqe* sqe;
  if (plan_.direct_fds) {
    c.fd = static_cast<int>(slot);
    const uint64_t setup = pack(Op::setup, slot, c.gen);
    sqe = ring_.sqe();
    io_uring_prep_socket_direct(sqe, ep.addr.ss_family, SOCK_STREAM, 0, slot, 0);
    sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, setup);
    sqe = ring_.sqe();
    prep_setsockopt_direct(sqe, slot, IPPROTO_TCP, TCP_NODELAY, &one);
    sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, setup);
    if (source != nullptr) {
      // The port is picked at connect, per destination: each source address adds a range.
      sqe = ring_.sqe();
      prep_setsockopt_direct(sqe, slot, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one);
      sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
      io_uring_sqe_set_data64(sqe, setup);
      sqe = ring_.sqe();
      prep_bind_direct(sqe, slot, reinterpret_cast<const sockaddr*>(&source->addr), source->addr_len);
      sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
      io_uring_sqe_set_data64(sqe, setup);
    }
  } else {
    const int fd = socket(ep.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      recorder_.error(ErrorKind::connect, strerror(errno));
      reconnect_later(slot, c.connect_failures++);
      return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.fd = fd;
    if (source != nullptr &&
        (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) != 0 ||
         bind(fd, reinterpret_cast<const sockaddr*>(&source->addr), source->addr_len) != 0)) {
      fail(slot, ErrorKind::connect, strerror(errno));
      return;
    }
  }
  ++connecting_;
  sqe = ring_.sqe();
  io_uring_prep_connect(sqe, c.fd, reinterpret_cast<const sockaddr*>(&ep.addr), ep.addr_len);
  sqe->flags |= IOSQE_IO_LINK | fixed_file();
  io_uring_sqe_set_data64(sqe, pack(Op::connect, slot, c.gen));
  sqe = ring_.sqe();
  io_uring_prep_link_timeout(sqe, &connect_timeout_, 0);
  io_uring_sqe_set_data64(sqe, pack(Op::link_timeout, slot, c.gen));
}

// The slots' first connects, at most max_connecting at once per shard (shard.hpp).
void Shard::open_more() noexcept {
  while (connecting_ < max_connecting && next_open_ < slab_.size() && !stopping_) start_connect(next_open_++);
}

// A step before the connect failed (direct sockets): the connect's completion, cancelled
// by the chain, reports this errno instead of a timeout.
void Shard::on_setup_failed(uint32_t slot, int res) noexcept {
  slab_[slot].setup_errno = static_cast<uint16_t>(-res);
}

void Shard::on_connect(uint32_t slot, int res) noexcept {
  Conn& c = slab_[slot];
  if (res < 0) {
    if (res == -ECANCELED && c.setup_errno != 0) res = -c.setup_errno;
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
  sqe->flags |= IOSQE_BUFFER_SELECT | fixed_file();
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
  sqe->flags |= fixed_file();
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
  if (c.fd >= 0 && plan_.direct_fds) {
    // Cancelling ends the multishot recv still holding the socket (its last completion
    // carries the old generation and is dropped); the close then releases it. Both run
    // inline, in order, before a new socket takes the slot. (Not a shutdown: that one
    // runs in a worker and could find the slot's next socket.)
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_cancel_fd(sqe, c.fd, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, pack(Op::quiet, slot, c.gen));
    sqe = ring_.sqe();
    io_uring_prep_close_direct(sqe, static_cast<unsigned>(c.fd));
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, pack(Op::quiet, slot, c.gen));
    c.fd = -1;
  } else if (c.fd >= 0) {
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
  c.answered = false;
  c.mux = false;
  c.recv_armed = false;
  c.carry.len = 0;
  c.transport.reset();
}

void Shard::reconnect_later(uint32_t slot, uint32_t failures) noexcept {
  Conn& c = slab_[slot];
  // Exponential back-off from 1 ms up to --reconnect-backoff, so a refusing server is
  // not hammered.
  const uint32_t shift = std::min<uint32_t>(failures, 40);
  c.state = ConnState::retry_wait;
  const uint64_t delay = std::min(uint64_t{1'000'000} << shift, static_cast<uint64_t>(config_.reconnect_backoff.count()));
  timers_.arm(slot, now_ns() + delay);
}

}  // namespace ringload
