// llhttp's response conformance suite (tests/conformance/llhttp-response) run through the
// engine's HttpExchange, fed whole, split at every offset and byte by byte against a guard
// page (tests/support/cuts.hpp). Every case must agree with llhttp on
// accept vs reject, the status codes and the body bytes (and where each response ends),
// or be listed below with the reason ringload deliberately differs. A listed case that
// starts agreeing fails too, so the lists stay true.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "conformance_cases.hpp"
#include "engine/output/export_queue.hpp"
#include "engine/session/http_exchange.hpp"
#include "proto/http_response.hpp"
#include "tests/support/cuts.hpp"

namespace {

using namespace ringload;
using conformance::Case;
using conformance::Message;
using conformance::Outcome;

// ringload's final word on a case: did it flag a protocol error by the time the peer
// closed? (After EOF, so a body cut short counts as rejected.)
enum class Verdict { accepts, rejects };

struct Disagreement {
  std::string_view title;
  Verdict ringload;
  std::string_view what;    // what ringload does instead
  std::string_view reason;  // why that is deliberate
};

// Strict (`response`) cases where ringload deliberately differs from llhttp.
constexpr Disagreement disagreements[] = {
    {"RTSP response", Verdict::rejects, "rejects \"RTSP/1.1 200 OK\" as bad_version",
     "ringload speaks HTTP/1.x only (RFC 9112 §2.3); an RTSP reply means a wrong target"},
    {"ICE response", Verdict::rejects, "rejects \"ICE/1.1 200 OK\" as bad_version",
     "ringload speaks HTTP/1.x only (RFC 9112 §2.3); an ICE reply means a wrong target"},
    {"HTTP version 0.9", Verdict::rejects, "rejects \"HTTP/0.9 200 OK\" as bad_version",
     "an HTTP/0.9 response has no status line at all (RFC 1945 §4.1 Simple-Response), so "
     "a server sending one is broken; only HTTP/1.0 and HTTP/1.1 are read (RFC 9112 §2.3)"},
};

// Every `response-lenient-*` case: does ringload follow llhttp's lenient behaviour?
struct LenientDecision {
  std::string_view title;
  bool follows_llhttp;  // ringload's outcome equals llhttp's lenient log
  Verdict ringload;
  std::string_view reason;
};

constexpr LenientDecision lenient_decisions[] = {
    {"HTTP/1.1 with keep-alive disabled, content-length (lenient)", false, Verdict::rejects,
     "bytes after a Connection: close response answer no request (RFC 9112 §9.6: the "
     "client sends no more); the engine counts data with no request in flight as an error"},
    {"HTTP/1.1 with keep-alive disabled and 204 status (lenient)", false, Verdict::rejects,
     "Connection: close is honoured (RFC 9112 §9.6), so a response after it is unsolicited "
     "data, an error as in llhttp's strict mode"},
    {"Bare CR after response line (lenient)", false, Verdict::rejects,
     "RFC 9112 §2.2: a bare CR is invalid or replaced by SP; the parser returns views into "
     "a read-only buffer and cannot rewrite it, so it rejects (bad_reason)"},
    {"Only LFs present and no body (lenient)", false, Verdict::rejects,
     "lines must end in CRLF: RFC 9112 §2.2 only allows (MAY) a bare LF, and Node's default "
     "client (llhttp strict) rejects it too, so the load test reports such a server"},
    {"Only LFs present (lenient)", false, Verdict::rejects,
     "as above: bare-LF line ends are rejected like llhttp's default mode"},
    {"No carriage ret (lenient)", false, Verdict::rejects,
     "as above: bare-LF line ends are rejected like llhttp's default mode"},
    {"Invalid HTTP version (lenient)", false, Verdict::rejects,
     "HTTP/5.6 is not HTTP/1.x (RFC 9112 §2.3); guessing a framing for it would be wrong"},
    {"Invalid OBS fold after chunked value", false, Verdict::rejects,
     "obs-fold is rejected (bad_header_value), as llhttp's default mode does: RFC 9112 §5.2 "
     "has a user agent replace it by SP, but header values are views into a read-only "
     "buffer, and here the fold would change the framing (Transfer-Encoding)"},
};

struct RingloadRun {
  Outcome outcome;
  proto::ParseError why = proto::ParseError::none;
  const char* note = "";  // the exchange's message for a rejection not from the parser
};

// The engine's side of a connection, around the real HttpExchange: each read goes to
// on_data() with the shard's carry-buffer size and header scratch, an export tap records
// the decoded body, the peer's close goes to on_eof(). Where the engine differs from a
// bare parser, so does the outcome: interim 1xx heads are skipped and not reported; after
// a response with Connection: close any byte is an error (no request is in flight, RFC
// 9112 §9.6); after a 101 the bytes go to the upgraded protocol (a sink that accepts the
// upgrade, as the WebSocket session does) and the close is that protocol's.
//
// The cases hold several responses in a row while the engine has one request in flight:
// the driver acts as a client that pipelined as many requests as the server answers.
// When a read holds the end of a response and more, the exchange reports the extra bytes
// as an error and stays complete; the driver then replays that read from a copy taken
// before it, finds where the response ended (the longest prefix that completes it) and
// starts the next exchange with the rest.
class Driver {
 public:
  Driver(bool head_request, ExportQueue& queue)
      : head_request_(head_request), carry_bytes_(proto::limits::max_head_bytes) {
    carry_ = {carry_bytes_.data(), static_cast<uint32_t>(carry_bytes_.size()), 0};
    tap_.queue = &queue;
    exchange_.start(head_request_, carry_, &upgrade_);
  }

  // One read from the connection.
  void on_read(std::span<const char> in) {
    while (!run_.outcome.error && !in.empty()) in = feed(in);
  }

  // The peer closed the connection.
  void on_eof() {
    if (run_.outcome.error || exchange_.state() == ExchangeState::upgraded) return;
    const ExchangeEvent ev = exchange_.on_eof();
    if (ev.kind == ExchangeEvent::Kind::error) fail(ev);
    else if (open_) run_.outcome.messages.back().complete = true;
  }

  const RingloadRun& result() const { return run_; }

 private:
  // What one on_data() call did, not yet added to the outcome.
  struct Attempt {
    ExchangeEvent event;
    bool overshot = false;  // the response ended inside the read: bytes followed it
    std::string body;       // decoded body bytes exported by the call
  };
  struct Snapshot {
    HttpExchange exchange;
    ResponseTap tap;
    std::string carried;
  };

  // Feeds `in` (or the part of it up to the end of the current response); returns the rest.
  std::span<const char> feed(std::span<const char> in) {
    if (exchange_.state() == ExchangeState::complete && exchange_.keep_alive()) {
      exchange_.start(head_request_, carry_, &upgrade_);  // the next pipelined request
      open_ = false;
    }
    const Snapshot before = snapshot();
    Attempt a = attempt(in);
    std::size_t used = in.size();
    if (a.overshot) {
      used = response_end(in, before);
      restore(before);
      a = attempt(in.first(used));
      if (used == 0 || a.event.kind != ExchangeEvent::Kind::complete)
        a.event = {ExchangeEvent::Kind::error, proto::ParseError::none,
                   "contract: no prefix of the read completes the response"};
    }
    commit(a);
    return in.subspan(used);
  }

  Attempt attempt(std::span<const char> in) {
    const bool in_flight = exchange_.state() != ExchangeState::complete;
    Attempt a;
    a.event = exchange_.on_data(in, carry_, headers_, &tap_);
    a.overshot = in_flight && a.event.kind == ExchangeEvent::Kind::error &&
                 exchange_.state() == ExchangeState::complete;
    tap_.queue->drain(SIZE_MAX, [&](const ExportQueue::Record& r) {
      if (r.kind == ExportQueue::Kind::body) a.body.append(r.payload.data(), r.payload.size());
    });
    return a;
  }

  // The length of the longest prefix of `in` that completes the response (binary search:
  // shorter prefixes need more, longer ones overshoot); 0 if none does.
  std::size_t response_end(std::span<const char> in, const Snapshot& before) {
    std::size_t lo = 0, hi = in.size();  // lo needs more (or is empty), hi overshoots
    while (hi - lo > 1) {
      const std::size_t mid = lo + (hi - lo) / 2;
      restore(before);
      const Attempt a = attempt(in.first(mid));
      if (a.event.kind == ExchangeEvent::Kind::complete) return mid;
      if (a.overshot) hi = mid;
      else if (a.event.kind == ExchangeEvent::Kind::need_more) lo = mid;
      else return 0;
    }
    return 0;
  }

  void commit(const Attempt& a) {
    if (!open_ && exchange_.final_status() != 0) {
      run_.outcome.messages.push_back({exchange_.final_status(), {}, false});
      open_ = true;
    }
    if (open_) {
      Message& m = run_.outcome.messages.back();
      m.body += a.body;
      if (a.event.kind == ExchangeEvent::Kind::complete || exchange_.state() == ExchangeState::upgraded)
        m.complete = true;
    }
    if (a.event.kind == ExchangeEvent::Kind::error) fail(a.event);
  }

  void fail(const ExchangeEvent& ev) {
    run_.outcome.error = true;
    run_.why = ev.error;
    run_.note = ev.message != nullptr ? ev.message : "";
  }

  Snapshot snapshot() const { return {exchange_, tap_, std::string(carry_.data, carry_.len)}; }
  void restore(const Snapshot& s) {
    exchange_ = s.exchange;
    tap_ = s.tap;
    std::memcpy(carry_.data, s.carried.data(), s.carried.size());
    carry_.len = static_cast<uint32_t>(s.carried.size());
  }

  // Takes the connection after a 101, as the WebSocket session does; any other final
  // head is an ordinary response.
  struct UpgradeSink final : StreamSink {
    Verdict on_stream_head(const proto::ResponseHead& head, std::span<const proto::Header>,
                           const char*&) noexcept override {
      return head.upgrade ? Verdict::stream : Verdict::http;
    }
    bool on_stream_data(std::span<const char>) noexcept override { return true; }
  };

  bool head_request_;
  RingloadRun run_;
  bool open_ = false;  // the current exchange's head arrived: messages.back() is its message
  HttpExchange exchange_;
  UpgradeSink upgrade_;
  ResponseTap tap_{nullptr, 0, UINT64_MAX, false, nullptr, 0};
  std::vector<char> carry_bytes_;
  CarryBuffer carry_;
  std::array<proto::Header, 64> headers_;
};

// Feeds `bytes` as reads cut by `cut`, each against a guard page; then the peer's close.
RingloadRun run_ringload(std::string_view bytes, bool head_request, bool eof, const test::Cut& cut) {
  static ExportQueue queue(1 << 20);
  static test::GuardPage guard;
  Driver d(head_request, queue);
  test::feed_guarded(bytes, cut, guard, [&](std::span<const char> read, std::size_t) { d.on_read(read); });
  if (eof) d.on_eof();
  return d.result();
}

std::string describe(const RingloadRun& r) {
  std::string s = conformance::describe(r.outcome);
  if (r.outcome.error)
    s += std::string(" (") + proto::to_string(r.why) + (*r.note != 0 ? ", " : "") + r.note + ")";
  return s;
}

// llhttp's outcome as the engine reports it: interim 1xx responses (other than 101) are
// parsed and skipped (RFC 9110 §15.2), never reported as responses of their own.
Outcome without_interim(Outcome o) {
  std::erase_if(o.messages, [](const Message& m) { return m.status >= 100 && m.status < 200 && m.status != 101; });
  return o;
}

// However the bytes are cut into reads, the outcome after EOF must be the one from a single
// read: byte by byte, and in two reads cut at every offset. (Before EOF it may differ: with
// last_len an error inside an unfinished head waits for the head's end, by contract.)
int split_mismatches(const Case& c, const Outcome& whole, std::string& first_bad) {
  constexpr bool eof = true;
  int bad = 0;
  for (const test::Cut& cut : test::cuts(c.bytes.size())) {
    const RingloadRun r = run_ringload(c.bytes, c.skip_body, eof, cut);
    if (r.outcome != whole && bad++ == 0)
      first_bad = cut.label(c.bytes.size()) + ": " + describe(r);
  }
  return bad;
}

template <class Table>
auto find_title(const Table& table, std::string_view title) -> decltype(&table[0]) {
  for (const auto& row : table)
    if (row.title == title) return &row;
  return nullptr;
}

struct Tally {
  int agree = 0;
  int listed = 0;  // listed disagreements, strict and lenient
  std::vector<std::string> skipped;
};

template <class Table>
bool names_a_case(const Table& table, const std::vector<Case>& cases) {
  return std::all_of(std::begin(table), std::end(table), [&](const auto& row) {
    auto same = [&](const Case& c) { return c.title == row.title; };
    return std::any_of(cases.begin(), cases.end(), same);
  });
}

void judge(const Case& c, Tally& tally) {
  INFO(c.file << ":" << c.line << " \"" << c.title << "\" (" << c.type << ")");
  const bool lenient = c.type.starts_with("response-lenient-");
  const bool known = lenient || c.type == "response" || c.type == "response-finish";
  if (!c.skip_reason.empty() || !known) {
    tally.skipped.push_back(c.title + ": " + (known ? c.skip_reason : "type " + c.type));
    return;
  }
  if (c.llhttp.logged_finish >= 0) CHECK(c.llhttp.logged_finish == c.llhttp.finish_state);

  const test::Cut whole{c.bytes.size(), c.bytes.size()};
  const RingloadRun open = run_ringload(c.bytes, c.skip_body, false, whole);
  const RingloadRun eof = run_ringload(c.bytes, c.skip_body, true, whole);
  std::string bad_split;
  const int split_bad = split_mismatches(c, eof.outcome, bad_split);
  {
    INFO("ringload whole: " << describe(eof) << "; first split mismatch: " << bad_split);
    CHECK(split_bad == 0);
  }

  const Outcome llhttp_open = without_interim(c.llhttp.open);
  const Outcome llhttp_eof = without_interim(c.llhttp.eof);
  const bool agrees = open.outcome == llhttp_open && eof.outcome == llhttp_eof;
  const Verdict verdict = eof.outcome.error ? Verdict::rejects : Verdict::accepts;
  INFO("llhttp:             " << conformance::describe(c.llhttp.open));
  INFO("ringload:           " << describe(open));
  INFO("llhttp after EOF:   " << conformance::describe(c.llhttp.eof));
  INFO("ringload after EOF: " << describe(eof));
  if (lenient) {
    const LenientDecision* d = find_title(lenient_decisions, c.title);
    INFO("every lenient case needs a decision in lenient_decisions");
    REQUIRE(d != nullptr);
    CHECK(d->ringload == verdict);
    CHECK(d->follows_llhttp == agrees);
    (agrees ? tally.agree : tally.listed) += 1;
    return;
  }
  const Disagreement* d = find_title(disagreements, c.title);
  if (d == nullptr) {
    CHECK(agrees);  // an unlisted disagreement: fix the parser, or list it with a reason
    tally.agree += agrees ? 1 : 0;
    return;
  }
  INFO("listed disagreement: " << d->what);
  CHECK_FALSE(agrees);  // it agrees now: remove it from the list
  CHECK(d->ringload == verdict);
  ++tally.listed;
}

}  // namespace

TEST_CASE("llhttp http blocks become bytes by llhttp's rules", "[conformance]") {
  std::string problem;
  using conformance::http_block_to_bytes;
  CHECK(http_block_to_bytes("HTTP/1.1 200 OK\n\n\n", problem) == "HTTP/1.1 200 OK\r\n\r\n");
  CHECK(http_block_to_bytes("a\\r\\n\\\nb\n", problem) == "a\r\nb");
  CHECK(http_block_to_bytes("x:\\t1\\x41\\101\\\"\n", problem) == "x:\t1AA\\\"");
  CHECK(http_block_to_bytes("BODY\\n\\\n", problem) == "BODY\n\\");
  CHECK(problem.empty());
  http_block_to_bytes("${'a'.repeat(3)}\n", problem);
  CHECK(!problem.empty());
}

TEST_CASE("llhttp response conformance suite", "[conformance]") {
  std::string error;
  const std::vector<Case> cases = conformance::load_cases(RINGLOAD_CONFORMANCE_DIR, error);
  INFO("conformance dir: " RINGLOAD_CONFORMANCE_DIR);
  REQUIRE(error.empty());
  REQUIRE(cases.size() >= 80);  // the suite was found and read (85 cases when copied)
  std::set<std::string> titles;
  for (const Case& c : cases) titles.insert(c.title);
  REQUIRE(titles.size() == cases.size());  // the tables are keyed by title
  CHECK(names_a_case(disagreements, cases));
  CHECK(names_a_case(lenient_decisions, cases));

  Tally tally;
  for (const Case& c : cases) judge(c, tally);
  std::printf("llhttp conformance: %zu cases, %d agree, %d listed disagreements, %zu skipped",
              cases.size(), tally.agree, tally.listed, tally.skipped.size());
  for (const std::string& s : tally.skipped) std::printf(" [%s]", s.c_str());
  std::printf("\n");
}
