#include "websocket.hpp"

// options.h first: it says how the library was built, and the other headers depend on it.
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha.h>

#include <algorithm>
#include <cstring>

namespace ringload::target::ws {
namespace {

constexpr std::string_view accept_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // §1.3
constexpr std::size_t key_size = 24;

int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::uint8_t byte_at(std::string_view in, std::size_t i) noexcept {
  return static_cast<std::uint8_t>(in[i]);
}

}  // namespace

bool valid_key(std::string_view key) noexcept {
  if (key.size() != key_size || key.substr(22) != "==") return false;
  for (std::size_t i = 0; i < 22; ++i)
    if (base64_value(key[i]) < 0) return false;
  // 16 bytes are 128 bits: the 22nd character carries 2 of them, its low 4 bits are padding.
  return (base64_value(key[21]) & 0x0f) == 0;
}

bool accept_value(std::string_view key, std::array<char, limits::accept_size>& out) noexcept {
  std::array<byte, key_size + accept_guid.size()> input;
  if (key.size() > key_size) return false;
  std::memcpy(input.data(), key.data(), key.size());
  std::memcpy(input.data() + key.size(), accept_guid.data(), accept_guid.size());
  std::array<byte, WC_SHA_DIGEST_SIZE> digest;
  if (wc_ShaHash(input.data(), static_cast<word32>(key.size() + accept_guid.size()),
                 digest.data()) != 0)
    return false;
  // Room for a terminator: some wolfSSL versions write one when there is space.
  std::array<byte, limits::accept_size + 4> encoded;
  word32 encoded_size = encoded.size();
  if (Base64_Encode_NoNl(digest.data(), digest.size(), encoded.data(), &encoded_size) != 0 ||
      encoded_size != limits::accept_size)
    return false;
  std::memcpy(out.data(), encoded.data(), limits::accept_size);
  return true;
}

FrameResult FrameDecoder::feed(std::string_view in) noexcept {
  FrameResult r;
  const auto fail = [&](std::size_t at) {
    state_ = State::error;
    r.status = ParseStatus::error;
    r.consumed = at;
    return r;
  };
  std::size_t i = 0;
  for (;;) {
    if (state_ != State::payload && state_ != State::error && i == in.size()) {
      r.consumed = i;
      return r;
    }
    switch (state_) {
      case State::first_byte: {
        const std::uint8_t b = byte_at(in, i);
        const std::uint8_t op = b & 0x0f;
        if ((b & 0x70) != 0) return fail(i);
        if (op > 0xa || (op > 0x2 && op < 0x8)) return fail(i);
        header_ = FrameHeader{static_cast<Opcode>(op), (b & 0x80) != 0, 0, {}};
        if (is_control(header_.opcode) && !header_.fin) return fail(i);
        state_ = State::second_byte;
        ++i;
        break;
      }
      case State::second_byte: {
        const std::uint8_t b = byte_at(in, i);
        const std::uint8_t len = b & 0x7f;
        if ((b & 0x80) == 0) return fail(i);
        if (is_control(header_.opcode) && len > limits::max_control_payload) return fail(i);
        ++i;
        if (len < 126) {
          header_.length = len;
          state_ = State::mask_key;
          left_ = 4;
        } else {
          ext_bytes_ = len == 126 ? 2 : 8;
          left_ = ext_bytes_;
          state_ = State::ext_length;
        }
        break;
      }
      case State::ext_length:
        header_.length = header_.length << 8 | byte_at(in, i);
        ++i;
        if (--left_ > 0) break;
        if (ext_bytes_ == 2 ? header_.length < 126
                            : header_.length <= 0xffff || (header_.length >> 63) != 0)
          return fail(i);
        state_ = State::mask_key;
        left_ = 4;
        break;
      case State::mask_key:
        header_.mask[4 - left_] = byte_at(in, i);
        ++i;
        if (--left_ > 0) break;
        r.frame_start = true;
        received_ = 0;
        state_ = State::payload;
        break;
      case State::payload: {
        const auto n = static_cast<std::size_t>(
            std::min<std::uint64_t>(header_.length - received_, in.size() - i));
        r.data = in.substr(i, n);
        r.data_offset = received_;
        received_ += n;
        r.consumed = i + n;
        if (received_ == header_.length) {
          state_ = State::first_byte;
          r.status = ParseStatus::done;
        }
        return r;
      }
      case State::error:
        return fail(0);
    }
  }
}

std::size_t encode_header(Opcode op, std::uint64_t length,
                          std::array<char, limits::max_server_header>& out) noexcept {
  out[0] = static_cast<char>(0x80 | static_cast<std::uint8_t>(op));
  if (length < 126) {
    out[1] = static_cast<char>(length);
    return 2;
  }
  const std::size_t ext = length <= 0xffff ? 2 : 8;
  out[1] = static_cast<char>(ext == 2 ? 126 : 127);
  for (std::size_t k = 0; k < ext; ++k)
    out[2 + k] = static_cast<char>(length >> (8 * (ext - 1 - k)));
  return 2 + ext;
}

void unmask(char* dst, const char* src, std::size_t n, const std::array<std::uint8_t, 4>& mask,
            std::uint64_t phase) noexcept {
  // Eight bytes at a time with the key rotated to the phase: large echoes stay cheap.
  std::array<std::uint8_t, 8> wide;
  for (std::size_t k = 0; k < 8; ++k) wide[k] = mask[(phase + k) % 4];
  std::uint64_t key;
  std::memcpy(&key, wide.data(), sizeof key);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, src + i, sizeof v);
    v ^= key;
    std::memcpy(dst + i, &v, sizeof v);
  }
  for (; i < n; ++i) dst[i] = static_cast<char>(src[i] ^ static_cast<char>(wide[i % 8]));
}

bool valid_close_code(std::uint16_t code) noexcept {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::uint8_t c = byte_at(s, i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t need;
    std::uint8_t lo = 0x80, hi = 0xbf;  // range of the first continuation byte
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0) lo = 0xa0;  // overlong
      if (c == 0xed) hi = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0) lo = 0x90;  // overlong
      if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return false;
    }
    if (i + need >= s.size()) return false;  // cut short
    for (std::size_t k = 1; k <= need; ++k) {
      const std::uint8_t b = byte_at(s, i + k);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf)) return false;
    }
    i += need + 1;
  }
  return true;
}

}  // namespace ringload::target::ws
