// WebSocket opening handshake, client side (RFC 6455 §4.1).
#include "proto/ws_handshake.hpp"

#include <array>
#include <cstring>

#include "proto/base64.hpp"
#include "proto/token.hpp"

namespace ringload::proto::ws {
namespace {

// Field content (RFC 9110 §5.5): no CR, LF, NUL or other control byte but HTAB.
bool is_field_text(std::string_view s) noexcept {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

// `list` (a comma-separated field value, RFC 9110 §5.6.1) contains `token`, case-insensitively.
bool list_has_token(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (iequals(trim_ows(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Bounded output that keeps counting past the end, so the caller learns the size needed.
struct Writer {
  std::span<char> out;
  std::size_t size = 0;
  void put(std::string_view s) noexcept {
    if (size < out.size()) {
      const std::size_t n = s.size() < out.size() - size ? s.size() : out.size() - size;
      std::memcpy(out.data() + size, s.data(), n);
    }
    size += s.size();
  }
};

// Headers render_opening_request() writes itself; the caller may not add them again.
bool reserved_header(std::string_view name) noexcept {
  constexpr std::array<std::string_view, 7> names{
      "Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
      "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"};
  for (std::string_view n : names) {
    if (iequals(n, name)) return true;
  }
  return false;
}

bool valid_request(const OpeningRequest& req) noexcept {
  if (req.host.empty() || !is_field_text(req.host) || req.host.find_first_of(" \t") != std::string_view::npos) {
    return false;
  }
  if (req.target.empty() || req.target.front() != '/' || !is_field_text(req.target) ||
      req.target.find_first_of(" \t") != std::string_view::npos) {
    return false;
  }
  if (req.key.empty() || !base64_valid(req.key)) return false;
  for (std::string_view p : req.protocols) {
    if (!is_token(p)) return false;
  }
  for (const Header& h : req.extra_headers) {
    if (!is_token(h.name) || reserved_header(h.name) || !is_field_text(h.value)) return false;
  }
  return true;
}

}  // namespace

std::size_t accept_key_input(std::span<char> out, std::string_view key) noexcept {
  const std::size_t n = key.size() + accept_guid.size();
  if (out.size() < n) return 0;
  std::memcpy(out.data(), key.data(), key.size());
  std::memcpy(out.data() + key.size(), accept_guid.data(), accept_guid.size());
  return n;
}

std::size_t render_opening_request(std::span<char> out, const OpeningRequest& req) noexcept {
  if (!valid_request(req)) return 0;
  Writer w{out};
  w.put("GET ");
  w.put(req.target);
  w.put(" HTTP/1.1\r\nHost: ");
  w.put(req.host);
  w.put("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
  w.put(req.key);
  w.put("\r\nSec-WebSocket-Version: 13\r\n");
  if (!req.protocols.empty()) {
    w.put("Sec-WebSocket-Protocol: ");
    for (std::size_t i = 0; i < req.protocols.size(); ++i) {
      if (i != 0) w.put(", ");
      w.put(req.protocols[i]);
    }
    w.put("\r\n");
  }
  for (const Header& h : req.extra_headers) {
    w.put(h.name);
    w.put(": ");
    w.put(h.value);
    w.put("\r\n");
  }
  w.put("\r\n");
  return w.size;
}

const char* check_upgrade_headers(std::span<const Header> headers, std::string_view expected_accept,
                                  std::span<const std::string_view> offered_protocols,
                                  std::string_view* selected_protocol) noexcept {
  bool upgrade = false;
  bool connection = false;
  int accepts = 0;
  int protocols = 0;
  std::string_view accept;
  std::string_view protocol;
  for (const Header& h : headers) {
    if (iequals(h.name, "Upgrade")) {
      upgrade = upgrade || list_has_token(h.value, "websocket");
    } else if (iequals(h.name, "Connection")) {
      connection = connection || list_has_token(h.value, "Upgrade");
    } else if (iequals(h.name, "Sec-WebSocket-Accept")) {
      ++accepts;
      accept = h.value;
    } else if (iequals(h.name, "Sec-WebSocket-Protocol")) {
      ++protocols;
      protocol = h.value;
    } else if (iequals(h.name, "Sec-WebSocket-Extensions") && !trim_ows(h.value).empty()) {
      return "Sec-WebSocket-Extensions in the response: no extension was offered";  // §4.1 (5)
    }
  }
  if (selected_protocol != nullptr) *selected_protocol = {};
  if (!upgrade) return "no Upgrade: websocket in the response";                   // §4.1 (2)
  if (!connection) return "no Connection: Upgrade in the response";               // §4.1 (3)
  if (accepts == 0) return "no Sec-WebSocket-Accept in the response";             // §4.1 (4)
  if (accepts > 1) return "more than one Sec-WebSocket-Accept in the response";
  if (accept != expected_accept) return "Sec-WebSocket-Accept does not match the key";
  if (protocols > 1) return "more than one Sec-WebSocket-Protocol in the response";  // §11.3.4
  if (protocols == 1) {
    bool offered = false;
    for (std::string_view p : offered_protocols) offered = offered || p == protocol;
    if (!offered) return "Sec-WebSocket-Protocol in the response was not offered";  // §4.1 (6)
    if (selected_protocol != nullptr) *selected_protocol = protocol;
  }
  return nullptr;
}

const char* check_upgrade_response(const ResponseHead& head, std::span<const Header> headers,
                                   std::string_view expected_accept,
                                   std::span<const std::string_view> offered_protocols,
                                   std::string_view* selected_protocol) noexcept {
  if (selected_protocol != nullptr) *selected_protocol = {};
  if (head.status != 101) return "the server did not switch protocols (status not 101)";  // §4.1 (1)
  return check_upgrade_headers(headers, expected_accept, offered_protocols, selected_protocol);
}

}  // namespace ringload::proto::ws
