// WebSocket messages: fragmentation (RFC 6455 §5.4), size limit, UTF-8 of text (§8.1).
#include "proto/ws_message.hpp"

namespace ringload::proto::ws {

void MessageAssembler::reset() noexcept { *this = MessageAssembler(max_message_); }

MessageResult MessageAssembler::fail(MessageResult& r, ParseError e, std::size_t at) noexcept {
  error_ = e;
  r.status = Status::error;
  r.error = e;
  r.consumed = at;
  r.frame_end = false;
  return r;
}

MessageResult MessageAssembler::feed(std::span<const char> in) noexcept {
  MessageResult r;
  if (error_ != ParseError::none) return fail(r, error_, 0);
  if (closed_) {
    r.status = Status::done;
    r.opcode = Opcode::close;
    return r;
  }
  const FrameResult f = frames_.feed(in);
  if (f.status == Status::error) return fail(r, f.error, f.consumed);
  const FrameHeader& h = f.header;
  const bool control = is_control(h.opcode);
  r.consumed = f.consumed;
  r.frame_start = f.frame_start;
  r.frame = h;
  if (f.frame_start) {
    // The payload, if any, starts right after the header.
    const std::size_t header_end =
        f.data.empty() ? f.consumed : static_cast<std::size_t>(f.data.data() - in.data());
    if (control) {
      r.message_start = true;
    } else if (h.opcode == Opcode::continuation) {
      if (!open_) return fail(r, ParseError::ws_unexpected_continuation, header_end);  // §5.4
    } else {
      if (open_) return fail(r, ParseError::ws_expected_continuation, header_end);  // §5.4
      open_ = true;
      message_opcode_ = h.opcode;
      message_bytes_ = 0;
      utf8_.reset();
      r.message_start = true;
    }
    if (!control) {
      if (h.length > max_message_ - message_bytes_) {
        return fail(r, ParseError::ws_message_too_large, header_end);
      }
      message_bytes_ += h.length;
    }
  }
  r.opcode = control ? h.opcode : message_opcode_;
  r.data = f.data;
  if (!control && message_opcode_ == Opcode::text) {
    const std::size_t valid = utf8_.feed(f.data);
    if (valid < f.data.size()) {
      r.data = f.data.first(valid);
      const auto at = static_cast<std::size_t>(f.data.data() - in.data()) + valid;
      return fail(r, ParseError::ws_invalid_utf8, at);  // §8.1
    }
  }
  if (f.status != Status::done) return r;
  r.frame_end = true;
  if (control) {
    if (h.opcode == Opcode::close) closed_ = true;
    r.status = Status::done;
  } else if (h.fin) {
    // §8.1: a text message ending inside a character is not valid UTF-8.
    if (message_opcode_ == Opcode::text && !utf8_.at_boundary()) {
      return fail(r, ParseError::ws_invalid_utf8, f.consumed);
    }
    open_ = false;
    r.status = Status::done;
  }
  return r;
}

Status MessageAssembler::finish() noexcept {
  if (error_ != ParseError::none) return Status::error;
  if (closed_) return Status::done;
  if (open_ || !frames_.at_frame_boundary()) {
    error_ = ParseError::unexpected_eof;
    return Status::error;
  }
  return Status::done;
}

}  // namespace ringload::proto::ws
