#include "ringload/url.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

namespace ringload {

namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool is_default_port(Scheme s, uint16_t port) noexcept {
  return port == ((s == Scheme::https || s == Scheme::wss) ? 443 : 80);
}

const char* scheme_name(Scheme s) noexcept {
  switch (s) {
    case Scheme::http: return "http";
    case Scheme::https: return "https";
    case Scheme::ws: return "ws";
    case Scheme::wss: return "wss";
  }
  return "http";
}

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// reg-name = *( unreserved / pct-encoded / sub-delims )  (RFC 3986 §3.2.2)
bool is_reg_name_char(char c) noexcept {
  return is_alpha(c) || is_digit(c) || std::strchr("-._~%!$&'()*+,;=", c) != nullptr;
}

// The request line carries the target verbatim (RFC 9112 §3.2): no whitespace, no
// control bytes, and only ASCII, since we do not percent-encode on the user's behalf.
std::string check_chars(std::string_view text) {
  for (unsigned char c : text) {
    if (c == ' ') return "space in URL (percent-encode it as %20)";
    if (c < 0x20 || c == 0x7f) return "control character in URL";
    if (c >= 0x80) return "non-ASCII byte in URL (percent-encode it)";
  }
  return {};
}

std::expected<uint16_t, std::string> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::unexpected("bad port '" + std::string(s) + "'");
  uint32_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::unexpected("bad port '" + std::string(s) + "'");
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return std::unexpected("bad port '" + std::string(s) + "'");
  return static_cast<uint16_t>(v);
}

// authority = host [ ":" port ]; fills host, port, explicit_port.
std::expected<void, std::string> parse_authority(std::string_view auth, Url& url) {
  // RFC 9110 §4.2.4: senders must not generate userinfo in http(s) URIs.
  if (auth.find('@') != std::string_view::npos) {
    return std::unexpected("userinfo (user@host) is not supported in URLs");
  }
  std::string_view host;
  std::string_view rest;  // "" or ":port"
  if (!auth.empty() && auth.front() == '[') {
    const std::size_t close = auth.find(']');
    if (close == std::string_view::npos) return std::unexpected("unterminated IPv6 literal '" + std::string(auth) + "'");
    host = auth.substr(1, close - 1);
    rest = auth.substr(close + 1);
    if (host.empty()) return std::unexpected("empty host");
    in6_addr tmp{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &tmp) != 1) {
      return std::unexpected("bad IPv6 address '" + std::string(host) + "'");
    }
    if (!rest.empty() && rest.front() != ':') {
      return std::unexpected("unexpected '" + std::string(rest) + "' after IPv6 literal");
    }
  } else {
    const std::size_t colon = auth.find(':');
    host = auth.substr(0, colon);
    if (colon != std::string_view::npos) {
      rest = auth.substr(colon);
      if (rest.find(':', 1) != std::string_view::npos) {
        return std::unexpected("IPv6 address must be in brackets: '" + std::string(auth) + "'");
      }
    }
    if (host.empty()) return std::unexpected("empty host");
    for (char c : host) {
      if (!is_reg_name_char(c)) return std::unexpected("bad character '" + std::string(1, c) + "' in host");
    }
  }
  url.host = to_lower(host);
  url.explicit_port = false;
  url.port = (url.scheme == Scheme::https || url.scheme == Scheme::wss) ? 443 : 80;
  // RFC 3986 §3.2.3: an empty port ("host:") means the scheme's default.
  if (rest.size() > 1) {
    auto port = parse_port(rest.substr(1));
    if (!port) return std::unexpected(port.error());
    url.port = *port;
    url.explicit_port = true;
  }
  return {};
}

}  // namespace

std::string Url::host_header() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string out = v6 ? "[" + host + "]" : host;
  if (!is_default_port(scheme, port)) out += ":" + std::to_string(port);
  return out;
}

std::string Url::origin() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string out = scheme_name(scheme);
  out += "://";
  out += v6 ? "[" + host + "]" : host;
  out += ":" + std::to_string(port);
  return out;
}

std::expected<Url, std::string> parse_url(std::string_view text) {
  if (text.empty()) return std::unexpected("empty URL");
  if (auto bad = check_chars(text); !bad.empty()) return std::unexpected(bad);
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return std::unexpected("missing scheme (expected http://, https://, ws:// or wss://)");
  const std::string scheme = to_lower(text.substr(0, sep));
  Url url;
  if (scheme == "http") url.scheme = Scheme::http;
  else if (scheme == "https") url.scheme = Scheme::https;
  else if (scheme == "ws") url.scheme = Scheme::ws;
  else if (scheme == "wss") url.scheme = Scheme::wss;
  else return std::unexpected("unsupported scheme '" + scheme + "'");

  std::string_view rest = text.substr(sep + 3);
  // The fragment is never sent (RFC 9110 §4.2.5).
  rest = rest.substr(0, rest.find('#'));
  const std::size_t auth_end = rest.find_first_of("/?");
  if (auto ok = parse_authority(rest.substr(0, auth_end), url); !ok) return std::unexpected(ok.error());

  std::string_view target = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
  // An empty path is sent as "/" (RFC 9112 §3.2.1), before any query.
  if (target.empty() || target.front() == '?') url.target = "/";
  url.target += target;
  return url;
}

std::expected<Endpoint, std::string> resolve(const Url& url) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  // No AI_ADDRCONFIG: with only a loopback interface it would hide 127.0.0.1 and ::1.
  hints.ai_flags = AI_NUMERICSERV;
  const std::string port = std::to_string(url.port);
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &list);
  if (rc != 0) {
    const char* why = rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc);
    return std::unexpected("cannot resolve '" + url.host + "': " + why);
  }
  const addrinfo* pick = nullptr;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      pick = ai;
      break;
    }
    if (ai->ai_family == AF_INET6 && pick == nullptr) pick = ai;
  }
  if (pick == nullptr || pick->ai_addrlen > sizeof(sockaddr_storage)) {
    freeaddrinfo(list);
    return std::unexpected("cannot resolve '" + url.host + "': no IPv4 or IPv6 address");
  }
  Endpoint ep;
  std::memcpy(&ep.addr, pick->ai_addr, pick->ai_addrlen);
  ep.addr_len = static_cast<socklen_t>(pick->ai_addrlen);
  freeaddrinfo(list);

  char buf[INET6_ADDRSTRLEN] = {};
  if (ep.addr.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ep.addr);
    inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
    ep.address = std::string(buf) + ":" + port;
  } else {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ep.addr);
    inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
    ep.address = "[" + std::string(buf) + "]:" + port;
  }
  return ep;
}

}  // namespace ringload
