#include "request_parser.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace ringload::target {
namespace {

// tchar (RFC 9110 §5.6.2): the characters of methods and field names.
constexpr std::array<bool, 256> make_tchar_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view{"!#$%&'*+-.^_`|~"}) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr auto tchar = make_tchar_table();

bool is_tchar(char c) noexcept { return tchar[static_cast<unsigned char>(c)]; }

// field-vchar / obs-text plus SP and HTAB (RFC 9110 §5.5): everything but CTLs and DEL.
bool is_field_char(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr ParseResult need_more{ParseStatus::need_more, 0, ParseError::none};
constexpr ParseResult fail(ParseError e) { return {ParseStatus::error, 0, e}; }

// Finds the end of the head (just past the empty line) searching from `from`; 0 if absent.
// A bare LF is accepted as a line terminator (RFC 9112 §2.2 allows it).
std::size_t find_head_end(std::string_view buf, std::size_t& from) noexcept {
  const char* base = buf.data();
  std::size_t i = from;
  while (i < buf.size()) {
    const void* hit = std::memchr(base + i, '\n', buf.size() - i);
    if (hit == nullptr) break;
    i = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
    if (i + 1 >= buf.size()) break;
    if (buf[i + 1] == '\n') return i + 2;
    if (buf[i + 1] == '\r') {
      if (i + 2 >= buf.size()) break;
      if (buf[i + 2] == '\n') return i + 3;
    }
    ++i;
  }
  from = i < buf.size() ? i : buf.size();
  return 0;
}

// Splits off one line (without its CRLF or LF). A CR anywhere else is invalid (RFC 9112 §2.2).
bool take_line(std::string_view& rest, std::string_view& line) noexcept {
  const std::size_t lf = rest.find('\n');
  if (lf == std::string_view::npos) return false;
  std::size_t end = lf;
  if (end > 0 && rest[end - 1] == '\r') --end;
  line = rest.substr(0, end);
  rest.remove_prefix(lf + 1);
  return line.find('\r') == std::string_view::npos;
}

// request-line = method SP request-target SP HTTP-version (RFC 9112 §3).
ParseError parse_request_line(std::string_view line, Request& req) noexcept {
  std::size_t i = 0;
  while (i < line.size() && is_tchar(line[i])) ++i;
  if (i == 0 || i >= line.size() || line[i] != ' ') return ParseError::bad_request;
  req.method = line.substr(0, i);
  const std::size_t target_start = ++i;
  while (i < line.size() && static_cast<unsigned char>(line[i]) > 0x20 && line[i] != 0x7f) ++i;
  if (i == target_start || i >= line.size() || line[i] != ' ') return ParseError::bad_request;
  req.target = line.substr(target_start, i - target_start);
  // HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3), case-sensitive.
  const std::string_view version = line.substr(i + 1);
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
    return ParseError::bad_request;
  if (version[5] != '1') return ParseError::bad_version;
  req.minor_version = version[7] - '0';
  return ParseError::none;
}

// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5).
ParseError parse_field_line(std::string_view line, Header& out) noexcept {
  std::size_t i = 0;
  while (i < line.size() && is_tchar(line[i])) ++i;
  // No whitespace is allowed between the name and the colon (RFC 9112 §5.1): 400.
  if (i == 0 || i >= line.size() || line[i] != ':') return ParseError::bad_request;
  out.name = line.substr(0, i);
  std::string_view value = line.substr(i + 1);
  for (char c : value)
    if (!is_field_char(c)) return ParseError::bad_request;
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  out.value = value;
  return ParseError::none;
}

}  // namespace

ParseResult parse_request(std::string_view buf, Request& req, std::span<Header> header_space,
                          std::size_t& scanned) noexcept {
  // A server SHOULD ignore at least one empty line before the request-line (RFC 9112 §2.2).
  std::size_t start = 0;
  while (start < buf.size() && (buf[start] == '\r' || buf[start] == '\n')) ++start;
  if (scanned < start) scanned = start;
  const std::size_t end = start == buf.size() ? 0 : find_head_end(buf, scanned);
  if (end == 0)
    return buf.size() >= limits::max_head_bytes ? fail(ParseError::head_too_large) : need_more;
  if (end > limits::max_head_bytes) return fail(ParseError::head_too_large);

  std::string_view rest = buf.substr(start, end - start);
  std::string_view line;
  if (!take_line(rest, line)) return fail(ParseError::bad_request);
  if (const ParseError e = parse_request_line(line, req); e != ParseError::none) return fail(e);

  std::size_t count = 0;
  for (;;) {
    // The head ends with an empty line, so every line has its LF; false means a bare CR.
    if (!take_line(rest, line)) return fail(ParseError::bad_request);
    if (line.empty()) break;
    // obs-fold: a server MAY reject it with 400 (RFC 9112 §5.2); we do.
    if (line.front() == ' ' || line.front() == '\t') return fail(ParseError::bad_request);
    if (count == header_space.size()) return fail(ParseError::head_too_large);
    if (const ParseError e = parse_field_line(line, header_space[count]); e != ParseError::none)
      return fail(e);
    ++count;
  }
  req.headers = header_space.first(count);
  return {ParseStatus::done, end, ParseError::none};
}

void ChunkedDecoder::line_end() noexcept {
  line_bytes_ = 0;
  state_ = remaining_ == 0 ? State::trailer_start : State::data;
}

ParseResult ChunkedDecoder::feed(std::string_view in, std::string* sink,
                                 std::size_t sink_limit) noexcept {
  std::size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    switch (state_) {
      case State::size_first:
        if (hex_value(c) < 0) return fail(ParseError::bad_request);
        remaining_ = 0;
        digits_ = 0;
        [[fallthrough]];
      case State::size:
        if (const int h = hex_value(c); h >= 0) {
          // 16 hex digits fill 64 bits; more would overflow (RFC 9112 §7.1 asks us to guard).
          if (++digits_ > 16) return fail(ParseError::bad_request);
          remaining_ = remaining_ << 4 | static_cast<unsigned>(h);
          state_ = State::size;
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::ext;
        } else if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == '\n') {
          line_end();
        } else {
          return fail(ParseError::bad_request);
        }
        ++i;
        break;
      case State::ext:
        if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == '\n') {
          line_end();
        } else if (!is_field_char(c) || ++line_bytes_ > limits::max_chunk_ext_bytes) {
          return fail(ParseError::bad_request);
        }
        ++i;
        break;
      case State::size_lf:
        if (c != '\n') return fail(ParseError::bad_request);
        line_end();
        ++i;
        break;
      case State::data: {
        const std::size_t n = static_cast<std::size_t>(
            std::min<std::uint64_t>(remaining_, in.size() - i));
        if (sink != nullptr) {
          if (sink->size() + n > sink_limit) return fail(ParseError::content_too_large);
          sink->append(in.data() + i, n);
        }
        remaining_ -= n;
        i += n;
        if (remaining_ == 0) state_ = State::data_cr;
        break;
      }
      case State::data_cr:
        if (c == '\r') {
          state_ = State::data_lf;
        } else if (c == '\n') {
          state_ = State::size_first;
        } else {
          return fail(ParseError::bad_request);
        }
        ++i;
        break;
      case State::data_lf:
        if (c != '\n') return fail(ParseError::bad_request);
        state_ = State::size_first;
        ++i;
        break;
      case State::trailer_start:
        ++i;
        if (c == '\n') return {ParseStatus::done, i, ParseError::none};
        state_ = c == '\r' ? State::final_lf : State::trailer_line;
        if (state_ == State::trailer_line && ++line_bytes_ > limits::max_trailer_bytes)
          return fail(ParseError::bad_request);
        break;
      case State::trailer_line:
        if (c == '\r') {
          state_ = State::trailer_lf;
        } else if (c == '\n') {
          state_ = State::trailer_start;
        } else if (!is_field_char(c) || ++line_bytes_ > limits::max_trailer_bytes) {
          return fail(ParseError::bad_request);
        }
        ++i;
        break;
      case State::trailer_lf:
        if (c != '\n') return fail(ParseError::bad_request);
        state_ = State::trailer_start;
        ++i;
        break;
      case State::final_lf:
        if (c != '\n') return fail(ParseError::bad_request);
        return {ParseStatus::done, i + 1, ParseError::none};
    }
  }
  return {ParseStatus::need_more, in.size(), ParseError::none};
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

bool list_has_token(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool parse_decimal(std::string_view s, std::uint64_t max, std::uint64_t& out) noexcept {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return false;
  out = v;
  return true;
}

}  // namespace ringload::target
