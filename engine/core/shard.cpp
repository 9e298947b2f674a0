#include "engine/core/shard.hpp"

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

#include "engine/core/clock.hpp"
#include "engine/output/export_queue.hpp"

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
  // Stats are not written after the loop: the control thread may read them once it sees
  // `finished` (the engine stores it after run() returns).
  control_.final_stats = stats_.get();
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
  scratch_size_ = scratch_size;
  err = setup_streams(n);
  if (!err.empty()) return err;
  // TLS: a session per https slot, created now (wolfSSL allocates its own state per
  // connection; these objects and their buffers live for the whole run).
  uint32_t tls_slots = 0;
  for (uint16_t o = 0; o < plan_.connections.size(); ++o)
    if (prepared_.origins[o].tls) tls_slots += plan_.connections[o];
  if (tls_slots > 0) {
    try {
      tls_sessions_ = std::vector<TlsSession>(tls_slots);
      tls_cache_.resize(plan_.connections.size());
      plaintext_.resize(32 * 1024);
    } catch (const std::bad_alloc&) {
      return "out of memory for " + std::to_string(tls_slots) + " TLS sessions";
    }
    uint32_t next = 0;
    for (Conn& c : conns_)
      if (prepared_.origins[c.origin].tls) c.tls = &tls_sessions_[next++];
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
  // Each io_uring_enter then skips the file-table lookup of the ring's fd (5.18+).
  if (io_uring_register_ring_fd(&ring_) < 0 && plan_.index == 0)
    notices_.emplace_back("kernel lacks registered ring fds: each wait looks the ring up");
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
  end_streams();
  maybe_publish();
}

// Streams still open when the run stops are finished as run_end: a feed that never ends
// by itself is still counted and exported with everything it received.
void Shard::end_streams() noexcept {
  stopping_ = true;
  for (uint32_t slot = 0; slot < conns_.size(); ++slot) {
    const Conn& c = conns_[slot];
    if (c.state == ConnState::busy && c.stream != nullptr && c.exchange.streaming())
      stream_finish(slot, StreamEnd::run_end);
  }
}

// How long the loop may sleep: until the next deadline, the next intended send (less
// the wake-up floor, then spin: PLATFORM.md measured ~50 us of timer lateness), or a tick.
uint64_t Shard::wait_ns(uint64_t now) const noexcept {
  uint64_t wait = timers_.next_wait_ns(now, idle_tick_ns);
  if (plan_.open_loop && next_position_ < plan_.limit) {
    constexpr uint64_t spin_window = 250'000;  // covers the p99 of timer lateness (PLATFORM.md)
    const uint64_t due = pacer_.due_ns();
    uint64_t until = due <= now ? 0 : due - now;
    if (plan_.spin) until = until > spin_window ? until - spin_window : 0;
    wait = std::min(wait, until);
  }
  return wait;
}

// Requests that were due before the end but never sent: reported, not silently lost.
void Shard::count_unsent(uint64_t end) noexcept {
  // Strictly before: the slot due exactly at the end of -d belongs to the next second.
  while (next_position_ < plan_.limit && pacer_.due_ns() < end) {
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

}  // namespace ringload
