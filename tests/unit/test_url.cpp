#include <arpa/inet.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "ringload/url.hpp"

using ringload::Scheme;

namespace {

struct GoodUrl {
  const char* text;
  Scheme scheme;
  const char* host;
  uint16_t port;
  const char* target;
  bool explicit_port;
  const char* host_header;
  const char* origin;
};

const std::vector<GoodUrl> good_urls = {
    {"http://example.com", Scheme::http, "example.com", 80, "/", false, "example.com", "http://example.com:80"},
    {"http://example.com/", Scheme::http, "example.com", 80, "/", false, "example.com", "http://example.com:80"},
    {"https://example.com/a/b?x=1&y=%20", Scheme::https, "example.com", 443, "/a/b?x=1&y=%20", false,
     "example.com", "https://example.com:443"},
    {"HTTP://Example.COM:8080/Path", Scheme::http, "example.com", 8080, "/Path", true, "example.com:8080",
     "http://example.com:8080"},
    {"http://127.0.0.1:8080/x#frag", Scheme::http, "127.0.0.1", 8080, "/x", true, "127.0.0.1:8080",
     "http://127.0.0.1:8080"},
    {"http://h?q=1", Scheme::http, "h", 80, "/?q=1", false, "h", "http://h:80"},
    {"http://h#only-fragment", Scheme::http, "h", 80, "/", false, "h", "http://h:80"},
    {"http://h:80/", Scheme::http, "h", 80, "/", true, "h", "http://h:80"},
    {"http://h:/", Scheme::http, "h", 80, "/", false, "h", "http://h:80"},  // RFC 3986: empty port
    {"https://h:8443", Scheme::https, "h", 8443, "/", true, "h:8443", "https://h:8443"},
    {"ws://h/chat", Scheme::ws, "h", 80, "/chat", false, "h", "ws://h:80"},
    {"wss://h/chat", Scheme::wss, "h", 443, "/chat", false, "h", "wss://h:443"},
    {"http://[::1]/", Scheme::http, "::1", 80, "/", false, "[::1]", "http://[::1]:80"},
    {"http://[::1]:9000/v", Scheme::http, "::1", 9000, "/v", true, "[::1]:9000", "http://[::1]:9000"},
    {"https://[2001:DB8::1]", Scheme::https, "2001:db8::1", 443, "/", false, "[2001:db8::1]",
     "https://[2001:db8::1]:443"},
    {"http://h:65535/a?b#c?d", Scheme::http, "h", 65535, "/a?b", true, "h:65535", "http://h:65535"},
    {"http://my-host_1.local/%7Euser/", Scheme::http, "my-host_1.local", 80, "/%7Euser/", false,
     "my-host_1.local", "http://my-host_1.local:80"},
};

struct BadUrl {
  const char* text;
  const char* error_part;
};

const std::vector<BadUrl> bad_urls = {
    {"", "empty URL"},
    {"example.com", "missing scheme"},
    {"://example.com", "missing scheme"},
    {"ftp://example.com/", "unsupported scheme 'ftp'"},
    {"http:/example.com", "missing scheme"},
    {"http://", "empty host"},
    {"http:///path", "empty host"},
    {"http://:8080/", "empty host"},
    {"http://user:pw@example.com/", "userinfo"},
    {"http://user@example.com/", "userinfo"},
    {"http://h:99999/", "bad port '99999'"},
    {"http://h:0/", "bad port '0'"},
    {"http://h:80a/", "bad port '80a'"},
    {"http://h:-1/", "bad port '-1'"},
    {"http://h:123456/", "bad port '123456'"},
    {"http://exa mple.com/", "space"},
    {"http://h/a b", "space"},
    {"http://h/a\tb", "control character"},
    {"http://h/\r\nX: y", "control character"},
    {"http://h/caf\xc3\xa9", "non-ASCII"},
    {"http://[::1/", "unterminated IPv6"},
    {"http://[]/", "empty host"},
    {"http://[zz::1]/", "bad IPv6 address"},
    {"http://[::1]x/", "after IPv6 literal"},
    {"http://::1/", "IPv6 address must be in brackets"},
    {"http://h<x>/", "bad character '<' in host"},
};

}  // namespace

TEST_CASE("parse_url accepts valid URLs", "[url]") {
  for (const GoodUrl& g : good_urls) {
    INFO(g.text);
    auto u = ringload::parse_url(g.text);
    REQUIRE(u.has_value());
    CHECK(u->scheme == g.scheme);
    CHECK(u->host == g.host);
    CHECK(u->port == g.port);
    CHECK(u->target == g.target);
    CHECK(u->explicit_port == g.explicit_port);
    CHECK(u->host_header() == g.host_header);
    CHECK(u->origin() == g.origin);
  }
}

TEST_CASE("parse_url rejects invalid URLs with a reason", "[url]") {
  for (const BadUrl& b : bad_urls) {
    INFO(b.text);
    auto u = ringload::parse_url(b.text);
    REQUIRE_FALSE(u.has_value());
    CHECK_THAT(u.error(), Catch::Contains(b.error_part));
  }
}

TEST_CASE("resolve a numeric IPv4 address", "[url]") {
  auto u = ringload::parse_url("http://127.0.0.1:8080/");
  REQUIRE(u);
  auto ep = ringload::resolve(*u);
  REQUIRE(ep.has_value());
  CHECK(ep->address == "127.0.0.1:8080");
  REQUIRE(ep->addr.ss_family == AF_INET);
  CHECK(ep->addr_len == sizeof(sockaddr_in));
  const auto* sin = reinterpret_cast<const sockaddr_in*>(&ep->addr);
  CHECK(ntohs(sin->sin_port) == 8080);
  CHECK(ntohl(sin->sin_addr.s_addr) == INADDR_LOOPBACK);
}

TEST_CASE("resolve a numeric IPv6 address", "[url]") {
  auto u = ringload::parse_url("http://[::1]:81/");
  REQUIRE(u);
  auto ep = ringload::resolve(*u);
  // A kernel built without IPv6 has no AF_INET6 family at all; nothing to check then.
  if (!ep.has_value()) {
    WARN("IPv6 literal did not resolve here: " << ep.error());
    return;
  }
  CHECK(ep->address == "[::1]:81");
  CHECK(ep->addr.ss_family == AF_INET6);
  CHECK(ep->addr_len == sizeof(sockaddr_in6));
}

TEST_CASE("resolve localhost prefers IPv4", "[url]") {
  auto u = ringload::parse_url("http://localhost:9/");
  REQUIRE(u);
  auto ep = ringload::resolve(*u);
  REQUIRE(ep.has_value());
  // /etc/hosts maps localhost to 127.0.0.1 (and ::1): the IPv4 address wins.
  CHECK(ep->addr.ss_family == AF_INET);
  CHECK(ep->address == "127.0.0.1:9");
}

TEST_CASE("resolve fails with the host name in the message", "[url]") {
  // RFC 6761 §6.4: .invalid names never resolve; a resolver may answer at once.
  auto u = ringload::parse_url("http://nonexistent.invalid/");
  REQUIRE(u);
  const auto start = std::chrono::steady_clock::now();
  auto ep = ringload::resolve(*u);
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(ep.has_value());
  CHECK_THAT(ep.error(), Catch::StartsWith("cannot resolve 'nonexistent.invalid': "));
  CHECK(took < std::chrono::seconds(30));
}
