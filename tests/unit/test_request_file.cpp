#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/requests/request_table.hpp"
#include "ringload/request_file.hpp"

using ringload::RequestLine;
using ringload::RequestTable;

namespace {

// A directory of its own under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ringload-request-file-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Loaded {
  std::expected<RequestTable, ringload::RequestFileError> table;
  std::vector<std::string> warnings;
};

Loaded load(const std::string& file, bool allow_https = false) {
  Loaded out;
  ringload::RequestFileOptions options;
  options.allow_https = allow_https;
  auto loaded = ringload::load_request_file(file, options, [&](const std::string& w) { out.warnings.push_back(w); });
  if (loaded) {
    out.table = *loaded->table();  // a copy: the file's table is shared and read-only
  } else {
    out.table = std::unexpected(loaded.error());
  }
  return out;
}

std::string origin_of(const RequestTable& t, const RequestLine& l) { return t.origins.at(l.origin).origin(); }

// One good line and what the table must hold for it.
struct GoodLine {
  const char* name;
  std::string json;
  std::string head;  // request line + the line's own headers
  std::string body;
  uint8_t flags;
  std::string origin;
  std::string stats_name;
  uint64_t timeout_ns;
};

const std::vector<GoodLine> good_lines = {
    {"url only", R"({"url":"http://127.0.0.1:8080/item/1?x=2"})", "GET /item/1?x=2 HTTP/1.1\r\n", "", 0,
     "http://127.0.0.1:8080", "GET /item/1", 0},
    {"spaces around tokens", " { \"url\" : \"http://h/a\" , \"method\" : \"DELETE\" } ",
     "DELETE /a HTTP/1.1\r\n", "", 0, "http://h:80", "DELETE /a", 0},
    {"headers as an object", R"({"url":"http://h/x","method":"PUT","headers":{"X-A":"1","Host":"h2"}})",
     "PUT /x HTTP/1.1\r\nX-A: 1\r\nHost: h2\r\nContent-Length: 0\r\n", "", RequestLine::flag_has_host,
     "http://h:80", "PUT /x", 0},
    {"headers as pairs, repeats and order kept",
     R"({"url":"http://h/","headers":[["X-T","a"],["Accept","*/*"],["X-T","b"],["User-Agent","me"]]})",
     "GET / HTTP/1.1\r\nX-T: a\r\nAccept: */*\r\nX-T: b\r\nUser-Agent: me\r\n", "",
     RequestLine::flag_has_accept | RequestLine::flag_has_user_agent, "http://h:80", "GET /", 0},
    {"repeated names in a header object", R"({"url":"http://h/","headers":{"X":"1","X":"2"}})",
     "GET / HTTP/1.1\r\nX: 1\r\nX: 2\r\n", "", 0, "http://h:80", "GET /", 0},
    {"empty headers", R"({"url":"http://h/","headers":{}})", "GET / HTTP/1.1\r\n", "", 0, "http://h:80", "GET /", 0},
    {"Content-Length 0 once, without a body", R"({"url":"http://h/","headers":[["Content-Length","0"]]})",
     "GET / HTTP/1.1\r\nContent-Length: 0\r\n", "", 0, "http://h:80", "GET /", 0},
    {"string body makes a POST", R"({"url":"http://h/p","body":"hello\n\"w\""})",
     "POST /p HTTP/1.1\r\nContent-Length: 9\r\n", "hello\n\"w\"", 0, "http://h:80", "POST /p", 0},
    {"empty string body", R"({"url":"http://h/p","body":""})", "POST /p HTTP/1.1\r\nContent-Length: 0\r\n", "", 0,
     "http://h:80", "POST /p", 0},
    {"JSON object body, minified, typed", R"({"url":"http://h/j","body": { "a" : [1, 2.50, "x y"], "b":null }})",
     "POST /j HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 29\r\n",
     R"({"a":[1,2.50,"x y"],"b":null})", 0, "http://h:80", "POST /j", 0},
    {"JSON array body with an explicit method", R"({"url":"http://h/j","method":"PATCH","body":[ 1 , {} ]})",
     "PATCH /j HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 6\r\n", "[1,{}]", 0, "http://h:80",
     "PATCH /j", 0},
    {"JSON body keeps the line's Content-Type",
     R"({"url":"http://h/j","headers":{"content-type":"application/vnd.x+json"},"body":{"k":"v"}})",
     "POST /j HTTP/1.1\r\ncontent-type: application/vnd.x+json\r\nContent-Length: 9\r\n", R"({"k":"v"})", 0,
     "http://h:80", "POST /j", 0},
    {"body_base64 padded", R"({"url":"http://h/b","method":"PUT","body_base64":"aGVsbG8="})",
     "PUT /b HTTP/1.1\r\nContent-Length: 5\r\n", "hello", 0, "http://h:80", "PUT /b", 0},
    {"body_base64 unpadded, binary", R"({"url":"http://h/b","body_base64":"AP8AYQ"})",
     "POST /b HTTP/1.1\r\nContent-Length: 4\r\n", std::string("\x00\xff\x00" "a", 4), 0, "http://h:80", "POST /b", 0},
    {"fractional timeout", R"({"url":"http://h/","timeout":2.5})", "GET / HTTP/1.1\r\n", "", 0, "http://h:80",
     "GET /", 2'500'000'000},
    {"integer timeout", R"({"url":"http://h/","timeout":3})", "GET / HTTP/1.1\r\n", "", 0, "http://h:80", "GET /",
     3'000'000'000},
    {"tiny timeout rounds up to 1 ns", R"({"url":"http://h/","timeout":1e-12})", "GET / HTTP/1.1\r\n", "", 0,
     "http://h:80", "GET /", 1},
    {"name", R"({"name":"create","url":"http://h/items"})", "GET /items HTTP/1.1\r\n", "", RequestLine::flag_named,
     "http://h:80", "create", 0},
    {"HEAD", R"({"url":"http://h/","method":"HEAD"})", "HEAD / HTTP/1.1\r\n", "", RequestLine::flag_head,
     "http://h:80", "HEAD /", 0},
    {"unknown keys are ignored", R"({"url":"http://h/","extra":{"x":[1,2]}})", "GET / HTTP/1.1\r\n", "", 0,
     "http://h:80", "GET /", 0},
    {"surrogate pair escape", R"({"url":"http://h/","name":"a\ud83d\uDE00"})", "GET / HTTP/1.1\r\n", "",
     RequestLine::flag_named, "http://h:80", "a\xF0\x9F\x98\x80", 0},
    // The largest numbers simdjson takes: 64-bit integers, the largest double, underflow to 0.
    {"numbers at simdjson's limits",
     R"({"url":"http://h/","extra":[18446744073709551615,-9223372036854775808,1.7976931348623157e308,)"
     R"(-179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587)"
     R"(2070963302864166928879109465555478519404026306574886715058206819089020007083836762738548458177115)"
     R"(3176447573027006985557136695962284291481986083493647529271907416844436551070434271155969950809304)"
     R"(2880177904174497791.999,0.01e310,1e-400,0e99999999999999999999]})",
     "GET / HTTP/1.1\r\n", "", 0, "http://h:80", "GET /", 0},
};

struct BadLine {
  const char* name;
  std::string content;  // the whole file
  uint32_t line;
  uint32_t column;
  const char* message;  // a substring of the message
};

// Columns are 1-based byte columns of the offending value, key or token.
const std::vector<BadLine> bad_lines = {
    {"trailing comma", R"({"url":"http://h/",})", 1, 20, "not valid JSON: expected a string key"},
    {"unterminated object", R"({"url":"http://h/")", 1, 19, "not valid JSON: unexpected end of line"},
    {"unterminated string", R"({"url":"http://h/)", 1, 8, "not valid JSON: unterminated string"},
    {"missing colon", R"({"url" "http://h/"})", 1, 8, "expected ':'"},
    {"bad literal", R"({"url":"http://h/","x":nul})", 1, 24, "not valid JSON"},
    {"bad number", R"({"url":"http://h/","timeout":-.5})", 1, 30, "not valid JSON: bad number"},
    {"text after the object", "{\"url\":\"http://h/\"} x", 1, 21, "not valid JSON: unexpected text"},
    {"control character in a string", "{\"url\":\"http://h/\t\"}", 1, 18, "control character"},
    {"invalid UTF-8", "{\"url\":\"http://h/\xff\"}", 1, 18, "invalid UTF-8"},
    {"bad escape", R"({"url":"http://h/\q"})", 1, 18, "bad escape"},
    // Valid by RFC 8259's grammar, refused by simdjson: located here all the same.
    {"lone high surrogate", R"({"url":"http://a/","name":"\ud83d"})", 1, 28, "lone surrogate in \\u escape"},
    {"lone low surrogate", R"({"url":"http://h/","name":"a\uDC00b"})", 1, 29, "lone surrogate"},
    {"high surrogate before a letter", R"({"url":"http://h/","name":"\ud83d\u0041"})", 1, 28, "lone surrogate"},
    {"two high surrogates", R"({"url":"http://h/","name":"\ud83d\ud83d\ude00"})", 1, 28, "lone surrogate"},
    {"integer over 64 bits", R"({"url":"http://a/","timeout":18446744073709551616})", 1, 30,
     "integer out of range"},
    {"negative integer over 64 bits", R"({"url":"http://h/","timeout":-9223372036854775809})", 1, 30,
     "integer out of range"},
    {"exponent overflow", R"({"url":"http://a/","timeout":1e400})", 1, 30, "number out of range"},
    {"http2 a string", R"({"url":"http://h/","http2":"yes"})", 1, 28, "'http2' must be true or false, not a string"},
    {"http2 a number", R"({"url":"http://h/","http2":1})", 1, 28, "'http2' must be true or false, not a number"},
    {"http2 null", R"({"url":"http://h/","http2":null})", 1, 28, "'http2' must be true or false, not null"},
    {"http2 twice", R"({"url":"http://h/","http2":true,"http2":false})", 1, 33, "duplicate key 'http2'"},
    {"http2 true on an SSE line", R"({"url":"http://h/","proto":"sse","http2":true})", 1, 34,
     "'http2': true does not apply to a sse line"},
    {"http2 true on a WebSocket line", R"({"url":"ws://h/","http2":true})", 1, 18,
     "'http2': true does not apply to a ws line"},
    {"overflow in a nested value", R"({"url":"http://h/","x":[1,2,-0.0018e311]})", 1, 29, "number out of range"},
    {"halfway past the largest double",
     R"({"url":"http://h/","x":179769313486231580793728971405303415079934132710037826936173778980444968)"
     R"(2927647509466490179775872070963302864166928879109465555478519404026306574886715058206819089020007)"
     R"(0838367627385484581771153176447573027006985557136695962284291481986083493647529271907416844436551)"
     R"(0704342711559699508093042880177904174497792.0})",
     1, 24, "number out of range"},
    {"error on a later line", "{\"url\":\"http://h/\"}\n\n  {\"url\":\"http://h/\",,}\n", 3, 22, "not valid JSON"},
    {"not an object", "[1,2]", 1, 1, "must be a JSON object, not an array"},
    {"a string, indented", "   \"x\"", 1, 4, "must be a JSON object, not a string"},
    {"url missing", R"({"method":"GET"})", 1, 1, "'url' is missing"},
    {"url not a string", R"({"url": 5})", 1, 9, "'url' must be a string, not a number"},
    {"unknown scheme", R"({"url":"ftp://h/"})", 1, 8, "bad 'url': unsupported scheme 'ftp'"},
    {"missing scheme", R"({"url":"h/x"})", 1, 8, "bad 'url': missing scheme"},
    {"bad port", R"({"method":"GET", "url":"http://h:99999/"})", 1, 24, "bad port"},
    {"https not yet", R"({"url":"https://h/"})", 1, 8, "https is not supported yet"},
    {"ws url on an sse line", R"({"url":"ws://h/","proto":"sse"})", 1, 8, "cannot have a ws://"},
    {"messages on an sse line", R"({"url":"http://h/","proto":"sse","messages":["x"]})", 1, 34, "'messages' does not apply to a sse line"},
    {"body on a ws line", R"({"url":"ws://h/","body":"x"})", 1, 18, "'body' does not apply to a ws line"},
    {"unknown proto", R"({"url":"http://h/","proto":"bogus"})", 1, 28, "'proto' must be"},
    {"max_events 0", R"({"url":"http://h/","proto":"sse","max_events":0})", 1, 47, "'max_events' must be an integer >= 1"},
    {"stream key on an http line", R"({"url":"http://h/","max_events":3})", 1, 20, "add \"proto\""},
    {"bad binary message", R"({"url":"ws://h/","messages":[{"binary_base64":"!"}]})", 1, 47, "bad base64 in 'binary_base64'"},
    {"message of another type", R"({"url":"ws://h/","messages":[1]})", 1, 30, "a message must be a string"},
    {"ws with POST", R"({"url":"ws://h/","method":"POST"})", 1, 27, "starts with GET"},
    {"subprotocol not a token", R"({"url":"ws://h/","subprotocols":["a b"]})", 1, 34, "is not a token"},
    {"repeat on an sse line", R"({"url":"http://h/","proto":"sse","repeat":2})", 1, 34, "'repeat' does not apply to a sse line"},
    {"endless repeat without an end", R"({"url":"ws://h/","messages":["a"],"repeat":0})", 1, 1, "repeated without end need an end"},
    {"interval on an sse line", R"({"url":"http://h/","proto":"sse","interval":1})", 1, 34, "'interval' does not apply to a sse line"},
    {"idle_timeout not a number", R"({"url":"ws://h/","idle_timeout":"1s"})", 1, 33, "'idle_timeout' must be a number of seconds"},
    {"method not a token", R"({"url":"http://h/","method":"G T"})", 1, 29, "bad method 'G T'"},
    {"method not a string", R"({"url":"http://h/","method":1})", 1, 29, "'method' must be a string"},
    {"empty method", R"({"url":"http://h/","method":""})", 1, 29, "bad method"},
    {"headers of the wrong type", R"({"url":"http://h/","headers":"X: 1"})", 1, 30, "'headers' must be an object"},
    {"header value not a string", R"({"url":"http://h/","headers":{"A":"1","B":2}})", 1, 43,
     "header 'B' must have a string value, not a number"},
    {"header value with CR LF", R"({"url":"http://h/","headers":{"A":"1","B":"x\r\ny"}})", 1, 43, "CR, LF or NUL"},
    {"header name not a token", R"({"url":"http://h/","headers":{"A":"1","B C":"x"}})", 1, 39,
     "bad header name 'B C'"},
    {"header pair too short", R"({"url":"http://h/","headers":[["A","1"],["B"]]})", 1, 41, "[name, value] pair"},
    {"header pair not an array", R"({"url":"http://h/","headers":["A: 1"]})", 1, 31, "[name, value] pair"},
    {"header pair name not a string", R"({"url":"http://h/","headers":[[1,"x"]]})", 1, 32,
     "header name must be a string"},
    {"header pair value with NUL", R"({"url":"http://h/","headers":[["A","1"],["B","x\u0000"]]})", 1, 46,
     "CR, LF or NUL"},
    {"header pair name not a token", R"({"url":"http://h/","headers":[["A:","1"]]})", 1, 32, "bad header name"},
    // RFC 9110 §5.3: one Host, one Content-Length; the column is the header's name.
    {"Host twice, as an object", R"({"url":"http://a/","headers":{"Host":"a","host":"b"}})", 1, 42,
     "header 'host' given twice"},
    {"Host twice, as pairs", R"({"url":"http://a/","headers":[["Host","a"],["host","b"]]})", 1, 45,
     "header 'host' given twice"},
    {"Content-Length with a body",
     R"({"url":"http://a/","method":"POST","body":"ab","headers":[["Content-Length","2"],["content-length","2"]]})",
     1, 60, "header 'Content-Length' is set by ringload from the body (2 bytes)"},
    {"Content-Length with a JSON body",
     R"({"url":"http://h/","body":{"a":1},"headers":{"Content-Type":"text/plain","Content-Length":"7"}})", 1, 74,
     "set by ringload from the body (7 bytes)"},
    {"Content-Length twice without a body",
     R"({"url":"http://h/","headers":[["Content-Length","0"],["content-length","0"]]})", 1, 55,
     "header 'content-length' given twice"},
    {"Content-Length contradicting no body", R"({"url":"http://h/","headers":{"X":"1","Content-Length":"5"}})", 1, 56,
     "Content-Length '5' does not match the body's 0 bytes"},
    {"Transfer-Encoding", R"({"url":"http://h/","headers":{"Transfer-Encoding":"chunked"}})", 1, 31,
     "Transfer-Encoding is not supported"},
    {"Host on a ws line", R"({"url":"ws://h/","headers":{"Origin":"http://h","Host":"x"}})", 1, 49,
     "set by the WebSocket handshake itself"},
    {"body a number", R"({"url":"http://h/","body":5})", 1, 27, "'body' must be a string, an object or an array"},
    {"body true", R"({"url":"http://h/","body":true})", 1, 27, "not a boolean"},
    {"body null", R"({"url":"http://h/","body":null})", 1, 27, "not null"},
    {"body and body_base64", R"({"url":"http://h/","body":"x","body_base64":"eA=="})", 1, 31, "cannot both"},
    {"body_base64 and body", R"({"url":"http://h/","body_base64":"eA==","body":"x"})", 1, 41, "cannot both"},
    {"bad base64 character", R"({"url":"http://h/","body_base64":"ab$d"})", 1, 34,
     "bad base64 in 'body_base64': invalid character at offset 2"},
    {"bad base64 padding", R"({"url":"http://h/","body_base64":"eA="})", 1, 34, "bad padding"},
    {"truncated base64", R"({"url":"http://h/","body_base64":"eAbcd"})", 1, 34, "truncated"},
    {"base64 not a string", R"({"url":"http://h/","body_base64":[]})", 1, 34, "'body_base64' must be a string"},
    {"negative timeout", R"({"url":"http://h/","timeout":-1})", 1, 30, "'timeout' must be greater than 0"},
    {"zero timeout", R"({"url":"http://h/","timeout":0})", 1, 30, "'timeout' must be greater than 0"},
    {"timeout as a string", R"({"url":"http://h/","timeout":"5s"})", 1, 30, "'timeout' must be a number of seconds"},
    {"huge timeout", R"({"url":"http://h/","timeout":1e10})", 1, 30, "at most"},
    {"empty name", R"({"url":"http://h/","name":""})", 1, 27, "'name' must not be empty"},
    {"name not a string", R"({"url":"http://h/","name":["a"]})", 1, 27, "'name' must be a string, not an array"},
    {"duplicate key", R"({"url":"http://h/","method":"GET","url":"http://h/2"})", 1, 35, "duplicate key 'url'"},
    {"CRLF file, error on line 2", "{\"url\":\"http://h/\"}\r\n{\"url\":1}\r\n", 2, 8, "'url' must be a string"},
};

}  // namespace

TEST_CASE("request file: each key and form renders its line", "[request_file]") {
  TempDir dir;
  for (const GoodLine& g : good_lines) {
    SECTION(g.name) {
      const std::string file = dir.write("good.jsonl", g.json + "\n");
      Loaded r = load(file);
      INFO(g.json);
      REQUIRE(r.table.has_value());
      const RequestTable& t = *r.table;
      REQUIRE(t.lines.size() == 1);
      const RequestLine& l = t.lines[0];
      CHECK(t.head(l) == g.head);
      CHECK(t.body(l) == g.body);
      CHECK(t.method(l) == g.head.substr(0, g.head.find(' ')));
      CHECK(t.target(l) == g.head.substr(g.head.find(' ') + 1, g.head.find(" HTTP/") - g.head.find(' ') - 1));
      CHECK(static_cast<int>(l.flags) == static_cast<int>(g.flags));
      CHECK(origin_of(t, l) == g.origin);
      CHECK(t.names.at(l.name) == g.stats_name);
      CHECK(l.timeout_ns == g.timeout_ns);
      CHECK(l.source_line == 1);
      CHECK(t.source == file);
    }
  }
}

TEST_CASE("request file: errors name the line, column and cause", "[request_file]") {
  TempDir dir;
  for (const BadLine& b : bad_lines) {
    SECTION(b.name) {
      const std::string file = dir.write("bad.jsonl", b.content);
      Loaded r = load(file);
      INFO(b.content);
      REQUIRE_FALSE(r.table.has_value());
      const ringload::RequestFileError& e = r.table.error();
      const std::string prefix = file + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": ";
      CHECK(e.to_string().substr(0, prefix.size()) == prefix);
      CHECK_THAT(e.message, Catch::Contains(b.message));
      CHECK(e.file == file);
    }
  }
}

TEST_CASE("request file: lines, blank lines, CRLF, no final newline", "[request_file]") {
  TempDir dir;
  const std::string file = dir.write("lines.jsonl",
                                     "\xef\xbb\xbf{\"url\":\"http://a:8080/1\"}\r\n"
                                     "\r\n"
                                     "   \t \n"
                                     "{\"url\":\"http://b/2\",\"name\":\"two\"}\n"
                                     "\n"
                                     "{\"url\":\"http://a:8080/3\",\"method\":\"POST\",\"body\":\"x\"}\r\n"
                                     "{\"url\":\"http://b/4\",\"timeout\":0.25}");
  Loaded r = load(file);
  REQUIRE(r.table.has_value());
  const RequestTable& t = *r.table;
  REQUIRE(t.lines.size() == 4);
  const std::vector<uint32_t> source_lines = {1, 4, 6, 7};
  const std::vector<std::string> targets = {"/1", "/2", "/3", "/4"};
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(t.lines[i].source_line == source_lines[i]);
    CHECK(t.target(t.lines[i]) == targets[i]);
  }
  REQUIRE(t.origins.size() == 2);
  CHECK(t.lines[0].origin == t.lines[2].origin);
  CHECK(t.lines[1].origin == t.lines[3].origin);
  CHECK(origin_of(t, t.lines[0]) == "http://a:8080");
  CHECK(origin_of(t, t.lines[1]) == "http://b:80");
  CHECK(t.names.at(t.lines[1].name) == "two");
  CHECK(t.body(t.lines[2]) == "x");
  CHECK(t.lines[3].timeout_ns == 250'000'000);
  CHECK(r.warnings.empty());
}

TEST_CASE("request file: \"http2\" splits an origin into a connection group per choice", "[request_file][h2]") {
  using ringload::LineHttp2;
  TempDir dir;
  const std::string file = dir.write("h2.jsonl",
                                     "{\"url\":\"http://a/1\"}\n"
                                     "{\"url\":\"http://a/2\",\"http2\":false}\n"
                                     "{\"url\":\"http://b/x\"}\n"
                                     "{\"url\":\"http://a/3\",  \"http2\": true}\n"
                                     "{\"url\":\"http://a/4\",\"http2\":true}\n"
                                     "{\"url\":\"http://a/5\",\"http2\":false,\"proto\":\"sse\"}\n");
  Loaded r = load(file);
  REQUIRE(r.table.has_value());
  const RequestTable& t = *r.table;
  REQUIRE(t.lines.size() == 6);
  REQUIRE(t.origins.size() == 4);  // a (no key), a (false), b, a (true)
  REQUIRE(t.origin_http2.size() == 4);
  const std::vector<LineHttp2> want = {LineHttp2::run, LineHttp2::off, LineHttp2::run, LineHttp2::on,
                                       LineHttp2::on, LineHttp2::off};
  for (std::size_t i = 0; i < 6; ++i) {
    INFO("line " << i + 1);
    CHECK(t.http2_of(t.lines[i].origin) == want[i]);
  }
  CHECK(t.lines[0].origin != t.lines[1].origin);
  CHECK(t.lines[1].origin == t.lines[5].origin);
  CHECK(t.lines[3].origin == t.lines[4].origin);
  CHECK(origin_of(t, t.lines[0]) == origin_of(t, t.lines[3]));
  CHECK(t.first_h2_line == 4);
  CHECK(t.first_h2_column == 23);  // the key of the first "http2": true
  CHECK(r.warnings.empty());
}

TEST_CASE("request file: one warning per unknown key, at its first line", "[request_file]") {
  TempDir dir;
  const std::string file = dir.write("unknown.jsonl",
                                     "{\"url\":\"http://h/\"}\n"
                                     "{\"url\":\"http://h/\",\"foo\":1}\n"
                                     "{\"foo\":2,\"url\":\"http://h/\",\"bar\":[]}\n"
                                     "{\"bar\":3,\"url\":\"http://h/\",\"foo\":{}}\n");
  Loaded r = load(file);
  REQUIRE(r.table.has_value());
  CHECK(r.table->lines.size() == 4);
  REQUIRE(r.warnings.size() == 2);
  CHECK(r.warnings[0] == file + ":2: unknown key 'foo' (ignored)");
  CHECK(r.warnings[1] == file + ":3: unknown key 'bar' (ignored)");
}

TEST_CASE("request file: https with allow_https", "[request_file]") {
  TempDir dir;
  const std::string file = dir.write("tls.jsonl", "{\"url\":\"https://h:8443/s\"}\n");
  Loaded r = load(file, true);
  REQUIRE(r.table.has_value());
  CHECK(origin_of(*r.table, r.table->lines[0]) == "https://h:8443");
  CHECK(r.table->origins[0].scheme == ringload::Scheme::https);
}

TEST_CASE("request file: missing, unreadable and empty files", "[request_file]") {
  TempDir dir;
  struct Case {
    const char* name;
    std::string file;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"missing", dir.path() + "/nope.jsonl", "cannot open: No such file or directory"},
      {"directory", dir.path(), "cannot read: Is a directory"},
      {"empty", dir.write("empty.jsonl", ""), "no requests"},
      {"blank lines only", dir.write("blank.jsonl", "\n  \r\n\t\n"), "no requests"},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      Loaded r = load(c.file);
      REQUIRE_FALSE(r.table.has_value());
      CHECK(r.table.error().line == 0);
      CHECK(r.table.error().to_string() == c.file + ": " + r.table.error().message);
      CHECK_THAT(r.table.error().message, Catch::Contains(c.message));
    }
  }
}

TEST_CASE("request file: lines across read blocks and longer than a block", "[request_file]") {
  TempDir dir;
  std::string content;
  constexpr int count = 30'000;  // about 1.3 MB: crosses the 1 MiB read block
  for (int i = 0; i < count; ++i) content += "{\"url\":\"http://h/item/" + std::to_string(i) + "\",\"name\":\"n\"}\n";
  const std::string big(3 << 20, 'b');  // one 3 MiB line: the buffer must grow
  content += "{\"url\":\"http://h/big\",\"body\":\"" + big + "\"}\n";
  content += "{\"url\":\"http://h/last\"}";
  Loaded r = load(dir.write("many.jsonl", content));
  REQUIRE(r.table.has_value());
  const RequestTable& t = *r.table;
  REQUIRE(t.lines.size() == count + 2);
  for (int i = 0; i < count; i += 997) {
    CHECK(t.target(t.lines[i]) == "/item/" + std::to_string(i));
    CHECK(t.lines[i].source_line == static_cast<uint32_t>(i + 1));
  }
  CHECK(t.body(t.lines[count]) == big);
  CHECK(t.target(t.lines[count + 1]) == "/last");
  CHECK(t.lines[count + 1].source_line == count + 2);
}

TEST_CASE("request file: every strict prefix of a line is an error inside the line", "[request_file]") {
  TempDir dir;
  const std::string line =
      R"({"url":"http://h:81/a?b=1","method":"PUT","headers":[["X-A","1"],["X-B","\u00e9"]],)"
      R"("body":{"k":[1,-2.5e3,true,false,null,"s\"t"]},"timeout":0.5,"name":"n"})";
  REQUIRE(load(dir.write("whole.jsonl", line)).table.has_value());
  for (std::size_t n = 1; n < line.size(); ++n) {
    Loaded r = load(dir.write("prefix.jsonl", line.substr(0, n)));
    INFO(line.substr(0, n));
    REQUIRE_FALSE(r.table.has_value());
    CHECK(r.table.error().line == 1);
    CHECK(r.table.error().column >= 1);
    CHECK(r.table.error().column <= n + 1);
  }
}

TEST_CASE("RequestFileError::to_string", "[request_file]") {
  CHECK(ringload::RequestFileError{"f.jsonl", 3, 7, "bad"}.to_string() == "f.jsonl:3:7: bad");
  CHECK(ringload::RequestFileError{"f.jsonl", 0, 0, "cannot open"}.to_string() == "f.jsonl: cannot open");
}

TEST_CASE("request file: SSE and WebSocket lines", "[request_file][streams]") {
  TempDir dir;
  const std::string file = dir.write(
      "streams.jsonl",
      R"({"url":"http://h/feed","proto":"sse","max_events":5,"stream_timeout":1.5,"until":"[DONE]"})" "\n"
      R"({"url":"http://h/llm","proto":"sse","method":"POST","body":{"q":1},"headers":{"Accept":"text/event-stream; q=1"}})" "\n"
      R"({"url":"ws://h:81/chat?r=1","messages":["hi",{"binary_base64":"AAEC/w=="},{"text":"t"}],"subprotocols":["chat.v1","b"],"headers":{"Origin":"http://h"}})" "\n"
      R"({"url":"http://h/ws","proto":"ws","until":"bye","idle_timeout":0.25,"interval":0.5})" "\n"
      R"({"url":"ws://h/quiet"})" "\n"
      R"({"url":"http://h/plain"})" "\n");
  Loaded r = load(file);
  REQUIRE(r.table.has_value());
  const RequestTable& t = *r.table;
  REQUIRE(t.lines.size() == 6);
  REQUIRE(t.streams.size() == 5);

  const ringload::StreamSpec* sse = t.stream(t.lines[0]);
  REQUIRE(sse != nullptr);
  CHECK(sse->proto == ringload::StreamProto::sse);
  CHECK(sse->max_events == 5);
  CHECK(sse->stream_timeout_ns == 1'500'000'000);
  CHECK(sse->has_until);
  CHECK(sse->until == "[DONE]");
  CHECK_THAT(std::string(t.head(t.lines[0])), Catch::Contains("Accept: text/event-stream\r\n"));
  // A line's own Accept is kept, and not doubled.
  const std::string llm(t.head(t.lines[1]));
  CHECK(llm.find("Accept: text/event-stream; q=1\r\n") != std::string::npos);
  CHECK(llm.find("Accept:", llm.find("Accept:") + 1) == std::string::npos);
  CHECK(t.method(t.lines[1]) == "POST");
  CHECK(t.body(t.lines[1]) == R"({"q":1})");

  const ringload::StreamSpec* ws = t.stream(t.lines[2]);
  REQUIRE(ws != nullptr);
  CHECK(ws->proto == ringload::StreamProto::ws);
  REQUIRE(ws->messages.size() == 3);
  CHECK_FALSE(ws->messages[0].binary);
  CHECK(ws->messages[0].data == "hi");
  CHECK(ws->messages[1].binary);
  CHECK(ws->messages[1].data == std::string("\x00\x01\x02\xff", 4));
  CHECK(ws->messages[2].data == "t");
  // Nothing said when it ends: an echo of every message.
  CHECK(ws->has_expect);
  CHECK(ws->expect == 3);
  const std::string head(t.head(t.lines[2]));
  CHECK(head.rfind("GET /chat?r=1 HTTP/1.1\r\nHost: h:81\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", 0) == 0);
  CHECK_THAT(head, Catch::Contains("Sec-WebSocket-Version: 13\r\n"));
  CHECK_THAT(head, Catch::Contains("Sec-WebSocket-Protocol: chat.v1, b\r\n"));
  CHECK_THAT(head, Catch::Contains("Origin: http://h\r\n"));
  CHECK(head.substr(head.size() - 2) == "\r\n");
  CHECK(head.substr(ws->key_offset, 24) == "AAAAAAAAAAAAAAAAAAAAAA==");
  CHECK(head.substr(ws->key_offset - 19, 19) == "Sec-WebSocket-Key: ");
  CHECK(t.lines[2].body_len == 0);
  CHECK(origin_of(t, t.lines[2]) == "ws://h:81");

  // "proto": "ws" turns an http:// URL into ws://.
  const ringload::StreamSpec* ws2 = t.stream(t.lines[3]);
  REQUIRE(ws2 != nullptr);
  CHECK(origin_of(t, t.lines[3]) == "ws://h:80");
  CHECK(ws2->until == "bye");
  CHECK_FALSE(ws2->has_expect);
  CHECK(ws2->idle_timeout_ns == 250'000'000);
  CHECK(ws2->interval_ns == 500'000'000);
  // No messages and no stop rule: 1 s of quiet ends it.
  CHECK(t.stream(t.lines[4])->idle_timeout_ns == 1'000'000'000);
  CHECK(t.stream(t.lines[5]) == nullptr);
}
