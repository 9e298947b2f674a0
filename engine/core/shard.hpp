// A shard: one thread pinned to one core, one io_uring ring, its own connection slab,
// provided-buffer ring, timer wheel and figures. Shards share nothing on the hot path:
// the control thread talks to them through the atomics in ShardControl.
//
// The shard knows rings, sockets, timers and the load model; nothing of protocols. A
// connection's bytes go through its Transport (plain or TLS) to the session of the
// request in flight (HTTP, SSE, WebSocket), which returns a Step; the shard acts on it.
// Only the shard closes or recycles a slot.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/core/buffer_ring.hpp"
#include "engine/core/ring.hpp"
#include "engine/core/slab.hpp"
#include "engine/core/timer_wheel.hpp"
#include "engine/load/pacer.hpp"
#include "engine/load/sequence.hpp"
#include "engine/load/spin.hpp"
#include "engine/output/recorder.hpp"
#include "engine/plugins/plugin_shard.hpp"
#include "engine/requests/request.hpp"
#include "engine/session/sessions.hpp"
#include "engine/transport/tls_transport.hpp"
#include "ringload/config.hpp"
#include "ringload/memory.hpp"
#include "ringload/stats.hpp"

namespace ringload {

class ExportQueue;

// What one shard is asked to do. Plain data, fixed before the thread starts.
struct ShardPlan {
  uint32_t index = 0;
  uint32_t shard_count = 1;
  uint64_t t0_ns = 0;                 // the run's planned start: `rate` and `deadline_ns` count from it
  int cpu = -1;                       // pin here; -1: do not pin
  std::vector<uint32_t> connections;  // this shard's connections to each origin
  uint64_t limit = UINT64_MAX;        // positions below it are sent (sequence.hpp); UINT64_MAX: no end
  uint64_t seq_first = 0;             // this shard's first position and step (shard_split.hpp)
  uint64_t seq_step = 1;
  uint64_t deadline_ns = UINT64_MAX;  // stop sending and end the loop at this time
  ExportQueue* export_queue = nullptr;  // where finished requests go with --export; null: off
  PluginHost* plugins = nullptr;      // loaded plugins; null: none
  bool open_loop = false;             // send at intended times (pacer) instead of when free
  std::vector<RateSegment> rate;      // this shard's share of the rate schedule
  double phase = 0;                   // this shard's offset in the even schedule
  bool poisson = false;
  uint64_t seed = 1;
  bool direct_fds = false;            // sockets as direct descriptors (direct_fd.hpp)
  SpinMode spin = SpinMode::automatic;  // spin the last stretch before a send, or sleep
};

// The control thread's handle on a running shard.
struct ShardControl {
  ShardControl() noexcept {}  // as Stats(): make_unique must not zero the snapshot's pages
  std::atomic<bool> stop{false};              // stop sending; end the loop
  std::atomic<uint64_t> publish_request{0};   // bump to ask for a snapshot
  std::atomic<uint64_t> published{0};         // == publish_request once `snapshot` is ready
  std::atomic<bool> finished{false};          // the thread's loop has ended ...
  const Stats* final_stats = nullptr;         // ... and these are its last figures
  std::atomic<double> rate{0};                // adaptive: this shard's new rate ...
  std::atomic<uint64_t> rate_version{0};      // ... taken when this changes
  // The open loop's start: each shard opens all its connections, says `ready`, and sends
  // nothing until the control thread sets `start_ns` (its plan then moves to start there).
  std::atomic<bool> ready{false};
  std::atomic<uint64_t> start_ns{0};
  uint32_t preopened = 0;                     // connections open at the start (set before `ready`)
  Stats snapshot;                             // written by the shard only on request
  uint64_t snapshot_in_flight = 0;
};

class Shard final : public RequestEnds {
 public:
  Shard(ShardPlan plan, const RunConfig& config, const PreparedRun& prepared, ShardControl& control) noexcept;
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // The thread body. Returns when stopped or when the quota is done; errors in setup
  // are returned (the run fails), errors of connections are counted.
  std::string run() noexcept;

  // Valid after run() returned.
  const Recorder& recorder() const noexcept { return recorder_; }
  uint64_t in_flight_at_end() const noexcept { return in_flight_at_end_; }
  uint64_t unsent_at_end() const noexcept { return unsent_at_end_; }
  uint64_t end_ns() const noexcept { return end_ns_; }
  const std::vector<std::string>& notices() const noexcept { return notices_; }
  const char* tls_version() const noexcept { return tls_.version; }
  const char* tls_cipher() const noexcept { return tls_.cipher; }
  const std::vector<std::pair<std::string, uint64_t>>& labels() const noexcept { return plugins_.labels(); }
  // What this shard allocated, by part (shard_memory.cpp), its histograms as they are now;
  // valid after run() returned.
  MemoryUsage memory() const noexcept;

 private:
  // The thread, the ring loop, the stop (shard.cpp).
  std::string setup() noexcept;
  std::string setup_tls() noexcept;
  std::size_t scratch_needed() const noexcept;
  MemoryUsage allocated() const noexcept;  // at the end of setup, before the ring closes
  void teardown() noexcept;
  void loop() noexcept;
  void send_loop() noexcept;
  void handle() noexcept;
  void turn(uint64_t wait) noexcept;
  bool warm_up() noexcept;
  uint32_t opening() const noexcept;
  void dispatch(const io_uring_cqe* cqe) noexcept;
  void maybe_publish() noexcept;
  void end_sessions() noexcept;
  uint64_t wait_ns(uint64_t now) const noexcept;
  uint32_t batch_wait_us() const noexcept;

  // A connection's life (connection.cpp).
  void start_connect(uint32_t slot) noexcept;
  void open_more() noexcept;
  void on_setup_failed(uint32_t slot, int res) noexcept;
  // The SQE flag that makes c.fd a direct descriptor, or nothing.
  uint8_t fixed_file() const noexcept { return plan_.direct_fds ? IOSQE_FIXED_FILE : 0; }
  void on_connect(uint32_t slot, int res) noexcept;
  void on_ready(uint32_t slot) noexcept;
  void arm_recv(uint32_t slot) noexcept;
  void on_send(uint32_t slot, int res) noexcept;
  void on_recv(uint32_t slot, const io_uring_cqe* cqe) noexcept;
  void on_eof(uint32_t slot) noexcept;
  void on_timer(uint32_t slot) noexcept;
  bool take_events(uint32_t slot) noexcept;
  void flush(uint32_t slot) noexcept;
  void close_conn(uint32_t slot) noexcept;
  // Connect again after 1 ms << failures (at most --reconnect-backoff).
  void reconnect_later(uint32_t slot, uint32_t failures) noexcept;

  // A request's life (exchange.cpp).
  uint32_t assemble_head(char* out, const RequestLine& req) const noexcept;
  // A request not processed by the server (an HTTP/2 GOAWAY), to send once more.
  struct Resend {
    uint32_t line = 0;
    uint32_t iteration = 0;
    uint64_t intended_ns = 0;
  };
  void issue(uint32_t slot, uint32_t line, uint64_t intended, const Resend* again = nullptr) noexcept;
  void flush_batched() noexcept;
  bool deliver(uint32_t slot, std::span<const char> plaintext) noexcept;
  void pump_output(uint32_t slot) noexcept;
  bool apply(uint32_t slot, const Step& step, uint64_t now) noexcept;
  void fail(uint32_t slot, ErrorKind kind, const char* message) noexcept;
  void ended(uint32_t slot, InFlight& r, const RequestEnd& end) noexcept override;
  void abort_requests(uint32_t slot, ErrorKind kind, const char* message) noexcept;
  void finish_request(uint32_t slot, InFlight& r, bool ok, uint64_t now, int error_kind, const char* message,
                      int status = 0, int complete = -1) noexcept;
  // The connection's session may be spoken to: a request is in flight, or the session is
  // the connection's (it reads and writes between requests: HTTP/2 SETTINGS, PING).
  static bool talking(const Conn& c) noexcept {
    return c.state == ConnState::busy || (c.mux && c.state == ConnState::idle);
  }
  void rearm(uint32_t slot) noexcept;

  // What to send next and on which connection (schedule.cpp).
  void pump() noexcept;
  void pump_open(uint64_t now) noexcept;
  bool pump_resends() noexcept;
  void count_unsent(uint64_t end) noexcept;

  ShardPlan plan_;
  const RunConfig& config_;
  const PreparedRun& prepared_;
  const RequestTable& table_;
  ShardControl& control_;

  __kernel_timespec connect_timeout_{};  // read by the kernel when a link timeout is submitted
  Ring ring_;
  BufferRing buffers_;
  Slab slab_;
  TimerWheel timers_;
  Sessions sessions_;
  TlsShared tls_;
  PluginShard plugins_;               // used when plan_.plugins is set
  Recorder recorder_;
  Sequence sequence_;
  Pacer pacer_;
  SpinPolicy spin_;                   // open loop: sleep or spin before a send
  uint64_t spin_window_ns_ = 0;       // this loop turn's spin stretch (0: sleep until due)
  std::vector<proto::Header> header_scratch_;
  SessionEnv env_;
  uint64_t rate_version_seen_ = 0;
  bool waiting_counted_ = false;      // the due request was counted as waiting for a connection
  bool stopping_ = false;             // the loop ended: no new connects
  // The first connects go out a batch at a time (open_more): thousands of SYNs at once
  // overflow the server's accept queue, and each dropped one costs a 1 s retransmit.
  uint32_t next_open_ = 0;            // slots below it have had their first connect
  uint32_t connecting_ = 0;           // connect SQEs without their completion yet
  uint64_t unsent_at_end_ = 0;
  uint32_t batched_ = UINT32_MAX;     // a batching session's slot with requests issued, not produced
  uint32_t batch_wait_us_ = 0;        // > 0: the loop waits for batches of completions (send_loop)
  uint64_t issued_ = 0;               // requests issued, sent or skipped: the next request's seq
  uint64_t in_flight_ = 0;            // requests issued and not finished (resends waiting included)
  // Resends waiting for a connection, oldest first: a ring as large as the most requests
  // in flight (connections x --max-streams), made only for HTTP/2 runs.
  std::vector<Resend> resends_;
  std::size_t resend_first_ = 0, resend_count_ = 0;
  uint64_t in_flight_at_end_ = 0;
  uint64_t end_ns_ = 0;
  uint64_t publish_seen_ = 0;
  std::vector<std::string> notices_;
  MemoryUsage allocated_;
};

}  // namespace ringload
