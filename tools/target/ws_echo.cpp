#include "ws_echo.hpp"

namespace ringload::target {
namespace {

constexpr std::size_t keep_message_bytes = 64 * 1024;

}  // namespace

std::size_t WsEcho::feed(std::string_view in, OutQueue& out, std::size_t out_limit) {
  std::size_t pos = 0;
  while (pos < in.size() && !closed_ && out.queued() < out_limit) {
    const ws::FrameResult r = frames_.feed(in.substr(pos));
    pos += r.consumed;
    if (r.status == ParseStatus::error) {
      send_close(ws::close_code::protocol_error, out);
      break;
    }
    const ws::FrameHeader& h = frames_.header();
    if (r.frame_start && !start_frame(h, out)) break;
    if (!r.data.empty()) take_payload(h, r, out);
    if (r.status == ParseStatus::done) end_frame(h, out);
  }
  return pos;
}

// Message-level rules at each header (§5.4): a continuation needs an open message, a new
// data frame may not start inside one, control frames may come between fragments. The size
// limit is checked against the declared lengths, before any payload is taken.
bool WsEcho::start_frame(const ws::FrameHeader& h, OutQueue& out) {
  if (ws::is_control(h.opcode)) return true;
  if ((h.opcode == ws::Opcode::continuation) != open_) {
    send_close(ws::close_code::protocol_error, out);
    return false;
  }
  if (h.length > ws::limits::max_message - (open_ ? message_.size() : 0)) {
    send_close(ws::close_code::too_big, out);
    return false;
  }
  if (open_) return true;
  if (h.fin) {
    std::array<char, ws::limits::max_server_header> head;
    out.append({head.data(), ws::encode_header(h.opcode, h.length, head)});
    direct_ = true;
    return true;
  }
  open_ = true;
  message_opcode_ = h.opcode;
  message_.clear();
  return true;
}

void WsEcho::take_payload(const ws::FrameHeader& h, const ws::FrameResult& r, OutQueue& out) {
  char* dst;
  if (ws::is_control(h.opcode)) {
    dst = control_.data() + r.data_offset;  // the decoder limits the length to 125
  } else if (direct_) {
    dst = out.append_uninit(r.data.size());
  } else {
    const std::size_t at = message_.size();
    message_.resize(at + r.data.size());
    dst = message_.data() + at;
  }
  ws::unmask(dst, r.data.data(), r.data.size(), h.mask, r.data_offset);
}

void WsEcho::end_frame(const ws::FrameHeader& h, OutQueue& out) {
  switch (h.opcode) {
    case ws::Opcode::ping:
      // §5.5.3: a pong with the same application data.
      send_frame(ws::Opcode::pong, {control_.data(), h.length}, out);
      return;
    case ws::Opcode::pong:
      return;  // unsolicited pongs need no answer (§5.5.3)
    case ws::Opcode::close:
      answer_close(out);
      return;
    default:
      break;
  }
  if (direct_) {
    direct_ = false;
    return;
  }
  if (!h.fin) return;
  send_frame(message_opcode_, message_, out);
  open_ = false;
  if (message_.capacity() > keep_message_bytes) std::string{}.swap(message_);
}

// §5.5.1: answer with a close frame, typically echoing the status code; a body of one byte,
// a code no endpoint may send, or a reason that is not UTF-8 is a protocol error instead.
void WsEcho::answer_close(OutQueue& out) {
  const std::size_t size = frames_.header().length;
  if (size == 0) {
    send_frame(ws::Opcode::close, {}, out);
    closed_ = true;
    return;
  }
  const auto code = static_cast<std::uint16_t>(static_cast<std::uint8_t>(control_[0]) << 8 |
                                               static_cast<std::uint8_t>(control_[1]));
  if (size == 1 || !ws::valid_close_code(code)) return send_close(ws::close_code::protocol_error, out);
  if (!ws::valid_utf8({control_.data() + 2, size - 2}))
    return send_close(ws::close_code::invalid_payload, out);
  send_close(code, out);
}

void WsEcho::send_frame(ws::Opcode op, std::string_view payload, OutQueue& out) {
  std::array<char, ws::limits::max_server_header> head;
  out.append({head.data(), ws::encode_header(op, payload.size(), head)});
  out.append(payload);
}

void WsEcho::send_close(std::uint16_t code, OutQueue& out) {
  const char payload[] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  send_frame(ws::Opcode::close, {payload, sizeof payload}, out);
  closed_ = true;
}

void WsEcho::reset() noexcept {
  frames_.reset();
  direct_ = open_ = closed_ = false;
  if (message_.capacity() > keep_message_bytes) std::string{}.swap(message_);
  else message_.clear();
}

}  // namespace ringload::target
