#include "engine/session/h2_requests.hpp"

#include <cctype>
#include <new>

namespace ringload {
namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

// RFC 9113 §8.2.2: connection-specific fields are malformed in HTTP/2; Host becomes
// :authority (§8.3.1).
bool dropped(std::string_view name) noexcept {
  for (std::string_view n : {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"})
    if (iequals(name, n)) return true;
  return false;
}

// "Name: value\r\n" -> the value.
std::string_view header_value(std::string_view line) noexcept {
  const std::size_t colon = line.find(':');
  return trim(line.substr(colon + 1, line.size() - colon - 3));
}

}  // namespace

void H2Requests::field(std::string_view name, std::string_view value, bool lower) {
  const std::size_t n = arena_.size();
  for (char ch : name) arena_ += lower ? static_cast<char>(std::tolower(static_cast<unsigned char>(ch))) : ch;
  const std::size_t v = arena_.size();
  arena_ += value;
  spans_.emplace_back(n, v);
  nghttp2_nv nv{};
  nv.namelen = name.size();
  nv.valuelen = value.size();
  nv.flags = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
  nv_.push_back(nv);
}

void H2Requests::add(const RequestTable& table, const RequestLine& line, const Origin& origin) {
  const auto first = static_cast<uint32_t>(nv_.size());
  const std::string_view head = table.head(line);
  std::size_t eol = head.find("\r\n");
  const std::string_view request_line = head.substr(0, eol);
  const std::size_t sp1 = request_line.find(' '), sp2 = request_line.rfind(' ');
  std::string_view authority = trim(header_value(origin.host_line));
  std::string_view rest = head.substr(eol + 2);
  for (std::string_view h = rest; !h.empty();) {
    eol = h.find("\r\n");
    const std::string_view one = h.substr(0, eol + 2);
    if (iequals(one.substr(0, one.find(':')), "host")) authority = header_value(one);
    h.remove_prefix(eol + 2);
  }
  field(":method", request_line.substr(0, sp1), false);
  field(":scheme", origin.tls != nullptr ? "https" : "http", false);
  field(":authority", authority, false);
  field(":path", request_line.substr(sp1 + 1, sp2 - sp1 - 1), false);
  for (std::string_view h = rest; !h.empty();) {
    eol = h.find("\r\n");
    const std::string_view one = h.substr(0, eol + 2);
    const std::string_view name = one.substr(0, one.find(':'));
    if (!dropped(name)) field(name, header_value(one), true);
    h.remove_prefix(eol + 2);
  }
  if (!(line.flags & RequestLine::flag_has_user_agent)) field("user-agent", header_value(origin.user_agent_line), false);
  if (!(line.flags & RequestLine::flag_has_accept)) field("accept", header_value(origin.accept_line), false);
  at_.emplace_back(first, static_cast<uint32_t>(nv_.size()) - first);
}

std::string http2_refusal(Http2Mode mode, Scheme scheme, bool stream) {
  if (stream) return "{http2}: SSE and WebSocket do not run over HTTP/2 (run them without it)";
  if (mode == Http2Mode::prior_knowledge && scheme != Scheme::http)
    return "{http2} is for http:// URLs (for https://, --http2 offers h2 by ALPN)";
  if (mode == Http2Mode::alpn && scheme != Scheme::https)
    return "{http2} is for https:// URLs (for http://, --h2c speaks HTTP/2 with prior knowledge)";
  return {};
}

std::string H2Requests::setup(const RequestTable& table, std::span<const Origin> origins) noexcept {
  try {
    at_.reserve(table.lines.size());
    for (const RequestLine& line : table.lines) {
      if (origins[line.origin].http2 != Http2Mode::off) {
        add(table, line, origins[line.origin]);
      } else {
        at_.emplace_back(static_cast<uint32_t>(nv_.size()), 0);  // an HTTP/1.1 group's line: none
      }
    }
    // The arena no longer moves: point the fields into it.
    auto* base = reinterpret_cast<uint8_t*>(arena_.data());
    for (std::size_t i = 0; i < nv_.size(); ++i) {
      nv_[i].name = base + spans_[i].first;
      nv_[i].value = base + spans_[i].second;
    }
    std::vector<std::pair<std::size_t, std::size_t>>().swap(spans_);
  } catch (const std::bad_alloc&) {
    return "out of memory for the HTTP/2 header lists";
  }
  return {};
}

std::string H2HeadList::setup(std::size_t head_capacity) noexcept {
  cap_ = head_capacity;
  // A field line takes at least 4 bytes ("a:" CRLF); the pseudo-fields come on top.
  max_fields_ = head_capacity / 4 + 4;
  names_.reset(new (std::nothrow) char[cap_]);
  nv_.reset(new (std::nothrow) nghttp2_nv[max_fields_]);
  if (!names_ || !nv_) return "out of memory for the plugins' HTTP/2 header lists";
  return {};
}

void H2HeadList::add(std::string_view name, std::string_view value) noexcept {
  if (count_ == max_fields_) return;
  nghttp2_nv& nv = nv_[count_++];
  nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(name.data()));
  nv.namelen = name.size();
  nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(value.data()));
  nv.valuelen = value.size();
  nv.flags = NGHTTP2_NV_FLAG_NONE;  // nghttp2 copies both
}

std::span<const nghttp2_nv> H2HeadList::convert(std::string_view head, bool tls, std::string_view authority) noexcept {
  used_ = count_ = 0;
  std::size_t eol = head.find("\r\n");
  const std::string_view request_line = head.substr(0, eol);
  const std::size_t sp1 = request_line.find(' '), sp2 = request_line.rfind(' ');
  const std::string_view rest = head.substr(eol + 2);
  for (std::string_view h = rest; h.size() > 2;) {
    eol = h.find("\r\n");
    const std::string_view one = h.substr(0, eol + 2);
    if (iequals(one.substr(0, one.find(':')), "host")) authority = header_value(one);
    h.remove_prefix(eol + 2);
  }
  add(":method", request_line.substr(0, sp1));
  add(":scheme", tls ? "https" : "http");
  add(":authority", authority);
  add(":path", request_line.substr(sp1 + 1, sp2 - sp1 - 1));
  for (std::string_view h = rest; h.size() > 2;) {
    eol = h.find("\r\n");
    const std::string_view one = h.substr(0, eol + 2);
    const std::string_view name = one.substr(0, one.find(':'));
    h.remove_prefix(eol + 2);
    if (dropped(name) || used_ + name.size() > cap_) continue;
    char* lower = names_.get() + used_;
    for (std::size_t i = 0; i < name.size(); ++i) lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
    used_ += name.size();
    add({lower, name.size()}, header_value(one));
  }
  return {nv_.get(), count_};
}

}  // namespace ringload
