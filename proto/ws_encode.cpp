// WebSocket client frames (RFC 6455 §5.2, masking §5.3).
#include "proto/ws_encode.hpp"

#include <array>
#include <cstring>

#include "proto/ws_close.hpp"

namespace ringload::proto::ws {

std::size_t encode_frame_header(std::span<char> out, Opcode op, bool fin, uint64_t payload_len,
                                uint32_t mask_key) noexcept {
  const auto op_bits = static_cast<uint8_t>(op);
  if (!known_opcode(op_bits) || payload_len >> 63 != 0) return 0;
  if (is_control(op) && (!fin || payload_len > limits::max_control_payload)) return 0;
  std::array<uint8_t, limits::max_client_header> h{};
  std::size_t n = 0;
  h[n++] = static_cast<uint8_t>((fin ? wire::fin_bit : 0) | op_bits);
  if (payload_len < wire::len16_marker) {
    h[n++] = static_cast<uint8_t>(wire::mask_bit | payload_len);
  } else {
    const int bytes = payload_len <= 0xffff ? 2 : 8;
    h[n++] = static_cast<uint8_t>(wire::mask_bit | (bytes == 2 ? wire::len16_marker : wire::len64_marker));
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

}  // namespace ringload::proto::ws
