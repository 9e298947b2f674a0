// Target URLs: parsing (no I/O) and resolution (getaddrinfo, before the run).
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "ringload/export.hpp"

namespace ringload {

enum class Scheme : uint8_t { http, https, ws, wss };

struct RINGLOAD_API Url {
  Scheme scheme = Scheme::http;
  std::string host;       // without brackets for IPv6 literals; lower-cased
  uint16_t port = 0;      // explicit or the scheme's default (80 / 443)
  std::string target;     // path + query as sent on the request line ("/" when empty); no fragment
  bool explicit_port = false;
  std::string host_header() const;  // "host", "host:port" when not default, "[v6]:port"
  std::string origin() const;       // "http://host:port"
};

// Parses an absolute http/https/ws/wss URL. Errors name what is wrong
// ("missing scheme", "unsupported scheme 'ftp'", "bad port '99999'", "empty host" ...).
// Userinfo is rejected; percent-encoding and the query are kept as given.
RINGLOAD_API std::expected<Url, std::string> parse_url(std::string_view text);

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string address;  // numeric form, for messages: "127.0.0.1:8080", "[::1]:8080"
};

// Resolves host:port (first usable address, IPv4 preferred). Error: "cannot resolve 'x': ...".
RINGLOAD_API std::expected<Endpoint, std::string> resolve(const Url& url);

}  // namespace ringload
