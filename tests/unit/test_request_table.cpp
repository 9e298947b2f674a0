#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/requests/request_table.hpp"
#include "ringload/config_check.hpp"

using ringload::RequestFault;
using ringload::RequestInput;
using ringload::RequestTableBuilder;
using Part = RequestFault::Part;
using Headers = std::vector<std::pair<std::string_view, std::string_view>>;

namespace {

struct Refused {
  const char* name;
  std::string_view method;
  std::string_view body;
  Headers headers;
  const char* message;  // a substring of the message
  Part part;
  uint32_t header;
};

// RFC 9110 §5.3: Host and Content-Length are not lists, so a request has one field line of
// each at most; RFC 9112 §3.2: a server answers 400 to a second Host (nginx: "client sent
// duplicate header line"). Content-Length comes from the body whenever one is sent.
const std::vector<Refused> refused = {
    {"Host twice", "GET", "", {{"Host", "a"}, {"X", "1"}, {"host", "b"}}, "header 'host' given twice",
     Part::header_name, 2},
    {"Content-Length with a body", "POST", "ab", {{"Content-Length", "2"}},
     "header 'Content-Length' is set by ringload from the body (2 bytes): leave it out", Part::header_name, 0},
    {"Content-Length on a POST without a body", "POST", "", {{"X", "1"}, {"content-length", "0"}},
     "header 'content-length' is set by ringload from the body (0 bytes)", Part::header_name, 1},
    {"Content-Length twice without a body", "GET", "", {{"Content-Length", "0"}, {"content-length", "0"}},
     "header 'content-length' given twice", Part::header_name, 1},
    {"Content-Length that contradicts the body", "DELETE", "", {{"Content-Length", "5"}},
     "Content-Length '5' does not match the body's 0 bytes", Part::header_value, 0},
    {"Transfer-Encoding", "GET", "", {{"A", "1"}, {"Transfer-Encoding", "chunked"}},
     "Transfer-Encoding is not supported", Part::header_name, 1},
    {"bad header name", "GET", "", {{"A", "1"}, {"B C", "x"}}, "bad header name 'B C'", Part::header_name, 1},
    {"CR in a value", "GET", "", {{"A", "x\ry"}}, "header 'A' has CR, LF or NUL", Part::header_value, 0},
    // The first wrong header is the one named.
    {"first fault wins", "GET", "", {{"Host", "a"}, {"Host", "b"}, {"B C", "x"}}, "given twice", Part::header_name, 1},
    {"bad method", "G T", "", {}, "bad method 'G T'", Part::method, 0},
};

RequestInput input(std::string_view method, std::string_view body, const Headers& headers) {
  RequestInput in;
  in.url = *ringload::parse_url("http://h/p");
  in.method = method;
  in.body = body;
  in.headers = headers;
  return in;
}

}  // namespace

TEST_CASE("RequestTableBuilder refuses repeated Host and Content-Length, naming the header", "[request_table]") {
  for (const Refused& r : refused) {
    SECTION(r.name) {
      RequestTableBuilder b;
      const auto added = b.add(input(r.method, r.body, r.headers));
      REQUIRE_FALSE(added.has_value());
      CHECK_THAT(added.error(), Catch::Contains(r.message));
      CHECK(b.fault().part == r.part);
      if (r.part == Part::header_name || r.part == Part::header_value) CHECK(b.fault().header == r.header);
      CHECK(b.size() == 0);
      // The builder takes a good request after a refused one, and forgets the fault.
      REQUIRE(b.add(input("GET", "", {})));
      CHECK(b.size() == 1);
    }
  }
}

TEST_CASE("RequestTableBuilder sends one Host and one Content-Length", "[request_table]") {
  RequestTableBuilder b;
  const Headers host = {{"Host", "other"}, {"Accept", "*/*"}};
  REQUIRE(b.add(input("POST", "abc", host)));
  const Headers zero = {{"Content-Length", "0"}};
  REQUIRE(b.add(input("GET", "", zero)));  // given once, and right: kept
  REQUIRE(b.add(input("PUT", "", {})));
  const ringload::RequestTable t = std::move(b).finish();
  CHECK(t.head(t.lines[0]) == "POST /p HTTP/1.1\r\nHost: other\r\nAccept: */*\r\nContent-Length: 3\r\n");
  CHECK(t.lines[0].flags == (ringload::RequestLine::flag_has_host | ringload::RequestLine::flag_has_accept));
  CHECK(t.head(t.lines[1]) == "GET /p HTTP/1.1\r\nContent-Length: 0\r\n");
  CHECK(t.head(t.lines[2]) == "PUT /p HTTP/1.1\r\nContent-Length: 0\r\n");
}

TEST_CASE("RequestTableBuilder: a WebSocket line may not set the handshake's headers", "[request_table]") {
  ringload::StreamSpec ws;
  ws.proto = ringload::StreamProto::ws;
  const Headers headers = {{"Origin", "http://h"}, {"Host", "x"}};
  RequestInput in = input("GET", "", headers);
  in.stream = &ws;
  RequestTableBuilder b;
  const auto added = b.add(in);
  REQUIRE_FALSE(added.has_value());
  CHECK_THAT(added.error(), Catch::Contains("header 'Host' is set by the WebSocket handshake itself"));
  CHECK(b.fault().part == Part::header_name);
  CHECK(b.fault().header == 1);
}

// The public API's check (the CLI's -H probe) says the same.
TEST_CASE("check_request refuses a RequestSpec with a second Host or a Content-Length", "[request_table]") {
  ringload::RequestSpec spec;
  spec.url = *ringload::parse_url("http://h/");
  spec.headers = {{"Host", "a"}, {"Host", "b"}};
  const auto twice = ringload::check_request(spec);
  REQUIRE_FALSE(twice.has_value());
  CHECK(twice.error() == "header 'Host' given twice");

  spec.headers = {{"Content-Length", "2"}};
  spec.method = "POST";
  spec.body = "{}";
  const auto length = ringload::check_request(spec);
  REQUIRE_FALSE(length.has_value());
  CHECK_THAT(length.error(), Catch::Contains("'Content-Length' is set by ringload from the body"));

  spec.headers = {{"Host", "a"}};
  CHECK(ringload::check_request(spec).has_value());
}

TEST_CASE("check_config: a RequestSpec's http2 decides for itself", "[request_table][h2]") {
  using ringload::LineHttp2;
  auto spec = [](const char* url, LineHttp2 h2) {
    ringload::RequestSpec s;
    s.url = *ringload::parse_url(url);
    s.http2 = h2;
    return s;
  };
  ringload::RunConfig c;
  c.max_requests = 1;
  c.max_streams = 8;
  c.requests = {spec("http://h/", LineHttp2::run)};
  auto r = ringload::check_config(c);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().field == "max_streams");  // no HTTP/2 anywhere
  c.requests.push_back(spec("https://h/", LineHttp2::on));
  CHECK(ringload::check_config(c).has_value());  // --max-streams for the h2 request
  c.requests.back().stream = ringload::StreamSpec{};
  r = ringload::check_config(c);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("request 2: \"http2\": true: SSE and WebSocket") != std::string::npos);
  c.requests.back().stream.reset();
  c.pipeline = 4;
  c.max_streams = 1;
  r = ringload::check_config(c);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().field == "pipeline");
  CHECK(r.error().message.find("request 2: \"http2\": true does not run with {pipeline}") != std::string::npos);
  // --h2c with an https:// request that says false: HTTP/1.1, not refused.
  c.pipeline = 1;
  c.http2 = ringload::Http2Mode::prior_knowledge;
  c.requests = {spec("http://h/", LineHttp2::run), spec("https://h/", LineHttp2::off)};
  CHECK(ringload::check_config(c).has_value());
  c.requests.back().http2 = LineHttp2::run;
  CHECK_FALSE(ringload::check_config(c).has_value());
}
