#include "engine/output/json_text.hpp"

#include <bit>
#include <charconv>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "proto/base64.hpp"
#include "proto/utf8.hpp"

namespace ringload::json_text {
namespace {

// First index >= i of a byte that needs attention (non-ASCII, below 0x20, '"' or '\\'),
// or n. SSE2 (x86-64 baseline) 16 bytes at a time: a signed compare with 0x20 catches
// both the control bytes and the bytes >= 0x80. Then (the tail, or without SSE2) the
// "Bit Twiddling Hacks" SWAR tests 8 at a time (hasless / haszero; the < 0x20 test is
// exact once bytes >= 0x80 are excluded).
std::size_t skip_plain(const unsigned char* p, std::size_t i, std::size_t n) noexcept {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i hit = _mm_or_si128(_mm_cmplt_epi8(v, space),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    if (const int mask = _mm_movemask_epi8(hit)) return i + static_cast<std::size_t>(std::countr_zero(unsigned(mask)));
  }
#endif
  constexpr uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    const uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    if ((w & highs) || ((w - ones * 0x20) & ~w & highs) || ((((q - ones) & ~q) | ((b - ones) & ~b)) & highs)) break;
  }
  while (i < n && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\') ++i;
  return i;
}

void append_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: {
      static constexpr char hex[] = "0123456789abcdef";
      const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      out.append(u, 6);
    }
  }
}

}  // namespace

void append_u64(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_us(std::string& out, uint64_t ns) {
  append_u64(out, ns / 1000);
  const auto f = static_cast<unsigned>(ns % 1000);
  const char frac[4] = {'.', char('0' + f / 100), char('0' + f / 10 % 10), char('0' + f % 10)};
  out.append(frac, 4);
}

bool append_escaped(std::string& out, std::string_view s, BadUtf8 bad) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0, run = 0;
  while ((i = skip_plain(p, i, n)) < n) {
    const unsigned char c = p[i];
    if (c >= 0x80) {
      if (bad == BadUtf8::pass) {
        ++i;
        continue;
      }
      if (std::size_t len = proto::utf8_sequence_length(s.substr(i))) {
        i += len;
        continue;
      }
      if (bad == BadUtf8::fail) return false;
      out.append(s.data() + run, i - run).append("\xEF\xBF\xBD");
    } else {
      out.append(s.data() + run, i - run);
      append_escape(out, c);
    }
    run = ++i;
  }
  out.append(s.data() + run, n - run);
  return true;
}

void append_string(std::string& out, std::string_view s) {
  out += '"';
  append_escaped(out, s, BadUtf8::replace);
  out += '"';
}

void append_base64(std::string& out, std::string_view s) {
  const std::size_t start = out.size();
  out.resize(start + proto::base64_encoded_size(s.size()));
  proto::base64_encode(s, out.data() + start);
}

}  // namespace ringload::json_text
