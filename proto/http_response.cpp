// Response head parser. Strict where llhttp (Node's parser) is strict in its default
// mode, so a response it rejects is rejected here too:
// - every line ends in CRLF; a bare LF or a CR without LF is an error;
// - obs-fold (a line starting with SP/HTAB) is rejected: RFC 9112 §5.2 lets a user
//   agent replace it with SP, but the buffer is read-only and a value must be one view;
// - Transfer-Encoding together with Content-Length is an error, as llhttp reports it;
// - CR/LF bytes before the status line are skipped (llhttp does; servers that send a
//   stray CRLF after a body exist).
#include "proto/http_response.hpp"
#include "proto/token.hpp"

#include <array>
#include <cstring>

namespace ringload::proto {
namespace {


// RFC 9110 §5.5: field-value bytes are VCHAR, obs-text, SP and HTAB (no CTL, no DEL).
// RFC 9112 §4 allows the same set in a reason phrase.
bool is_text(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

// Calls f(element) for each non-empty element of a comma list (RFC 9110 §5.6.1:
// recipients accept empty elements), OWS removed.
template <class F>
void for_each_element(std::string_view list, F&& f) noexcept {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view element = trim_ows(list.substr(0, comma));
    if (!element.empty()) f(element);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// RFC 9110 §8.6: Content-Length = 1*DIGIT.
bool parse_length(std::string_view v, uint64_t& out) noexcept {
  if (v.empty()) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return false;
    n = n * 10 + d;
  }
  out = n;
  return true;
}

// What the header block says about framing and persistence.
struct Framing {
  bool have_length = false;
  uint64_t length = 0;
  bool have_transfer_encoding = false;
  bool chunked_last = false;
  bool close = false;       // a "close" connection option
  bool keep_alive = false;  // a "keep-alive" connection option (HTTP/1.0)
};

enum class Step : uint8_t { ok, end, more, fail };

class HeadParser {
 public:
  HeadParser(std::span<const char> buf, ResponseHead& out, std::span<Header> headers) noexcept
      : begin_(buf.data()), p_(buf.data()), end_(buf.data() + buf.size()), out_(out),
        headers_(headers) {}

  HeadResult parse(bool head_request) noexcept {
    out_ = ResponseHead{};
    while (p_ != end_ && (*p_ == '\r' || *p_ == '\n')) ++p_;
    Step s = status_line();
    while (s == Step::ok) s = header_line();
    if (s == Step::more) return {Status::need_more, 0, ParseError::none};
    if (s == Step::end) s = decide_body(head_request);
    if (s == Step::fail) return {Status::error, consumed(), error_};
    return {Status::done, consumed(), ParseError::none};
  }

 private:
  std::size_t consumed() const noexcept { return static_cast<std::size_t>(p_ - begin_); }

  Step fail(ParseError e) noexcept {
    error_ = e;
    return Step::fail;
  }

  // Matches `literal` at the cursor; a prefix of it at the end of the buffer is `more`.
  Step expect(std::string_view literal, ParseError e) noexcept {
    for (char c : literal) {
      if (p_ == end_) return Step::more;
      if (*p_ != c) return fail(e);
      ++p_;
    }
    return Step::ok;
  }

  // The cursor is on a CR: RFC 9112 §2.2, a line ends in CRLF.
  Step line_end(ParseError e) noexcept { return expect("\r\n", e); }

  // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF.
  // "HTTP/1.1 200" CRLF (no SP, no reason) is accepted as llhttp does.
  Step status_line() noexcept {
    if (Step s = expect("HTTP/1.", ParseError::bad_version); s != Step::ok) return s;
    if (p_ == end_) return Step::more;
    if (*p_ != '0' && *p_ != '1') return fail(ParseError::bad_version);
    out_.version_minor = *p_++ - '0';
    if (Step s = expect(" ", ParseError::bad_version); s != Step::ok) return s;
    int status = 0;
    for (int i = 0; i < 3; ++i) {
      if (p_ == end_) return Step::more;
      if (*p_ < '0' || *p_ > '9') return fail(ParseError::bad_status);
      status = status * 10 + (*p_++ - '0');
    }
    if (status < 100) return fail(ParseError::bad_status);
    out_.status = status;
    if (p_ == end_) return Step::more;
    if (*p_ == ' ') {
      const char* reason = ++p_;
      while (p_ != end_ && *p_ != '\r') {
        if (!is_text(*p_)) return fail(ParseError::bad_reason);
        ++p_;
      }
      if (p_ == end_) return Step::more;
      out_.reason = std::string_view(reason, static_cast<std::size_t>(p_ - reason));
    } else if (*p_ != '\r') {
      return fail(ParseError::bad_status);
    }
    return line_end(ParseError::bad_reason);
  }

  // RFC 9112 §5: field-line = field-name ":" OWS field-value OWS, then CRLF.
  // `end` after the empty line that closes the head.
  Step header_line() noexcept {
    if (p_ == end_) return Step::more;
    if (*p_ == '\r') {
      const Step s = line_end(ParseError::bad_header_value);
      return s == Step::ok ? Step::end : s;
    }
    // A bare LF, or obs-fold (RFC 9112 §5.2), which we reject rather than rewrite.
    if (*p_ == '\n' || is_ows(*p_)) return fail(ParseError::bad_header_value);
    if (out_.num_headers == headers_.size()) return fail(ParseError::too_many_headers);
    const char* name = p_;
    while (p_ != end_ && is_tchar(*p_)) ++p_;
    if (p_ == end_) return Step::more;
    // RFC 9112 §5.1: no whitespace between the name and the colon.
    if (*p_ != ':' || p_ == name) return fail(ParseError::bad_header_name);
    const std::string_view name_view(name, static_cast<std::size_t>(p_ - name));
    ++p_;
    const char* value = p_;
    while (p_ != end_ && *p_ != '\r') {
      if (!is_text(*p_)) return fail(ParseError::bad_header_value);
      ++p_;
    }
    if (p_ == end_) return Step::more;
    const std::string_view value_view =
        trim_ows(std::string_view(value, static_cast<std::size_t>(p_ - value)));
    if (Step s = line_end(ParseError::bad_header_value); s != Step::ok) return s;
    headers_[out_.num_headers++] = Header{name_view, value_view};
    return note_framing(name_view, value_view);
  }

  Step note_framing(std::string_view name, std::string_view value) noexcept {
    if (iequals(name, "content-length")) {
      // RFC 9110 §8.6: repeats of one value are harmless, different values are not.
      uint64_t n = 0;
      if (!parse_length(value, n)) return fail(ParseError::bad_content_length);
      if (framing_.have_length && framing_.length != n) return fail(ParseError::conflicting_content_length);
      framing_.have_length = true;
      framing_.length = n;
    } else if (iequals(name, "transfer-encoding")) {
      // RFC 9110 §5.3: repeated lines form one list, so the last coding of the last
      // line is the final one. Parameters (";...") do not change the coding name.
      framing_.have_transfer_encoding = true;
      for_each_element(value, [this](std::string_view coding) noexcept {
        framing_.chunked_last = iequals(trim_ows(coding.substr(0, coding.find(';'))), "chunked");
      });
    } else if (iequals(name, "connection") || iequals(name, "proxy-connection")) {
      // Proxy-Connection is not standard, but llhttp honours it and servers send it.
      for_each_element(value, [this](std::string_view option) noexcept {
        if (iequals(option, "close")) framing_.close = true;
        if (iequals(option, "keep-alive")) framing_.keep_alive = true;
      });
    }
    return Step::ok;
  }

  // RFC 9112 §6.3, in its order.
  Step decide_body(bool head_request) noexcept {
    const Framing& f = framing_;
    // Rule 3: TE with CL "ought to be handled as an error"; llhttp rejects it.
    if (f.have_transfer_encoding && f.have_length) return fail(ParseError::bad_transfer_encoding);
    out_.content_length = f.have_length ? f.length : 0;
    // RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive".
    out_.keep_alive = !f.close && (out_.version_minor == 1 || f.keep_alive);
    const int status = out_.status;
    if (status == 101) {
      out_.upgrade = true;  // RFC 9110 §15.2.2: the next byte belongs to the new protocol.
      out_.body = BodyKind::none;
    } else if (head_request || status < 200 || status == 204 || status == 304) {
      out_.body = BodyKind::none;  // Rule 1.
    } else if (f.have_transfer_encoding) {
      // Rule 4: chunked last, or read until close. RFC 9112 §6.1: TE in an HTTP/1.0
      // message means faulty framing: close after it.
      out_.body = f.chunked_last ? BodyKind::chunked : BodyKind::until_close;
      if (!f.chunked_last || out_.version_minor == 0) out_.keep_alive = false;
    } else if (f.have_length) {
      out_.body = f.length == 0 ? BodyKind::none : BodyKind::content_length;  // Rule 6.
    } else {
      out_.body = BodyKind::until_close;  // Rule 8.
      out_.keep_alive = false;
    }
    return Step::end;
  }

  const char* const begin_;
  const char* p_;
  const char* const end_;
  ResponseHead& out_;
  std::span<Header> headers_;
  Framing framing_;
  ParseError error_ = ParseError::none;
};

// True when a line ending at or after `from` closes an empty line, i.e. the head may be
// complete. Bare-LF endings count too, so a server that sends them gets its error
// (from the full parse) instead of a wait for a CRLFCRLF that never comes.
bool has_blank_line(std::span<const char> buf, std::size_t from) noexcept {
  const char* const data = buf.data();
  std::size_t i = from;
  while (i < buf.size()) {
    const void* lf = std::memchr(data + i, '\n', buf.size() - i);
    if (lf == nullptr) return false;
    i = static_cast<std::size_t>(static_cast<const char*>(lf) - data);
    if (i >= 1 && data[i - 1] == '\n') return true;
    if (i >= 2 && data[i - 1] == '\r' && data[i - 2] == '\n') return true;
    ++i;
  }
  return false;
}

}  // namespace

// With last_len, bytes already scanned are not re-parsed until a blank line arrives
// (as picohttpparser does), so an error inside an unfinished head is reported once the
// head ends or reaches limits::max_head_bytes, not byte by byte.
HeadResult parse_response_head(std::span<const char> buf, std::size_t last_len,
                               ResponseHead& out, std::span<Header> headers,
                               bool head_request) noexcept {
  const std::size_t limit = limits::max_head_bytes;
  const std::span<const char> window = buf.first(buf.size() < limit ? buf.size() : limit);
  const HeadResult too_large{Status::error, window.size(), ParseError::header_too_large};
  if (last_len != 0 && last_len <= window.size() && !has_blank_line(window, last_len)) {
    if (buf.size() >= limit) return too_large;
    return {Status::need_more, 0, ParseError::none};
  }
  const HeadResult r = HeadParser(window, out, headers).parse(head_request);
  if (r.status == Status::need_more && buf.size() >= limit) return too_large;
  return r;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto fold = [](char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (fold(a[i]) != fold(b[i])) return false;
  }
  return true;
}

}  // namespace ringload::proto
