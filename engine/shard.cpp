#include "engine/shard.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "engine/clock.hpp"
#include "engine/export.hpp"

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
    : plan_(std::move(plan)), config_(config), prepared_(prepared), control_(control),
      table_(*prepared.table) {}

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
  uint32_t n = 0;
  for (uint32_t c : plan_.connections) n += c;
  err = buffers_.setup(&ring_, 0, pow2_at_least(n * 2, 256, 4096), buffer_size);
  if (!err.empty()) return err;
  // The longest request head a connection assembles: the line's own head plus the
  // origin's default headers and the final CRLF.
  std::size_t defaults = 0;
  for (const Origin& o : prepared_.origins)
    defaults = std::max(defaults, o.host_line.size() + o.user_agent_line.size() + o.accept_line.size());
  const std::size_t scratch_size = limits::max_request_head + defaults + 2;
  const std::size_t per_conn = carry_capacity + scratch_size;
  try {
    conns_.resize(n);
    timers_.init(n, now_ns());
    header_scratch_.resize(max_response_headers);
    stats_ = std::make_unique<Stats>();
    by_name_.resize(table_.names.size());
    for (std::size_t i = 0; i < by_name_.size(); ++i) by_name_[i].name = table_.names[i];
    const std::size_t lines = table_.lines.size();
    if (config_.iterations > 0 || lines > 1) {
      uint64_t passes = config_.iterations > 0 ? config_.iterations : limits::max_tracked_iterations;
      by_iteration_.resize(std::min<uint64_t>(passes, limits::max_tracked_iterations));
    }
    if (config_.shuffle) order_.resize(lines);
    free_.resize(plan_.connections.size());
    for (std::size_t o = 0; o < free_.size(); ++o) free_[o].reserve(plan_.connections[o]);
  } catch (const std::bad_alloc&) {
    return "out of memory for " + std::to_string(n) + " connections";
  }
  // Reserved, not committed: only the pages a connection touches cost memory.
  carry_arena_bytes_ = static_cast<std::size_t>(n) * per_conn;
  void* mem = mmap(nullptr, carry_arena_bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return std::string("mmap connection buffers: ") + strerror(errno);
  carry_arena_ = static_cast<char*>(mem);
  first_slot_.assign(plan_.connections.size(), 0);
  opened_.assign(plan_.connections.size(), 0);
  connecting_.assign(plan_.connections.size(), 0);
  uint32_t slot = 0;
  for (uint16_t o = 0; o < plan_.connections.size(); ++o) {
    first_slot_[o] = slot;
    for (uint32_t i = 0; i < plan_.connections[o]; ++i, ++slot) {
      Conn& c = conns_[slot];
      char* base = carry_arena_ + static_cast<std::size_t>(slot) * per_conn;
      c.origin = o;
      c.carry = {base, carry_capacity, 0};
      c.scratch = base + carry_capacity;
    }
  }
  connect_timeout_ = to_timespec(static_cast<uint64_t>(config_.connect_timeout.count()));
  next_position_ = plan_.index;
  if (plan_.open_loop) pacer_.reset(plan_.rate, plan_.phase, plan_.poisson, plan_.seed + plan_.index);
  return {};
}

std::string Shard::setup_ring() noexcept {
  uint32_t connections = 0;
  for (uint32_t c : plan_.connections) connections += c;
  const uint32_t entries = pow2_at_least(connections * 2, 64, 8192);
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
  // The closed loop opens every connection now; the open loop a few per origin, then more
  // as requests find none idle (up to -c).
  constexpr uint32_t open_loop_initial = 8;
  for (uint16_t o = 0; o < plan_.connections.size(); ++o) {
    opened_[o] = plan_.open_loop ? std::min(plan_.connections[o], open_loop_initial) : plan_.connections[o];
    for (uint32_t i = 0; i < opened_[o]; ++i) start_connect(first_slot_[o] + i);
  }
  while (true) {
    uint64_t now = now_ns();
    if (now >= deadline || control_.stop.load(std::memory_order_relaxed)) break;
    if (next_position_ >= plan_.limit && in_flight_ == 0) break;
    maybe_publish();
    const uint64_t version = control_.rate_version.load(std::memory_order_acquire);
    if (version != rate_version_seen_) {
      rate_version_seen_ = version;
      pacer_.rerate(control_.rate.load(std::memory_order_relaxed), now);
    }
    uint64_t wait = wait_ns(now);
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
    pump();
  }
  if (plan_.open_loop) count_unsent(std::min(now_ns(), deadline));
  maybe_publish();
}

// How long the loop may sleep: until the next deadline, the next intended send (less
// the wake-up floor, then spin: PLATFORM.md measured ~50 us of timer lateness), or a tick.
uint64_t Shard::wait_ns(uint64_t now) const noexcept {
  uint64_t wait = timers_.next_wait_ns(now, idle_tick_ns);
  if (plan_.open_loop && next_position_ < plan_.limit) {
    constexpr uint64_t spin_window = 100'000;
    const uint64_t due = pacer_.due_ns();
    uint64_t until = due <= now ? 0 : due - now;
    if (plan_.spin) until = until > spin_window ? until - spin_window : 0;
    wait = std::min(wait, until);
  }
  return wait;
}

// Requests that were due before the end but never sent: reported, not silently lost.
void Shard::count_unsent(uint64_t end) noexcept {
  while (next_position_ < plan_.limit && pacer_.due_ns() <= end) {
    ++unsent_at_end_;
    pacer_.advance();
    next_position_ += plan_.shard_count;
  }
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
  c.state = ConnState::idle;
  c.connect_failures = 0;
  ++stats_->counters.connects;
  arm_recv(slot);
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

// An idle connection goes back to its origin's free list; pump() hands it work.
void Shard::release(uint32_t slot) noexcept {
  Conn& c = conns_[slot];
  c.state = ConnState::idle;
  if (!c.in_free_list) {
    c.in_free_list = true;
    free_[c.origin].push_back(slot);
  }
}

// Sends the shard's next positions, in order, while their origin has an idle
// connection. A position whose origin has none waits (and the ones after it), so each
// shard keeps the file order.
void Shard::pump() noexcept {
  if (plan_.open_loop) {
    pump_open(now_ns());
    return;
  }
  while (next_position_ < plan_.limit) {
    const uint32_t line = line_at(next_position_);
    const uint32_t slot = take_idle(table_.lines[line].origin);
    if (slot == UINT32_MAX) return;
    issue(slot, line, next_position_, now_ns());
    next_position_ += plan_.shard_count;
  }
}

// The open loop: every request whose intended time has come goes out now, on an idle
// connection of its origin. None idle: it waits (its latency still counts from its
// intended time) and another connection is opened if -c allows.
void Shard::pump_open(uint64_t now) noexcept {
  while (next_position_ < plan_.limit) {
    const uint64_t due = pacer_.due_ns();
    if (due > now) return;
    const uint32_t line = line_at(next_position_);
    const uint16_t origin = table_.lines[line].origin;
    const uint32_t slot = take_idle(origin);
    if (slot == UINT32_MAX) {
      if (!waiting_counted_) ++stats_->counters.waited_for_connection;
      waiting_counted_ = true;
      grow(origin, now);
      return;
    }
    waiting_counted_ = false;
    issue(slot, line, next_position_, due);
    pacer_.advance();
    next_position_ += plan_.shard_count;
  }
}

uint32_t Shard::take_idle(uint16_t origin) noexcept {
  std::vector<uint32_t>& free = free_[origin];
  while (!free.empty()) {
    const uint32_t s = free.back();
    free.pop_back();
    conns_[s].in_free_list = false;
    if (conns_[s].state == ConnState::idle) return s;
  }
  return UINT32_MAX;
}

// Opens connections for requests waiting on `origin`: as many as are overdue, less those
// already connecting, within the origin's share of -c.
void Shard::grow(uint16_t origin, uint64_t now) noexcept {
  const double rate = pacer_.rate_at(now);
  const double overdue = 1 + rate * static_cast<double>(now - pacer_.due_ns()) / 1e9;
  while (opened_[origin] < plan_.connections[origin] && connecting_[origin] < overdue) {
    start_connect(first_slot_[origin] + opened_[origin]);
    ++opened_[origin];
  }
}

// The line at a position of the run's sequence: file order, or the pass's shuffle.
uint32_t Shard::line_at(uint64_t position) noexcept {
  const uint64_t lines = table_.lines.size();
  const uint64_t index = position % lines;
  if (!config_.shuffle) return static_cast<uint32_t>(index);
  const uint64_t pass = position / lines;
  if (pass != order_pass_) {
    // Every shard computes the same permutation from (seed, pass): reproducible.
    uint64_t state = config_.seed ^ (pass * 0x9e3779b97f4a7c15ull);
    auto next = [&state] {
      uint64_t z = (state += 0x9e3779b97f4a7c15ull);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      return z ^ (z >> 31);
    };
    for (uint32_t i = 0; i < lines; ++i) order_[i] = i;
    for (uint64_t i = lines - 1; i > 0; --i) std::swap(order_[i], order_[next() % (i + 1)]);
    order_pass_ = pass;
  }
  return order_[index];
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
  c.iteration = static_cast<uint32_t>(position / table_.lines.size());
  c.state = ConnState::busy;
  c.intended_ns = intended;
  c.sent_ns = now;
  stats_->send_lag.record(now - intended);
  c.first_byte_ns = 0;
  c.send_len = static_cast<uint32_t>(head_len + req.body_len);
  c.exchange.start((req.flags & RequestLine::flag_head) != 0, c.carry);
  if (plan_.export_queue != nullptr) c.tap = {plan_.export_queue, sent_, config_.export_max_body, false};
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
  if (skip_send_cqe_) sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(sqe, pack(Op::send, slot, c.gen));
  stats_->counters.bytes_out += c.send_len;
  ++in_flight_;
  ++sent_;
  const uint64_t timeout = req.timeout_ns != 0 ? req.timeout_ns : static_cast<uint64_t>(config_.timeout.count());
  if (timeout != 0) timers_.arm(slot, now + timeout);
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
    e.status = c.exchange.status();  // 0 until a final head arrived
    e.error_kind = error_kind;
    e.error_message = message;
    e.start_ns = c.intended_ns;
    e.first_byte_ns = c.first_byte_ns;
    e.end_ns = now;
    e.body_truncated = c.tap.truncated;
    plan_.export_queue->end(e);
  }
}

void Shard::on_send(uint32_t slot, int res) noexcept {
  Conn& c = conns_[slot];
  if (res < 0) {
    fail(slot, ErrorKind::write, strerror(-res));
  } else if (c.state == ConnState::busy && static_cast<uint32_t>(res) < c.send_len) {
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
      ExchangeEvent ev = c.exchange.on_data(buffers_.data(bid, static_cast<std::size_t>(res)), c.carry,
                                            header_scratch_, plan_.export_queue != nullptr ? &c.tap : nullptr);
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
  Counters& k = stats_->counters;
  const int status = c.exchange.status();
  ++k.status[static_cast<std::size_t>(status) < k.status.size() ? status : 0];
  finish_request(c, success_status(status), now, -1, nullptr);
  stats_->latency.record(now - c.intended_ns);
  stats_->service.record(now - c.sent_ns);
  stats_->ttfb.record((c.first_byte_ns != 0 ? c.first_byte_ns : now) - c.sent_ns);
  if (!c.exchange.keep_alive()) {
    ++k.closes_by_server;
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
