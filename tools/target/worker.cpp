#include "worker.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace ringload::target {
namespace {

constexpr std::uint64_t listener_tag = ~std::uint64_t{0};
constexpr std::uint64_t wake_tag = ~std::uint64_t{0} - 1;
constexpr std::uint32_t listener_slot = ~std::uint32_t{0};
constexpr int max_events = 256;
// Connections accepted per listener event; the listener is level-triggered, so more wait.
constexpr int accepts_per_event = 64;
// Rounds of read/answer/write per connection before others get a turn.
constexpr int rounds_per_drive = 16;
constexpr std::uint64_t linger_ns = 2'000'000'000;
constexpr std::uint64_t accept_pause_ns = 100'000'000;
constexpr std::size_t read_buffer_bytes = limits::max_head_bytes;
constexpr std::size_t keep_carry_bytes = 16 * 1024;

std::uint64_t now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// std::push_heap builds a max-heap: "later" as the order puts the earliest deadline on top.
constexpr auto timer_later = [](const auto& a, const auto& b) noexcept {
  return a.deadline_ns > b.deadline_ns;
};

}  // namespace

Worker::Worker(std::size_t index, int listen_fd, const WorkerConfig& config)
    : index_(index), listen_fd_(listen_fd), read_buffer_(new char[read_buffer_bytes]) {
  env_.fixed = config.fixed;
  env_.force_close = config.force_close;
  env_.counters = config.counters;
  env_.limiter = config.limiter;
  env_.thread = index;
}

Worker::~Worker() {
  for (auto& c : slots_)
    if (c->fd >= 0) ::close(c->fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

bool Worker::init(std::string& error) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    error = std::string("epoll/eventfd: ") + std::strerror(errno);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: a backlog left after accepts_per_event re-reports
  ev.data.u64 = listener_tag;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
    error = std::string("epoll_ctl(listener): ") + std::strerror(errno);
    return false;
  }
  ev.data.u64 = wake_tag;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    error = std::string("epoll_ctl(eventfd): ") + std::strerror(errno);
    return false;
  }
  return true;
}

void Worker::stop() noexcept {
  stop_.store(true, std::memory_order_relaxed);
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

// Waits for events until the next timer is due, or without waiting if connections are
// ready. epoll_pwait2 takes nanoseconds; epoll_wait's milliseconds are rounded up so a
// /delay never answers early.
int Worker::wait(epoll_event* events, int capacity) noexcept {
  std::int64_t timeout_ns = -1;
  if (!ready_.empty()) timeout_ns = 0;
  else if (!timers_.empty()) {
    const std::uint64_t now = now_ns();
    const std::uint64_t due = timers_.front().deadline_ns;
    timeout_ns = due > now ? static_cast<std::int64_t>(due - now) : 0;
  }
  if (have_pwait2_) {
    timespec ts{timeout_ns / 1'000'000'000, timeout_ns % 1'000'000'000};
    const int n = ::epoll_pwait2(epoll_fd_, events, capacity, timeout_ns < 0 ? nullptr : &ts, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    have_pwait2_ = false;  // seccomp or an old kernel: fall back to millisecond timeouts
  }
  const int ms = timeout_ns < 0 ? -1 : static_cast<int>((timeout_ns + 999'999) / 1'000'000);
  return ::epoll_wait(epoll_fd_, events, capacity, ms);
}

bool Worker::run() noexcept {
  epoll_event events[max_events];
  while (!stop_.load(std::memory_order_relaxed)) {
    const int n = wait(events, max_events);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "ringload-target: epoll_wait: %s\n", std::strerror(errno));
      return false;
    }
    env_.date.refresh();
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = events[i].data.u64;
      if (tag == listener_tag) on_listener();
      else if (tag != wake_tag) on_connection(tag, events[i].events);
    }
    if (!timers_.empty()) run_timers(now_ns());
    if (!ready_.empty()) run_ready();
  }
  return true;
}

void Worker::on_listener() noexcept {
  for (int i = 0; i < accepts_per_event; ++i) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      accept_one(fd);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    // Out of descriptors or memory: the level-triggered listener would spin, so pause it.
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) pause_listener();
    return;
  }
}

void Worker::pause_listener() noexcept {
  if (listener_paused_) return;
  epoll_event ev{};
  ev.data.u64 = listener_tag;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev) != 0) return;
  listener_paused_ = true;
  timers_.push_back({now_ns() + accept_pause_ns, listener_slot, 0});
  std::push_heap(timers_.begin(), timers_.end(), timer_later);
}

void Worker::accept_one(int fd) noexcept {
  // TCP_NODELAY comes from the listener: Linux copies it to accepted sockets.
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(std::make_unique<Connection>());
    slots_.back()->slot = slot;
  }
  Connection& c = *slots_[slot];
  c.fd = fd;
  const std::uint64_t tag = std::uint64_t{c.generation} << 32 | slot;
  // The request usually arrives with the handshake: answer it before registering, so a
  // Connection: close exchange costs no epoll_ctl at all.
  c.rd_ready = c.wr_ready = true;
  drive(c);
  if (lookup(tag) != &c) return;
  // Edge-triggered from here; adding reports whatever became ready since the last read.
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = tag;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) close_connection(c);
}

Worker::Connection* Worker::lookup(std::uint64_t tag) noexcept {
  const auto slot = static_cast<std::uint32_t>(tag);
  if (slot >= slots_.size()) return nullptr;
  Connection* c = slots_[slot].get();
  return c->fd >= 0 && c->generation == static_cast<std::uint32_t>(tag >> 32) ? c : nullptr;
}

void Worker::on_connection(std::uint64_t tag, std::uint32_t events) noexcept {
  Connection* c = lookup(tag);
  if (c == nullptr) return;  // closed earlier in this batch
  if (c->lingering) return linger_read(*c);
  // HUP: both directions are gone (or reset); ERR: a pending socket error. Nothing to save.
  if ((events & (EPOLLERR | EPOLLHUP)) != 0) return close_connection(*c);
  if ((events & EPOLLRDHUP) != 0) c->rdhup = true;
  if ((events & (EPOLLIN | EPOLLRDHUP)) != 0) c->rd_ready = true;
  if ((events & EPOLLOUT) != 0) c->wr_ready = true;
  drive(*c);
}

void Worker::drive(Connection& c) noexcept {
  const std::uint64_t tag = std::uint64_t{c.generation} << 32 | c.slot;
  for (int round = 0; round < rounds_per_drive; ++round) {
    if (!drive_round(c)) return;  // nothing more to do until an event or a timer
    if (lookup(tag) != &c) return;  // closed
  }
  ready_.push_back(tag);  // still busy: come back after the other connections
}

// One step of read → answer → write. Returns true if it made progress (worth another round).
bool Worker::drive_round(Connection& c) noexcept {
  Session& s = c.session;
  bool progress = false;
  if (!c.carry.empty() && !s.blocked()) progress = process_carry(c);
  if (s.streaming() && s.out().queued() < limits::out_high_water && s.fill(env_)) progress = true;
  arm_session_timer(c);
  if (!s.out().empty() && c.wr_ready) {
    const FlushStatus f = s.out().flush(c.fd);
    if (f == FlushStatus::error) {
      close_connection(c);
      return false;
    }
    if (f == FlushStatus::again) c.wr_ready = false;
    else progress = true;
  }
  if (s.finished()) {
    finish_close(c);
    return false;
  }
  if (c.rd_ready && !s.blocked() && c.carry.size() < limits::max_head_bytes) {
    switch (read_once(c)) {
      case ReadResult::data:
      case ReadResult::eof: progress = true; break;
      case ReadResult::again: break;
      case ReadResult::error: close_connection(c); return false;
    }
    arm_session_timer(c);
  }
  if (!progress && c.peer_eof && s.out().empty() && !s.delayed() && !s.streaming()) {
    // The client is gone and everything it asked for is answered; what is left in the
    // carry is an incomplete request that can never finish.
    close_connection(c);
    return false;
  }
  return progress;
}

bool Worker::process_carry(Connection& c) noexcept {
  const std::size_t used = c.session.consume(c.carry, env_);
  c.carry.erase(0, used);
  return used > 0;
}

Worker::ReadResult Worker::read_once(Connection& c) noexcept {
  const std::size_t room = std::min(read_buffer_bytes, limits::max_head_bytes - c.carry.size());
  ssize_t n;
  do n = ::read(c.fd, read_buffer_.get(), room);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) return ReadResult::error;
    c.rd_ready = false;
    return ReadResult::again;
  }
  if (n == 0) {
    c.peer_eof = true;
    c.rd_ready = false;
    return ReadResult::eof;
  }
  const auto got = static_cast<std::size_t>(n);
  // A short read drained the socket; with edge triggering, new bytes raise a new event.
  // Not after the FIN, which raises none: then read on until read() returns 0.
  if (got < room && !c.rdhup) c.rd_ready = false;
  if (c.carry.empty()) {
    // The common case: parse straight from the read buffer, keep only an incomplete tail.
    const std::string_view in(read_buffer_.get(), got);
    const std::size_t used = c.session.consume(in, env_);
    if (used < got) c.carry.assign(in.substr(used));
  } else {
    c.carry.append(read_buffer_.get(), got);
    process_carry(c);
  }
  return ReadResult::data;
}

void Worker::finish_close(Connection& c) noexcept {
  // Closing with unread input makes the kernel send a reset, which can destroy the response
  // before the client reads it; shut down our side and drain for a while instead.
  if (c.peer_eof || (c.carry.empty() && !c.rd_ready && !c.session.mid_request()))
    return close_connection(c);
  ::shutdown(c.fd, SHUT_WR);
  c.lingering = true;
  c.carry.clear();
  arm_timer(c, now_ns() + linger_ns);
  linger_read(c);
}

void Worker::linger_read(Connection& c) noexcept {
  for (int i = 0; i < 16; ++i) {
    const ssize_t n = ::read(c.fd, read_buffer_.get(), read_buffer_bytes);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    break;  // EOF or error
  }
  close_connection(c);
}

void Worker::close_connection(Connection& c) noexcept {
  ::close(c.fd);  // also removes it from the epoll set
  c.fd = -1;
  ++c.generation;
  c.rd_ready = c.wr_ready = c.rdhup = c.peer_eof = c.lingering = false;
  c.deadline_ns = c.fired_ns = 0;
  if (c.carry.capacity() > keep_carry_bytes) std::string{}.swap(c.carry);
  else c.carry.clear();
  c.session.reset();
  free_slots_.push_back(c.slot);
}

void Worker::arm_session_timer(Connection& c) noexcept {
  const TimerRequest t = c.session.take_timer();
  if (t.ns == 0) return;
  const std::uint64_t now = now_ns();
  // A chained wait continues the schedule of the timer that fired last, unless that is a
  // whole interval behind (the client stopped reading for a while): then the schedule
  // restarts from now instead of sending a burst to catch up.
  const bool on_schedule = t.chained && c.fired_ns != 0 && c.fired_ns + t.ns > now;
  arm_timer(c, (on_schedule ? c.fired_ns : now) + t.ns);
}

void Worker::arm_timer(Connection& c, std::uint64_t deadline_ns) noexcept {
  c.deadline_ns = deadline_ns;
  timers_.push_back({deadline_ns, c.slot, c.generation});
  std::push_heap(timers_.begin(), timers_.end(), timer_later);
}

void Worker::run_timers(std::uint64_t now) noexcept {
  // Bounded: a timer armed while handling one is due later than `now`.
  while (!timers_.empty() && timers_.front().deadline_ns <= now) {
    std::pop_heap(timers_.begin(), timers_.end(), timer_later);
    const Timer t = timers_.back();
    timers_.pop_back();
    if (t.slot == listener_slot) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = listener_tag;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
      listener_paused_ = false;
      continue;
    }
    Connection* c = lookup(std::uint64_t{t.generation} << 32 | t.slot);
    if (c == nullptr || c->deadline_ns != t.deadline_ns) continue;  // stale
    c->deadline_ns = 0;
    if (c->lingering) {
      close_connection(*c);
      continue;
    }
    c->fired_ns = t.deadline_ns;
    c->session.fire_timer(env_);
    drive(*c);
  }
}

void Worker::run_ready() noexcept {
  ready_batch_.swap(ready_);  // drive() may queue a connection again
  for (const std::uint64_t tag : ready_batch_)
    if (Connection* c = lookup(tag)) drive(*c);
  ready_batch_.clear();
}

}  // namespace ringload::target
