// libFuzzer target for the URL parser (parse_url, include/ringload/url.hpp).
//
// Input: the URL text, whole. Checks, besides memory safety:
// - parse_url agrees with a plain reference written from the header's contract (RFC 3986
//   authority, the four schemes, ports 1-65535, userinfo refused, fragment dropped, only
//   visible ASCII): the same verdict and, on success, the same fields;
// - a parsed URL is well formed: lower-case host, a port, a target starting with '/' and
//   taken from the input;
// - it survives re-rendering: origin() + target and scheme://host_header() + target parse
//   back to the same scheme, host, port and target;
// - scheme and host are case-insensitive, and a fragment changes nothing.
#include <arpa/inet.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "ringload/url.hpp"

using ringload::Scheme;
using ringload::Url;

namespace {

constexpr std::size_t npos = std::string_view::npos;

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

uint16_t default_port(Scheme s) { return s == Scheme::https || s == Scheme::wss ? 443 : 80; }

const char* scheme_name(Scheme s) {
  switch (s) {
    case Scheme::http: return "http";
    case Scheme::https: return "https";
    case Scheme::ws: return "ws";
    case Scheme::wss: return "wss";
  }
  return "?";
}

bool same_fields(const Url& a, const Url& b) {
  return a.scheme == b.scheme && a.host == b.host && a.port == b.port && a.target == b.target;
}

bool same_url(const Url& a, const Url& b) { return same_fields(a, b) && a.explicit_port == b.explicit_port; }

// host [":" port] (RFC 3986 §3.2.2, §3.2.3); fills host, port, explicit_port.
bool reference_authority(std::string_view auth, Url& url) {
  if (auth.find('@') != npos) return false;
  std::string_view host, port;
  bool has_port = false;
  if (!auth.empty() && auth[0] == '[') {
    const std::size_t close = auth.find(']');
    if (close == npos) return false;
    host = auth.substr(1, close - 1);
    const std::string_view after = auth.substr(close + 1);
    if (!after.empty() && after[0] != ':') return false;
    has_port = !after.empty();
    port = has_port ? after.substr(1) : std::string_view{};
    in6_addr addr{};
    if (host.empty() || inet_pton(AF_INET6, std::string(host).c_str(), &addr) != 1) return false;
  } else {
    const std::size_t colon = auth.find(':');
    host = auth.substr(0, colon);
    has_port = colon != npos;
    port = has_port ? auth.substr(colon + 1) : std::string_view{};
    if (host.empty()) return false;
    for (char c : host) {
      const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                              std::string_view("-._~").find(c) != npos;
      if (!unreserved && std::string_view("%!$&'()*+,;=").find(c) == npos) return false;
    }
  }
  url.host = lower(host);
  url.port = default_port(url.scheme);
  url.explicit_port = false;
  if (port.empty()) return true;  // "host:" is the default port
  if (port.size() > 5) return false;
  uint32_t v = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  url.port = static_cast<uint16_t>(v);
  url.explicit_port = true;
  return true;
}

std::optional<Url> reference(std::string_view text) {
  if (text.empty()) return std::nullopt;
  for (unsigned char c : text)
    if (c <= 0x20 || c >= 0x7f) return std::nullopt;
  const std::size_t sep = text.find("://");
  if (sep == npos || sep == 0) return std::nullopt;
  Url url;
  const std::string scheme = lower(text.substr(0, sep));
  if (scheme == "http") url.scheme = Scheme::http;
  else if (scheme == "https") url.scheme = Scheme::https;
  else if (scheme == "ws") url.scheme = Scheme::ws;
  else if (scheme == "wss") url.scheme = Scheme::wss;
  else return std::nullopt;
  std::string_view rest = text.substr(sep + 3);
  rest = rest.substr(0, rest.find('#'));
  const std::size_t auth_end = rest.find_first_of("/?");
  if (!reference_authority(rest.substr(0, auth_end), url)) return std::nullopt;
  const std::string_view target = auth_end == npos ? std::string_view{} : rest.substr(auth_end);
  url.target = target.empty() || target[0] == '?' ? "/" + std::string(target) : std::string(target);
  return url;
}

void check_well_formed(const Url& u, std::string_view text) {
  FUZZ_ASSERT(!u.host.empty());
  for (char c : u.host) FUZZ_ASSERT(!(c >= 'A' && c <= 'Z'));
  FUZZ_ASSERT(u.port != 0);
  if (!u.explicit_port) FUZZ_ASSERT(u.port == default_port(u.scheme));
  FUZZ_ASSERT(!u.target.empty() && u.target[0] == '/');
  for (unsigned char c : u.target) FUZZ_ASSERT(c > 0x20 && c < 0x7f && c != '#');
  // The target is the input's path and query, verbatim ("/" added to an empty path).
  const std::string_view before_fragment = text.substr(0, text.find('#'));
  const std::string_view t = u.target;
  FUZZ_ASSERT(before_fragment.ends_with(t) ||
              (t.size() >= 1 && before_fragment.ends_with(t.substr(1)) && (t.size() == 1 || t[1] == '?')));
  const std::string host_header = u.host_header();
  const bool v6 = u.host.find(':') != npos;
  FUZZ_ASSERT(host_header.starts_with(v6 ? "[" + u.host + "]" : u.host));
  FUZZ_ASSERT(host_header.ends_with(":" + std::to_string(u.port)) == (u.port != default_port(u.scheme)));
}

void check_round_trips(const Url& u) {
  auto from_origin = ringload::parse_url(u.origin() + u.target);
  FUZZ_ASSERT(from_origin.has_value());
  FUZZ_ASSERT(same_fields(*from_origin, u));
  FUZZ_ASSERT(from_origin->explicit_port);

  auto from_host_header = ringload::parse_url(std::string(scheme_name(u.scheme)) + "://" + u.host_header() + u.target);
  FUZZ_ASSERT(from_host_header.has_value());
  FUZZ_ASSERT(same_fields(*from_host_header, u));
  FUZZ_ASSERT(from_host_header->explicit_port == (u.port != default_port(u.scheme)));
}

// The same URL with its scheme and authority upper-cased.
std::string upper_case_origin(std::string_view text) {
  std::string out(text);
  const std::size_t sep = out.find("://");
  if (sep == npos) return out;
  const std::size_t auth_end = std::min(out.find_first_of("/?#", sep + 3), out.size());
  for (std::size_t i = 0; i < auth_end; ++i) out[i] = upper(out[i]);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto url = ringload::parse_url(text);
  const std::optional<Url> expected = reference(text);
  FUZZ_ASSERT(url.has_value() == expected.has_value());
  if (!url) {
    FUZZ_ASSERT(!url.error().empty());
    return 0;
  }
  FUZZ_ASSERT(same_url(*url, *expected));
  check_well_formed(*url, text);
  check_round_trips(*url);

  const auto shouted = ringload::parse_url(upper_case_origin(text));
  FUZZ_ASSERT(shouted.has_value() && same_url(*shouted, *url));
  const auto with_fragment = ringload::parse_url(std::string(text) + "#frag");
  FUZZ_ASSERT(with_fragment.has_value() && same_url(*with_fragment, *url));
  return 0;
}
