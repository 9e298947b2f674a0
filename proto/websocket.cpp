// WebSocket framing (RFC 6455 §5), close payloads (§7.4) and the client handshake (§4.1).
#include "proto/websocket.hpp"
#include "proto/token.hpp"

#include <array>
#include <cstring>

namespace ringload::proto::ws {
namespace {

constexpr uint8_t fin_bit = 0x80;
constexpr uint8_t rsv_bits = 0x70;
constexpr uint8_t mask_bit = 0x80;
constexpr uint8_t len16_marker = 126;
constexpr uint8_t len64_marker = 127;

bool known_opcode(uint8_t op) noexcept {
  return op <= 0x2 || (op >= 0x8 && op <= 0xa);
}

bool is_base64(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '+' || c == '/' || c == '=';
    if (!ok) return false;
  }
  return true;
}

// Field content (RFC 9110 §5.5): no CR, LF, NUL or other control byte but HTAB.
bool is_field_text(std::string_view s) noexcept {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

// `list` (a comma-separated field value, RFC 9110 §5.6.1) contains `token`, case-insensitively.
bool list_has_token(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (iequals(trim_ows(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Bounded output that keeps counting past the end, so the caller learns the size needed.
struct Writer {
  std::span<char> out;
  std::size_t size = 0;
  void put(std::string_view s) noexcept {
    if (size < out.size()) {
      const std::size_t n = s.size() < out.size() - size ? s.size() : out.size() - size;
      std::memcpy(out.data() + size, s.data(), n);
    }
    size += s.size();
  }
};

}  // namespace

// ---- FrameDecoder -----------------------------------------------------------------------

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
        if ((c & rsv_bits) != 0) return fail(ParseError::ws_reserved_bits);  // §5.2
        const uint8_t op = c & 0x0f;
        if (!known_opcode(op)) return fail(ParseError::ws_reserved_opcode);  // §5.2
        header_ = FrameHeader{static_cast<Opcode>(op), (c & fin_bit) != 0, 0};
        // §5.5: "All control frames ... MUST NOT be fragmented."
        if (is_control(header_.opcode) && !header_.fin) return fail(ParseError::ws_bad_control_frame);
        state_ = State::second_byte;
        ++p;
        break;
      }
      case State::second_byte: {
        // §5.1: "A server MUST NOT mask any frames that it sends to the client."
        if ((c & mask_bit) != 0) return fail(ParseError::ws_masked_frame);
        const uint8_t len = c & 0x7f;
        // §5.5: control frames "MUST have a payload length of 125 bytes or less".
        if (is_control(header_.opcode) && len > limits::max_control_payload) {
          return fail(ParseError::ws_bad_control_frame);
        }
        ++p;
        if (len >= len16_marker) {
          ext_bytes_ = ext_left_ = len == len16_marker ? 2 : 8;
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
          const uint64_t least = ext_bytes_ == 2 ? len16_marker : 0x10000;
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

// ---- MessageAssembler -------------------------------------------------------------------

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

uint16_t close_code_for(ParseError e) noexcept {
  switch (e) {
    case ParseError::ws_invalid_utf8: return 1007;       // §7.4.1: inconsistent data
    case ParseError::ws_message_too_large: return 1009;  // §7.4.1: message too big
    default: return 1002;                                // §7.4.1: protocol error
  }
}

// ---- Close payloads ---------------------------------------------------------------------

bool valid_close_code(uint16_t code) noexcept {
  if (code >= 3000 && code <= 4999) return true;  // §7.4.2: libraries, applications
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

CloseInfo parse_close(std::span<const char> payload) noexcept {
  CloseInfo c;
  if (payload.empty()) return c;  // §5.5.1: the body is optional
  if (payload.size() == 1 || payload.size() > limits::max_control_payload) {
    c.valid = false;
    return c;
  }
  c.has_code = true;
  c.code = static_cast<uint16_t>(static_cast<uint8_t>(payload[0]) << 8 | static_cast<uint8_t>(payload[1]));
  c.reason = std::string_view(payload.data() + 2, payload.size() - 2);
  c.valid = valid_close_code(c.code) && valid_utf8(c.reason);  // §5.5.1: reason is UTF-8
  return c;
}

// ---- Encoder ----------------------------------------------------------------------------

std::size_t encode_frame_header(std::span<char> out, Opcode op, bool fin, uint64_t payload_len,
                                uint32_t mask_key) noexcept {
  const auto op_bits = static_cast<uint8_t>(op);
  if (!known_opcode(op_bits) || payload_len >> 63 != 0) return 0;
  if (is_control(op) && (!fin || payload_len > limits::max_control_payload)) return 0;
  std::array<uint8_t, limits::max_client_header> h{};
  std::size_t n = 0;
  h[n++] = static_cast<uint8_t>((fin ? fin_bit : 0) | op_bits);
  if (payload_len < len16_marker) {
    h[n++] = static_cast<uint8_t>(mask_bit | payload_len);
  } else {
    const int bytes = payload_len <= 0xffff ? 2 : 8;
    h[n++] = static_cast<uint8_t>(mask_bit | (bytes == 2 ? len16_marker : len64_marker));
    for (int i = bytes - 1; i >= 0; --i) h[n++] = static_cast<uint8_t>(payload_len >> (8 * i));
  }
  for (int i = 3; i >= 0; --i) h[n++] = static_cast<uint8_t>(mask_key >> (8 * i));
  if (out.size() < n) return 0;
  std::memcpy(out.data(), h.data(), n);
  return n;
}

void mask_payload(std::span<char> data, uint32_t mask_key, uint64_t offset) noexcept {
  // Key bytes in wire order, rotated so that pattern[0] applies to data[0].
  std::array<unsigned char, 8> pattern{};
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    pattern[i] = static_cast<unsigned char>(mask_key >> (8 * (3 - (offset + i) % 4)));
  }
  uint64_t wide;
  std::memcpy(&wide, pattern.data(), 8);
  char* p = data.data();
  std::size_t n = data.size();
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    w ^= wide;
    std::memcpy(p, &w, 8);
  }
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<char>(p[i] ^ pattern[i]);
}

std::size_t encode_frame(std::span<char> out, Opcode op, bool fin, std::span<const char> payload,
                         uint32_t mask_key) noexcept {
  const std::size_t h = encode_frame_header(out, op, fin, payload.size(), mask_key);
  if (h == 0 || out.size() - h < payload.size()) return 0;
  if (!payload.empty()) std::memmove(out.data() + h, payload.data(), payload.size());
  mask_payload(out.subspan(h, payload.size()), mask_key, 0);
  return h + payload.size();
}

std::size_t encode_close_payload(std::span<char> out, uint16_t code, std::string_view reason) noexcept {
  if (code == 0) return 0;  // an empty payload, or a reason without a code (invalid)
  const std::size_t n = 2 + reason.size();
  if (!valid_close_code(code) || n > limits::max_control_payload || out.size() < n) return 0;
  if (!valid_utf8(reason)) return 0;  // §5.5.1
  out[0] = static_cast<char>(code >> 8);
  out[1] = static_cast<char>(code & 0xff);
  if (!reason.empty()) std::memcpy(out.data() + 2, reason.data(), reason.size());
  return n;
}

std::size_t encode_close_frame(std::span<char> out, uint16_t code, std::string_view reason,
                               uint32_t mask_key) noexcept {
  std::array<char, limits::max_control_payload> payload{};
  const std::size_t n = encode_close_payload(payload, code, reason);
  if (n == 0 && (code != 0 || !reason.empty())) return 0;
  return encode_frame(out, Opcode::close, true, std::span<const char>(payload.data(), n), mask_key);
}

std::size_t encode_pong_frame(std::span<char> out, std::span<const char> ping_payload,
                              uint32_t mask_key) noexcept {
  return encode_frame(out, Opcode::pong, true, ping_payload, mask_key);
}

// ---- Handshake --------------------------------------------------------------------------

std::size_t accept_key_input(std::span<char> out, std::string_view key) noexcept {
  const std::size_t n = key.size() + accept_guid.size();
  if (out.size() < n) return 0;
  std::memcpy(out.data(), key.data(), key.size());
  std::memcpy(out.data() + key.size(), accept_guid.data(), accept_guid.size());
  return n;
}

namespace {

// Headers render_opening_request() writes itself; the caller may not add them again.
bool reserved_header(std::string_view name) noexcept {
  constexpr std::array<std::string_view, 7> names{
      "Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
      "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"};
  for (std::string_view n : names) {
    if (iequals(n, name)) return true;
  }
  return false;
}

bool valid_request(const OpeningRequest& req) noexcept {
  if (req.host.empty() || !is_field_text(req.host) || req.host.find_first_of(" \t") != std::string_view::npos) {
    return false;
  }
  if (req.target.empty() || req.target.front() != '/' || !is_field_text(req.target) ||
      req.target.find_first_of(" \t") != std::string_view::npos) {
    return false;
  }
  if (!is_base64(req.key)) return false;
  for (std::string_view p : req.protocols) {
    if (!is_token(p)) return false;
  }
  for (const Header& h : req.extra_headers) {
    if (!is_token(h.name) || reserved_header(h.name) || !is_field_text(h.value)) return false;
  }
  return true;
}

}  // namespace

std::size_t render_opening_request(std::span<char> out, const OpeningRequest& req) noexcept {
  if (!valid_request(req)) return 0;
  Writer w{out};
  w.put("GET ");
  w.put(req.target);
  w.put(" HTTP/1.1\r\nHost: ");
  w.put(req.host);
  w.put("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
  w.put(req.key);
  w.put("\r\nSec-WebSocket-Version: 13\r\n");
  if (!req.protocols.empty()) {
    w.put("Sec-WebSocket-Protocol: ");
    for (std::size_t i = 0; i < req.protocols.size(); ++i) {
      if (i != 0) w.put(", ");
      w.put(req.protocols[i]);
    }
    w.put("\r\n");
  }
  for (const Header& h : req.extra_headers) {
    w.put(h.name);
    w.put(": ");
    w.put(h.value);
    w.put("\r\n");
  }
  w.put("\r\n");
  return w.size;
}

const char* check_upgrade_headers(std::span<const Header> headers, std::string_view expected_accept,
                                  std::span<const std::string_view> offered_protocols,
                                  std::string_view* selected_protocol) noexcept {
  bool upgrade = false;
  bool connection = false;
  int accepts = 0;
  int protocols = 0;
  std::string_view accept;
  std::string_view protocol;
  for (const Header& h : headers) {
    if (iequals(h.name, "Upgrade")) {
      upgrade = upgrade || list_has_token(h.value, "websocket");
    } else if (iequals(h.name, "Connection")) {
      connection = connection || list_has_token(h.value, "Upgrade");
    } else if (iequals(h.name, "Sec-WebSocket-Accept")) {
      ++accepts;
      accept = h.value;
    } else if (iequals(h.name, "Sec-WebSocket-Protocol")) {
      ++protocols;
      protocol = h.value;
    } else if (iequals(h.name, "Sec-WebSocket-Extensions") && !trim_ows(h.value).empty()) {
      return "Sec-WebSocket-Extensions in the response: no extension was offered";  // §4.1 (5)
    }
  }
  if (selected_protocol != nullptr) *selected_protocol = {};
  if (!upgrade) return "no Upgrade: websocket in the response";                   // §4.1 (2)
  if (!connection) return "no Connection: Upgrade in the response";               // §4.1 (3)
  if (accepts == 0) return "no Sec-WebSocket-Accept in the response";             // §4.1 (4)
  if (accepts > 1) return "more than one Sec-WebSocket-Accept in the response";
  if (accept != expected_accept) return "Sec-WebSocket-Accept does not match the key";
  if (protocols > 1) return "more than one Sec-WebSocket-Protocol in the response";  // §11.3.4
  if (protocols == 1) {
    bool offered = false;
    for (std::string_view p : offered_protocols) offered = offered || p == protocol;
    if (!offered) return "Sec-WebSocket-Protocol in the response was not offered";  // §4.1 (6)
    if (selected_protocol != nullptr) *selected_protocol = protocol;
  }
  return nullptr;
}

const char* check_upgrade_response(const ResponseHead& head, std::span<const Header> headers,
                                   std::string_view expected_accept,
                                   std::span<const std::string_view> offered_protocols,
                                   std::string_view* selected_protocol) noexcept {
  if (selected_protocol != nullptr) *selected_protocol = {};
  if (head.status != 101) return "the server did not switch protocols (status not 101)";  // §4.1 (1)
  return check_upgrade_headers(headers, expected_accept, offered_protocols, selected_protocol);
}

}  // namespace ringload::proto::ws
