#include "engine/requests/json_cursor.hpp"

#include <cstring>

namespace ringload::json {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_hex(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// The UTF-16 code unit of the \u escape at `at`, or -1 when there is none (four hex digits).
int32_t code_unit(std::string_view s, std::size_t at) noexcept {
  if (s.size() - at < 6 || s[at] != '\\' || s[at + 1] != 'u') return -1;
  int32_t unit = 0;
  for (std::size_t i = at + 2; i < at + 6; ++i) {
    if (!is_hex(s[i])) return -1;
    const char c = s[i];
    unit = unit * 16 + (is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return unit;
}

// simdjson keeps integers in an int64_t, or a uint64_t when positive, and refuses others.
// `digits` has no leading zero (the grammar's rule).
bool fits_64_bits(std::string_view digits, bool negative) noexcept {
  const std::string_view max = negative ? "9223372036854775808" : "18446744073709551615";
  return digits.size() < max.size() || (digits.size() == max.size() && digits <= max);
}

// 2^1024 - 2^970, halfway between the largest double and 2^1024: from here on a number
// rounds to infinity (a tie goes to the even 2^1024), which simdjson refuses.
constexpr std::string_view double_overflow =
    "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664901797758720709633028641669"
    "28879109465555478519404026306574886715058206819089020007083836762738548458177115317644757302700698555713669596228"
    "42914819860834936475292719074168444365510704342711559699508093042880177904174497792";
static_assert(double_overflow.size() == 309);

// Whether whole.fraction * 10^(-)exponent rounds beyond the largest double.
bool overflows_double(std::string_view whole, std::string_view fraction, std::string_view exponent,
                      bool exponent_negative) noexcept {
  // The significant digits run through `first`, then `second`; the value is
  // 0.d1d2d3... * 10^point.
  std::string_view first = whole;
  std::string_view second = fraction;
  int64_t point = static_cast<int64_t>(whole.size());
  if (whole == "0") {
    const std::size_t lead = fraction.find_first_not_of('0');
    if (lead == std::string_view::npos) return false;  // zero
    first = fraction.substr(lead);
    second = {};
    point = -static_cast<int64_t>(lead);
  }
  // Saturates: an exponent this large decides alone (a line is far shorter than 10^15).
  // simdjson stops reading an exponent once past 65535 when a number has over 19
  // significant digits: a finite number whose huge exponent is offset by as many digits (a
  // line of over 600 KB) is refused there and not here, and reported at column 1.
  int64_t e = 0;
  for (const char c : exponent)
    if (e < 1'000'000'000'000'000) e = e * 10 + (c - '0');
  point += exponent_negative ? -e : e;
  const auto limit_point = static_cast<int64_t>(double_overflow.size());
  if (point != limit_point) return point > limit_point;
  for (std::size_t i = 0; i < double_overflow.size(); ++i) {
    const char d = i < first.size() ? first[i] : i - first.size() < second.size() ? second[i - first.size()] : '0';
    if (d != double_overflow[i]) return d > double_overflow[i];
  }
  return true;  // the tie itself, or above it
}

}  // namespace

// RFC 8259 §2: ws = *( %x20 / %x09 / %x0A / %x0D )
void Cursor::ws() noexcept {
  while (pos < s_.size() && (s_[pos] == ' ' || s_[pos] == '\t' || s_[pos] == '\n' || s_[pos] == '\r')) ++pos;
}

bool Cursor::eat(char c) noexcept {
  if (at_end() || s_[pos] != c) return false;
  ++pos;
  return true;
}

bool Cursor::fail(const char* what) noexcept {
  why = what;
  return false;
}

bool Cursor::value(int depth) noexcept {
  if (depth >= max_depth) return fail("nested too deeply");
  if (at_end()) return fail("unexpected end of line");
  switch (s_[pos]) {
    case '{': return container('}', depth);
    case '[': return container(']', depth);
    case '"': return string();
    case 't': return literal("true");
    case 'f': return literal("false");
    case 'n': return literal("null");
    default:
      if (s_[pos] == '-' || is_digit(s_[pos])) return number();
      return fail("unexpected character");
  }
}

bool Cursor::container(char close, int depth) noexcept {
  const bool object = close == '}';
  ++pos;
  ws();
  if (eat(close)) return true;
  for (;;) {
    if (object) {
      if (peek() != '"') return fail(at_end() ? "unexpected end of line" : "expected a string key");
      if (!string()) return false;
      ws();
      if (!eat(':')) return fail("expected ':' after the key");
      ws();
    }
    if (!value(depth + 1)) return false;
    ws();
    if (eat(close)) return true;
    if (!eat(',')) {
      if (at_end()) return fail("unexpected end of line");
      return fail(object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    ws();
  }
}

// RFC 8259 §7: escapes, no unescaped control characters; §8.1: UTF-8.
bool Cursor::string() noexcept {
  static constexpr const char* lone_surrogate =
      "lone surrogate in \\u escape (\\uD800-\\uDBFF must be followed by \\uDC00-\\uDFFF)";
  const std::size_t start = pos++;
  while (pos < s_.size()) {
    const auto c = static_cast<unsigned char>(s_[pos]);
    if (c == '"') {
      ++pos;
      return true;
    }
    if (c == '\\') {
      const std::size_t escape = pos++;
      const char e = peek();
      if (e == 'u') {
        const int32_t unit = code_unit(s_, escape);
        if (unit < 0) return pos = escape, fail("bad \\u escape");
        pos = escape + 6;
        // RFC 8259 §8.2 lets a string hold a lone surrogate; simdjson (UTF-8 out) does not.
        if (unit >= 0xdc00 && unit <= 0xdfff) return pos = escape, fail(lone_surrogate);
        if (unit >= 0xd800 && unit <= 0xdbff) {
          const int32_t low = code_unit(s_, pos);
          if (low < 0xdc00 || low > 0xdfff) return pos = escape, fail(lone_surrogate);
          pos += 6;
        }
      } else if (e != '\0' && std::strchr("\"\\/bfnrt", e) != nullptr) {
        ++pos;
      } else {
        return pos = escape, fail("bad escape in string");
      }
      continue;
    }
    if (c < 0x20) return fail("control character in string (escape it)");
    if (c >= 0x80) {
      if (!utf8()) return false;
      continue;
    }
    ++pos;
  }
  pos = start;
  return fail("unterminated string");
}

bool Cursor::utf8() noexcept {
  const auto lead = static_cast<unsigned char>(s_[pos]);
  int more = 0;
  uint32_t cp = 0, min = 0;
  if ((lead & 0xe0) == 0xc0) more = 1, cp = lead & 0x1f, min = 0x80;
  else if ((lead & 0xf0) == 0xe0) more = 2, cp = lead & 0x0f, min = 0x800;
  else if ((lead & 0xf8) == 0xf0) more = 3, cp = lead & 0x07, min = 0x10000;
  else return fail("invalid UTF-8");
  if (s_.size() - pos <= static_cast<std::size_t>(more)) return fail("invalid UTF-8");
  for (int i = 1; i <= more; ++i) {
    const auto c = static_cast<unsigned char>(s_[pos + i]);
    if ((c & 0xc0) != 0x80) return fail("invalid UTF-8");
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return fail("invalid UTF-8");
  pos += static_cast<std::size_t>(more) + 1;
  return true;
}

// RFC 8259 §6: -? (0 / [1-9] digits) [. digits] [e [+-] digits]. The grammar sets no
// range, simdjson does (§6 allows it): an integer within 64 bits, any other number within
// a double.
bool Cursor::number() noexcept {
  const std::size_t start = pos;
  const auto digits = [this](std::size_t from) {
    while (is_digit(peek())) ++pos;
    return s_.substr(from, pos - from);
  };
  const bool negative = eat('-');
  const std::size_t whole_at = pos;
  if (!eat('0')) {
    if (!is_digit(peek())) return pos = start, fail("bad number");
    digits(pos);
  }
  const std::string_view whole = s_.substr(whole_at, pos - whole_at);
  std::string_view fraction;
  if (eat('.')) {
    if (!is_digit(peek())) return pos = start, fail("bad number");
    fraction = digits(pos);
  }
  std::string_view exponent;
  bool exponent_negative = false;
  if (peek() == 'e' || peek() == 'E') {
    ++pos;
    exponent_negative = peek() == '-';
    if (peek() == '+' || peek() == '-') ++pos;
    if (!is_digit(peek())) return pos = start, fail("bad number");
    exponent = digits(pos);
  }
  if (fraction.empty() && exponent.empty()) {
    if (!fits_64_bits(whole, negative))
      return pos = start, fail("integer out of range (-9223372036854775808 to 18446744073709551615)");
  } else if (overflows_double(whole, fraction, exponent, exponent_negative)) {
    return pos = start, fail("number out of range (beyond a double, about 1.8e308)");
  }
  return true;
}

bool Cursor::literal(std::string_view word) noexcept {
  if (s_.substr(pos, word.size()) != word) return fail("unexpected character");
  pos += word.size();
  return true;
}

Invalid find_error(std::string_view text) noexcept {
  Cursor c(text);
  c.ws();
  if (!c.value()) return {c.pos, c.why};
  c.ws();
  if (!c.at_end()) return {c.pos, "unexpected text after the value"};
  return {};
}

Span locate(std::string_view text, std::initializer_list<uint32_t> path) noexcept {
  return locate(text, path.begin(), path.size());
}

Span locate(std::string_view text, const uint32_t* path, std::size_t depth) noexcept {
  Cursor c(text);
  Span out;
  c.ws();
  for (std::size_t step = 0; step < depth; ++step) {
    const char open = c.peek();
    if (open != '{' && open != '[') return {};
    ++c.pos;
    c.ws();
    for (uint32_t i = 0;; ++i) {
      if (c.at_end() || c.peek() == '}' || c.peek() == ']') return {};
      out.key = npos;
      if (open == '{') {
        out.key = c.pos;
        if (!c.string()) return {};
        c.ws();
        c.eat(':');
        c.ws();
      }
      if (i == path[step]) break;
      if (!c.value()) return {};
      c.ws();
      c.eat(',');
      c.ws();
    }
  }
  out.begin = c.pos;
  if (!c.value()) return {};
  out.end = c.pos;
  return out;
}

}  // namespace ringload::json
