#include "router.hpp"

#include <array>
#include <charconv>

#include "websocket.hpp"

namespace ringload::target {
namespace {

constexpr std::string_view hello = "Hello, world\n";

// The path of an origin-form or absolute-form target (RFC 9112 §3.2), without the query.
std::string_view path_of(std::string_view target) noexcept {
  if (!target.empty() && target.front() != '/') {
    const std::size_t scheme = target.find("://");
    if (scheme != std::string_view::npos) {
      const std::size_t slash = target.find('/', scheme + 3);
      target = slash == std::string_view::npos ? std::string_view{"/"} : target.substr(slash);
    }
  }
  return target.substr(0, target.find('?'));
}

std::string_view query_of(std::string_view target) noexcept {
  const std::size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
}

// Value of `key` in an a=1&b=2 query; `found` false if absent.
std::string_view query_param(std::string_view query, std::string_view key, bool& found) noexcept {
  found = false;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      found = true;
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Length of the valid UTF-8 sequence at s[i] (RFC 3629 §4), 0 if invalid.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xc0) == 0x80; };
  const unsigned char c = b(0);
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xe0 && b(1) < 0xa0) return 0;  // overlong
    if (c == 0xed && b(1) >= 0xa0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xf0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xf4 && b(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

// A JSON string (RFC 8259 §7). Valid UTF-8 passes through; a byte that is not part of a
// valid sequence becomes \u00XX, i.e. it is read as Latin-1, so any body yields valid JSON.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      if (const std::size_t n = utf8_sequence(s, i); n > 0) {
        out.append(s.substr(i, n));
        i += n;
        continue;
      }
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
          out.append(esc, sizeof esc);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

Reply text_reply(int status, std::string_view content_type, std::string_view text) noexcept {
  Reply r;
  r.status = status;
  r.content_type = content_type;
  r.text = text;
  return r;
}

Reply echo_reply(const RequestInfo& req, std::string& scratch) {
  scratch.clear();
  scratch.append("{\"method\":");
  append_json_string(scratch, req.method);
  scratch.append(",\"target\":");
  append_json_string(scratch, req.target);
  scratch.append(",\"headers\":[");
  for (std::size_t i = 0; i < req.headers.size(); ++i) {
    if (i > 0) scratch.push_back(',');
    scratch.push_back('[');
    append_json_string(scratch, req.headers[i].name);
    scratch.push_back(',');
    append_json_string(scratch, req.headers[i].value);
    scratch.push_back(']');
  }
  scratch.append("],\"body\":");
  append_json_string(scratch, req.body);
  scratch.append("}");
  return text_reply(200, "application/json", scratch);
}

// /status/NNN: the status with "NNN Reason\n"; a 1xx other than 101 is sent as an interim
// response before a 200, since a 1xx can never be final (RFC 9110 §15.2).
Reply status_reply(std::string_view arg, std::string& scratch) {
  std::uint64_t code = 0;
  if (!parse_decimal(arg, 599, code) || code < 100 || code == 101) return error_reply(400);
  Reply r;
  if (code < 200) {
    r.interim = static_cast<int>(code);
    code = 200;
  }
  r.status = static_cast<int>(code);
  scratch.clear();
  append_number(scratch, code);
  scratch.push_back(' ');
  scratch.append(reason_phrase(r.status));
  scratch.push_back('\n');
  // 204 and 304 never carry content (RFC 9110 §15.3.5, §15.4.5); 205 must not (§15.3.6).
  if (code == 204 || code == 205 || code == 304) r.kind = BodyKind::none;
  else r.text = scratch;
  return r;
}

Reply chunked_reply(std::string_view query) noexcept {
  bool found = false;
  std::uint64_t chunks = 4, size = 16;
  std::string_view v = query_param(query, "n", found);
  if (found && !parse_decimal(v, limits::max_chunk_count, chunks)) return error_reply(400);
  v = query_param(query, "size", found);
  if (found && !parse_decimal(v, limits::max_chunk_size, size)) return error_reply(400);
  // A zero-size chunk is the last-chunk: it would end the body early.
  if (chunks > 0 && size == 0) return error_reply(400);
  Reply r;
  r.kind = BodyKind::chunked;
  r.chunks = chunks;
  r.length = size;
  return r;
}

// /sse?n=N&size=B&interval_us=U: N events of B pattern bytes, U microseconds apart.
Reply sse_reply(std::string_view query) noexcept {
  bool found = false;
  std::uint64_t events = 10, size = 16, interval_us = 0;
  std::string_view v = query_param(query, "n", found);
  if (found && !parse_decimal(v, limits::max_sse_events, events)) return error_reply(400);
  v = query_param(query, "size", found);
  if (found && !parse_decimal(v, limits::max_sse_size, size)) return error_reply(400);
  v = query_param(query, "interval_us", found);
  if (found && !parse_decimal(v, limits::max_sse_interval_us, interval_us)) return error_reply(400);
  Reply r;
  r.content_type = "text/event-stream";
  // A cache holding on to a stream would hand out stale events (WHATWG HTML §9.2).
  r.extra_headers = "Cache-Control: no-cache\r\n";
  r.kind = BodyKind::sse;
  r.chunks = events;
  r.length = size;
  r.interval_us = static_cast<std::uint32_t>(interval_us);
  return r;
}

// The first non-empty item of a comma-separated list.
std::string_view first_item(std::string_view value) noexcept {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty() || comma == std::string_view::npos) return item;
    value.remove_prefix(comma + 1);
  }
  return {};
}

// 426 names the protocol to upgrade to (RFC 9110 §15.5.22, with "upgrade" in Connection as
// §7.8 asks of every Upgrade) and, for a wrong WebSocket version, the one we speak (RFC
// 6455 §4.4). Not an error: the connection stays open.
Reply upgrade_required_reply() noexcept {
  Reply r = text_reply(426, "text/plain", "426 Upgrade Required\n");
  r.extra_headers = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
  return r;
}

// The opening handshake (RFC 6455 §4.2.1, §4.2.2). No extension is ever accepted; the first
// subprotocol offered is selected.
Reply websocket_reply(const RequestInfo& req, std::string& scratch) {
  bool upgrade = false, connection_upgrade = false;
  int keys = 0, versions = 0;
  std::string_view key, version, protocol;
  for (const Header& h : req.headers) {
    if (iequals(h.name, "upgrade")) {
      upgrade = upgrade || list_has_token(h.value, "websocket");
    } else if (iequals(h.name, "connection")) {
      connection_upgrade = connection_upgrade || list_has_token(h.value, "upgrade");
    } else if (iequals(h.name, "sec-websocket-key")) {
      key = h.value;
      ++keys;
    } else if (iequals(h.name, "sec-websocket-version")) {
      version = h.value;
      ++versions;
    } else if (iequals(h.name, "sec-websocket-protocol") && protocol.empty()) {
      protocol = first_item(h.value);
    }
  }
  if (!upgrade) return upgrade_required_reply();
  // The handshake is a GET of HTTP/1.1 or later with exactly one valid key (§4.1).
  if (req.method != "GET" || req.minor_version < 1 || !connection_upgrade || keys != 1 ||
      !ws::valid_key(key))
    return error_reply(400);
  if (versions != 1 || version != "13") return upgrade_required_reply();
  std::array<char, ws::limits::accept_size> accept;
  if (!ws::accept_value(key, accept)) return error_reply(500);
  scratch.assign("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
  scratch.append(accept.data(), accept.size());
  scratch.append("\r\n");
  if (!protocol.empty()) {
    scratch.append("Sec-WebSocket-Protocol: ");
    scratch.append(protocol);
    scratch.append("\r\n");
  }
  Reply r;
  r.status = 101;
  r.kind = BodyKind::none;
  r.extra_headers = scratch;
  return r;
}

// {"total":n,"ok":n,"rejected":n}; total is what /count says.
Reply stats_reply(const Totals& t, std::string& scratch) {
  scratch.assign("{\"total\":");
  append_number(scratch, t.total());
  scratch.append(",\"ok\":");
  append_number(scratch, t.ok);
  scratch.append(",\"rejected\":");
  append_number(scratch, t.rejected);
  scratch.append("}");
  Reply r = text_reply(200, "application/json", scratch);
  r.counted = false;
  return r;
}

Reply pattern_reply(std::uint64_t n) noexcept {
  Reply r;
  r.kind = BodyKind::pattern;
  r.length = n;
  return r;
}

}  // namespace

Reply fixed_reply(const FixedBody& fixed) noexcept {
  return fixed.size == hello.size() ? text_reply(200, "text/plain", hello) : pattern_reply(fixed.size);
}

Reply error_reply(int status) noexcept {
  Reply r;
  r.status = status;
  r.close = true;
  switch (status) {
    case 400: r.text = "400 Bad Request\n"; break;
    case 413: r.text = "413 Content Too Large\n"; break;
    case 431: r.text = "431 Request Header Fields Too Large\n"; break;
    case 501: r.text = "501 Not Implemented\n"; break;
    case 500: r.text = "500 Internal Server Error\n"; break;
    case 505: r.text = "505 HTTP Version Not Supported\n"; break;
    default: r.text = "error\n"; break;
  }
  return r;
}

Reply unavailable_reply() noexcept {
  Reply r;
  r.status = 503;
  r.text = "503 Service Unavailable\n";
  r.outcome = Outcome::rejected;
  return r;
}

bool wants_body(std::string_view target) noexcept { return path_of(target) == "/echo"; }

bool is_control(std::string_view target) noexcept {
  const std::string_view path = path_of(target);
  return path == "/count" || path == "/reset" || path == "/stats";
}

Reply route(const RequestInfo& req, const FixedBody& fixed, RequestCounters& counters,
            std::string& scratch) {
  const std::string_view path = path_of(req.target);
  if (req.method == "CONNECT") {
    Reply r = error_reply(501);
    r.close = false;  // no tunnel was opened, the connection is still HTTP
    return r;
  }
  if (path == "/count" || path == "/reset") {
    if (path == "/reset") counters.reset();
    scratch.clear();
    append_number(scratch, counters.count());
    Reply r = text_reply(200, "text/plain", scratch);
    r.counted = false;
    return r;
  }
  if (path == "/stats") return stats_reply(counters.totals(), scratch);
  if (path == "/echo") return echo_reply(req, scratch);
  if (path.starts_with("/status/")) return status_reply(path.substr(8), scratch);
  if (path.starts_with("/bytes/")) {
    std::uint64_t n = 0;
    return parse_decimal(path.substr(7), limits::max_bytes, n) ? pattern_reply(n) : error_reply(400);
  }
  if (path.starts_with("/delay/")) {
    std::uint64_t ms = 0;
    if (!parse_decimal(path.substr(7), limits::max_delay_ms, ms)) return error_reply(400);
    Reply r = fixed_reply(fixed);
    r.delay_ms = static_cast<std::uint32_t>(ms);
    return r;
  }
  if (path == "/chunked") return chunked_reply(query_of(req.target));
  if (path == "/sse") return sse_reply(query_of(req.target));
  if (path == "/ws") return websocket_reply(req, scratch);
  Reply r = fixed_reply(fixed);
  r.delay_ms = fixed.latency_ms;
  return r;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 418: return "I'm a teapot";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
  }
}

}  // namespace ringload::target
