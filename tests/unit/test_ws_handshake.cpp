// WebSocket (RFC 6455 §4.1) opening handshake: the accept key input against the RFC's
// §1.3 example (with wolfSSL's SHA-1 and Base64, as the engine computes it), the opening
// request and its refusals, and the checks of the 101 response.
#include <catch2/catch.hpp>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/hash.h>

#include <array>
#include <string>
#include <vector>

#include "proto/ws_handshake.hpp"

using namespace ringload::proto;
using namespace ringload::proto::ws;

TEST_CASE("accept key input gives the RFC 6455 §1.3 accept value", "[ws]") {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  std::array<char, 64> in{};
  const std::size_t n = accept_key_input(in, key);
  REQUIRE(n == key.size() + accept_guid.size());
  CHECK(std::string(in.data(), n) == key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  CHECK(accept_key_input(std::span<char>(in.data(), n - 1), key) == 0);
  // What the engine does with it (wolfSSL).
  std::array<byte, 20> sha{};
  REQUIRE(wc_ShaHash(reinterpret_cast<const byte*>(in.data()), static_cast<word32>(n), sha.data()) == 0);
  std::array<byte, 64> b64{};
  word32 b64_len = b64.size();
  REQUIRE(Base64_Encode_NoNl(sha.data(), sha.size(), b64.data(), &b64_len) == 0);
  CHECK(b64_len == accept_length);
  CHECK(std::string(reinterpret_cast<const char*>(b64.data()), b64_len) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("opening request", "[ws]") {
  const std::array<std::string_view, 2> protocols{"chat", "superchat"};
  const std::array<Header, 1> extra{{{"Origin", "http://example.com"}}};
  OpeningRequest req{"server.example.com", "/chat", "dGhlIHNhbXBsZSBub25jZQ==", protocols, extra};
  const std::string expect =
      "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
      "Origin: http://example.com\r\n\r\n";
  std::array<char, 512> out{};
  REQUIRE(render_opening_request(out, req) == expect.size());
  CHECK(std::string(out.data(), expect.size()) == expect);
  std::array<char, 16> small{};
  CHECK(render_opening_request(small, req) == expect.size());  // the size needed
  CHECK(std::string(small.data(), small.size()) == expect.substr(0, small.size()));

  OpeningRequest plain{"h:8080", "/", "a2V5", {}, {}};
  const std::size_t n = render_opening_request(out, plain);
  CHECK(std::string_view(out.data(), n).find("Protocol") == std::string_view::npos);

  auto rejects = [&](OpeningRequest r) { return render_opening_request(out, r) == 0; };
  CHECK(rejects({"", "/", "a2V5", {}, {}}));
  CHECK(rejects({"h", "chat", "a2V5", {}, {}}));
  CHECK(rejects({"h", "/a b", "a2V5", {}, {}}));
  CHECK(rejects({"h\r\nX: y", "/", "a2V5", {}, {}}));
  CHECK(rejects({"h", "/", "", {}, {}}));
  CHECK(rejects({"h", "/", "a2V5\r\n", {}, {}}));
  // The key is checked as Base64 (proto/base64.hpp), padding included.
  CHECK(rejects({"h", "/", "a=V5", {}, {}}));
  CHECK(rejects({"h", "/", "a2V5=", {}, {}}));
  CHECK(rejects({"h", "/", "a2V5a", {}, {}}));
  CHECK(rejects({"h", "/", "a2V-", {}, {}}));
  CHECK_FALSE(rejects({"h", "/", "a2V", {}, {}}));   // unpadded (RFC 4648 §3.2)
  CHECK_FALSE(rejects({"h", "/", "a2U=", {}, {}}));
  const std::array<std::string_view, 1> bad_protocol{"a,b"};
  CHECK(rejects({"h", "/", "a2V5", bad_protocol, {}}));
  const std::array<Header, 1> dup{{{"connection", "close"}}};
  CHECK(rejects({"h", "/", "a2V5", {}, dup}));
  const std::array<Header, 1> ext{{{"Sec-WebSocket-Extensions", "permessage-deflate"}}};
  CHECK(rejects({"h", "/", "a2V5", {}, ext}));
  const std::array<Header, 1> crlf{{{"X-A", "1\r\nX-B: 2"}}};
  CHECK(rejects({"h", "/", "a2V5", {}, crlf}));
}

TEST_CASE("upgrade response checks", "[ws]") {
  const std::string_view accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
  const std::array<std::string_view, 2> offered{"chat", "v2"};
  struct Case {
    const char* name;
    std::vector<Header> headers;
    bool ok;
    std::string_view selected = {};
  };
  const Header up{"Upgrade", "websocket"};
  const Header conn{"Connection", "Upgrade"};
  const Header acc{"Sec-WebSocket-Accept", accept};
  const std::vector<Case> cases = {
      {"minimal", {up, conn, acc}, true},
      {"case and lists", {{"UPGRADE", "WebSocket"}, {"connection", "keep-alive, upgrade"}, acc}, true},
      {"connection over two lines", {up, {"Connection", "keep-alive"}, {"Connection", "Upgrade"}, acc}, true},
      {"protocol chosen", {up, conn, acc, {"Sec-WebSocket-Protocol", "v2"}}, true, "v2"},
      {"empty extensions", {up, conn, acc, {"Sec-WebSocket-Extensions", ""}}, true},
      {"no upgrade", {conn, acc}, false},
      {"wrong upgrade", {{"Upgrade", "h2c"}, conn, acc}, false},
      {"no connection", {up, acc}, false},
      {"connection without upgrade", {up, {"Connection", "keep-alive"}, acc}, false},
      {"no accept", {up, conn}, false},
      {"wrong accept", {up, conn, {"Sec-WebSocket-Accept", "S3pPLMBiTxaQ9kYGzzhZRbK+xOo="}}, false},
      {"two accepts", {up, conn, acc, acc}, false},
      {"extension", {up, conn, acc, {"Sec-WebSocket-Extensions", "permessage-deflate"}}, false},
      {"protocol not offered", {up, conn, acc, {"Sec-WebSocket-Protocol", "other"}}, false},
      {"two protocols", {up, conn, acc, {"Sec-WebSocket-Protocol", "chat"}, {"Sec-WebSocket-Protocol", "v2"}}, false},
  };
  for (const Case& c : cases) {
    INFO("case: " << c.name);
    std::string_view selected = "stale";
    const char* why = check_upgrade_headers(c.headers, accept, offered, &selected);
    CHECK((why == nullptr) == c.ok);
    if (c.ok) CHECK(selected == c.selected);
  }
  ResponseHead head;
  head.status = 426;
  const std::vector<Header> good{up, conn, acc};
  CHECK(check_upgrade_response(head, good, accept, offered) != nullptr);
  head.status = 101;
  CHECK(check_upgrade_response(head, good, accept, offered) == nullptr);
  CHECK(check_upgrade_headers(good, accept, {}) == nullptr);
}
