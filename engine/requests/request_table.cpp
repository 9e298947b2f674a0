#include <cstring>

#include "proto/http_response.hpp"
#include "proto/token.hpp"
#include "proto/ws_handshake.hpp"
#include "engine/requests/request_table.hpp"

namespace ringload {
namespace {

// RFC 9110 §5.5: no CR, LF or NUL in a field value.
bool is_field_value(std::string_view s) noexcept {
  for (unsigned char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

}  // namespace

std::string_view RequestTable::target(const RequestLine& l) const noexcept {
  std::string_view h = head(l).substr(l.method_len + 1u);
  return h.substr(0, h.find(' '));
}

void RequestTableBuilder::reserve(std::size_t lines, std::size_t arena_bytes) {
  table_.lines.reserve(lines);
  table_.arena.reserve(arena_bytes);
}

// Connections are per (origin, HTTP version): a line's "http2" choice is part of the key.
std::string RequestTableBuilder::origin_key(const Url& url, LineHttp2 http2) {
  return url.origin() + ' ' + static_cast<char>('0' + static_cast<int>(http2));
}

uint16_t RequestTableBuilder::intern_origin(const Url& url, LineHttp2 http2) {
  auto [it, added] = origin_index_.try_emplace(origin_key(url, http2), static_cast<uint16_t>(table_.origins.size()));
  if (added) {
    table_.origins.push_back(url);
    table_.origin_http2.push_back(http2);
  }
  return it->second;
}

uint32_t RequestTableBuilder::intern_name(std::string_view name) {
  if (auto it = name_index_.find(std::string(name)); it != name_index_.end()) return it->second;
  if (table_.names.size() + 1 >= limits::max_named_stats) {
    if (other_name_ == UINT32_MAX) {
      other_name_ = static_cast<uint32_t>(table_.names.size());
      table_.names.emplace_back("(other)");
    }
    return other_name_;
  }
  auto index = static_cast<uint32_t>(table_.names.size());
  table_.names.emplace_back(name);
  name_index_.emplace(std::string(name), index);
  return index;
}

namespace {

// Sec-WebSocket-Key placeholder (base64 of 16 bytes): each connection writes its own key
// over it at send time.
constexpr std::string_view placeholder_key = "AAAAAAAAAAAAAAAAAAAAAA==";

}  // namespace

// A WebSocket line: the opening handshake rendered by proto/, without its final CRLF
// (the shard adds User-Agent unless given, then the blank line).
std::expected<void, std::string> RequestTableBuilder::add_ws(const RequestInput& in, RequestLine& line) {
  if (in.method != "GET")
    return refuse({RequestFault::Part::method}, "a WebSocket session starts with GET, not " + std::string(in.method));
  if (!in.body.empty()) return std::unexpected("a WebSocket line cannot have a body (use 'messages')");
  std::vector<proto::Header> extra;
  for (const auto& [n, v] : in.headers) {
    if (proto::iequals(n, "user-agent")) line.flags |= RequestLine::flag_has_user_agent;
    extra.push_back({n, v});
  }
  std::vector<std::string_view> protocols(in.stream->subprotocols.begin(), in.stream->subprotocols.end());
  const std::string host = in.url.host_header();
  proto::ws::OpeningRequest req{host, in.url.target, placeholder_key, protocols, extra};
  std::string head(1024, '\0');
  std::size_t n = proto::ws::render_opening_request(head, req);
  if (n > head.size()) {
    head.resize(n);
    n = proto::ws::render_opening_request(head, req);
  }
  if (n == 0) {
    for (const std::string& p : in.stream->subprotocols)
      if (!proto::is_token(p)) return std::unexpected("subprotocol '" + p + "' is not a token");
    for (uint32_t i = 0; i < in.headers.size(); ++i) {
      const std::string_view name = in.headers[i].first;
      if (proto::iequals(name, "host") || proto::iequals(name, "upgrade") || proto::iequals(name, "connection") ||
          proto::iequals(name.substr(0, 14), "sec-websocket-"))
        return refuse({RequestFault::Part::header_name, i},
                      "header '" + std::string(name) + "' is set by the WebSocket handshake itself");
    }
    return std::unexpected("the WebSocket handshake cannot be rendered (bad target, header name or value)");
  }
  head.resize(n - 2);  // the blank line comes from the shard
  if (head.size() > limits::max_request_head)
    return std::unexpected("request line and headers are longer than " + std::to_string(limits::max_request_head) + " bytes");
  line.flags |= RequestLine::flag_has_host | RequestLine::flag_has_accept;
  line.offset = table_.arena.size();
  line.head_len = static_cast<uint32_t>(head.size());
  line.method_len = 3;
  table_.arena.append(head);
  StreamSpec spec = *in.stream;
  // Nothing says when the session is done: an echo of every message, or 1 s of quiet.
  if (!spec.has_expect && !spec.has_until && spec.idle_timeout_ns == 0 && spec.stream_timeout_ns == 0) {
    if (!spec.messages.empty() && spec.repeat == 0)
      return std::unexpected("messages repeated without end need an end: expect, until, idle_timeout or stream_timeout");
    if (!spec.messages.empty()) {
      spec.has_expect = true;
      spec.expect = spec.messages.size() * spec.repeat;
    } else {
      spec.idle_timeout_ns = 1'000'000'000;
    }
  }
  // The header's value, not a lookalike in the request target.
  constexpr std::string_view key_field = "\r\nSec-WebSocket-Key: ";
  spec.key_offset = static_cast<uint32_t>(head.find(key_field) + key_field.size());
  table_.streams.push_back(std::move(spec));
  line.stream = static_cast<uint32_t>(table_.streams.size());
  return {};
}

std::unexpected<std::string> RequestTableBuilder::refuse(RequestFault where, std::string message) {
  fault_ = where;
  return std::unexpected(std::move(message));
}

// Each header in order, so the first wrong one is the one reported.
std::expected<void, std::string> RequestTableBuilder::check_headers(const RequestInput& in, bool body_expected,
                                                                    RequestLine& line) {
  using Part = RequestFault::Part;
  const std::string body_size = std::to_string(in.body.size());
  bool has_length = false;
  for (uint32_t i = 0; i < in.headers.size(); ++i) {
    const std::string_view n = in.headers[i].first;
    const std::string_view v = in.headers[i].second;
    const auto header = [&](std::string_view what) { return "header '" + std::string(n) + "' " + std::string(what); };
    if (!proto::is_token(n)) return refuse({Part::header_name, i}, "bad header name '" + std::string(n) + "'");
    if (!is_field_value(v)) return refuse({Part::header_value, i}, header("has CR, LF or NUL in its value"));
    if (proto::iequals(n, "host")) {
      // RFC 9110 §5.3: not a list, so one field line; RFC 9112 §3.2: two get a 400.
      if (line.flags & RequestLine::flag_has_host) return refuse({Part::header_name, i}, header("given twice"));
      line.flags |= RequestLine::flag_has_host;
    }
    if (proto::iequals(n, "user-agent")) line.flags |= RequestLine::flag_has_user_agent;
    if (proto::iequals(n, "accept")) line.flags |= RequestLine::flag_has_accept;
    if (proto::iequals(n, "transfer-encoding"))
      return refuse({Part::header_name, i},
                    "Transfer-Encoding is not supported in requests: ringload sends the body with Content-Length");
    if (!proto::iequals(n, "content-length")) continue;
    // The body is sent as given, with its length: a header that says otherwise would
    // desynchronise the connection (the server reads the rest as the next request).
    if (body_expected)
      return refuse({Part::header_name, i},
                    header("is set by ringload from the body (" + body_size + " bytes): leave it out"));
    if (has_length) return refuse({Part::header_name, i}, header("given twice"));
    if (v != body_size)
      return refuse({Part::header_value, i},
                    "Content-Length '" + std::string(v) + "' does not match the body's " + body_size + " bytes");
    has_length = true;
  }
  return {};
}

std::expected<void, std::string> RequestTableBuilder::add(const RequestInput& in) {
  using Part = RequestFault::Part;
  fault_ = {};
  if (!proto::is_token(in.method)) return refuse({Part::method}, "bad method '" + std::string(in.method) + "'");
  if (in.method.size() > 255) return refuse({Part::method}, "method longer than 255 bytes");
  if (origin_index_.size() >= UINT16_MAX && !origin_index_.contains(origin_key(in.url, in.http2)))
    return std::unexpected("more than 65535 origins");
  RequestLine line;
  const bool ws = in.stream != nullptr && in.stream->proto == StreamProto::ws;
  const bool body_expected =
      !in.body.empty() || in.method == "POST" || in.method == "PUT" || in.method == "PATCH";
  if (auto r = check_headers(in, body_expected, line); !r) return r;
  if (ws) {
    if (auto r = add_ws(in, line); !r) return r;
    return add_line(in, line);
  }

  std::string& a = table_.arena;
  line.offset = a.size();
  a.append(in.method).append(" ").append(in.url.target).append(" HTTP/1.1\r\n");
  for (const auto& [n, v] : in.headers) a.append(n).append(": ").append(v).append("\r\n");
  if (body_expected) a.append("Content-Length: ").append(std::to_string(in.body.size())).append("\r\n");
  if (in.stream != nullptr && !(line.flags & RequestLine::flag_has_accept)) {
    a.append("Accept: text/event-stream\r\n");
    line.flags |= RequestLine::flag_has_accept;
  }
  const std::size_t head_len = a.size() - line.offset;
  if (head_len > limits::max_request_head) {
    a.resize(line.offset);
    return std::unexpected("request line and headers are longer than " +
                           std::to_string(limits::max_request_head) + " bytes");
  }
  if (in.body.size() > UINT32_MAX) {
    a.resize(line.offset);
    return std::unexpected("body larger than 4 GiB");
  }
  a.append(in.body);
  line.head_len = static_cast<uint32_t>(head_len);
  line.body_len = static_cast<uint32_t>(in.body.size());
  line.method_len = static_cast<uint8_t>(in.method.size());
  if (in.stream != nullptr) {
    table_.streams.push_back(*in.stream);
    line.stream = static_cast<uint32_t>(table_.streams.size());
  }
  return add_line(in, line);
}

// What every line gets, stream or not: deadline, source line, origin, name.
std::expected<void, std::string> RequestTableBuilder::add_line(const RequestInput& in, RequestLine& line) {
  line.timeout_ns = static_cast<uint64_t>(in.timeout.count() > 0 ? in.timeout.count() : 0);
  line.source_line = in.source_line;
  line.origin = intern_origin(in.url, in.http2);
  if (in.method == "HEAD") line.flags |= RequestLine::flag_head;
  if (!in.name.empty()) {
    line.flags |= RequestLine::flag_named;
    line.name = intern_name(in.name);
  } else {
    std::string_view path = in.url.target;
    path = path.substr(0, path.find('?'));
    std::string key;
    key.reserve(in.method.size() + 1 + path.size());
    key.append(in.method).append(" ").append(path);
    line.name = intern_name(key);
  }
  table_.lines.push_back(line);
  return {};
}

RequestTable RequestTableBuilder::finish() && {
  table_.arena.shrink_to_fit();
  table_.lines.shrink_to_fit();
  return std::move(table_);
}

std::size_t RequestFile::size() const noexcept { return table_ ? table_->lines.size() : 0; }
std::size_t RequestFile::origins() const noexcept { return table_ ? table_->origins.size() : 0; }
const std::string& RequestFile::path() const noexcept {
  static const std::string none;
  return table_ ? table_->source : none;
}

RequestInput to_input(const RequestSpec& spec, std::vector<std::pair<std::string_view, std::string_view>>& headers) {
  headers.assign(spec.headers.begin(), spec.headers.end());
  RequestInput in;
  in.url = spec.url;
  in.method = spec.method;
  in.headers = headers;
  in.body = spec.body;
  in.name = spec.name;
  in.timeout = spec.timeout;
  in.stream = spec.stream ? &*spec.stream : nullptr;
  in.http2 = spec.http2;
  return in;
}

}  // namespace ringload
