// The connection state machine of a shard: connect, send, receive, finish, fail.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/core/clock.hpp"
#include "engine/output/export_queue.hpp"
#include "engine/core/shard.hpp"

namespace ringload {

void Shard::start_connect(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  const Endpoint& ep = prepared_.origins[c.origin].endpoint;
  int fd = socket(ep.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    note_error(ErrorKind::connect, strerror(errno));
    reconnect_later(slot);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c.fd = fd;
  c.state = ConnState::connecting;
  ++connecting_[c.origin];
  c.recv_armed = false;
  // The connect and its linked timeout must go to the kernel in one submission.
  if (io_uring_sq_space_left(&ring_) < 2) io_uring_submit(&ring_);
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_connect(sqe, fd, reinterpret_cast<const sockaddr*>(&ep.addr), ep.addr_len);
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_sqe_set_data64(sqe, pack(Op::connect, slot, c.gen));
  sqe = get_sqe();
  io_uring_prep_link_timeout(sqe, &connect_timeout_, 0);
  io_uring_sqe_set_data64(sqe, pack(Op::link_timeout, slot, c.gen));
}

void Shard::on_connect(uint32_t slot, int res) noexcept {
  Conn& c = conns_[slot];
  --connecting_[c.origin];
  if (res < 0) {
    fail(slot, ErrorKind::connect, res == -ECANCELED ? "connect timed out" : strerror(-res));
    return;
  }
  c.connect_failures = 0;
  ++stats_->counters.connects;
  arm_recv(slot);
  if (c.tls != nullptr) {
    tls_start(slot);
    return;
  }
  c.state = ConnState::idle;
  release(slot);
}

void Shard::arm_recv(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffers_.group();
  io_uring_sqe_set_data64(sqe, pack(Op::recv, slot, c.gen));
  c.recv_armed = true;
}

void Shard::issue(uint32_t slot, uint32_t line, uint64_t position, uint64_t intended) noexcept {
  Conn& c = conns_[slot];
  const RequestLine& req = table_.lines[line];
  const Origin& origin = prepared_.origins[req.origin];
  // Assemble the head: the line's own part, the defaults it did not set, the blank line.
  char* p = c.scratch;
  auto put = [&p](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  put(table_.head(req));
  if (!(req.flags & RequestLine::flag_has_host)) put(origin.host_line);
  if (!(req.flags & RequestLine::flag_has_user_agent)) put(origin.user_agent_line);
  if (!(req.flags & RequestLine::flag_has_accept)) put(origin.accept_line);
  put("\r\n");
  const auto head_len = static_cast<std::size_t>(p - c.scratch);
  const uint64_t now = now_ns();
  c.request = &req;
  // The pass (0 for a single URL that loops: its requests are not passes).
  c.iteration = by_iteration_.empty() ? 0 : static_cast<uint32_t>(position / table_.lines.size());
  c.state = ConnState::busy;
  c.intended_ns = intended;
  c.sent_ns = now;
  stats_->send_lag.record(now - intended);
  c.first_byte_ns = 0;
  c.send_len = static_cast<uint32_t>(head_len + req.body_len);
  c.stream = table_.stream(req);
  c.exchange.start((req.flags & RequestLine::flag_head) != 0, c.carry, c.stream != nullptr ? &c.sink : nullptr);
  if (plan_.export_queue != nullptr) c.tap = {plan_.export_queue, sent_, config_.export_max_body, false};
  stats_->counters.bytes_out += c.send_len;
  ++in_flight_;
  ++sent_;
  if (c.stream != nullptr) {
    stream_start(slot, now);
    stream_arm_timer(slot, now);
  } else if (const uint64_t timeout = request_timeout(req); timeout != 0) {
    timers_.arm(slot, now + timeout);
  }
  if (c.tls != nullptr) {
    c.tls_pending = {{c.scratch, head_len}, table_.body(req)};
    tls_write(slot);
    return;
  }
  io_uring_sqe* sqe = get_sqe();
  // MSG_WAITALL: the kernel retries a short send itself, so a success is always whole
  // and its completion can be skipped.
  if (req.body_len == 0) {
    io_uring_prep_send(sqe, c.fd, c.scratch, head_len, MSG_WAITALL | MSG_NOSIGNAL);
  } else {
    std::string_view body = table_.body(req);
    c.iov[0] = {c.scratch, head_len};
    c.iov[1] = {const_cast<char*>(body.data()), body.size()};
    c.msg = {};
    c.msg.msg_iov = c.iov;
    c.msg.msg_iovlen = 2;
    io_uring_prep_sendmsg(sqe, c.fd, &c.msg, MSG_WAITALL | MSG_NOSIGNAL);
  }
  // A WebSocket session sends its frames from the scratch once this send is done.
  if (skip_send_cqe_ && !ws_session(c))
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(sqe, pack(Op::send, slot, c.gen));
}

// Counts a finished request (a complete response or a failure after its send) in the
// totals, its name and its pass.
void Shard::finish_request(Conn& c, bool ok, uint64_t now, int error_kind, const char* message) noexcept {
  --in_flight_;
  Counters& k = stats_->counters;
  ++k.requests;
  ok ? ++k.succeeded : ++k.failed;
  NameStats& name = by_name_[c.request->name];
  ++name.requests;
  ok ? ++name.succeeded : ++name.failed;
  if (ok || c.exchange.state() == ExchangeState::complete) name.latency.record(now - c.intended_ns);
  if (c.stream != nullptr) stream_account(c, ok, now);
  if (!by_iteration_.empty()) {
    IterationStats& it = by_iteration_[std::min<std::size_t>(c.iteration, by_iteration_.size() - 1)];
    ++it.requests;
    ok ? ++it.succeeded : ++it.failed;
  }
  if (plan_.export_queue != nullptr) {
    ExportEnd e;
    e.id = c.tap.id;
    e.line_index = static_cast<uint32_t>(c.request - table_.lines.data());
    e.iteration = c.iteration;
    e.status = c.exchange.final_status();  // 0 until a final head arrived
    e.error_kind = error_kind;
    e.error_message = message;
    e.start_ns = c.intended_ns;
    e.first_byte_ns = c.first_byte_ns;
    e.end_ns = now;
    e.body_truncated = c.tap.truncated;
    if (c.stream != nullptr) e.stream_end = static_cast<int>(ok ? c.stream_end : StreamEnd::error);
    plan_.export_queue->end(e);
  }
}

void Shard::on_send(uint32_t slot, int res) noexcept {
  Conn& c = conns_[slot];
  if (c.tls != nullptr) {
    tls_on_sent(slot, res);
    return;
  }
  if (res < 0) {
    fail(slot, ErrorKind::write, strerror(-res));
  } else if (c.state == ConnState::busy && static_cast<uint32_t>(res) < c.send_len) {
    fail(slot, ErrorKind::write, "short send");
  } else if (c.state == ConnState::busy && ws_session(c)) {
    c.ws->sending = false;
    ws_pump(slot);
  }
}

void Shard::on_recv(uint32_t slot, const io_uring_cqe* cqe) noexcept {
  Conn& c = conns_[slot];
  const uint32_t gen = c.gen;
  if (!(cqe->flags & IORING_CQE_F_MORE)) c.recv_armed = false;
  const int res = cqe->res;
  if (res > 0) {
    const auto bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    stats_->counters.bytes_in += static_cast<uint64_t>(res);
    const std::span<const char> data = buffers_.data(bid, static_cast<std::size_t>(res));
    if (c.tls != nullptr) {
      tls_on_recv(slot, data);
    } else {
      on_plain(slot, data);
    }
    buffers_.recycle(bid);
  } else if (res == 0) {
    if (c.tls != nullptr) {
      tls_on_eof(slot);
    } else {
      on_eof(slot);
    }
    return;
  } else if (res != -ENOBUFS) {
    // -ENOBUFS only means the buffer ring ran dry: buffers come back this turn, re-arm.
    fail(slot, ErrorKind::read, strerror(-res));
    return;
  }
  if (c.gen == gen && !c.recv_armed && (c.state == ConnState::busy || c.state == ConnState::idle))
    arm_recv(slot);
}

// Response bytes (plaintext): the one path for plain and TLS connections. false: the
// connection was closed (the caller must stop using it).
bool Shard::on_plain(uint32_t slot, std::span<const char> data) noexcept {
  Conn& c = conns_[slot];
  const uint32_t gen = c.gen;
  if (c.state != ConnState::busy) {
    fail(slot, ErrorKind::protocol, "data received with no request in flight");
    return false;
  }
  // Streams read the clock once per receive, not once per event: events that arrived
  // together carry the same time.
  if (c.stream != nullptr) {
    rx_ns_ = now_ns();
    if (c.first_byte_ns == 0) c.first_byte_ns = rx_ns_;
    if (!c.exchange.streaming()) c.last_rx_ns = rx_ns_;  // the head, or an error page's body
  } else if (c.first_byte_ns == 0) {
    c.first_byte_ns = now_ns();
  }
  ExchangeEvent ev = c.exchange.on_data(data, c.carry, header_scratch_,
                                        plan_.export_queue != nullptr ? &c.tap : nullptr);
  if (c.gen != gen) return false;  // a stream's handling ended or failed the connection
  if (ev.kind == ExchangeEvent::Kind::complete) {
    complete(slot);
  } else if (ev.kind == ExchangeEvent::Kind::error) {
    fail(slot, ErrorKind::protocol, ev.message != nullptr ? ev.message : proto::to_string(ev.error));
  }
  return c.gen == gen;
}

// The server closed the connection (after TLS: its close, or EOF).
void Shard::on_eof(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  if (c.state == ConnState::busy && ws_session(c)) {
    ws_on_eof(slot);
    return;
  }
  if (c.state == ConnState::busy) {
    ExchangeEvent ev = c.exchange.on_eof();
    if (ev.kind == ExchangeEvent::Kind::complete) {
      complete(slot);  // a close-delimited body; complete() reconnects
    } else {
      fail(slot, ErrorKind::read, c.exchange.streaming() ? "connection closed mid-stream" : ev.message);
    }
    return;
  }
  ++stats_->counters.closes_by_server;
  close_conn(slot);
  start_connect(slot);
}

// A response that completed (or a stream that ended well): its status, its times, and
// the request finished as ok or not. The caller decides what becomes of the connection.
void Shard::count_response(uint32_t slot, bool ok) noexcept {
  Conn& c = conns_[slot];
  const uint64_t now = now_ns();
  timers_.cancel(slot);
  Counters& k = stats_->counters;
  const int status = c.exchange.status();
  ++k.status[static_cast<std::size_t>(status) < k.status.size() ? status : 0];
  finish_request(c, ok, now, -1, nullptr);
  stats_->latency.record(now - c.intended_ns);
  stats_->service.record(now - c.sent_ns);
  stats_->ttfb.record((c.first_byte_ns != 0 ? c.first_byte_ns : now) - c.sent_ns);
}

void Shard::complete(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  count_response(slot, success_status(c.exchange.status()));
  Counters& k = stats_->counters;
  if (!c.exchange.keep_alive() || config_.tls.handshake_each) {
    ++(c.exchange.keep_alive() ? k.closes_by_client : k.closes_by_server);
    close_conn(slot);
    start_connect(slot);
    return;
  }
  release(slot);
}

// The one error exit: count it, finish the request in flight as failed, recycle the
// connection. The run goes on.
void Shard::fail(uint32_t slot, ErrorKind kind, const char* message) noexcept {
  Conn& c = conns_[slot];
  note_error(kind, message);
  if (c.state == ConnState::busy) finish_request(c, false, now_ns(), static_cast<int>(kind), message);
  timers_.cancel(slot);
  close_conn(slot);
  if (kind == ErrorKind::connect) {
    reconnect_later(slot);
  } else {
    start_connect(slot);
  }
}

void Shard::close_conn(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  if (c.fd >= 0) {
    // shutdown ends the multishot recv still holding the socket; its last completion
    // carries the old generation and is dropped.
    shutdown(c.fd, SHUT_RDWR);
    close(c.fd);
    c.fd = -1;
  }
  ++c.gen;
  c.state = ConnState::closed;
  c.stream = nullptr;
  c.recv_armed = false;
  c.carry.len = 0;
  // An in-flight send may still read the session's output buffers: they keep their
  // memory across reset(), and the socket it writes to is shut down.
  if (c.tls != nullptr) c.tls->reset();
  c.tls_sending = false;
  c.tls_pending = {};
}

void Shard::reconnect_later(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  // Exponential back-off from 1 ms up to --reconnect-backoff, so a refusing server is
  // not hammered.
  const uint32_t shift = c.connect_failures < 40 ? c.connect_failures : 40;
  ++c.connect_failures;
  c.state = ConnState::retry_wait;
  const uint64_t delay = std::min(uint64_t{1'000'000} << shift, static_cast<uint64_t>(config_.reconnect_backoff.count()));
  timers_.arm(slot, now_ns() + delay);
}

void Shard::on_timer(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  if (c.state == ConnState::busy && c.stream != nullptr) {
    stream_on_timer(slot);
  } else if (c.state == ConnState::busy) {
    fail(slot, ErrorKind::timeout, "request timed out");
  } else if (c.state == ConnState::retry_wait) {
    start_connect(slot);
  } else if (c.state == ConnState::handshaking) {
    fail(slot, ErrorKind::tls, "TLS handshake timed out");
  }
}

void Shard::note_error(ErrorKind kind, const char* message) noexcept {
  auto k = static_cast<std::size_t>(kind);
  ++stats_->counters.errors[k];
  if (first_error_[k].empty()) {
    try {
      first_error_[k] = message;
    } catch (...) {
    }
  }
}

// The request's deadline (streams: for the head and each gap): its line's, else the run's.
uint64_t Shard::request_timeout(const RequestLine& req) const noexcept {
  return req.timeout_ns != 0 ? req.timeout_ns : static_cast<uint64_t>(config_.timeout.count());
}

bool Shard::success_status(int status) const noexcept {
  for (const StatusRange& r : config_.success_status)
    if (status >= r.lo && status <= r.hi) return true;
  return false;
}

}  // namespace ringload
