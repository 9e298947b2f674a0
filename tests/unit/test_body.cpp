// BodyDecoder on its own: chunk-line syntax, limits at their boundaries, the
// one-span-per-call contract, finish(). Inputs end flush against a PROT_NONE page.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "proto/body.hpp"
#include "tests/support/cuts.hpp"
#include "tests/support/guard_page.hpp"

using namespace std::string_literals;
using namespace ringload::proto;
using namespace ringload::test;

namespace {

struct Run {
  Status status = Status::need_more;
  ParseError error = ParseError::none;
  std::size_t consumed = 0;  // bytes used, up to the end of the body or the error
  std::string data;
};

// Feeds one read (placed against the guard page) the way the engine does; stops at done
// or error.
void feed(BodyDecoder& d, std::span<const char> in, Run& run) {
  if (run.status != Status::need_more) return;
  do {
    const BodyResult r = d.feed(in);
    REQUIRE(r.consumed <= in.size());
    if (!r.data.empty()) {
      REQUIRE(r.data.data() >= in.data());
      REQUIRE(r.data.data() + r.data.size() <= in.data() + r.consumed);
    }
    run.data.append(r.data.data(), r.data.size());
    run.consumed += r.consumed;
    in = in.subspan(r.consumed);
    run.status = r.status;
    run.error = r.error;
    if (r.status == Status::need_more && !in.empty()) REQUIRE(r.consumed > 0);
  } while (run.status == Status::need_more && !in.empty());
  REQUIRE(d.body_bytes() == run.data.size());
}

void feed(BodyDecoder& d, GuardPage& guard, std::string_view chunk, Run& run) {
  feed(d, guard.place(chunk), run);
}

struct BodyVector {
  const char* name;
  std::string bytes;
  Status expect;
  ParseError error = ParseError::none;
  std::string data = "";
  std::size_t consumed = 0;  // where done stops (bytes after it belong to the next message)
};

std::string ext(std::size_t n) { return "1;" + std::string(n - 1, 'e') + "\r\nx\r\n0\r\n\r\n"; }
std::string trailer(std::size_t line) {  // one trailer field line of `line` bytes with its CRLF
  return "0\r\nX: " + std::string(line - 5, 't') + "\r\n\r\n";
}

constexpr auto ok = Status::done;
constexpr auto bad = Status::error;

std::vector<BodyVector> chunked_vectors() {
  const std::size_t max_ext = limits::max_chunk_ext_bytes;
  const std::size_t max_trailer = limits::max_trailer_bytes;
  return {
      {"one chunk", "5\r\nhello\r\n0\r\n\r\nNEXT", ok, {}, "hello", 15},
      {"empty body", "0\r\n\r\nNEXT", ok, {}, "", 5},
      {"hex digits", "a\r\n0123456789\r\nF\r\n0123456789abcde\r\n0\r\n\r\n", ok, {}, "0123456789" "0123456789abcde", 40},
      {"16 digits", "000000000000000A\r\n0123456789\r\n0\r\n\r\n", ok, {}, "0123456789", 35},
      {"extension names", "1;a;b;c\r\nx\r\n0;z\r\n\r\n", ok, {}, "x", 19},
      {"extension values", "1;a=1;b=tok;c=\"q s\"\r\nx\r\n0\r\n\r\n", ok, {}, "x", 29},
      {"quoted pair and obs-text", "1;a=\"\\\"\\\\\xe9\"\r\nx\r\n0\r\n\r\n", ok, {}, "x", 21},
      {"whitespace around ; and =", "1 \t; a = b ;c\r\nx\r\n0\r\n\r\n", ok, {}, "x", 23},
      {"whitespace after quoted value", "1;a=\"b\" ;c\r\nx\r\n0\r\n\r\n", ok, {}, "x", 20},
      {"trailers", "0\r\nA: 1\r\nB-c:\r\nD:  x y \r\n\r\nNEXT", ok, {}, "", 27},
      {"extension at the limit", ext(max_ext), ok, {}, "x", max_ext + 11},
      {"trailer at the limit", trailer(max_trailer), ok, {}, "", max_trailer + 5},
      {"17 digits", "00000000000000001\r\nx\r\n0\r\n\r\n", bad, ParseError::bad_chunk_size},
      {"no digits", "\r\n", bad, ParseError::bad_chunk_size},
      {"sign", "-1\r\n", bad, ParseError::bad_chunk_size},
      {"0x prefix", "0x1\r\n", bad, ParseError::bad_chunk_size},
      {"trailing whitespace", "5 \r\nhello\r\n0\r\n\r\n", bad, ParseError::bad_chunk_size},
      {"junk after whitespace", "5 x\r\n", bad, ParseError::bad_chunk_size},
      {"bare LF after size", "5\nhello\r\n", bad, ParseError::bad_chunk_size},
      {"CR without LF after size", "5\rhello\r\n", bad, ParseError::bad_chunk_size},
      {"empty extension", "5;\r\nhello\r\n", bad, ParseError::bad_chunk_extension},
      {"extension without name", "5;=v\r\n", bad, ParseError::bad_chunk_extension},
      {"extension without value", "5;a=\r\n", bad, ParseError::bad_chunk_extension},
      {"whitespace in name", "5;a b\r\n", bad, ParseError::bad_chunk_extension},
      {"trailing whitespace after value", "5;a=b \r\n", bad, ParseError::bad_chunk_extension},
      {"trailing whitespace after name", "5;a \r\n", bad, ParseError::bad_chunk_extension},
      {"unterminated quote", "5;a=\"x\r\nhello\r\n", bad, ParseError::bad_chunk_extension},
      {"control byte in quote", "5;a=\"\x01\"\r\n", bad, ParseError::bad_chunk_extension},
      {"junk after quote", "5;a=\"x\"y\r\n", bad, ParseError::bad_chunk_extension},
      {"extension over the limit", ext(max_ext + 1), bad, ParseError::bad_chunk_extension},
      {"data longer than size", "3\r\nabcd\r\n", bad, ParseError::bad_chunk_data_end},
      {"LF only after data", "3\r\nabc\n0\r\n\r\n", bad, ParseError::bad_chunk_data_end},
      {"CR then junk after data", "3\r\nabc\rx", bad, ParseError::bad_chunk_data_end},
      {"trailer without colon", "0\r\nX\r\n\r\n", bad, ParseError::bad_trailer},
      {"space in trailer name", "0\r\nX Y: z\r\n\r\n", bad, ParseError::bad_trailer},
      {"trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n", bad, ParseError::bad_trailer},
      {"bare LF in trailer", "0\r\nX: a\n\r\n", bad, ParseError::bad_trailer},
      {"control byte in trailer", "0\r\nX: \x7f\r\n\r\n", bad, ParseError::bad_trailer},
      {"CR without LF at the end", "0\r\n\rX", bad, ParseError::bad_trailer},
      {"trailer over the limit", trailer(max_trailer + 1), bad, ParseError::trailer_too_large},
  };
}

void check(const BodyVector& v, const Run& r) {
  CHECK(r.status == v.expect);
  CHECK(r.error == v.error);
  if (v.expect == Status::done) {
    CHECK(r.data == v.data);
    CHECK(r.consumed == v.consumed);
  }
}

}  // namespace

TEST_CASE("chunked vectors fed whole, split and byte by byte", "[body]") {
  GuardPage guard;
  for (const BodyVector& v : chunked_vectors()) {
    INFO("vector: " << v.name);
    for (const Cut& cut : cuts(v.bytes.size(), {.dense = 512, .stride = 37})) {
      INFO(cut.label(v.bytes.size()));
      BodyDecoder d;
      d.reset(BodyKind::chunked, 0);
      Run run;
      feed_guarded(v.bytes, cut, guard, [&](std::span<const char> read, std::size_t end) {
        feed(d, read, run);
        // A strict prefix of a valid body needs more.
        if (v.expect == Status::done && end < v.consumed) REQUIRE(run.status == Status::need_more);
      });
      check(v, run);
    }
  }
}

TEST_CASE("content-length body stops at its end", "[body]") {
  GuardPage guard;
  BodyDecoder d;
  d.reset(BodyKind::content_length, 5);
  Run r;
  feed(d, guard, "hel", r);
  CHECK(r.status == Status::need_more);
  CHECK(d.body_bytes() == 3);
  feed(d, guard, "loHTTP/1.1", r);
  CHECK(r.status == Status::done);
  CHECK(r.consumed == 5);
  CHECK(r.data == "hello");
  CHECK(d.complete());
  CHECK(d.finish() == Status::done);
}

TEST_CASE("zero length and none are complete at once", "[body]") {
  BodyDecoder d;
  d.reset(BodyKind::content_length, 0);
  CHECK(d.complete());
  const BodyResult r = d.feed(std::span<const char>("x", 1));
  CHECK(r.status == Status::done);
  CHECK(r.consumed == 0);
  CHECK(r.data.empty());
  d.reset(BodyKind::none, 99);
  CHECK(d.complete());
  ResponseHead head;
  head.body = BodyKind::content_length;
  head.content_length = 2;
  d.reset(head);
  CHECK_FALSE(d.complete());
  CHECK(d.feed(std::span<const char>("ab", 2)).status == Status::done);
}

TEST_CASE("one data span per call", "[body]") {
  GuardPage guard;
  BodyDecoder d;
  d.reset(BodyKind::chunked, 0);
  std::span<const char> in = guard.place("3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n");
  BodyResult r = d.feed(in);
  CHECK(r.status == Status::need_more);
  CHECK(std::string(r.data.data(), r.data.size()) == "abc");
  CHECK(r.consumed == 11);  // up to the next data, which waits for the next call
  in = in.subspan(r.consumed);
  r = d.feed(in);
  CHECK(r.status == Status::done);
  CHECK(std::string(r.data.data(), r.data.size()) == "def");
  CHECK(r.consumed == in.size());
}

TEST_CASE("empty input and feeds after the end", "[body]") {
  BodyDecoder d;
  d.reset(BodyKind::content_length, 3);
  BodyResult r = d.feed({});
  CHECK(r.status == Status::need_more);
  CHECK(r.consumed == 0);
  CHECK(d.feed(std::span<const char>("abc", 3)).status == Status::done);
  r = d.feed(std::span<const char>("more", 4));
  CHECK(r.status == Status::done);
  CHECK(r.consumed == 0);
}

TEST_CASE("an error repeats and consumes nothing", "[body]") {
  BodyDecoder d;
  d.reset(BodyKind::chunked, 0);
  BodyResult r = d.feed(std::span<const char>("zz", 2));
  CHECK(r.status == Status::error);
  CHECK(r.error == ParseError::bad_chunk_size);
  CHECK(r.consumed == 0);
  r = d.feed(std::span<const char>("0\r\n\r\n", 5));
  CHECK(r.status == Status::error);
  CHECK(r.error == ParseError::bad_chunk_size);
  CHECK(r.consumed == 0);
  CHECK(d.feed({}).status == Status::error);
  CHECK(d.finish() == Status::error);
}

TEST_CASE("finish at the peer's close", "[body]") {
  GuardPage guard;
  BodyDecoder d;
  d.reset(BodyKind::until_close, 0);
  Run r;
  feed(d, guard, "all of it", r);
  CHECK(r.status == Status::need_more);
  CHECK(r.data == "all of it");
  CHECK(d.finish() == Status::done);
  CHECK(d.complete());

  d.reset(BodyKind::content_length, 10);
  CHECK(d.feed(std::span<const char>("abc", 3)).status == Status::need_more);
  CHECK(d.finish() == Status::error);
  const BodyResult after = d.feed(std::span<const char>("x", 1));
  CHECK(after.status == Status::error);
  CHECK(after.error == ParseError::unexpected_eof);

  d.reset(BodyKind::chunked, 0);
  CHECK(d.feed(std::span<const char>("3\r\nabc\r\n", 8)).status == Status::need_more);
  CHECK(d.finish() == Status::error);

  BodyDecoder fresh;  // nothing to wait for
  CHECK(fresh.finish() == Status::done);
}

TEST_CASE("huge content-length counts down without overflow", "[body]") {
  BodyDecoder d;
  d.reset(BodyKind::content_length, UINT64_MAX);
  const std::string block(4096, 'b');
  for (int i = 0; i < 4; ++i) {
    const BodyResult r = d.feed(block);
    CHECK(r.status == Status::need_more);
    CHECK(r.consumed == block.size());
  }
  CHECK(d.body_bytes() == 4 * block.size());
  CHECK(d.finish() == Status::error);
}

TEST_CASE("largest chunk size", "[body]") {
  BodyDecoder d;
  d.reset(BodyKind::chunked, 0);
  const std::string line = "ffffffffffffffff\r\nabc";
  const BodyResult r = d.feed(line);
  CHECK(r.status == Status::need_more);
  CHECK(r.consumed == line.size());
  CHECK(std::string(r.data.data(), r.data.size()) == "abc");
}
