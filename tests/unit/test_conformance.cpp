// llhttp's response conformance suite (tests/conformance/llhttp-response) run through
// ringload's parsers the way the engine drives them. Every case must agree with llhttp on
// accept vs reject, the status codes and the body bytes (and where each response ends),
// or be listed below with the reason ringload deliberately differs. A listed case that
// starts agreeing fails too, so the lists stay true.
#include <algorithm>
#include <array>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "conformance_cases.hpp"
#include "proto/body.hpp"
#include "proto/http_response.hpp"

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
  const char* note = "";  // a rejection not from the parser, or a broken parser contract
};

// Engine-like driver (engine/http_exchange.cpp, plus pipelining): the bytes arrive as
// reads; a head split across reads is carried and re-parsed with last_len; interim 1xx
// heads other than 101 are skipped; after a response with Connection: close no further
// byte can answer a request (RFC 9112 §9.6), so one is an error, as the engine counts
// data with no request in flight; after 101 the bytes belong to another protocol.
class Driver {
 public:
  explicit Driver(bool head_request) : head_request_(head_request) {}

  // One read from the connection.
  void on_read(std::string_view bytes) {
    carry_.append(bytes);
    while (!run_.outcome.error && !carry_.empty()) {
      if (phase_ == Phase::head) {
        if (!parse_head()) break;
      } else if (phase_ == Phase::body) {
        feed_body();
      } else {
        if (phase_ == Phase::closed) fail(proto::ParseError::none, "bytes after Connection: close");
        break;
      }
    }
  }

  // The peer closed the connection.
  void on_eof() {
    if (run_.outcome.error) return;
    if (phase_ == Phase::body) {
      if (body_.finish() == proto::Status::done) run_.outcome.messages.back().complete = true;
      else fail(proto::ParseError::unexpected_eof, "");
    } else if (phase_ == Phase::head && !carry_.empty()) {
      fail(proto::ParseError::unexpected_eof, "closed inside a head");
    }
  }

  const RingloadRun& result() const { return run_; }

 private:
  enum class Phase { head, body, closed, upgraded };

  void fail(proto::ParseError e, const char* note) {
    run_.outcome.error = true;
    run_.why = e;
    run_.note = note;
  }

  // false: the head is not complete yet (or was rejected).
  bool parse_head() {
    proto::ResponseHead h;
    proto::HeadResult r = proto::parse_response_head(carry_, last_len_, h, headers_, head_request_);
    if (r.status == proto::Status::need_more) {
      last_len_ = carry_.size();
      return false;
    }
    if (r.status == proto::Status::error) {
      fail(r.error, "");
      return false;
    }
    if (r.consumed == 0 || r.consumed > carry_.size()) {
      fail(proto::ParseError::none, "contract: head done with a bad consumed");
      return false;
    }
    carry_.erase(0, r.consumed);
    last_len_ = 0;
    run_.outcome.messages.push_back({h.status, {}, false});
    Message& m = run_.outcome.messages.back();
    keep_alive_ = h.keep_alive;
    if (h.upgrade) {
      m.complete = true;
      phase_ = Phase::upgraded;
    } else if (h.status >= 100 && h.status < 200) {
      m.complete = true;  // interim: the final response follows
    } else if (h.body == proto::BodyKind::none) {
      m.complete = true;
      phase_ = keep_alive_ ? Phase::head : Phase::closed;
    } else {
      body_.reset(h);
      phase_ = Phase::body;
    }
    return true;
  }

  void feed_body() {
    proto::BodyResult r = body_.feed(carry_);
    if (r.consumed > carry_.size() || (r.status == proto::Status::need_more && r.consumed == 0)) {
      fail(proto::ParseError::none, "contract: body feed made no progress");
      return;
    }
    run_.outcome.messages.back().body.append(r.data.data(), r.data.size());
    carry_.erase(0, r.consumed);
    if (r.status == proto::Status::error) fail(r.error, "");
    if (r.status == proto::Status::done) {
      run_.outcome.messages.back().complete = true;
      phase_ = keep_alive_ ? Phase::head : Phase::closed;
    }
  }

  bool head_request_;
  RingloadRun run_;
  std::array<proto::Header, 64> headers_;
  proto::BodyDecoder body_;
  std::string carry_;  // unparsed bytes: a partial head, or body bytes not fed yet
  std::size_t last_len_ = 0;
  bool keep_alive_ = true;
  Phase phase_ = Phase::head;
};

// Feeds `bytes` as a first read of `first` bytes, then reads of `step` bytes.
RingloadRun run_ringload(std::string_view bytes, bool head_request, bool eof, std::size_t first,
                         std::size_t step) {
  Driver d(head_request);
  for (std::size_t fed = 0, n = first; fed < bytes.size(); fed += n, n = step) {
    n = std::min(std::max<std::size_t>(n, 1), bytes.size() - fed);
    d.on_read(bytes.substr(fed, n));
  }
  if (eof) d.on_eof();
  return d.result();
}

std::string describe(const RingloadRun& r) {
  std::string s = conformance::describe(r.outcome);
  if (r.outcome.error)
    s += std::string(" (") + proto::to_string(r.why) + (*r.note != 0 ? ", " : "") + r.note + ")";
  return s;
}

// However the bytes are cut into reads, the outcome after EOF must be the one from a single
// read: byte by byte, and in two reads cut at every offset. (Before EOF it may differ: with
// last_len an error inside an unfinished head waits for the head's end, by contract.)
int split_mismatches(const Case& c, const Outcome& whole, std::string& first_bad) {
  constexpr bool eof = true;
  const std::size_t n = c.bytes.size();
  int bad = 0;
  auto check = [&](std::size_t first, std::size_t step, const char* how) {
    RingloadRun r = run_ringload(c.bytes, c.skip_body, eof, first, step);
    if (r.outcome == whole) return;
    if (bad++ == 0)
      first_bad = std::string(how) + " " + std::to_string(first) + ": " + describe(r);
  };
  check(1, 1, "byte by byte, first");
  for (std::size_t cut = 1; cut < n; ++cut) check(cut, n, "two reads cut at");
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

  const std::size_t n = c.bytes.size();
  const RingloadRun open = run_ringload(c.bytes, c.skip_body, false, n, n);
  const RingloadRun eof = run_ringload(c.bytes, c.skip_body, true, n, n);
  std::string bad_split;
  const int split_bad = split_mismatches(c, eof.outcome, bad_split);
  {
    INFO("ringload whole: " << describe(eof) << "; first split mismatch: " << bad_split);
    CHECK(split_bad == 0);
  }

  const bool agrees = open.outcome == c.llhttp.open && eof.outcome == c.llhttp.eof;
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
