// A WebSocket session (RFC 6455): the opening handshake goes out as an HTTP request with a
// fresh key; the slot's HttpExchange reads the 101 and hands every byte after it here (as
// its StreamSink); frames go out from the slot's scratch, masked there, as much as it
// holds per send.
//
// A session is one "request" for the run. It is done at the line's expect / until /
// idle_timeout / stream_timeout (we send close 1000 and wait up to 2 s for the server's),
// or when the server closes (its close is echoed); a server close code 1002-1015 makes it
// a failure, like an HTTP 5xx. A server breaking the protocol gets a close frame saying
// why (1002/1007/1009) as the session fails.
#pragma once
#include <array>
#include <span>

#include "engine/core/conn.hpp"
#include "engine/session/session.hpp"
#include "proto/ws_frame.hpp"
#include "proto/ws_handshake.hpp"
#include "proto/ws_message.hpp"

namespace ringload {

class WsSession final : public StreamSink {
 public:
  explicit WsSession(uint64_t max_message = proto::ws::limits::default_max_message) noexcept
      : assembler_(max_message) {}

  void start(Conn& c, SessionEnv& env, uint64_t now) noexcept;
  Step produce(Conn& c, SessionEnv& env, const RequestTable& table, Output& out) noexcept;
  Step on_read(Conn& c, SessionEnv& env, std::span<const char> data) noexcept;
  Step on_eof(Conn& c, SessionEnv& env) noexcept;
  Step on_timer(Conn& c, SessionEnv& env, uint64_t now) noexcept;
  uint64_t deadline(const Conn& c, const SessionEnv& env) const noexcept;
  Step on_stop(Conn& c, SessionEnv& env) noexcept;
  int finish(Conn& c, SessionEnv& env, bool ok, uint64_t now) noexcept;
  std::span<const char> farewell(Conn& c, SessionEnv& env) noexcept;

  // StreamSink (called from inside c.exchange.on_data()).
  Verdict on_stream_head(const proto::ResponseHead& head, std::span<const proto::Header> headers,
                         const char*& why) noexcept override;
  bool on_stream_data(std::span<const char> data) noexcept override;

 private:
  enum class Phase : uint8_t { handshake, open, closing };

  Step on_control() noexcept;
  void begin_close(StreamEnd end, uint64_t now) noexcept;
  Step fail(uint16_t code, const char* message) noexcept;
  Step finished() noexcept;  // the close handshake is over (or given up on)
  std::size_t fill(Conn& c, SessionEnv& env, std::span<char> out, std::size_t len) noexcept;
  bool more_to_send(const Conn& c) const noexcept { return next_message_ < c.req.stream->messages.size(); }
  void rtt_sent(uint64_t now) noexcept;
  void rtt_received(SessionEnv& env, uint64_t now) noexcept;

  proto::ws::MessageAssembler assembler_;
  Conn* c_ = nullptr;             // during on_read: the connection and environment
  SessionEnv* env_ = nullptr;
  Step step_;                     // what the sink callbacks decided
  Phase phase_ = Phase::handshake;
  StreamEnd end_ = StreamEnd::server;
  bool close_queued_ = false;     // a close frame is due
  bool close_sent_ = false;
  bool close_received_ = false;
  bool closed_by_server_ = false; // the server's close came first
  bool server_error_close_ = false;  // the server's close code says something failed (1002-1015)
  bool pong_queued_ = false;
  bool until_match_ = false;      // the message so far equals the start of `until`
  bool binary_ = false;           // the arriving message is binary
  uint8_t pong_len_ = 0;
  uint8_t ctrl_len_ = 0;
  proto::ws::Opcode ctrl_op_ = proto::ws::Opcode::close;
  uint16_t close_code_ = 1000;    // the code of the close frame we send (0: none)
  uint16_t fail_code_ = 1002;     // the close code telling a broken server why
  uint32_t next_message_ = 0;
  uint64_t pass_ = 0;             // passes over the line's messages done (repeat)
  uint64_t message_offset_ = 0;   // bytes of messages[next_message_] sent so far (fragments)
  uint64_t data_len_ = 0;         // bytes of the arriving message so far
  uint64_t received_ = 0;         // data messages received
  uint64_t close_deadline_ns_ = 0;
  uint64_t next_send_ns_ = 0;     // with an interval: when the next message is due
  uint64_t last_rx_ns_ = 0;       // last activity: data received or sent (before the 101: any bytes)
  uint32_t rtt_head_ = 0;         // FIFO of send times of messages awaiting a reply
  uint32_t rtt_tail_ = 0;
  uint64_t rtt_untimed_ = 0;      // messages sent after the FIFO was full, awaiting replies
  std::array<uint64_t, 128> rtt_sent_{};
  char accept_[proto::ws::accept_length]{};
  char pong_[proto::ws::limits::max_control_payload]{};
  char ctrl_[proto::ws::limits::max_control_payload]{};
  char farewell_[16]{};
};

}  // namespace ringload
