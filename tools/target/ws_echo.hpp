#pragma once
// The /ws endpoint after its 101: a WebSocket echo server on one connection. Every text or
// binary message comes back as one unmasked frame with the same opcode (fragments
// reassembled), a ping gets a pong with its payload, a close frame gets a close frame with
// the same code, and a protocol error gets a close frame with its code. Text is echoed as
// received, without a UTF-8 check, so a client's own check can be tested with it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "out_queue.hpp"
#include "websocket.hpp"

namespace ringload::target {

class WsEcho {
 public:
  // Decodes client frames from `in` and queues the answers on `out`. Stops early once `out`
  // holds `out_limit` bytes or a close frame is queued; call again with the rest of `in`
  // once the output drained. Returns the bytes used. An unfragmented message is unmasked
  // straight into `out` as it arrives, so its size costs no extra memory.
  std::size_t feed(std::string_view in, OutQueue& out, std::size_t out_limit);

  // A close frame was queued (an answer or an error): the connection ends once it is sent;
  // feed() uses nothing more.
  bool closed() const noexcept { return closed_; }

  // For a new connection, releasing a large reassembly buffer.
  void reset() noexcept;

 private:
  bool start_frame(const ws::FrameHeader& h, OutQueue& out);
  void take_payload(const ws::FrameHeader& h, const ws::FrameResult& r, OutQueue& out);
  void end_frame(const ws::FrameHeader& h, OutQueue& out);
  void answer_close(OutQueue& out);
  void send_frame(ws::Opcode op, std::string_view payload, OutQueue& out);
  void send_close(std::uint16_t code, OutQueue& out);

  ws::FrameDecoder frames_;
  bool direct_ = false;    // the current data frame is a whole message: echoed as it arrives
  bool open_ = false;      // a fragmented message is being reassembled in message_
  bool closed_ = false;
  ws::Opcode message_opcode_ = ws::Opcode::binary;
  std::string message_;
  std::array<char, ws::limits::max_control_payload> control_{};  // unmasked control payload
};

}  // namespace ringload::target
