// WebSocket (RFC 6455) messages, client side: a message assembler on top of the frame
// decoder (ws_frame.hpp) that enforces fragmentation, a size limit and UTF-8 of text.
//
// Zero-copy: payload is handed out as subspans of the caller's input, valid only while
// that input is. No allocation, no I/O, no clock.
//
// How the engine reads a connection, once the opening handshake is done (ws_handshake.hpp;
// the bytes after the 101's head are already frames):
//  3. Feed every received byte to one MessageAssembler per connection:
//       while (true) {
//         MessageResult r = as.feed(in);
//         in = in.subspan(r.consumed);
//         if (r.message_start) (is_control(r.opcode) ? ctrl : msg).clear();
//         (is_control(r.opcode) ? ctrl : msg).append(r.data);   // ctrl holds <= 125 bytes
//         if (r.status == Status::error) { send close close_code_for(r.error); fail; break; }
//         if (r.status == Status::done) {
//           text/binary: msg is a whole message.  ping: send encode_pong_frame(ctrl).
//           pong: ignore or match.  close: parse_close(ctrl); if !valid fail (a protocol
//           error, reply 1002), else reply encode_close_frame(echoed code); stop reading frames.
//           if (as.closed()) break;
//         }
//         if (in.empty()) break;   // need_more: wait for the next read
//       }
//     need_more with input left is normal (a non-final fragment ended): keep looping.
//     The decoder keeps every partial header byte in its state, so no carry buffer is
//     needed for frames: each received buffer can go back to the ring after the loop.
//     close_code_for() and parse_close() are in ws_close.hpp; the frames sent in reply
//     (encode_pong_frame, encode_close_frame) in ws_encode.hpp.
//  4. At EOF call finish(): error means a frame or fragmented message was cut short.
//     closed() false at EOF is an abnormal closure (1006), not a parse error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/status.hpp"
#include "proto/utf8.hpp"
#include "proto/ws_frame.hpp"

namespace ringload::proto::ws {

namespace limits {
inline constexpr uint64_t default_max_message = 16u << 20; // MessageAssembler's default
}  // namespace limits

struct MessageResult {
  Status status = Status::need_more;  // done: a data message (its final frame) or a
                                      // control frame ended at `consumed`
  std::size_t consumed = 0;           // bytes of the input used by this call
  // What `data` belongs to: text or binary for data frames (continuations report their
  // message's type), close / ping / pong for a control frame, which may arrive between
  // the fragments of a message (§5.4). Like `frame`, meaningful when message_start,
  // frame_start or frame_end is set or `data` is not empty (a call may end inside the
  // next frame's header).
  Opcode opcode = Opcode::continuation;
  bool message_start = false;   // the first frame of a message, or a control frame, began
  bool frame_start = false;     // a frame header completed in this call (`frame`)
  bool frame_end = false;       // a frame ended at `consumed` (a non-final fragment too)
  FrameHeader frame;            // the current frame
  std::span<const char> data;   // payload bytes inside the input; on error, the valid
                                // bytes before the error (to be ignored, usually)
  ParseError error = ParseError::none;
};

// Message-level rules on top of FrameDecoder: §5.4 fragmentation (a continuation needs
// an open message, a new data frame may not start inside one, control frames may
// interleave), a maximum message size (checked against each frame's declared length, so
// an oversized message fails at its header, before its payload arrives) and UTF-8 of text
// messages across fragments and splits (§8.1). It does not copy payload.
class MessageAssembler {
 public:
  explicit MessageAssembler(uint64_t max_message_bytes = limits::default_max_message) noexcept
      : max_message_(max_message_bytes) {}

  // For a new connection; the size limit stays.
  void reset() noexcept;

  // Same contract as FrameDecoder::feed (one frame per call at most, one data span, sticky
  // errors, progress on non-empty input), with message-level errors added: a header that
  // breaks §5.4 or the size limit fails with `consumed` at the end of that header; invalid
  // UTF-8 fails before the invalid byte, a text message ending inside a character at the
  // end of its final frame. After a close frame, calls return done and consume nothing:
  // stop feeding once closed() (§5.5.1: the server sends nothing after its close).
  MessageResult feed(std::span<const char> in) noexcept;

  // The peer closed the connection. done if no frame or fragmented message was cut short
  // (whether or not a close frame came: see closed()), else error unexpected_eof.
  Status finish() noexcept;

  bool closed() const noexcept { return closed_; }               // a close frame arrived
  bool in_message() const noexcept { return open_; }             // a fragmented message is open

 private:
  MessageResult fail(MessageResult& r, ParseError e, std::size_t at) noexcept;

  FrameDecoder frames_;
  Utf8Validator utf8_;
  uint64_t max_message_;
  uint64_t message_bytes_ = 0;  // payload of the open message, by frame headers
  Opcode message_opcode_ = Opcode::binary;
  bool open_ = false;
  bool closed_ = false;
  ParseError error_ = ParseError::none;
};

}  // namespace ringload::proto::ws
