// A shard: one thread pinned to one core, one io_uring ring, its own connection slab,
// provided-buffer ring, timer wheel and stats. Shards share nothing on the hot path:
// the control thread talks to them through the atomics in ShardControl.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/core/buffer_ring.hpp"
#include "engine/session/http_exchange.hpp"
#include "engine/load/pacer.hpp"
#include <sys/socket.h>

#include "engine/requests/request.hpp"
#include "proto/sse.hpp"
#include "proto/websocket.hpp"
#include "engine/core/timer_wheel.hpp"
#include "engine/transport/tls.hpp"
#include "ringload/config.hpp"
#include "ringload/stats.hpp"

namespace ringload {

// What one shard is asked to do. Plain data, fixed before the thread starts.
// The run's request sequence is positions 0, 1, 2 ... (pass = position / lines,
// line = position % lines, or its shuffled place); shard k of T sends positions
// k, k + T, k + 2T ... below `limit`, so the shards together send each exactly once.
struct ShardPlan {
  uint32_t index = 0;
  uint32_t shard_count = 1;
  int cpu = -1;                       // pin here; -1: do not pin
  std::vector<uint32_t> connections;  // this shard's connections to each origin
  uint64_t limit = UINT64_MAX;        // positions below it are sent; UINT64_MAX: no end
  uint64_t deadline_ns = UINT64_MAX;  // stop sending and end the loop at this time
  ExportQueue* export_queue = nullptr;  // where finished requests go with --export; null: off
  bool open_loop = false;             // send at intended times (pacer) instead of when free
  std::vector<RateSegment> rate;      // this shard's share of the rate schedule
  double phase = 0;                   // this shard's offset in the even schedule
  bool poisson = false;
  uint64_t seed = 1;
  bool spin = true;                   // spin the last stretch before a send instead of sleeping
};

// The control thread's handle on a running shard.
struct ShardControl {
  std::atomic<bool> stop{false};              // stop sending; end the loop
  std::atomic<uint64_t> publish_request{0};   // bump to ask for a snapshot
  std::atomic<uint64_t> published{0};         // == publish_request once `snapshot` is ready
  std::atomic<bool> finished{false};          // the thread's loop has ended ...
  const Stats* final_stats = nullptr;         // ... and these are its last figures
  std::atomic<double> rate{0};                // adaptive: this shard's new rate ...
  std::atomic<uint64_t> rate_version{0};      // ... taken when this changes
  Stats snapshot;                             // written by the shard only on request
  uint64_t snapshot_in_flight = 0;
};

enum class ConnState : uint8_t { closed, connecting, handshaking, idle, busy, retry_wait };

class Shard;

// Hands a connection's stream callbacks (SSE body, WebSocket bytes) to its shard.
struct ConnSink final : StreamSink {
  Shard* shard = nullptr;
  uint32_t slot = 0;
  Verdict on_stream_head(const proto::ResponseHead& head, std::span<const proto::Header> headers,
                         const char*& why) noexcept override;
  bool on_stream_data(std::span<const char> data) noexcept override;
};

// A WebSocket session on a connection slot (slots of runs with WebSocket lines). Frames
// go out one send at a time from the slot's scratch, masked there.
struct WsConn {
  enum class Phase : uint8_t { handshake, open, closing };
  proto::ws::MessageAssembler assembler{proto::ws::limits::default_max_message};
  Phase phase = Phase::handshake;
  bool sending = false;          // plain connections: a send from the scratch is in flight
  bool close_queued = false;     // a close frame is due after the current send
  bool close_sent = false;
  bool close_received = false;
  bool closed_by_server = false; // the server's close came first
  bool server_error_close = false;  // the server's close code says something failed (1002-1015)
  bool pong_queued = false;
  bool until_match = false;      // the message so far equals the start of `until`
  uint8_t pong_len = 0;
  uint8_t ctrl_len = 0;
  proto::ws::Opcode ctrl_op = proto::ws::Opcode::close;
  uint16_t close_code = 1000;    // the code of the close frame we send (0: none)
  uint32_t next_message = 0;
  uint64_t pass = 0;             // passes over the line's messages done (repeat)
  uint64_t message_offset = 0;   // bytes of messages[next_message] sent so far (fragments)
  uint64_t data_len = 0;         // bytes of the arriving message so far
  uint64_t close_deadline_ns = 0;
  uint64_t next_send_ns = 0;     // with an interval: when the next message is due
  uint32_t rtt_head = 0;         // FIFO of send times of messages awaiting a reply
  uint32_t rtt_tail = 0;
  uint64_t rtt_untimed = 0;      // messages sent after the FIFO was full, awaiting replies
  std::array<uint64_t, 128> rtt_sent{};
  char accept[proto::ws::accept_length];
  char pong[proto::ws::limits::max_control_payload];
  char ctrl[proto::ws::limits::max_control_payload];
};

// A connection slot in the slab, addressed by index. `gen` changes each time the slot
// gets a new socket, so completions for the old one are recognised as stale.
struct Conn {
  int fd = -1;
  uint32_t gen = 0;
  ConnState state = ConnState::closed;
  bool recv_armed = false;
  bool in_free_list = false;         // its slot is in free_[origin] (maybe stale: check state)
  uint16_t origin = 0;
  uint32_t connect_failures = 0;     // consecutive, for the reconnect back-off
  const RequestLine* request = nullptr;  // in flight when state == busy
  uint32_t iteration = 0;            // the pass the request belongs to
  uint32_t send_len = 0;             // bytes the send must take
  uint64_t intended_ns = 0;          // when the request should have been sent
  uint64_t sent_ns = 0;              // when its send was queued
  uint64_t first_byte_ns = 0;        // first response byte (0: none yet)
  CarryBuffer carry;                 // a response head split across reads
  char* scratch = nullptr;           // the assembled request head (stable until the send completes)
  msghdr msg{};                      // for head + body sends
  iovec iov[2]{};
  ExportTap tap;                     // export state of the request in flight
  TlsSession* tls = nullptr;         // https origins: this slot's session (owned by the shard)
  bool tls_sending = false;          // one send of the session's output in flight
  bool session_taken = false;        // the session was cached for resumption
  uint64_t handshake_start_ns = 0;
  struct {
    std::string_view head, body;     // plaintext still to encrypt (the output was full)
  } tls_pending;
  HttpExchange exchange;
  ConnSink sink;                     // the exchange's stream consumer
  const StreamSpec* stream = nullptr;  // the stream in flight; null: plain HTTP
  proto::SseParser* sse = nullptr;   // runs with SSE lines: this slot's parser
  WsConn* ws = nullptr;              // runs with WebSocket lines: this slot's session
  uint64_t last_rx_ns = 0;           // streams: last activity (SSE: bytes; WS: data messages
                                     // received or sent; before the head: any bytes)
  uint64_t stream_items = 0;         // events / data messages received
  uint64_t last_item_ns = 0;
  StreamEnd stream_end = StreamEnd::error;  // why the stream is ending (when it succeeds)
};

class Shard {
 public:
  Shard(ShardPlan plan, const RunConfig& config, const PreparedRun& prepared,
        ShardControl& control) noexcept;
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // The thread body. Returns when stopped or when the quota is done; errors in setup
  // are returned (the run fails), errors of connections are counted.
  std::string run() noexcept;

  // Valid after run() returned.
  const Stats& stats() const noexcept { return *stats_; }
  const std::vector<NameStats>& by_name() const noexcept { return by_name_; }
  const std::vector<IterationStats>& by_iteration() const noexcept { return by_iteration_; }
  uint64_t in_flight_at_end() const noexcept { return in_flight_at_end_; }
  uint64_t unsent_at_end() const noexcept { return unsent_at_end_; }
  uint64_t end_ns() const noexcept { return end_ns_; }
  const std::array<std::string, error_kind_count>& first_errors() const noexcept { return first_error_; }
  const std::vector<std::string>& notices() const noexcept { return notices_; }
  const char* tls_version() const noexcept { return tls_version_; }
  const char* tls_cipher() const noexcept { return tls_cipher_; }

 private:
  enum class Op : uint8_t { connect, link_timeout, send, recv };
  friend struct ConnSink;

  std::string setup() noexcept;
  std::string setup_ring() noexcept;
  void teardown() noexcept;
  void loop() noexcept;
  void dispatch(const io_uring_cqe* cqe) noexcept;
  void maybe_publish() noexcept;

  void start_connect(uint32_t slot) noexcept;
  void on_connect(uint32_t slot, int res) noexcept;
  void on_send(uint32_t slot, int res) noexcept;
  void on_recv(uint32_t slot, const io_uring_cqe* cqe) noexcept;
  void on_timer(uint32_t slot) noexcept;
  void arm_recv(uint32_t slot) noexcept;
  void pump() noexcept;
  void pump_open(uint64_t now) noexcept;
  uint32_t take_idle(uint16_t origin) noexcept;
  void grow(uint16_t origin, uint64_t now) noexcept;
  uint64_t wait_ns(uint64_t now) const noexcept;
  void count_unsent(uint64_t end) noexcept;
  uint32_t line_at(uint64_t position) noexcept;
  void release(uint32_t slot) noexcept;
  void issue(uint32_t slot, uint32_t line, uint64_t position, uint64_t intended) noexcept;
  void finish_request(Conn& c, bool ok, uint64_t now, int error_kind, const char* message) noexcept;
  void complete(uint32_t slot) noexcept;
  void count_response(uint32_t slot, bool ok) noexcept;
  uint64_t request_timeout(const RequestLine& req) const noexcept;
  bool on_plain(uint32_t slot, std::span<const char> data) noexcept;
  void on_eof(uint32_t slot) noexcept;
  void tls_start(uint32_t slot) noexcept;
  void tls_handshake(uint32_t slot) noexcept;
  void tls_write(uint32_t slot) noexcept;
  void tls_flush(uint32_t slot) noexcept;
  void tls_on_sent(uint32_t slot, int res) noexcept;
  void tls_on_recv(uint32_t slot, std::span<const char> data) noexcept;
  void tls_on_eof(uint32_t slot) noexcept;
  void tls_fail(uint32_t slot) noexcept;
  void fail(uint32_t slot, ErrorKind kind, const char* message) noexcept;
  // Streams (shard_stream.cpp).
  std::string setup_streams(uint32_t slots) noexcept;
  void stream_start(uint32_t slot, uint64_t now) noexcept;
  StreamSink::Verdict stream_head(uint32_t slot, const proto::ResponseHead& head,
                                  std::span<const proto::Header> headers, const char*& why) noexcept;
  bool sse_data(uint32_t slot, std::span<const char> data) noexcept;
  bool ws_data(uint32_t slot, std::span<const char> data) noexcept;
  void ws_control(uint32_t slot) noexcept;
  void ws_pump(uint32_t slot) noexcept;
  std::size_t ws_fill(uint32_t slot, std::span<char> out, std::size_t len) noexcept;
  bool ws_busy(const Conn& c) const noexcept;
  static bool ws_more(const Conn& c) noexcept;
  // A WebSocket session is in flight on this connection.
  static bool ws_session(const Conn& c) noexcept {
    return c.stream != nullptr && c.stream->proto == StreamProto::ws;
  }
  void ws_begin_close(uint32_t slot, StreamEnd end, uint64_t now) noexcept;
  void ws_fail(uint32_t slot, uint16_t code, const char* message) noexcept;
  void ws_on_eof(uint32_t slot) noexcept;
  void stream_finish(uint32_t slot, StreamEnd end) noexcept;
  void end_streams() noexcept;
  void stream_account(Conn& c, bool ok, uint64_t now) noexcept;
  void stream_on_timer(uint32_t slot) noexcept;
  void stream_arm_timer(uint32_t slot, uint64_t now) noexcept;
  uint64_t next_random() noexcept;
  void close_conn(uint32_t slot) noexcept;
  void reconnect_later(uint32_t slot) noexcept;
  void note_error(ErrorKind kind, const char* message) noexcept;
  bool success_status(int status) const noexcept;

  io_uring_sqe* get_sqe() noexcept;
  static uint64_t pack(Op op, uint32_t slot, uint32_t gen) noexcept {
    return static_cast<uint64_t>(op) << 56 | static_cast<uint64_t>(gen & 0xffffff) << 32 | slot;
  }

  ShardPlan plan_;
  const RunConfig& config_;
  const PreparedRun& prepared_;
  ShardControl& control_;

  __kernel_timespec connect_timeout_{};  // read by the kernel when a link timeout is submitted
  io_uring ring_{};
  bool ring_ready_ = false;
  bool skip_send_cqe_ = false;  // IORING_FEAT_CQE_SKIP: successful sends post no completion
  BufferRing buffers_;
  std::vector<Conn> conns_;     // the slab: allocated once in setup()
  char* carry_arena_ = nullptr;        // carry and send scratch of every connection
  std::size_t carry_arena_bytes_ = 0;
  std::vector<std::vector<uint32_t>> free_;  // idle connections by origin (capacity fixed at setup)
  std::vector<uint32_t> first_slot_;  // each origin's slots: [first_slot_, first_slot_ + connections)
  std::vector<uint32_t> opened_;      // open loop: slots of the origin put to use so far
  std::vector<uint32_t> connecting_;  // open loop: connects under way per origin
  Pacer pacer_;
  std::vector<TlsSession> tls_sessions_;      // one per https connection slot
  std::vector<TlsSessionPtr> tls_cache_;      // per origin: the last session, for resumption
  std::vector<char> plaintext_;               // decrypted bytes, lent to the exchange
  const char* tls_version_ = nullptr;         // of the first handshake (static strings)
  const char* tls_cipher_ = nullptr;
  uint64_t rate_version_seen_ = 0;
  bool waiting_counted_ = false;      // the due request was counted as waiting for a connection
  uint64_t unsent_at_end_ = 0;
  TimerWheel timers_;
  std::vector<proto::Header> header_scratch_;
  std::size_t scratch_size_ = 0;      // bytes of each connection's scratch
  std::vector<proto::SseParser> sse_; // one per slot when the run has SSE lines
  std::vector<WsConn> ws_;            // one per slot when the run has WebSocket lines
  uint64_t rng_ = 0;                  // WebSocket keys and masks
  uint64_t rx_ns_ = 0;                // when the bytes being handled were received (streams)
  std::unique_ptr<Stats> stats_;

  const RequestTable& table_;
  uint64_t next_position_ = 0;
  uint64_t sent_ = 0;                 // requests sent: also the next export id
  std::vector<uint32_t> order_;       // the shuffled order of the current pass
  uint64_t order_pass_ = UINT64_MAX;
  std::vector<NameStats> by_name_;
  std::vector<IterationStats> by_iteration_;
  uint64_t in_flight_ = 0;
  uint64_t in_flight_at_end_ = 0;
  uint64_t end_ns_ = 0;
  uint64_t publish_seen_ = 0;
  bool stopping_ = false;
  std::array<std::string, error_kind_count> first_error_;
  std::vector<std::string> notices_;
};

}  // namespace ringload
