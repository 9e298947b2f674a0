// SseParser: WHATWG line and field rules, event dispatch, limits at their boundaries,
// the feed() contract. Every vector runs whole, split at every offset and byte by byte;
// each piece ends flush against a PROT_NONE page and is overwritten by the next piece,
// so a parser that kept a view of an earlier input would read the wrong bytes.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/sse.hpp"
#include "tests/support/cuts.hpp"
#include "tests/support/guard_page.hpp"

using namespace std::string_literals;
using namespace ringload::proto;
using namespace ringload::test;

namespace {

struct Ev {
  std::string type;
  std::string data;
  std::string id;
  bool has_id = false;
  bool has_retry = false;
  uint32_t retry = 0;
  bool operator==(const Ev&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Ev& e) {
  return os << "{type '" << e.type << "' data '" << e.data << "' id '" << e.id << "' has_id "
            << e.has_id << " retry " << e.has_retry << '/' << e.retry << '}';
}

struct Run {
  std::vector<Ev> events;
  Status status = Status::need_more;
  ParseError error = ParseError::none;
  std::size_t consumed = 0;  // up to the error, or everything
};

// Feeds one piece (placed against the guard page) the way the engine does: loops over
// done, stops at error.
void feed(SseParser& p, std::span<const char> in, Run& run) {
  if (run.status == Status::error) return;
  do {
    SseEvent ev;
    const SseResult r = p.feed(in, ev);
    REQUIRE(r.consumed <= in.size());
    run.consumed += r.consumed;
    run.status = r.status;
    run.error = r.error;
    if (r.status == Status::error) return;
    if (r.status == Status::need_more) {
      REQUIRE(r.consumed == in.size());
      return;
    }
    REQUIRE(r.consumed > 0);
    run.events.push_back({std::string(ev.type), std::string(ev.data), std::string(ev.id),
                          ev.has_id, ev.has_retry, ev.retry_ms});
    REQUIRE(p.last_event_id() == ev.id);
    in = in.subspan(r.consumed);
  } while (!in.empty());
  run.status = Status::need_more;
}

struct SseVector {
  const char* name;
  std::string bytes;
  std::vector<Ev> events;
  uint64_t comments = 0;
  bool cut_off = false;  // finish() reports an event cut off
  std::string last_id = "";
  std::optional<uint32_t> retry = std::nullopt;
  ParseError error = ParseError::none;
  std::size_t error_at = 0;                           // consumed when error != none
  std::size_t max = limits::max_sse_event_bytes;
};

const std::string bom = "\xEF\xBB\xBF";
const std::string x15(15, 'x');

std::vector<SseVector> vectors() {
  const auto big = ParseError::sse_event_too_large;
  return {
      {"one event", "data: hello\n\n", {{.data = "hello"}}},
      {"empty input", "", {}},
      {"multi-line data", "data: a\ndata: b\ndata:\ndata: c\n\n", {{.data = "a\nb\n\nc"}}},
      {"two events", "data: 1\n\ndata: 2\n\n", {{.data = "1"}, {.data = "2"}}},
      {"comments", ": hi\n:\ndata: x\n: mid\n\n:tail\n", {{.data = "x"}}, 4},
      {"keep-alive comments", ":\n\n: ping\n\n", {}, 2},
      {"unfinished comment", ": a", {}, 0},
      {"ids persist", "id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\ndata: d\n\n",
       {{.data = "a", .id = "1", .has_id = true}, {.data = "b", .id = "1"},
        {.data = "c", .has_id = true}, {.data = "d"}}},
      {"id without data takes effect", "id: 7\n\ndata: a\n\n", {{.data = "a", .id = "7"}}, 0,
       false, "7"},
      {"id with NUL ignored", "id: 7\n\nid: x\0y\ndata: a\n\n"s, {{.data = "a", .id = "7"}}, 0,
       false, "7"},
      {"NUL id after a valid one", "id: 1\nid: \0\ndata: a\n\n"s,
       {{.data = "a", .id = "1", .has_id = true}}, 0, false, "1"},
      {"id keeps inner spaces", "id:  a b \ndata: x\n\n",
       {{.data = "x", .id = " a b ", .has_id = true}}, 0, false, " a b "},
      {"event names", "event: add\ndata: 1\n\nevent: remove\ndata: 2\n\ndata: 3\n\n",
       {{.type = "add", .data = "1"}, {.type = "remove", .data = "2"}, {.data = "3"}}},
      {"event type reset by an empty block", "event: x\n\ndata: y\n\n", {{.data = "y"}}},
      {"last event field wins", "event: a\nevent: b\ndata: z\n\n", {{.type = "b", .data = "z"}}},
      {"event without colon", "event: a\nevent\ndata: z\n\n", {{.data = "z"}}},
      {"retry", "retry: 1500\ndata: x\n\n", {{.data = "x", .has_retry = true, .retry = 1500}},
       0, false, "", 1500},
      {"retry zero", "retry: 0\ndata: x\n\n", {{.data = "x", .has_retry = true}}, 0, false, "", 0},
      {"retry not digits", "retry: 15s\ndata: a\n\nretry:\ndata: b\n\nretry:  5\ndata: c\n\n"
       "retry: -1\ndata: d\n\nretry\ndata: e\n\nretry: 1 \ndata: f\n\n",
       {{.data = "a"}, {.data = "b"}, {.data = "c"}, {.data = "d"}, {.data = "e"}, {.data = "f"}}},
      {"retry in an empty block", "retry: 10\n\ndata: x\n\n", {{.data = "x"}}, 0, false, "", 10},
      {"retry saturates", "retry: 99999999999999999999999\ndata: x\n\n",
       {{.data = "x", .has_retry = true, .retry = UINT32_MAX}}, 0, false, "", UINT32_MAX},
      {"data without colon", "data\n\ndata\ndata\n\n", {{.data = ""}, {.data = "\n"}}},
      {"empty data lines dispatch", "data:\n\ndata: \n\n", {{.data = ""}, {.data = ""}}},
      {"unknown fields", "foo: bar\nDATA: x\nData: y\ndata : z\ndatum: q\nretryy: 1\n\n", {}},
      {"one leading space removed", "data:  two\ndata:none\ndata: \n\n", {{.data = " two\nnone\n"}}},
      {"tab kept", "data:\tx\n\n", {{.data = "\tx"}}},
      {"colons in the value", "data: a:b: c\n\n", {{.data = "a:b: c"}}},
      {"CRLF", "data: a\r\ndata: b\r\n\r\n", {{.data = "a\nb"}}},
      {"CR", "data: a\rdata: b\r\r", {{.data = "a\nb"}}},
      {"mixed line ends", "data: a\r\ndata: b\rdata: c\n\r\n", {{.data = "a\nb\nc"}}},
      {"LF CR is two line ends", "data: a\n\rdata: b\r\n\n", {{.data = "a"}, {.data = "b"}}},
      {"CR CR LF", "data: a\r\r\ndata: b\n\n", {{.data = "a"}, {.data = "b"}}},
      {"blank lines only", "\n\n\r\n\r\r", {}},
      {"BOM", bom + "data: x\n\n", {{.data = "x"}}},
      {"BOM then a blank line", bom + "\ndata: x\n\n", {{.data = "x"}}},
      {"second BOM is not skipped", bom + bom + "data: x\n\ndata: " + bom + "y\n\n",
       {{.data = bom + "y"}}},
      {"BOM later in the stream is data", "data: x\n\n" + bom + "data: y\n\n", {{.data = "x"}}},
      {"partial BOM starts a field name", "\xEF\xBB" "data: x\n\n\xEF:\n\ndata: y\n\n",
       {{.data = "y"}}},
      {"partial BOM then line end", "\xEF\xBB\n\ndata: y\n\n", {{.data = "y"}}},
      {"no dispatch without a blank line", "data: x\n", {}, 0, true},
      {"no dispatch mid line", "data: x\n\ndata: y", {{.data = "x"}}, 0, true},
      {"a data name mid line is not yet data", "data", {}, 0, false},
      {"event line alone is not an event", "event: e\n", {}, 0, false},
      {"pending id dropped at the end", "id: 1\n\nid: 2\n", {}, 0, false, "1"},
      {"[DONE] sentinel", "data: {\"a\":1}\n\ndata: [DONE]\n\n",
       {{.data = "{\"a\":1}"}, {.data = "[DONE]"}}},
      {"NUL and high bytes in data", "data: a\0b\xff\n\n"s, {{.data = "a\0b\xff"s}}},
      {"data at the limit", "data: " + x15 + "\n\n", {{.data = x15}}, 0, false, "", {}, {}, 0, 16},
      {"data over the limit", "data: " + x15 + "y\n\n", {}, 0, false, "", {}, big, 21, 16},
      {"joined data at the limit", "data: 1234567\ndata: 1234567\n\n",
       {{.data = "1234567\n1234567"}}, 0, false, "", {}, {}, 0, 16},
      {"joined data over the limit", "data: 1234567\ndata: 12345678\n\n",
       {}, 0, false, "", {}, big, 27, 16},
      {"empty data lines at the limit", "data:\ndata\ndata:\ndata\n\n",
       {{.data = "\n\n\n"}}, 0, false, "", {}, {}, 0, 4},
      {"empty data lines over the limit", "data:\ndata\ndata:\ndata\ndata\n\n",
       {}, 0, false, "", {}, big, 26, 4},
      {"limit counts per event", "data: 123\n\ndata: 123\n\n",
       {{.data = "123"}, {.data = "123"}}, 0, false, "", {}, {}, 0, 4},
      {"event type at the limit", "event: " + x15 + "z\ndata\n\n",
       {{.type = x15 + "z"}}, 0, false, "", {}, {}, 0, 16},
      {"event type over the limit", "event: " + x15 + "zz\ndata\n\n",
       {}, 0, false, "", {}, big, 23, 16},
      {"id at the limit", "id: " + x15 + "z\ndata\n\n",
       {{.id = x15 + "z", .has_id = true}}, 0, false, x15 + "z", {}, {}, 0, 16},
      {"id over the limit", "id: " + x15 + "zz\n", {}, 0, false, "", {}, big, 20, 16},
      {"long comments and unknown fields are free",
       ": " + std::string(100, 'c') + "\nfoo: " + std::string(100, 'f') + "\nretry: " +
           std::string(100, '1') + "\ndata: ok\n\n",
       {{.data = "ok", .has_retry = true, .retry = UINT32_MAX}}, 1, false, "", UINT32_MAX, {}, 0, 4},
  };
}

void check(const SseVector& v, const Run& run, SseParser& p) {
  CHECK(run.events == v.events);
  CHECK(run.error == v.error);
  if (v.error == ParseError::none) {
    CHECK(run.status == Status::need_more);
    CHECK(run.consumed == v.bytes.size());
  } else {
    CHECK(run.status == Status::error);
    CHECK(run.consumed == v.error_at);
    return;
  }
  CHECK(p.comments() == v.comments);
  CHECK(p.events() == v.events.size());
  CHECK(p.retry_ms() == v.retry);
  CHECK(p.finish() == v.cut_off);
  CHECK(p.last_event_id() == v.last_id);
}

}  // namespace

TEST_CASE("SSE vectors fed whole, split and byte by byte", "[sse]") {
  GuardPage guard;
  for (const SseVector& v : vectors()) {
    INFO("vector: " << v.name);
    SseParser p(v.max);
    for (const Cut& cut : cuts(v.bytes.size())) {
      INFO(cut.label(v.bytes.size()));
      p.reset();
      Run run;
      feed_guarded(v.bytes, cut, guard, [&](std::span<const char> read, std::size_t) { feed(p, read, run); });
      check(v, run, p);
    }
  }
}

TEST_CASE("SSE events are views of the input when they lie in it", "[sse]") {
  GuardPage guard;
  SseParser p;
  SseEvent ev;
  std::span<const char> in = guard.place("event: e\ndata: one\n\ndata: a\ndata: b\n\n");
  SseResult r = p.feed(in, ev);
  REQUIRE(r.status == Status::done);
  CHECK(r.consumed == 20);
  CHECK(ev.data == "one");
  CHECK(ev.type == "e");
  CHECK(ev.data.data() >= in.data());
  CHECK(ev.data.data() + ev.data.size() <= in.data() + in.size());
  CHECK(ev.type.data() >= in.data());
  in = in.subspan(r.consumed);
  r = p.feed(in, ev);
  REQUIRE(r.status == Status::done);
  CHECK(ev.data == "a\nb");  // joined: in the parser's buffer
  CHECK((ev.data.data() < in.data() || ev.data.data() >= in.data() + in.size()));
  CHECK(r.consumed == in.size());
  CHECK(p.events() == 2);
}

TEST_CASE("SSE event completed by a later input is copied", "[sse]") {
  GuardPage guard;
  SseParser p;
  SseEvent ev;
  CHECK(p.feed(guard.place("event: t\ndata: first\n"), ev).status == Status::need_more);
  const std::span<const char> in = guard.place("\r");  // overwrites the first input
  const SseResult r = p.feed(in, ev);
  CHECK(r.status == Status::done);
  CHECK(r.consumed == 1);
  CHECK(ev.data == "first");
  CHECK(ev.type == "t");
  // The LF after that CR belongs to the same line end: consumed, no second dispatch.
  const SseResult lf = p.feed(guard.place("\n"), ev);
  CHECK(lf.status == Status::need_more);
  CHECK(lf.consumed == 1);
  CHECK(p.events() == 1);
  CHECK_FALSE(p.finish());
}

TEST_CASE("SSE 1 MB event in 1-byte feeds", "[sse]") {
  const std::string line(1 << 20, 'm');
  SseParser p;
  SseEvent ev;
  std::size_t done = 0;
  std::string got;
  auto feed_bytes = [&](std::string_view s) {
    for (const char c : s) {
      const SseResult r = p.feed(std::span<const char>(&c, 1), ev);
      REQUIRE(r.consumed == 1);
      REQUIRE(r.status != Status::error);
      if (r.status == Status::done) {
        ++done;
        got.assign(ev.data);
      }
    }
  };
  feed_bytes("data: ");
  feed_bytes(line);
  feed_bytes("\n\n");
  CHECK(done == 1);
  CHECK(got == line);

  // The same size in 1 KiB lines: joined in the parser, still one event.
  const std::string kib(1023, 'k');
  std::string stream;
  std::string expect;
  for (int i = 0; i < 1024; ++i) {
    stream += "data: " + kib + "\r\n";
    expect += kib + (i == 1023 ? "" : "\n");
  }
  stream += "\r\n";
  feed_bytes(stream);
  CHECK(done == 2);
  CHECK(got == expect);
}

TEST_CASE("SSE error repeats until finish or reset", "[sse]") {
  SseParser p(8);
  SseEvent ev;
  const std::string in = "id: 1\n\ndata: 123456789\n\n";
  SseResult r = p.feed(in, ev);
  CHECK(r.status == Status::error);
  CHECK(r.error == ParseError::sse_event_too_large);
  CHECK(r.consumed == 20);
  r = p.feed(std::span<const char>("data: x\n\n", 9), ev);
  CHECK(r.status == Status::error);
  CHECK(r.error == ParseError::sse_event_too_large);
  CHECK(r.consumed == 0);
  CHECK(p.feed({}, ev).status == Status::error);
  CHECK(std::string(to_string(ParseError::sse_event_too_large)) == "server-sent event too large");

  CHECK_FALSE(p.finish());  // the error, not the end, cut that event off
  CHECK(p.last_event_id() == "1");
  r = p.feed(std::span<const char>("data: x\n\n", 9), ev);
  CHECK(r.status == Status::done);
  CHECK(ev.data == "x");
  CHECK(ev.id == "1");
}

TEST_CASE("SSE finish keeps the source's state, reset clears it", "[sse]") {
  SseParser p;
  SseEvent ev;
  const std::string first = "\xEF\xBB\xBFretry: 3000\nid: 41\ndata: a\n\nid: 42\ndata: b";
  std::span<const char> in(first);
  SseResult r = p.feed(in, ev);
  REQUIRE(r.status == Status::done);
  CHECK(ev.id == "41");
  r = p.feed(in.subspan(r.consumed), ev);
  CHECK(r.status == Status::need_more);
  CHECK(p.finish());  // "data: b" was cut off, and id 42 never took effect
  CHECK(p.last_event_id() == "41");
  CHECK(p.retry_ms() == 3000u);

  // The reconnected stream may start with a BOM again; the id carries over.
  const std::string second = "\xEF\xBB\xBF" "data: c\n\n";
  r = p.feed(second, ev);
  REQUIRE(r.status == Status::done);
  CHECK(ev.data == "c");
  CHECK(ev.id == "41");
  CHECK_FALSE(ev.has_id);
  CHECK_FALSE(ev.has_retry);
  CHECK(p.events() == 2);

  p.reset();
  CHECK(p.last_event_id().empty());
  CHECK_FALSE(p.retry_ms().has_value());
  CHECK(p.events() == 0);
  CHECK(p.comments() == 0);
  r = p.feed(second, ev);
  REQUIRE(r.status == Status::done);
  CHECK(ev.id.empty());
}

TEST_CASE("SSE default limit", "[sse]") {
  SseParser p;
  CHECK(p.max_event_bytes() == limits::max_sse_event_bytes);
  CHECK(limits::max_sse_event_bytes == 16u * 1024 * 1024);
  SseParser small(0);  // no data at all fits: a data field needs its LF
  SseEvent ev;
  const SseResult r = small.feed(std::span<const char>("data\n\n", 6), ev);
  CHECK(r.status == Status::error);
  CHECK(r.consumed == 4);
}
