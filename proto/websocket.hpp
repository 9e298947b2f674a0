// WebSocket (RFC 6455), client side: a resumable decoder for server frames, a message
// assembler on top of it (fragmentation, size limit, UTF-8), close payloads, the client
// frame encoder and the pure pieces of the opening handshake.
//
// Zero-copy: decoded payload is handed out as subspans of the caller's input, valid only
// while that input is. No allocation, no I/O, no clock, no crypto: the engine computes
// Sec-WebSocket-Accept = base64(SHA-1(key + accept_guid)) and draws masking keys.
//
// How the engine drives a connection:
//  1. Render the request once: render_opening_request(). Send it.
//  2. Parse the response with parse_response_head(); then check_upgrade_response() with
//     the expected accept value. Any failure fails the connection (ws_bad_handshake, with
//     the returned text as the message). The bytes after the head are already frames.
//  3. Feed every received byte to one MessageAssembler per connection:
//       while (true) {
//         MessageResult r = as.feed(in);
//         in = in.subspan(r.consumed);
//         if (r.message_start) (is_control(r.opcode) ? ctrl : msg).clear();
//         (is_control(r.opcode) ? ctrl : msg).append(r.data);   // ctrl holds <= 125 bytes
//         if (r.status == Status::error) { send close close_code_for(r.error); fail; break; }
//         if (r.status == Status::done) {
//           text/binary: msg is a whole message.  ping: send encode_pong_frame(ctrl).
//           pong: ignore or match.  close: parse_close(ctrl); if !valid fail (ws_bad_close,
//           reply 1002), else reply encode_close_frame(echoed code); stop reading frames.
//           if (as.closed()) break;
//         }
//         if (in.empty()) break;   // need_more: wait for the next read
//       }
//     need_more with input left is normal (a non-final fragment ended): keep looping.
//     The decoder keeps every partial header byte in its state, so no carry buffer is
//     needed for frames: each received buffer can go back to the ring after the loop.
//  4. At EOF call finish(): error means a frame or fragmented message was cut short.
//     closed() false at EOF is an abnormal closure (1006), not a parse error.
//  5. Send messages with encode_frame() (small) or encode_frame_header() + a copy of the
//     payload masked in place with mask_payload() (large; resumable by offset).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "proto/http_response.hpp"
#include "proto/status.hpp"
#include "proto/utf8.hpp"

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

namespace limits {
inline constexpr std::size_t max_control_payload = 125;   // §5.5
inline constexpr std::size_t max_client_header = 14;       // 2 + 8 (length) + 4 (mask key)
inline constexpr std::size_t max_server_header = 10;       // server frames carry no mask key
inline constexpr uint64_t default_max_message = 16u << 20; // MessageAssembler's default
}  // namespace limits

// ---- Decoding server frames -------------------------------------------------------------

struct FrameHeader {
  Opcode opcode = Opcode::continuation;
  bool fin = false;
  uint64_t length = 0;  // payload bytes
};

struct FrameResult {
  Status status = Status::need_more;  // done: the frame ended at `consumed`
  std::size_t consumed = 0;           // bytes of the input used by this call
  bool frame_start = false;           // the header completed in this call: `header` is valid
  FrameHeader header;                 // the current frame (also FrameDecoder::header())
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

  // The header of the frame being decoded, valid from its frame_start until the next
  // frame begins.
  const FrameHeader& header() const noexcept { return header_; }
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
  uint64_t message_bytes() const noexcept { return message_bytes_; }  // declared so far

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

// The close code to send when failing the connection for `e` (§7.4.1): 1007 for invalid
// UTF-8, 1009 for a message over the limit, 1002 (protocol error) otherwise.
uint16_t close_code_for(ParseError e) noexcept;

// ---- Close payloads (§5.5.1, §7.4) ------------------------------------------------------

struct CloseInfo {
  bool has_code = false;  // the payload carried a status code
  uint16_t code = 1005;   // the code; 1005 ("no status received", §7.4.1) when absent
  std::string_view reason;  // inside the payload
  bool valid = true;      // false: 1 byte long, a code not allowed on the wire, or a
                          // reason that is not UTF-8; the engine fails with ws_bad_close
};

// Parses a whole close payload (the engine accumulates it; it is at most 125 bytes).
CloseInfo parse_close(std::span<const char> payload) noexcept;

// Codes a close frame may carry (§7.4.1, §7.4.2 and the IANA registry): 1000-1003,
// 1007-1014, 3000-4999. 1004 is reserved; 1005, 1006 and 1015 never go on the wire.
bool valid_close_code(uint16_t code) noexcept;

// ---- Encoding client frames -------------------------------------------------------------
// The masking key is big-endian on the wire: 0x37fa213d masks with 37 fa 21 3d. The RFC
// asks for an unpredictable key per frame (§5.3); where it comes from is the engine's call.

// Writes a frame header with the MASK bit set and the key; returns its size (2..14), or
// 0 if `out` is too small, the opcode is reserved, payload_len >= 2^63, or a control frame
// is over 125 bytes or not final.
std::size_t encode_frame_header(std::span<char> out, Opcode op, bool fin, uint64_t payload_len,
                                uint32_t mask_key) noexcept;

// XORs `data` with the key in place (masking and unmasking are the same operation).
// `offset` is the position of data[0] in the payload, so a payload may be masked in pieces.
void mask_payload(std::span<char> data, uint32_t mask_key, uint64_t offset) noexcept;

// A whole frame: header + masked copy of `payload`. Returns its size, 0 as above.
std::size_t encode_frame(std::span<char> out, Opcode op, bool fin, std::span<const char> payload,
                         uint32_t mask_key) noexcept;

// A close payload: the code (big-endian) and the reason. Returns its size, 0 if it does
// not fit, the code is not valid_close_code(), the reason is not UTF-8 or 2 + reason
// exceeds 125 bytes. code 0 means no code: the payload is empty (0 is returned).
std::size_t encode_close_payload(std::span<char> out, uint16_t code, std::string_view reason) noexcept;

// A whole close frame with encode_close_payload()'s payload (empty for code 0, which
// takes no reason); 0 on failure.
std::size_t encode_close_frame(std::span<char> out, uint16_t code, std::string_view reason,
                               uint32_t mask_key) noexcept;

// The pong answering a ping: the same payload (§5.5.3). 0 if out is too small or the
// payload is over 125 bytes.
std::size_t encode_pong_frame(std::span<char> out, std::span<const char> ping_payload,
                              uint32_t mask_key) noexcept;

// ---- Opening handshake (§4.1) -----------------------------------------------------------

inline constexpr std::string_view accept_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
inline constexpr std::size_t key_length = 24;     // base64 of 16 random bytes
inline constexpr std::size_t accept_length = 28;  // base64 of a 20-byte SHA-1

// Writes key + accept_guid (the SHA-1 input for Sec-WebSocket-Accept) into `out`;
// returns its length, or 0 if it does not fit.
std::size_t accept_key_input(std::span<char> out, std::string_view key) noexcept;

struct OpeningRequest {
  std::string_view host;       // Host value, with ":port" when not the scheme's default
  std::string_view target;     // origin-form request target: "/chat?room=1"
  std::string_view key;        // Sec-WebSocket-Key: base64 of 16 random bytes
  std::span<const std::string_view> protocols;  // offered subprotocols (tokens), may be empty
  std::span<const Header> extra_headers;        // e.g. Origin, Authorization; may be empty
};

// Renders the GET request with Upgrade, Connection, Sec-WebSocket-Key, -Version: 13, and
// -Protocol when protocols are offered, then the extra headers. Returns the length of the
// request; if it exceeds out.size() the output is truncated and the caller retries with
// a larger buffer. Returns 0 when a field is invalid: empty host or key, a target not
// starting with '/', a key that is not base64, a protocol that is not a token, an extra
// header name that is not a token or names a header this function writes (or
// Sec-WebSocket-Extensions: no extension is supported), a CR, LF or other control byte.
std::size_t render_opening_request(std::span<char> out, const OpeningRequest& req) noexcept;

// Checks the response headers of a 101 (§4.1, client requirements 2-6):
//  - Upgrade contains the token "websocket" and Connection contains "Upgrade"
//    (case-insensitive, comma-separated lists, repeated fields combined);
//  - exactly one Sec-WebSocket-Accept, equal (case-sensitive) to `expected_accept`;
//  - no Sec-WebSocket-Extensions (we offer none);
//  - at most one Sec-WebSocket-Protocol, one of `offered_protocols` (exact); absent is
//    allowed by the RFC even when some were offered.
// Returns nullptr when the handshake is complete, else a static message saying why not.
// `selected_protocol`, if given, receives the server's choice (empty if none).
const char* check_upgrade_headers(std::span<const Header> headers, std::string_view expected_accept,
                                  std::span<const std::string_view> offered_protocols,
                                  std::string_view* selected_protocol = nullptr) noexcept;

// check_upgrade_headers() preceded by the status check: 101 Switching Protocols (§4.1
// requirement 1; anything else, such as 426 with Sec-WebSocket-Version, fails).
const char* check_upgrade_response(const ResponseHead& head, std::span<const Header> headers,
                                   std::string_view expected_accept,
                                   std::span<const std::string_view> offered_protocols,
                                   std::string_view* selected_protocol = nullptr) noexcept;

}  // namespace ringload::proto::ws
