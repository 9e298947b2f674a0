// H2HeadList: a request head a plugin edited (the HTTP/1.1 form RequestHead keeps) as the
// HTTP/2 header list its stream is submitted with (RFC 9113 §8.2.2, §8.3.1).
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "engine/session/h2_requests.hpp"

using namespace ringload;

namespace {

std::vector<std::pair<std::string, std::string>> fields(std::span<const nghttp2_nv> nv) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const nghttp2_nv& f : nv) {
    out.emplace_back(std::string(reinterpret_cast<const char*>(f.name), f.namelen),
                     std::string(reinterpret_cast<const char*>(f.value), f.valuelen));
    CHECK(f.flags == NGHTTP2_NV_FLAG_NONE);  // nghttp2 copies: the buffers are reused
  }
  return out;
}

}  // namespace

TEST_CASE("h2 head list: pseudo-fields first, Host as :authority, names lower-cased", "[h2]") {
  H2HeadList list;
  REQUIRE(list.setup(1024).empty());
  const std::string head =
      "POST /rw?seq=7 HTTP/1.1\r\nHost: example.test:8080\r\nX-Test:  mux-7-h2 \r\nUser-Agent: ringload\r\n"
      "Connection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
  const auto got = fields(list.convert(head, false, "fallback:1"));
  const std::vector<std::pair<std::string, std::string>> want = {
      {":method", "POST"}, {":scheme", "http"}, {":authority", "example.test:8080"}, {":path", "/rw?seq=7"},
      {"x-test", "mux-7-h2"}, {"user-agent", "ringload"}, {"content-length", "3"}};
  CHECK(got == want);
}

TEST_CASE("h2 head list: a head without Host takes the origin's authority; https", "[h2]") {
  H2HeadList list;
  REQUIRE(list.setup(256).empty());
  const auto got = fields(list.convert("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", true, "origin:443"));
  const std::vector<std::pair<std::string, std::string>> want = {
      {":method", "GET"}, {":scheme", "https"}, {":authority", "origin:443"}, {":path", "/"}, {"accept", "*/*"}};
  CHECK(got == want);
  // Reused: the second list does not keep the first's fields.
  CHECK(list.convert("GET /x HTTP/1.1\r\n\r\n", false, "o:80").size() == 4);
}
