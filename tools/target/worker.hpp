#pragma once
// One worker thread: its own SO_REUSEPORT listener, epoll instance (edge-triggered
// connections), connection slab and timer heap. Workers share only the request counters
// and the --capacity limiter.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "session.hpp"

struct epoll_event;

namespace ringload::target {

struct WorkerConfig {
  FixedBody fixed;
  bool force_close = false;
  RequestCounters* counters = nullptr;
  RateLimiter* limiter = nullptr;  // nullptr: no --capacity
};

class Worker {
 public:
  // Takes ownership of `listen_fd` (non-blocking, listening).
  Worker(std::size_t index, int listen_fd, const WorkerConfig& config);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Creates the epoll instance and the wake-up eventfd; false with `error` set on failure.
  bool init(std::string& error);
  // The event loop. Returns true after stop(), false on a fatal error (printed on stderr).
  bool run() noexcept;
  // From any thread: makes run() return soon.
  void stop() noexcept;

 private:
  struct Connection {
    int fd = -1;
    std::uint32_t slot = 0;
    std::uint32_t generation = 0;  // bumped on close: stale events and timers don't match
    bool rd_ready = false;   // the socket may hold unread bytes (edge-triggered)
    bool wr_ready = false;   // the socket accepted everything we last wrote
    bool rdhup = false;      // the peer's FIN arrived: read to EOF, no short-read shortcut
    bool peer_eof = false;   // read() returned 0
    bool lingering = false;  // our side is shut down; discarding input until EOF or timeout
    std::uint64_t deadline_ns = 0;  // the armed timer (delay, SSE pace or linger), 0 if none
    std::uint64_t fired_ns = 0;     // deadline of the session timer that fired last
    std::string carry;  // received bytes not consumed yet (an incomplete request)
    Session session;
  };

  struct Timer {
    std::uint64_t deadline_ns;
    std::uint32_t slot;
    std::uint32_t generation;
  };

  enum class ReadResult : std::uint8_t { data, eof, again, error };

  void on_listener() noexcept;
  void accept_one(int fd) noexcept;
  void on_connection(std::uint64_t tag, std::uint32_t events) noexcept;
  void drive(Connection& c) noexcept;
  bool drive_round(Connection& c) noexcept;
  bool process_carry(Connection& c) noexcept;
  ReadResult read_once(Connection& c) noexcept;
  void finish_close(Connection& c) noexcept;
  void linger_read(Connection& c) noexcept;
  void close_connection(Connection& c) noexcept;
  void arm_timer(Connection& c, std::uint64_t deadline_ns) noexcept;
  // Arms the timer the session asked for, if any (Session::take_timer).
  void arm_session_timer(Connection& c) noexcept;
  void run_timers(std::uint64_t now_ns) noexcept;
  void run_ready() noexcept;
  void pause_listener() noexcept;
  Connection* lookup(std::uint64_t tag) noexcept;
  int wait(struct epoll_event* events, int capacity) noexcept;

  std::size_t index_;
  int listen_fd_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool listener_paused_ = false;
  bool have_pwait2_ = true;
  std::atomic<bool> stop_{false};
  SessionEnv env_;
  std::vector<std::unique_ptr<Connection>> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<Timer> timers_;          // min-heap on deadline_ns
  std::vector<std::uint64_t> ready_;   // tags of connections with work left after a drive
  std::vector<std::uint64_t> ready_batch_;
  std::unique_ptr<char[]> read_buffer_;
};

}  // namespace ringload::target
