// Body decoder, after picohttpparser's phr_decode_chunked but never moving bytes: the
// caller gets a view of each run of data. Chunk lines are as strict as llhttp's default
// mode: CRLF only, no whitespace after the size unless an extension follows.
#include "proto/body.hpp"
#include "proto/token.hpp"

#include <array>
#include <string_view>

namespace ringload::proto {
namespace {

bool is_ws(char c) noexcept { return c == ' ' || c == '\t'; }

// VCHAR / obs-text / SP / HTAB (RFC 9110 §5.5 field content, §5.6.4 quoted-pair).
bool is_text(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

// RFC 9110 §5.6.4: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text.
bool is_qdtext(char c) noexcept { return is_text(c) && c != '"' && c != '\\'; }

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void BodyDecoder::reset(const ResponseHead& head) noexcept {
  reset(head.body, head.content_length);
}

void BodyDecoder::reset(BodyKind kind, uint64_t content_length) noexcept {
  remaining_ = 0;
  body_bytes_ = 0;
  counter_ = 0;
  error_ = ParseError::none;
  switch (kind) {
    case BodyKind::none: state_ = State::done; break;
    case BodyKind::content_length:
      remaining_ = content_length;
      state_ = content_length == 0 ? State::done : State::length;
      break;
    case BodyKind::chunked: state_ = State::chunk_size; break;
    case BodyKind::until_close: state_ = State::until_close; break;
  }
}

// RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ).
BodyDecoder::State BodyDecoder::chunk_line_next(State s, char c) noexcept {
  switch (s) {
    case State::chunk_size_ws:  // BWS after the size: only before an extension.
    case State::chunk_ext_ws:   // BWS after a value: only before the next extension.
      if (is_ws(c)) return s;
      return c == ';' ? State::chunk_ext : State::error;
    case State::chunk_ext:
      if (is_ws(c)) return s;
      return is_tchar(c) ? State::chunk_ext_name : State::error;
    case State::chunk_ext_name:
      if (is_tchar(c)) return s;
      if (is_ws(c)) return State::chunk_ext_name_ws;
      [[fallthrough]];
    case State::chunk_ext_name_ws:
      if (is_ws(c)) return s;
      if (c == '=') return State::chunk_ext_value_start;
      if (c == ';') return State::chunk_ext;
      return c == '\r' && s == State::chunk_ext_name ? State::chunk_size_lf : State::error;
    case State::chunk_ext_value_start:
      if (is_ws(c)) return s;
      if (c == '"') return State::chunk_ext_quoted;
      return is_tchar(c) ? State::chunk_ext_value : State::error;
    case State::chunk_ext_value:
      if (is_tchar(c)) return s;
      [[fallthrough]];
    case State::chunk_ext_quoted_end:
      if (is_ws(c)) return State::chunk_ext_ws;
      if (c == ';') return State::chunk_ext;
      return c == '\r' ? State::chunk_size_lf : State::error;
    case State::chunk_ext_quoted:
      if (c == '"') return State::chunk_ext_quoted_end;
      if (c == '\\') return State::chunk_ext_quoted_pair;
      return is_qdtext(c) ? s : State::error;
    case State::chunk_ext_quoted_pair:
      return is_text(c) ? State::chunk_ext_quoted : State::error;
    default:
      return State::error;
  }
}

// RFC 9112 §7.1.2: trailer-section = *( field-line CRLF ), then the final CRLF.
BodyDecoder::State BodyDecoder::trailer_next(State s, char c) noexcept {
  switch (s) {
    case State::trailer_line_start:
      if (c == '\r') return State::trailer_end_lf;
      return is_tchar(c) ? State::trailer_name : State::error;  // obs-fold rejected too
    case State::trailer_name:
      if (is_tchar(c)) return s;
      return c == ':' ? State::trailer_line : State::error;
    case State::trailer_line:
      if (c == '\r') return State::trailer_lf;
      return is_text(c) ? s : State::error;
    case State::trailer_lf:
      return c == '\n' ? State::trailer_line_start : State::error;
    case State::trailer_end_lf:
      return c == '\n' ? State::done : State::error;
    default:
      return State::error;
  }
}

BodyResult BodyDecoder::feed(std::span<const char> in) noexcept {
  BodyResult r;
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
  // Hands out the next run of data; a second run waits for the next call.
  auto take_data = [&]() noexcept {
    const auto avail = static_cast<uint64_t>(end - p);
    const std::size_t n = static_cast<std::size_t>(remaining_ < avail ? remaining_ : avail);
    r.data = std::span<const char>(p, n);
    p += n;
    remaining_ -= n;
    body_bytes_ += n;
  };

  if (state_ == State::error) return fail(error_);
  while (p != end && state_ != State::done) {
    const char c = *p;
    switch (state_) {
      case State::done:
      case State::error:
        break;  // not reached: the loop and the check above stop first
      case State::until_close:
        r.data = std::span<const char>(p, end);
        body_bytes_ += static_cast<uint64_t>(end - p);
        p = end;
        break;
      case State::length:
        take_data();
        if (remaining_ == 0) state_ = State::done;
        break;
      case State::chunk_data:
        if (!r.data.empty()) {
          r.consumed = static_cast<std::size_t>(p - begin);
          return r;
        }
        take_data();
        if (remaining_ == 0) state_ = State::chunk_data_cr;
        break;
      case State::chunk_data_cr:
        if (c != '\r') return fail(ParseError::bad_chunk_data_end);
        state_ = State::chunk_data_lf;
        ++p;
        break;
      case State::chunk_data_lf:
        if (c != '\n') return fail(ParseError::bad_chunk_data_end);
        state_ = State::chunk_size;
        counter_ = 0;
        ++p;
        break;
      case State::chunk_size: {
        const int v = hex_value(c);
        if (v >= 0) {
          // RFC 9112 §7.1: chunk-size = 1*HEXDIG; 16 digits keep it in 64 bits.
          if (counter_ == limits::max_chunk_size_digits) return fail(ParseError::bad_chunk_size);
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(v);
          ++counter_;
        } else if (counter_ == 0) {
          return fail(ParseError::bad_chunk_size);
        } else if (c == '\r') {
          state_ = State::chunk_size_lf;
        } else if (c == ';' || is_ws(c)) {
          state_ = c == ';' ? State::chunk_ext : State::chunk_size_ws;
          counter_ = 1;
        } else {
          return fail(ParseError::bad_chunk_size);
        }
        ++p;
        break;
      }
      case State::chunk_size_lf:
        if (c != '\n') return fail(ParseError::bad_chunk_size);
        counter_ = 0;
        state_ = remaining_ == 0 ? State::trailer_line_start : State::chunk_data;
        ++p;
        break;
      case State::trailer_line_start:
      case State::trailer_name:
      case State::trailer_line:
      case State::trailer_lf:
      case State::trailer_end_lf:
        // The field lines count, the empty line that ends the section does not.
        if (state_ != State::trailer_end_lf && !(state_ == State::trailer_line_start && c == '\r') &&
            ++counter_ > limits::max_trailer_bytes) {
          return fail(ParseError::trailer_too_large);
        }
        state_ = trailer_next(state_, c);
        if (state_ == State::error) return fail(ParseError::bad_trailer);
        ++p;
        break;
      default: {  // chunk_size_ws, chunk_ext and the chunk_ext_* states
        const State from = state_;
        // Bytes between the size and the CR count.
        if (c != '\r' && ++counter_ > limits::max_chunk_ext_bytes) {
          return fail(ParseError::bad_chunk_extension);
        }
        state_ = chunk_line_next(from, c);
        if (state_ == State::error) {
          // "5  \r\n" or "2 junk": llhttp calls both a bad chunk size.
          return fail(from == State::chunk_size_ws ? ParseError::bad_chunk_size
                                                   : ParseError::bad_chunk_extension);
        }
        ++p;
        break;
      }
    }
  }
  r.consumed = static_cast<std::size_t>(p - begin);
  r.status = state_ == State::done ? Status::done : Status::need_more;
  return r;
}

Status BodyDecoder::finish() noexcept {
  if (state_ == State::until_close) state_ = State::done;
  if (state_ == State::done) return Status::done;
  if (state_ != State::error) {
    state_ = State::error;
    error_ = ParseError::unexpected_eof;  // the framing promised more
  }
  return Status::error;
}

}  // namespace ringload::proto
