// WebSocket (RFC 6455) frames, client side: the opcodes, the header layout shared with the
// encoder (ws_encode.hpp), and a resumable decoder for server frames. Message-level rules
// (fragmentation, size limit, UTF-8) sit on top of it in ws_message.hpp.
//
// Zero-copy: decoded payload is handed out as subspans of the caller's input, valid only
// while that input is. No allocation, no I/O, no clock.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/status.hpp"

namespace ringload::proto::ws {

// RFC 6455 §5.2. Other values are reserved; the decoder rejects them.
enum class Opcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xa,
};

// Control frames (close, ping, pong) have the opcode's high bit set (§5.5).
constexpr bool is_control(Opcode op) noexcept { return (static_cast<uint8_t>(op) & 0x8) != 0; }

// One of the opcodes above (the 4-bit field of the first header byte).
constexpr bool known_opcode(uint8_t op) noexcept { return op <= 0x2 || (op >= 0x8 && op <= 0xa); }

namespace limits {
inline constexpr std::size_t max_control_payload = 125;   // §5.5
inline constexpr std::size_t max_client_header = 14;       // 2 + 8 (length) + 4 (mask key)
}  // namespace limits

// The bits of the first two header bytes (§5.2), for the decoder and the encoder.
namespace wire {
inline constexpr uint8_t fin_bit = 0x80;
inline constexpr uint8_t rsv_bits = 0x70;
inline constexpr uint8_t mask_bit = 0x80;
inline constexpr uint8_t len16_marker = 126;  // a 16-bit length follows
inline constexpr uint8_t len64_marker = 127;  // a 64-bit length follows
}  // namespace wire

struct FrameHeader {
  Opcode opcode = Opcode::continuation;
  bool fin = false;
  uint64_t length = 0;  // payload bytes
};

struct FrameResult {
  Status status = Status::need_more;  // done: the frame ended at `consumed`
  std::size_t consumed = 0;           // bytes of the input used by this call
  bool frame_start = false;           // the header completed in this call: `header` is valid
  FrameHeader header;                 // the current frame
  std::span<const char> data;         // payload bytes inside the input (may be empty)
  ParseError error = ParseError::none;
};

// Resumable frame decoder. Header rules enforced (all are errors, with the RFC section):
// RSV bits set (no extension is ever negotiated: §5.2), reserved opcodes (§5.2), MASK set
// (a server MUST NOT mask: §5.1), 64-bit length with its MSB set (§5.2), a length not in
// its minimal encoding ("the minimal number of bytes MUST be used", §5.2: rejected, since
// no conforming server sends one), control frames over 125 bytes or without FIN (§5.5).
class FrameDecoder {
 public:
  void reset() noexcept;

  // Each call covers at most one frame: it completes the header (frame_start), hands out
  // the payload bytes present (one span) and returns done when the frame ends; the next
  // call starts the next frame.
  // need_more: all of `consumed` is used; feed the rest of the input, then later reads.
  // error: sticky; later calls return it again and consume nothing. `consumed` stops
  // before the byte that showed the error, so the error's offset in the stream does not
  // depend on how the stream was split.
  // A non-empty input always consumes at least one byte unless the result is error.
  FrameResult feed(std::span<const char> in) noexcept;

  // No frame is partly decoded (the previous one, if any, ended).
  bool at_frame_boundary() const noexcept { return state_ == State::first_byte; }

 private:
  enum class State : uint8_t { first_byte, second_byte, ext_length, payload, error };
  State state_ = State::first_byte;
  uint8_t ext_bytes_ = 0;   // size of the extended length: 2 or 8
  uint8_t ext_left_ = 0;    // extended length bytes still to read
  FrameHeader header_;
  uint64_t remaining_ = 0;  // payload bytes still to come
  ParseError error_ = ParseError::none;
};

}  // namespace ringload::proto::ws
