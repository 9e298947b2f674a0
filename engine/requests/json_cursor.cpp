#include "engine/requests/json_cursor.hpp"

#include <cstring>

namespace ringload::json {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_hex(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

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
        for (std::size_t i = 1; i <= 4; ++i)
          if (pos + i >= s_.size() || !is_hex(s_[pos + i])) return pos = escape, fail("bad \\u escape");
        pos += 5;
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

// RFC 8259 §6: -? (0 / [1-9] digits) [. digits] [e [+-] digits]
bool Cursor::number() noexcept {
  const std::size_t start = pos;
  eat('-');
  if (!eat('0')) {
    if (!is_digit(peek())) return pos = start, fail("bad number");
    while (is_digit(peek())) ++pos;
  }
  if (eat('.')) {
    if (!is_digit(peek())) return pos = start, fail("bad number");
    while (is_digit(peek())) ++pos;
  }
  if (peek() == 'e' || peek() == 'E') {
    ++pos;
    if (peek() == '+' || peek() == '-') ++pos;
    if (!is_digit(peek())) return pos = start, fail("bad number");
    while (is_digit(peek())) ++pos;
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
