#include "engine/shard.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/clock.hpp"

namespace ringload {
namespace {

constexpr uint32_t buffer_size = 16 * 1024;
constexpr uint32_t carry_capacity = proto::limits::max_head_bytes;
constexpr std::size_t max_response_headers = 256;
constexpr uint64_t idle_tick_ns = 10'000'000;  // the longest the loop sleeps: stop latency

uint32_t pow2_at_least(uint32_t v, uint32_t lo, uint32_t hi) noexcept {
  uint32_t p = lo;
  while (p < v && p < hi) p <<= 1;
  return p;
}

__kernel_timespec to_timespec(uint64_t ns) noexcept {
  return {static_cast<long long>(ns / 1'000'000'000u), static_cast<long long>(ns % 1'000'000'000u)};
}

}  // namespace

Shard::Shard(ShardPlan plan, const RunConfig& config, const PreparedRun& prepared,
             ShardControl& control) noexcept
    : plan_(plan), config_(config), prepared_(prepared), control_(control) {}

Shard::~Shard() { teardown(); }

std::string Shard::run() noexcept {
  std::string err = setup();
  if (err.empty()) loop();
  end_ns_ = now_ns();
  in_flight_at_end_ = in_flight_;
  teardown();
  return err;
}

std::string Shard::setup() noexcept {
  if (plan_.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(plan_.cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  // The ring is created here, in the shard's own thread: SINGLE_ISSUER binds it to
  // the creating thread.
  std::string err = setup_ring();
  if (!err.empty()) return err;
  const uint32_t n = plan_.connections;
  err = buffers_.setup(&ring_, 0, pow2_at_least(n * 2, 256, 4096), buffer_size);
  if (!err.empty()) return err;
  try {
    conns_.resize(n);
    timers_.init(n, now_ns());
    header_scratch_.resize(max_response_headers);
    stats_ = std::make_unique<Stats>();
  } catch (const std::bad_alloc&) {
    return "out of memory for " + std::to_string(n) + " connections";
  }
  // Carry buffers are reserved, not committed: only heads that straddle reads touch them.
  carry_arena_bytes_ = static_cast<std::size_t>(n) * carry_capacity;
  void* mem = mmap(nullptr, carry_arena_bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return std::string("mmap carry buffers: ") + strerror(errno);
  carry_arena_ = static_cast<char*>(mem);
  for (uint32_t i = 0; i < n; ++i) {
    conns_[i].carry = {carry_arena_ + static_cast<std::size_t>(i) * carry_capacity, carry_capacity, 0};
  }
  connect_timeout_ = to_timespec(static_cast<uint64_t>(config_.connect_timeout.count()));
  quota_left_ = plan_.quota;
  next_request_ = plan_.first_request % prepared_.requests.size();
  return {};
}

std::string Shard::setup_ring() noexcept {
  const uint32_t entries = pow2_at_least(plan_.connections * 2, 64, 8192);
  struct Attempt {
    unsigned flags;
    const char* notice;
  };
  // Best first. DEFER_TASKRUN runs completions only when this thread waits, in batches;
  // it needs SINGLE_ISSUER (6.1). COOP_TASKRUN (5.19) avoids IPIs. Plain rings work anywhere.
  const Attempt attempts[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, nullptr},
      {IORING_SETUP_COOP_TASKRUN, "kernel lacks IORING_SETUP_DEFER_TASKRUN: using COOP_TASKRUN"},
      {0, "kernel lacks IORING_SETUP_COOP_TASKRUN: using a plain ring"},
  };
  int ret = -EINVAL;
  io_uring_params params{};
  for (const Attempt& a : attempts) {
    params = {};
    params.flags = a.flags | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    params.cq_entries = entries * 4;
    ret = io_uring_queue_init_params(entries, &ring_, &params);
    if (ret == 0) {
      if (a.notice != nullptr && plan_.index == 0) notices_.emplace_back(a.notice);
      break;
    }
    if (ret != -EINVAL) break;
  }
  if (ret == -EPERM || ret == -ENOSYS)
    return std::string("io_uring is not available here (") + strerror(-ret) +
           "): a seccomp profile such as Docker's default blocks it";
  if (ret < 0) return std::string("io_uring setup failed: ") + strerror(-ret);
  ring_ready_ = true;
  skip_send_cqe_ = (params.features & IORING_FEAT_CQE_SKIP) != 0;
  if (!(params.features & IORING_FEAT_EXT_ARG) && plan_.index == 0)
    notices_.emplace_back("kernel lacks IORING_FEAT_EXT_ARG: waits with a timeout cost an extra syscall");
  return {};
}

void Shard::teardown() noexcept {
  for (Conn& c : conns_) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
  }
  if (ring_ready_) {
    buffers_.teardown();
    io_uring_queue_exit(&ring_);
    ring_ready_ = false;
  }
  if (carry_arena_ != nullptr) munmap(carry_arena_, carry_arena_bytes_);
  carry_arena_ = nullptr;
}

io_uring_sqe* Shard::get_sqe() noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void Shard::loop() noexcept {
  const uint64_t deadline = plan_.deadline_ns;
  for (uint32_t i = 0; i < conns_.size(); ++i) start_connect(i);
  while (true) {
    uint64_t now = now_ns();
    if (now >= deadline || control_.stop.load(std::memory_order_relaxed)) break;
    if (quota_left_ == 0 && in_flight_ == 0) break;
    maybe_publish();
    uint64_t wait = timers_.next_wait_ns(now, idle_tick_ns);
    if (deadline - now < wait) wait = deadline - now;
    __kernel_timespec ts = to_timespec(wait);
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    // Completions that arrive after the deadline are not part of the run.
    if (now_ns() >= deadline) break;
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      dispatch(cqe);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    buffers_.publish();
    timers_.expire(now_ns(), [this](uint32_t slot) { on_timer(slot); });
  }
  maybe_publish();
}

void Shard::maybe_publish() noexcept {
  uint64_t request = control_.publish_request.load(std::memory_order_acquire);
  if (request == publish_seen_) return;
  // The control thread reads the snapshot only after `published` says it is complete,
  // and asks for the next one only after reading it: no overlap, no lock.
  control_.snapshot = *stats_;
  control_.snapshot_in_flight = in_flight_;
  publish_seen_ = request;
  control_.published.store(request, std::memory_order_release);
}

void Shard::dispatch(const io_uring_cqe* cqe) noexcept {
  const uint64_t ud = cqe->user_data;
  const auto op = static_cast<Op>(ud >> 56);
  const uint32_t gen = static_cast<uint32_t>(ud >> 32) & 0xffffff;
  const uint32_t slot = static_cast<uint32_t>(ud);
  if (op == Op::link_timeout) return;
  Conn& c = conns_[slot];
  if (gen != (c.gen & 0xffffff)) {
    ++stats_->counters.stale_completions;
    if (cqe->flags & IORING_CQE_F_BUFFER)
      buffers_.recycle(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
    return;
  }
  switch (op) {
    case Op::connect: on_connect(slot, cqe->res); break;
    case Op::send: on_send(slot, cqe->res); break;
    case Op::recv: on_recv(slot, cqe); break;
    case Op::link_timeout: break;
  }
}

void Shard::start_connect(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  const Endpoint& ep = prepared_.origins[0].endpoint;
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
  if (res < 0) {
    fail(slot, ErrorKind::connect, res == -ECANCELED ? "connect timed out" : strerror(-res));
    return;
  }
  c.state = ConnState::idle;
  c.connect_failures = 0;
  ++stats_->counters.connects;
  arm_recv(slot);
  issue_next(slot);
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

void Shard::issue_next(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  if (quota_left_ == 0) {
    c.state = ConnState::idle;
    return;
  }
  if (quota_left_ != UINT64_MAX) --quota_left_;
  const RenderedRequest& req = prepared_.requests[next_request_];
  if (++next_request_ == prepared_.requests.size()) next_request_ = 0;
  const uint64_t now = now_ns();
  c.request = &req;
  c.state = ConnState::busy;
  c.intended_ns = now;
  c.sent_ns = now;
  c.first_byte_ns = 0;
  c.exchange.start(req.head, c.carry);
  io_uring_sqe* sqe = get_sqe();
  // MSG_WAITALL: the kernel retries a short send itself, so a success is always whole
  // and its completion can be skipped.
  io_uring_prep_send(sqe, c.fd, req.bytes.data(), req.bytes.size(), MSG_WAITALL | MSG_NOSIGNAL);
  if (skip_send_cqe_) sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(sqe, pack(Op::send, slot, c.gen));
  stats_->counters.bytes_out += req.bytes.size();
  ++in_flight_;
  if (req.timeout_ns != 0) timers_.arm(slot, now + req.timeout_ns);
}

void Shard::on_send(uint32_t slot, int res) noexcept {
  Conn& c = conns_[slot];
  if (res < 0) {
    fail(slot, ErrorKind::write, strerror(-res));
  } else if (c.state == ConnState::busy && static_cast<std::size_t>(res) < c.request->bytes.size()) {
    fail(slot, ErrorKind::write, "short send");
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
    if (c.state == ConnState::busy) {
      if (c.first_byte_ns == 0) c.first_byte_ns = now_ns();
      ExchangeEvent ev = c.exchange.on_data(buffers_.data(bid, static_cast<std::size_t>(res)),
                                            c.carry, header_scratch_);
      buffers_.recycle(bid);
      if (ev.kind == ExchangeEvent::Kind::complete) {
        complete(slot);
      } else if (ev.kind == ExchangeEvent::Kind::error) {
        fail(slot, ErrorKind::protocol, ev.message != nullptr ? ev.message : proto::to_string(ev.error));
      }
    } else {
      buffers_.recycle(bid);
      fail(slot, ErrorKind::protocol, "data received with no request in flight");
    }
  } else if (res == 0) {
    if (c.state == ConnState::busy) {
      ExchangeEvent ev = c.exchange.on_eof();
      if (ev.kind == ExchangeEvent::Kind::complete) {
        complete(slot);  // a close-delimited body; complete() reconnects
      } else {
        fail(slot, ErrorKind::read, ev.message);
      }
    } else {
      ++stats_->counters.closes_by_server;
      close_conn(slot);
      start_connect(slot);
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

void Shard::complete(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  const uint64_t now = now_ns();
  timers_.cancel(slot);
  --in_flight_;
  Counters& k = stats_->counters;
  const int status = c.exchange.status();
  ++k.requests;
  ++k.status[static_cast<std::size_t>(status) < k.status.size() ? status : 0];
  if (success_status(status)) ++k.succeeded;
  else ++k.failed;
  stats_->latency.record(now - c.intended_ns);
  stats_->service.record(now - c.sent_ns);
  stats_->ttfb.record((c.first_byte_ns != 0 ? c.first_byte_ns : now) - c.sent_ns);
  c.state = ConnState::idle;
  if (!c.exchange.keep_alive()) {
    ++k.closes_by_server;
    close_conn(slot);
    start_connect(slot);
    return;
  }
  issue_next(slot);
}

// The one error exit: count it, finish the request in flight as failed, recycle the
// connection. The run goes on.
void Shard::fail(uint32_t slot, ErrorKind kind, const char* message) noexcept {
  Conn& c = conns_[slot];
  note_error(kind, message);
  if (c.state == ConnState::busy) {
    --in_flight_;
    ++stats_->counters.requests;
    ++stats_->counters.failed;
  }
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
  c.recv_armed = false;
  c.carry.len = 0;
}

void Shard::reconnect_later(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  // Exponential back-off from 1 ms to 1 s, so a refusing server is not hammered.
  uint32_t shift = c.connect_failures < 10 ? c.connect_failures : 10;
  ++c.connect_failures;
  c.state = ConnState::retry_wait;
  timers_.arm(slot, now_ns() + (uint64_t{1'000'000} << shift));
}

void Shard::on_timer(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  if (c.state == ConnState::busy) {
    fail(slot, ErrorKind::timeout, "request timed out");
  } else if (c.state == ConnState::retry_wait) {
    start_connect(slot);
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

bool Shard::success_status(int status) const noexcept {
  for (const StatusRange& r : config_.success_status)
    if (status >= r.lo && status <= r.hi) return true;
  return false;
}

}  // namespace ringload
