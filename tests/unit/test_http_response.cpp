// Response vectors through the head parser and the body decoder, fed the way the engine
// feeds them: whole, split at every offset into two reads, and byte by byte, each read
// ending flush against a PROT_NONE page.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "proto/body.hpp"
#include "proto/http_response.hpp"
#include "tests/support/cuts.hpp"
#include "tests/support/guard_page.hpp"

using namespace std::string_literals;
using namespace ringload::proto;
using namespace ringload::test;

namespace {

constexpr std::size_t header_capacity = 32;

const char* name_of(Status s) {
  switch (s) {
    case Status::done: return "done";
    case Status::need_more: return "need_more";
    case Status::error: return "error";
  }
  return "?";
}

const char* name_of(BodyKind k) {
  switch (k) {
    case BodyKind::none: return "none";
    case BodyKind::content_length: return "content_length";
    case BodyKind::chunked: return "chunked";
    case BodyKind::until_close: return "until_close";
  }
  return "?";
}

// What a run produced. The fields describe the last final (non-1xx) head parsed.
struct Outcome {
  Status status = Status::need_more;
  ParseError error = ParseError::none;
  Status at_eof = Status::error;  // after the peer closes, when status is need_more
  int messages = 0;               // final responses complete
  int code = 0;
  std::size_t num_headers = 0;
  BodyKind body = BodyKind::none;
  uint64_t content_length = 0;
  bool keep_alive = false;
  bool upgrade = false;
  std::string body_bytes;  // decoded body bytes of every response, concatenated
};

std::string describe(const Outcome& o) {
  std::string s = "status="s + name_of(o.status);
  if (o.status == Status::error) return s + " error=" + to_string(o.error);
  if (o.status == Status::need_more) s += " eof="s + name_of(o.at_eof);
  return s + " messages=" + std::to_string(o.messages) + " code=" + std::to_string(o.code) +
         " headers=" + std::to_string(o.num_headers) + " body=" + name_of(o.body) +
         " length=" + std::to_string(o.content_length) + " keep_alive=" +
         std::to_string(o.keep_alive) + " upgrade=" + std::to_string(o.upgrade) + " bytes=\"" +
         o.body_bytes + "\"";
}

// The engine's loop, in miniature: a head is re-parsed on a growing carry buffer with
// last_len; 1xx heads are skipped; the bytes after a head go to the body decoder; what
// follows a body starts the next response (pipelining).
class Client {
 public:
  Client(GuardPage& guard, bool head_request) : guard_(guard), head_request_(head_request) {}

  // One read, already placed against the guard page.
  void read(std::span<const char> chunk) {
    if (phase_ == Phase::head) {
      carry_.append(chunk.data(), chunk.size());
      pump_head();
    } else if (phase_ == Phase::body) {
      pump_body(chunk);
    }
  }

  Outcome outcome() const {
    Outcome o = out_;
    switch (phase_) {
      case Phase::failed: o.status = Status::error; break;
      case Phase::upgraded: o.status = Status::done; break;
      case Phase::body: o.status = Status::need_more; break;
      case Phase::head:
        o.status = carry_.empty() && o.messages > 0 ? Status::done : Status::need_more;
        break;
    }
    return o;
  }

  // The peer closed: done when the close ends a response, error when one was cut.
  Outcome close() {
    Outcome o = outcome();
    if (phase_ == Phase::body) {
      o.at_eof = decoder_.finish();
    } else {
      o.at_eof = o.status == Status::done ? Status::done : Status::error;
    }
    return o;
  }

  bool upgraded() const { return phase_ == Phase::upgraded; }

 private:
  enum class Phase { head, body, upgraded, failed };

  void fail(ParseError e) {
    phase_ = Phase::failed;
    out_.error = e;
  }

  void pump_head() {
    for (;;) {
      const std::span<const char> buf = guard_.place(carry_);
      ResponseHead head;
      const HeadResult r = parse_response_head(buf, last_len_, head, headers_, head_request_);
      REQUIRE(r.consumed <= buf.size());
      if (r.status == Status::need_more) {
        REQUIRE(r.consumed == 0);
        last_len_ = carry_.size();
        return;
      }
      if (r.status == Status::error) return fail(r.error);
      REQUIRE(r.consumed > 0);
      REQUIRE(head.num_headers <= header_capacity);
      last_len_ = 0;
      if (head.status < 200 && head.status != 101) {  // interim response: the next head
        REQUIRE(head.body == BodyKind::none);
        carry_.erase(0, r.consumed);
        continue;
      }
      out_.code = head.status;
      out_.num_headers = head.num_headers;
      out_.body = head.body;
      out_.content_length = head.content_length;
      out_.keep_alive = head.keep_alive;
      out_.upgrade = head.upgrade;
      if (head.upgrade) {  // what follows is another protocol
        ++out_.messages;
        phase_ = Phase::upgraded;
        return;
      }
      decoder_.reset(head);
      phase_ = Phase::body;
      const std::string rest = carry_.substr(r.consumed);
      carry_.clear();
      return pump_body(guard_.place(rest));
    }
  }

  void pump_body(std::span<const char> in) {
    for (;;) {
      const uint64_t before = decoder_.body_bytes();
      const BodyResult r = decoder_.feed(in);
      REQUIRE(r.consumed <= in.size());
      if (!r.data.empty()) {
        REQUIRE(r.data.data() >= in.data());
        REQUIRE(r.data.data() + r.data.size() <= in.data() + r.consumed);
      }
      REQUIRE(decoder_.body_bytes() == before + r.data.size());
      out_.body_bytes.append(r.data.data(), r.data.size());
      in = in.subspan(r.consumed);
      if (r.status == Status::error) return fail(r.error);
      if (r.status == Status::done) break;
      if (in.empty()) return;
      REQUIRE(r.consumed > 0);  // the contract: progress on non-empty input
    }
    if (out_.body == BodyKind::content_length) REQUIRE(decoder_.body_bytes() == out_.content_length);
    ++out_.messages;
    phase_ = Phase::head;
    if (in.empty()) return;
    carry_.assign(in.data(), in.size());
    pump_head();
  }

  GuardPage& guard_;
  bool head_request_;
  Phase phase_ = Phase::head;
  std::string carry_;
  std::size_t last_len_ = 0;
  BodyDecoder decoder_;
  std::array<Header, header_capacity> headers_{};
  Outcome out_;
};

struct Vector {
  const char* name;
  std::string bytes;
  Status expect = Status::done;
  ParseError error = ParseError::none;
  bool head_request = false;
  int code = 200;
  std::size_t num_headers = 0;
  BodyKind body = BodyKind::none;
  uint64_t content_length = 0;
  bool keep_alive = true;
  std::string body_bytes = "";
  int messages = 1;
  Status at_eof = Status::error;
  bool upgrade = false;
};

Outcome expected(const Vector& v) {
  return Outcome{v.expect, v.error, v.at_eof, v.messages, v.code, v.num_headers, v.body,
                 v.content_length, v.keep_alive, v.upgrade, v.body_bytes};
}

// A strict prefix of a valid stream never errs and never completes its last response.
void check_prefix(const Vector& v, const Client& c, std::size_t len) {
  if (v.expect == Status::error || c.upgraded()) return;
  const Outcome o = c.outcome();
  INFO("prefix of " << len << " bytes: " << describe(o));
  REQUIRE(o.status != Status::error);
  // A vector cut inside its last response may pass through done after an earlier one.
  if (o.status == Status::done) {
    REQUIRE(o.messages <= v.messages);
    if (v.expect == Status::done) REQUIRE(o.messages < v.messages);
  }
}

constexpr auto ok = Status::done;
constexpr auto more = Status::need_more;
constexpr auto bad = Status::error;
constexpr auto none = BodyKind::none;
constexpr auto length = BodyKind::content_length;
constexpr auto chunked = BodyKind::chunked;
constexpr auto until_close = BodyKind::until_close;

std::string big_header(std::size_t n) {
  return "HTTP/1.1 200 OK\r\nX-Big: " + std::string(n, 'a') + "\r\n\r\n";
}

std::string many_headers(std::size_t n) {
  std::string s = "HTTP/1.1 200 OK\r\n";
  for (std::size_t i = 0; i < n; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
  return s + "Content-Length: 0\r\n\r\n";
}

const std::string te = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

std::vector<Vector> vectors() {
  return {
      // Status line and header syntax.
      {"simple content-length", "HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 5\r\n\r\nhello", ok, {}, false, 200, 2, length, 5, true, "hello"},
      {"content-length zero", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ok, {}, false, 200, 1, none},
      {"no reason phrase", "HTTP/1.1 301\r\nContent-Length: 2\r\n\r\nok", ok, {}, false, 301, 1, length, 2, true, "ok"},
      {"empty reason after SP", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", ok, {}, false, 200, 1},
      {"obs-text in reason", "HTTP/1.1 500 Ori\xc3\xab" "ntatieprobleem\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", ok, {}, false, 500, 2, none, 0, false},
      {"tabs around content-length", "HTTP/1.1 200 OK\r\nContent-Length:\t3\t\r\n\r\nabc", ok, {}, false, 200, 1, length, 3, true, "abc"},
      {"unusual token names", "HTTP/1.1 200 OK\r\nX-$PrototypeBI-Version: 1.6.0.3\r\nDCLK_imp: v7;x;;~cs=o\r\nContent-Length: 0\r\n\r\n", ok, {}, false, 200, 3},
      {"empty header values", "HTTP/1.1 200 OK\r\nPragma:\r\nX-Empty:   \r\nContent-Length: 0\r\n\r\n", ok, {}, false, 200, 3},
      {"leading CRLF before status line", "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ok, {}, false, 200, 1},
      // Content-Length and Transfer-Encoding.
      {"repeated identical content-length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", ok, {}, false, 200, 2, length, 3, true, "abc"},
      {"chunked", te + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", ok, {}, false, 200, 1, chunked, 0, true, "hello world"},
      {"chunked with extensions", "HTTP/1.1 200 OK\r\nHost: localhost\r\nTransfer-encoding: chunked\r\n\r\n5;ilovew3;somuchlove=aretheseparametersfor\r\nhello\r\n6;blahblah;blah\r\n world\r\n0\r\n\r\n", ok, {}, false, 200, 2, chunked, 0, true, "hello world"},
      {"chunked with quoted extensions", te + "5;a=\"I love; extensions\";b=\"q\\\"x\";c;d = e\r\nhello\r\n0;last=\"\"\r\n\r\n", ok, {}, false, 200, 1, chunked, 0, true, "hello"},
      {"chunked with trailers", te + "3\r\nabc\r\n0\r\nExpires: never\r\nX-Checksum:  abc  \r\n\r\n", ok, {}, false, 200, 1, chunked, 0, true, "abc"},
      {"chunk sizes: case, leading zeros", te + "A\r\n0123456789\r\n1c\r\n" + std::string(28, 'x') + "\r\n0005\r\nhello\r\n000\r\n\r\n", ok, {}, false, 200, 1, chunked, 0, true, "0123456789" + std::string(28, 'x') + "hello"},
      {"16-digit chunk size", te + "000000000000000a\r\n0123456789\r\n0\r\n\r\n", ok, {}, false, 200, 1, chunked, 0, true, "0123456789"},
      {"whitespace before chunk extension", te + "3 ;x=y\r\nabc\r\n0\t;z\r\n\r\n", ok, {}, false, 200, 1, chunked, 0, true, "abc"},
      {"gzip then chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", ok, {}, false, 200, 1, chunked, 0, true, "abc"},
      {"transfer-encoding case-insensitive", "HTTP/1.1 200 OK\r\nTransfer-encoding: CHUNKED\r\n\r\n2\r\nok\r\n0\r\n\r\n", ok, {}, false, 200, 1, chunked, 0, true, "ok"},
      {"chunked not last reads until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, deflate\r\n\r\nWorld", more, {}, false, 200, 1, until_close, 0, false, "World", 0, ok},
      {"chunked then identity lines", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\nWorld", more, {}, false, 200, 2, until_close, 0, false, "World", 0, ok},
      {"chunkedchunked is not chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunkedchunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n", more, {}, false, 200, 1, until_close, 0, false, "2\r\nOK\r\n0\r\n\r\n", 0, ok},
      {"Content-Length-X is not Content-Length", "HTTP/1.1 200 OK\r\nContent-Length-X: 0\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n", ok, {}, false, 200, 2, chunked, 0, true, "OK"},
      {"HTTP/1.1 without length reads until close", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world", more, {}, false, 200, 1, until_close, 0, false, "hello world", 0, ok},
      {"truncated content-length body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", more, {}, false, 200, 1, length, 10, true, "hello", 0, bad},
      {"truncated chunked body", te + "5\r\nhel", more, {}, false, 200, 1, chunked, 0, true, "hel", 0, bad},
      // Responses without a body.
      {"HEAD response with Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 123\r\n\r\n", ok, {}, true, 200, 1, none, 123},
      {"HEAD response with chunked", te, ok, {}, true, 200, 1, none},
      {"largest Content-Length on HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n", ok, {}, true, 200, 1, none, UINT64_MAX},
      {"204 has no body", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", ok, {}, false, 204, 1, none, 5},
      {"304 then 200", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", ok, {}, false, 200, 1, length, 5, true, "hello", 2},
      {"100 Continue then 200", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", ok, {}, false, 200, 1, length, 2, true, "ok"},
      {"103 Early Hints then 200", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc", ok, {}, false, 200, 2, length, 3, true, "abc"},
      {"101 upgrade ignores Content-Length", "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: h2c\r\nContent-Length: 4\r\n\r\nbody\nproto", ok, {}, false, 101, 3, none, 4, true, "", 1, bad, true},
      // Persistence.
      {"HTTP/1.0 close-delimited", "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world", more, {}, false, 200, 1, until_close, 0, false, "hello world", 0, ok},
      {"HTTP/1.0 keep-alive with length", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", ok, {}, false, 200, 2, length, 2, true, "ok"},
      {"HTTP/1.0 keep-alive in a token list", "HTTP/1.0 200 OK\r\nConnection: TE,  Keep-Alive \r\nContent-Length: 0\r\n\r\n", ok, {}, false, 200, 2, none, 0, true},
      {"HTTP/1.0 length without keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", ok, {}, false, 200, 1, length, 2, false, "ok"},
      {"Connection: close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", ok, {}, false, 200, 2, length, 2, false, "ok"},
      {"close among Connection lines", "HTTP/1.1 200 OK\r\nConnection: Upgrade, Keep-Alive\r\nConnection: foo,  CLOSE \r\nContent-Length: 0\r\n\r\n", ok, {}, false, 200, 3, none, 0, false},
      {"Proxy-Connection: close", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nProxy-Connection: close\r\n\r\nx", ok, {}, false, 200, 2, length, 1, false, "x"},
      {"HTTP/1.0 chunked closes", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", ok, {}, false, 200, 2, chunked, 0, false, "x"},
      // Pipelining.
      {"pipelined length then chunked", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc" + te + "5\r\nhello\r\n0\r\n\r\n", ok, {}, false, 200, 1, chunked, 0, true, "abchello", 2},
      {"pipelined with CRLF between, last cut", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nAAA\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nBBBB\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 5\r\n\r\nCCCC", more, {}, false, 202, 1, length, 5, true, "AAABBBBCCCC", 2, bad},
      // Invalid status lines.
      {"incomplete protocol", "HTP/1.1 200 OK\r\n\r\n", bad, ParseError::bad_version},
      {"HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", bad, ParseError::bad_version},
      {"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", bad, ParseError::bad_version},
      {"HTTP/0.9 (llhttp accepts)", "HTTP/0.9 200 OK\r\n\r\n", bad, ParseError::bad_version},
      {"RTSP (llhttp accepts)", "RTSP/1.1 200 OK\r\n\r\n", bad, ParseError::bad_version},
      {"extra digit in major version", "HTTP/01.1 200 OK\r\n\r\n", bad, ParseError::bad_version},
      {"extra digit in minor version", "HTTP/1.01 200 OK\r\n\r\n", bad, ParseError::bad_version},
      {"tab after version", "HTTP/1.1\t200 OK\r\n\r\n", bad, ParseError::bad_version},
      {"two spaces before status", "HTTP/1.1  200 OK\r\n\r\n", bad, ParseError::bad_status},
      {"one-digit status", "HTTP/1.1 2 OK\r\n\r\n", bad, ParseError::bad_status},
      {"status below 100", "HTTP/1.1 099 Low\r\n\r\n", bad, ParseError::bad_status},
      {"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", bad, ParseError::bad_status},
      {"letter in status", "HTTP/1.1 20x OK\r\n\r\n", bad, ParseError::bad_status},
      {"only LFs", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", bad, ParseError::bad_reason},
      {"bare CR after status line", "HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n", bad, ParseError::bad_reason},
      {"control byte in reason", "HTTP/1.1 200 O\x01" "K\r\n\r\n", bad, ParseError::bad_reason},
      {"DEL in reason", "HTTP/1.1 200 O\x7f" "K\r\n\r\n", bad, ParseError::bad_reason},
      // Invalid header lines.
      {"headers separated by CR", "HTTP/1.1 200 OK\r\nFoo: 1\rBar: 2\r\n\r\n", bad, ParseError::bad_header_value},
      {"NUL in value", "HTTP/1.1 200 OK\r\nFoo: a\0b\r\n\r\n"s, bad, ParseError::bad_header_value},
      {"bare LF after a header", "HTTP/1.1 200 OK\r\nFoo: bar\n\r\n", bad, ParseError::bad_header_value},
      {"space in header name", "HTTP/1.1 200 OK\r\nen-US Content-Type: text/xml\r\n\r\n", bad, ParseError::bad_header_name},
      {"space before colon", "HTTP/1.1 200 OK\r\nFoo : bar\r\n\r\n", bad, ParseError::bad_header_name},
      {"empty header name", "HTTP/1.1 200 OK\r\n: bar\r\n\r\n", bad, ParseError::bad_header_name},
      {"obs-fold", "HTTP/1.1 200 OK\r\nFoo: a\r\n b\r\n\r\n", bad, ParseError::bad_header_value},
      {"space after status line", "HTTP/1.1 200 OK\r\n Host: foo\r\n\r\n", bad, ParseError::bad_header_value},
      {"obs-fold after chunked (llhttp strict)", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n  abc\r\n\r\n5\r\nWorld\r\n0\r\n\r\n", bad, ParseError::bad_header_value},
      {"content-length with a letter", "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n", bad, ParseError::bad_content_length},
      {"content-length list", "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx", bad, ParseError::bad_content_length},
      {"empty content-length", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", bad, ParseError::bad_content_length},
      {"negative content-length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", bad, ParseError::bad_content_length},
      {"content-length overflow", "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", bad, ParseError::bad_content_length},
      {"conflicting content-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", bad, ParseError::conflicting_content_length},
      {"transfer-encoding with content-length", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", bad, ParseError::bad_transfer_encoding},
      {"too many headers", many_headers(header_capacity), bad, ParseError::too_many_headers},
      {"huge header block", big_header(70000), bad, ParseError::header_too_large},
      // Invalid chunked framing (more in test_body.cpp).
      {"chunk size overflow", te + "10000000000000000\r\n", bad, ParseError::bad_chunk_size},
      {"chunk size not hex", te + "g\r\n", bad, ParseError::bad_chunk_size},
      {"chunk size with trailing spaces", te + "25  \r\nThis is the data in the first chunk\r\n0\r\n\r\n", bad, ParseError::bad_chunk_size},
      {"no semicolon before extension", te + "2 erfrferferf\r\naa\r\n0 rrrr\r\n\r\n", bad, ParseError::bad_chunk_size},
      {"no extension after semicolon", te + "2;\r\naa\r\n0\r\n\r\n", bad, ParseError::bad_chunk_extension},
      {"unbalanced extension quote", te + "5;a=\"abc\";b=\"def; ghi\r\nhello\r\n0\r\n\r\n", bad, ParseError::bad_chunk_extension},
      {"chunk data too long", te + "3\r\nabcd\r\n0\r\n\r\n", bad, ParseError::bad_chunk_data_end},
      {"trailer without colon", te + "0\r\nNoColon\r\n\r\n", bad, ParseError::bad_trailer},
      {"trailer too large", te + "0\r\nX: " + std::string(limits::max_trailer_bytes, 'a') + "\r\n\r\n", bad, ParseError::trailer_too_large},
  };
}

// Longer vectors are split at sampled offsets and fed in 97-byte reads: the carry is
// re-copied against the guard page per read.
constexpr ringload::test::CutPlan plan{.dense = 4096, .long_step = 97};

}  // namespace

TEST_CASE("response vectors fed whole, split and byte by byte", "[http]") {
  const std::vector<Vector> table = vectors();
  CHECK(table.size() >= 40);
  GuardPage guard;
  for (const Vector& v : table) {
    INFO("vector: " << v.name);
    const std::string want = describe(expected(v));
    const std::size_t n = v.bytes.size();
    for (const Cut& cut : cuts(n, plan)) {
      INFO(cut.label(n));
      Client c(guard, v.head_request);
      feed_guarded(v.bytes, cut, guard, [&](std::span<const char> read, std::size_t end) {
        c.read(read);
        if (end < n) check_prefix(v, c, end);
      });
      const std::string got = describe(c.close());
      if (got != want) {
        CHECK(got == want);
        break;
      }
    }
  }
}

TEST_CASE("head fields point into the buffer", "[http]") {
  GuardPage guard;
  const std::span<const char> buf = guard.place(
      "HTTP/1.0 404 Not  Found \r\nContent-Type:\t text/plain \t\r\nX-Empty: \r\n"
      "content-length: 3\r\n\r\nabc");
  std::array<Header, 4> headers{};
  ResponseHead head;
  const HeadResult r = parse_response_head(buf, 0, head, headers, false);
  REQUIRE(r.status == Status::done);
  CHECK(r.consumed == buf.size() - 3);
  CHECK(head.version_minor == 0);
  CHECK(head.status == 404);
  CHECK(head.reason == "Not  Found ");
  REQUIRE(head.num_headers == 3);
  CHECK(headers[0].name == "Content-Type");
  CHECK(headers[0].value == "text/plain");
  CHECK(headers[1].name == "X-Empty");
  CHECK(headers[1].value.empty());
  CHECK(headers[2].value == "3");
  CHECK(headers[1].name.data() >= buf.data());
  CHECK(headers[2].value.data() + 3 <= buf.data() + buf.size());
  CHECK(head.body == BodyKind::content_length);
  CHECK(head.content_length == 3);
  CHECK_FALSE(head.keep_alive);
}

TEST_CASE("interim and final heads in one buffer", "[http]") {
  const std::string bytes = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
  std::array<Header, 4> headers{};
  ResponseHead head;
  HeadResult r = parse_response_head(bytes, 0, head, headers, false);
  REQUIRE(r.status == Status::done);
  CHECK(r.consumed == 25);
  CHECK(head.status == 100);
  CHECK(head.body == BodyKind::none);
  CHECK_FALSE(head.upgrade);
  r = parse_response_head(std::span<const char>(bytes).subspan(r.consumed), 0, head, headers, false);
  REQUIRE(r.status == Status::done);
  CHECK(head.status == 204);
}

TEST_CASE("header capacity", "[http]") {
  ResponseHead head;
  const std::string no_headers = "HTTP/1.1 200 OK\r\n\r\n";
  CHECK(parse_response_head(no_headers, 0, head, {}, false).status == Status::done);
  const std::string one = "HTTP/1.1 200 OK\r\nA: b\r\n\r\n";
  const HeadResult r = parse_response_head(one, 0, head, {}, false);
  CHECK(r.status == Status::error);
  CHECK(r.error == ParseError::too_many_headers);
  std::array<Header, 1> headers{};
  CHECK(parse_response_head(one, 0, head, headers, false).status == Status::done);
}

TEST_CASE("last_len: a slow head is scanned once and still parsed", "[http]") {
  const std::string bytes = "HTTP/1.1 200 OK\r\nA: b\r\nContent-Length: 0\r\n\r\n";
  std::array<Header, 4> headers{};
  ResponseHead head;
  // A caller that got need_more at every length before this one.
  for (std::size_t last = 1; last < bytes.size(); ++last) {
    const HeadResult r = parse_response_head(bytes, last, head, headers, false);
    INFO("last_len " << last);
    CHECK(r.status == Status::done);
    CHECK(r.consumed == bytes.size());
  }
  // A last_len past the end is ignored rather than trusted.
  CHECK(parse_response_head(bytes, bytes.size() + 5, head, headers, false).status == Status::done);
}

TEST_CASE("the head size limit", "[http]") {
  std::array<Header, 4> headers{};
  ResponseHead head;
  const std::string fits = big_header(limits::max_head_bytes - big_header(0).size());
  REQUIRE(fits.size() == limits::max_head_bytes);
  HeadResult r = parse_response_head(fits, 0, head, headers, false);
  CHECK(r.status == Status::done);
  CHECK(r.consumed == limits::max_head_bytes);
  const std::string over = big_header(limits::max_head_bytes + 1 - big_header(0).size());
  r = parse_response_head(over, 0, head, headers, false);
  CHECK(r.status == Status::error);
  CHECK(r.error == ParseError::header_too_large);
  // The same through the last_len path.
  r = parse_response_head(over, over.size() - 1, head, headers, false);
  CHECK(r.error == ParseError::header_too_large);
  // An unfinished head that has reached the limit will not fit.
  const std::string unfinished = "HTTP/1.1 200 OK\r\nX: " + std::string(limits::max_head_bytes, 'a');
  r = parse_response_head(unfinished, 0, head, headers, false);
  CHECK(r.error == ParseError::header_too_large);
  r = parse_response_head(std::string_view(unfinished).substr(0, limits::max_head_bytes - 1), 0,
                          head, headers, false);
  CHECK(r.status == Status::need_more);
}

TEST_CASE("iequals", "[http]") {
  CHECK(iequals("Content-Length", "content-length"));
  CHECK(iequals("", ""));
  CHECK_FALSE(iequals("Content-Length", "content-lengt"));
  CHECK_FALSE(iequals("a", "b"));
  CHECK_FALSE(iequals("\xc1", "\xe1"));  // ASCII folding only
}

TEST_CASE("every parse error has its own text", "[http]") {
  std::vector<std::string> seen;
  for (int e = 0; e <= static_cast<int>(ParseError::unexpected_eof); ++e) {
    const std::string text = to_string(static_cast<ParseError>(e));
    CHECK_FALSE(text.empty());
    CHECK(std::find(seen.begin(), seen.end(), text) == seen.end());
    seen.push_back(text);
  }
}
