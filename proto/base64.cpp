#include "proto/base64.hpp"

#include <cstdio>

namespace ringload::proto {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void encode_quantum(const unsigned char* p, char* o) noexcept {
  const uint32_t v = uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2];
  o[0] = alphabet[v >> 18];
  o[1] = alphabet[v >> 12 & 63];
  o[2] = alphabet[v >> 6 & 63];
  o[3] = alphabet[v & 63];
}

// The last 1 or 2 bytes, padded to four characters.
void encode_tail(const unsigned char* p, std::size_t n, char* o) noexcept {
  const uint32_t v = uint32_t{p[0]} << 16 | (n > 1 ? uint32_t{p[1]} << 8 : 0);
  o[0] = alphabet[v >> 18];
  o[1] = alphabet[v >> 12 & 63];
  o[2] = n > 1 ? alphabet[v >> 6 & 63] : '=';
  o[3] = '=';
}

int value_of(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::size_t base64_encode(std::span<const char> in, char* out) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  char* o = out;
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3, o += 4) encode_quantum(p + i, o);
  if (i < n) {
    encode_tail(p + i, n - i, o);
    o += 4;
  }
  return static_cast<std::size_t>(o - out);
}

std::size_t Base64Encoder::feed(std::span<const char> in, char* out) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t n = in.size();
  char* o = out;
  if (carried_ != 0) {
    while (carried_ < 2 && n > 0) {
      carry_[carried_++] = *p++;
      --n;
    }
    if (n == 0) return 0;
    const unsigned char q[3] = {carry_[0], carry_[1], *p++};
    --n;
    encode_quantum(q, o);
    o += 4;
    carried_ = 0;
  }
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3, o += 4) encode_quantum(p + i, o);
  for (; i < n; ++i) carry_[carried_++] = p[i];
  return static_cast<std::size_t>(o - out);
}

std::size_t Base64Encoder::finish(char* out) noexcept {
  if (carried_ == 0) return 0;
  encode_tail(carry_, carried_, out);
  carried_ = 0;
  return 4;
}

namespace {

// The checks made before decoding: padding that completes the last quantum, a length
// that a whole number of bytes gives. `len` receives the characters before the padding.
Base64Decoded::Error check_shape(std::string_view in, std::size_t& len) noexcept {
  len = in.size();
  std::size_t pad = 0;
  while (len > 0 && in[len - 1] == '=' && pad < 2) --len, ++pad;
  if (pad > 0 && in.size() % 4 != 0) return Base64Decoded::Error::bad_padding;
  if (len % 4 == 1) return Base64Decoded::Error::truncated;
  return Base64Decoded::Error::none;
}

}  // namespace

Base64Decoded base64_decode(std::string_view in, char* out) noexcept {
  Base64Decoded r;
  std::size_t len = 0;
  r.error = check_shape(in, len);
  if (r.error != Base64Decoded::Error::none) return r;
  uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < len; ++i) {
    const int v = value_of(in[i]);
    if (v < 0) {
      r.error = Base64Decoded::Error::bad_character;
      r.position = i;
      r.size = 0;
      return r;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[r.size++] = static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return r;
}

bool base64_valid(std::string_view text) noexcept {
  std::size_t len = 0;
  if (check_shape(text, len) != Base64Decoded::Error::none) return false;
  for (std::size_t i = 0; i < len; ++i) {
    if (value_of(text[i]) < 0) return false;
  }
  return true;
}

const char* to_string(const Base64Decoded& d, std::size_t text_len, std::span<char, 64> buf) noexcept {
  switch (d.error) {
    case Base64Decoded::Error::none: return "ok";
    case Base64Decoded::Error::bad_padding: return "bad padding";
    case Base64Decoded::Error::bad_character:
      std::snprintf(buf.data(), buf.size(), "invalid character at offset %zu", d.position);
      return buf.data();
    case Base64Decoded::Error::truncated:
      std::snprintf(buf.data(), buf.size(), "truncated input (length %zu)", text_len);
      return buf.data();
  }
  return "bad base64";
}

}  // namespace ringload::proto
