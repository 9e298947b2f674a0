#pragma once
// WebSocket (RFC 6455), server side, for the /ws echo endpoint: the opening handshake's
// key check and accept value, a resumable decoder of client frames and the server frame
// header. Written here rather than taken from proto/, which decodes server frames: the
// target is the peer ringload's client is checked against, so it must not share its bugs.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "request_parser.hpp"

namespace ringload::target::ws {

// RFC 6455 §5.2; other values are reserved and rejected.
enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xa,
};

// Control frames have the opcode's high bit set (§5.5).
constexpr bool is_control(Opcode op) noexcept { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

// Status codes of close frames (§7.4.1).
namespace close_code {
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t too_big = 1009;
}  // namespace close_code

namespace limits {
inline constexpr std::size_t max_control_payload = 125;  // §5.5
// Largest message echoed; a bigger one is answered with close 1009 when its header shows it.
inline constexpr std::uint64_t max_message = std::uint64_t{16} << 20;
inline constexpr std::size_t max_server_header = 10;  // 2 + 8 (length); no mask key
inline constexpr std::size_t accept_size = 28;        // base64 of a 20-byte SHA-1
}  // namespace limits

// Sec-WebSocket-Key is the base64 of 16 bytes (§4.1, item 7): 22 characters of the
// alphabet (the last one carrying 2 bits, the other 4 zero) and "==".
bool valid_key(std::string_view key) noexcept;

// Sec-WebSocket-Accept for `key` (§4.2.2, item 5.4): base64(SHA-1(key + GUID)), written
// to `out` without a terminator. False only if the key is longer than any valid one.
bool accept_value(std::string_view key, std::array<char, limits::accept_size>& out) noexcept;

struct FrameHeader {
  Opcode opcode = Opcode::continuation;
  bool fin = false;
  std::uint64_t length = 0;  // payload bytes
  std::array<std::uint8_t, 4> mask{};
};

struct FrameResult {
  ParseStatus status = ParseStatus::need_more;  // done: the frame ended at `consumed`
  std::size_t consumed = 0;    // bytes of the input used by this call
  bool frame_start = false;    // the header completed in this call: header() is the new frame
  std::string_view data;       // payload bytes inside the input, still masked
  std::uint64_t data_offset = 0;  // offset of data[0] in the payload: the mask's phase
};

// Resumable decoder of client frames. Header errors (all answered with close 1002): an RSV
// bit set (no extension is negotiated, §5.2), a reserved opcode (§5.2), a frame without a
// mask (a client MUST mask, §5.1), a length not in its minimal encoding or with the 64-bit
// form's MSB set (§5.2), a control frame over 125 bytes or fragmented (§5.5). Message
// rules (fragmentation order, size) are the caller's.
class FrameDecoder {
 public:
  void reset() noexcept { *this = FrameDecoder{}; }

  // Covers at most one frame per call: completes the header (frame_start), hands out the
  // payload bytes present as one span, and returns done when the frame ends; the next call
  // starts the next frame. need_more: all of `consumed` is used. error: sticky, nothing
  // more is consumed; the caller closes with 1002. A non-empty input always consumes at
  // least one byte unless the result is error.
  FrameResult feed(std::string_view in) noexcept;

  // The frame being decoded, valid from its frame_start until the next frame begins.
  const FrameHeader& header() const noexcept { return header_; }

 private:
  enum class State : std::uint8_t { first_byte, second_byte, ext_length, mask_key, payload, error };
  State state_ = State::first_byte;
  std::uint8_t ext_bytes_ = 0;  // size of the extended length: 2 or 8
  std::uint8_t left_ = 0;       // extended length or mask key bytes still to read
  FrameHeader header_;
  std::uint64_t received_ = 0;  // payload bytes handed out so far
};

// Writes the header of an unfragmented, unmasked server frame; returns its size (2, 4 or 10).
std::size_t encode_header(Opcode op, std::uint64_t length,
                          std::array<char, limits::max_server_header>& out) noexcept;

// dst[i] = src[i] ^ mask[(phase + i) % 4]; dst may equal src.
void unmask(char* dst, const char* src, std::size_t n, const std::array<std::uint8_t, 4>& mask,
            std::uint64_t phase) noexcept;

// A status code a peer may send in a close frame (§7.4.1, §7.4.2; 1012-1014 are in the IANA
// registry): 1000-1003, 1007-1014 and 3000-4999.
bool valid_close_code(std::uint16_t code) noexcept;

// The whole of `s` is valid UTF-8 (RFC 3629 §4): no overlongs, surrogates or values above
// U+10FFFF. Close reasons must be (§5.5.1).
bool valid_utf8(std::string_view s) noexcept;

}  // namespace ringload::target::ws
