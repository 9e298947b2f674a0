#include "proto/utf8.hpp"

#include <cstring>

namespace ringload::proto {
namespace {

// RFC 3629 §4: the second byte's range rules out overlongs (E0, F0), surrogates (ED)
// and code points above U+10FFFF (F4); C0, C1 and F5-FF never occur. Returns the
// continuation bytes a lead byte needs (0: not a valid lead) and their first range.
uint8_t lead(unsigned c, uint8_t& lo, uint8_t& hi) noexcept {
  lo = 0x80;
  hi = 0xbf;
  if (c < 0xc2 || c > 0xf4) return 0;
  if (c < 0xe0) return 1;
  if (c < 0xf0) {
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
    return 2;
  }
  if (c == 0xf0) lo = 0x90;
  if (c == 0xf4) hi = 0x8f;
  return 3;
}

}  // namespace

std::size_t Utf8Validator::feed(std::span<const char> in) noexcept {
  if (failed_) return 0;
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    if (need_ != 0) {
      const unsigned c = s[i];
      if (c < lo_ || c > hi_) break;
      lo_ = 0x80;
      hi_ = 0xbf;
      --need_;
      ++i;
      continue;
    }
    // ASCII runs, eight bytes at a time.
    while (n - i >= 8) {
      uint64_t w;
      std::memcpy(&w, s + i, 8);
      if ((w & 0x8080808080808080ull) != 0) break;
      i += 8;
    }
    if (i == n) break;
    const unsigned c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    need_ = lead(c, lo_, hi_);
    if (need_ == 0) break;
    ++i;
  }
  if (i < n) failed_ = true;
  return i;
}

bool valid_utf8(std::string_view s) noexcept {
  Utf8Validator v;
  return v.feed(s) == s.size() && v.at_boundary();
}

std::size_t utf8_sequence_length(std::span<const char> s) noexcept {
  if (s.empty()) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  uint8_t lo, hi;
  const uint8_t need = lead(p[0], lo, hi);
  if (need == 0 || s.size() <= need) return 0;
  for (std::size_t k = 1; k <= need; ++k) {
    if (p[k] < lo || p[k] > hi) return 0;
    lo = 0x80;
    hi = 0xbf;
  }
  return need + 1u;
}

}  // namespace ringload::proto
