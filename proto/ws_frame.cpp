// WebSocket framing, server frames in (RFC 6455 §5.2).
#include "proto/ws_frame.hpp"

namespace ringload::proto::ws {

void FrameDecoder::reset() noexcept { *this = FrameDecoder(); }

FrameResult FrameDecoder::feed(std::span<const char> in) noexcept {
  FrameResult r;
  const char* const begin = in.data();
  const char* const end = begin + in.size();
  const char* p = begin;
  auto fail = [&](ParseError e) noexcept {
    state_ = State::error;
    error_ = e;
    r.status = Status::error;
    r.error = e;
    r.consumed = static_cast<std::size_t>(p - begin);
    return r;
  };
  // The header is complete: report it, then the payload (if any) follows in the loop.
  auto start_payload = [&]() noexcept {
    r.frame_start = true;
    remaining_ = header_.length;
    state_ = State::payload;
  };

  if (state_ == State::error) return fail(error_);
  while (p != end) {
    const auto c = static_cast<uint8_t>(*p);
    switch (state_) {
      case State::error:
        return fail(error_);  // not reached: the check above returns first
      case State::first_byte: {
        if ((c & wire::rsv_bits) != 0) return fail(ParseError::ws_reserved_bits);  // §5.2
        const uint8_t op = c & 0x0f;
        if (!known_opcode(op)) return fail(ParseError::ws_reserved_opcode);  // §5.2
        header_ = FrameHeader{static_cast<Opcode>(op), (c & wire::fin_bit) != 0, 0};
        // §5.5: "All control frames ... MUST NOT be fragmented."
        if (is_control(header_.opcode) && !header_.fin) return fail(ParseError::ws_bad_control_frame);
        state_ = State::second_byte;
        ++p;
        break;
      }
      case State::second_byte: {
        // §5.1: "A server MUST NOT mask any frames that it sends to the client."
        if ((c & wire::mask_bit) != 0) return fail(ParseError::ws_masked_frame);
        const uint8_t len = c & 0x7f;
        // §5.5: control frames "MUST have a payload length of 125 bytes or less".
        if (is_control(header_.opcode) && len > limits::max_control_payload) {
          return fail(ParseError::ws_bad_control_frame);
        }
        ++p;
        if (len >= wire::len16_marker) {
          ext_bytes_ = ext_left_ = len == wire::len16_marker ? 2 : 8;
          state_ = State::ext_length;
        } else {
          header_.length = len;
          start_payload();
        }
        break;
      }
      case State::ext_length:
        // §5.2: "the most significant bit MUST be 0" in the 64-bit length.
        if (ext_left_ == 8 && (c & 0x80) != 0) return fail(ParseError::ws_bad_length);
        header_.length = header_.length << 8 | c;
        if (--ext_left_ == 0) {
          // §5.2: "the minimal number of bytes MUST be used to encode the length".
          const uint64_t least = ext_bytes_ == 2 ? wire::len16_marker : 0x10000;
          if (header_.length < least) return fail(ParseError::ws_bad_length);
          start_payload();
        }
        ++p;
        break;
      case State::payload: {
        const auto avail = static_cast<uint64_t>(end - p);
        const auto n = static_cast<std::size_t>(remaining_ < avail ? remaining_ : avail);
        r.data = std::span<const char>(p, n);
        p += n;
        remaining_ -= n;
        if (remaining_ == 0) {
          state_ = State::first_byte;
          r.status = Status::done;
        }
        r.header = header_;
        r.consumed = static_cast<std::size_t>(p - begin);
        return r;  // one frame per call
      }
    }
  }
  if (state_ == State::payload && remaining_ == 0) {  // an empty frame ended with the input
    state_ = State::first_byte;
    r.status = Status::done;
  }
  r.header = header_;
  r.consumed = static_cast<std::size_t>(p - begin);
  return r;
}

}  // namespace ringload::proto::ws
