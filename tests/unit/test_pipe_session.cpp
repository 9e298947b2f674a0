// HTTP/1.1 pipelining's session on its own: the requests written in one batch, responses
// matched in order whether they come in one read, byte by byte or split anywhere, and a
// connection that ends early failing the oldest with the cause and the rest as
// unanswered, each exactly once.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "engine/core/conn.hpp"
#include "engine/requests/request.hpp"
#include "engine/session/pipe_session.hpp"

using namespace ringload;

namespace {

struct Ended {
  uint64_t seq;
  RequestEnd end;
  std::string message;
};

// The shard's side of ended(): the record leaves the connection.
struct Ends final : RequestEnds {
  Conn* c = nullptr;
  std::vector<Ended> ends;
  void ended(uint32_t, InFlight& r, const RequestEnd& e) noexcept override {
    ends.push_back({r.seq, e, e.message != nullptr ? e.message : ""});
    --c->in_flight;
  }
};

struct Client {
  RunConfig config;
  RequestTable table;
  std::vector<Origin> origins;
  Stats stats;
  Ends ends;
  std::vector<proto::Header> headers = std::vector<proto::Header>(64);
  SessionEnv env{stats, nullptr, config, headers, 0, nullptr, {}, 0, &ends};
  PipeShared shared;
  std::vector<InFlight> records;
  std::string out, carry = std::string(8192, '\0');
  Conn c;
  PipeSession session;
  uint64_t seq = 0;

  explicit Client(uint32_t depth, std::size_t out_heads = 0) {
    config.pipeline = depth;
    RequestTableBuilder b;
    REQUIRE(b.add(RequestInput{*parse_url("http://127.0.0.1:8080/a")}));
    RequestInput head{*parse_url("http://127.0.0.1:8080/h")};
    head.method = "HEAD";
    REQUIRE(b.add(head));
    table = std::move(b).finish();
    Origin o;
    o.host_line = "Host: 127.0.0.1:8080\r\n";
    o.user_agent_line = "User-Agent: test\r\n";
    o.accept_line = "Accept: */*\r\n";
    origins.push_back(std::move(o));
    shared = {&table, origins, depth, 128, (out_heads == 0 ? depth : out_heads) * 128};
    records.resize(depth);
    out.resize(shared.out_size);
    session.bind(shared, records.data(), out.data());
    c.carry = {carry.data(), static_cast<uint32_t>(carry.size()), 0};
    ends.c = &c;
    session.ready(0, c);
  }
  // Issues `n` requests of line `line` (0: GET /a, 1: HEAD /h).
  void issue(uint32_t n, uint32_t line = 0) {
    for (uint32_t i = 0; i < n; ++i) {
      InFlight& r = session.acquire();
      r = InFlight{};
      r.request = &table.lines[line];
      r.seq = seq++;
      r.sent_ns = 1;
      session.start(r, env, 1);
      ++c.in_flight;
    }
  }
  // One produce(): what it gives to write.
  std::string produce() {
    Output o;
    REQUIRE(session.produce(c, env, o).kind == Step::Kind::more);
    return std::string(o.a.data(), o.a.size()) + std::string(o.b.data(), o.b.size());
  }
  // Feeds `bytes` in pieces of `piece` (0: whole), the first of `first` if not 0.
  Step feed(const std::string& bytes, std::size_t piece, std::size_t first = 0) {
    Step last = Step::more();
    std::size_t at = 0;
    auto one = [&](std::size_t n) {
      last = session.on_read(c, env, {bytes.data() + at, n});
      at += n;
    };
    if (first != 0) one(first);
    while (at < bytes.size() && last.kind == Step::Kind::more)
      one(piece == 0 ? bytes.size() - at : std::min(piece, bytes.size() - at));
    return last;
  }
};

const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
const std::string missing = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
const std::string chunked = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
const std::string head_ok = "HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n";  // HEAD: no body follows

}  // namespace

TEST_CASE("pipe session: the connection's, N deep", "[pipeline]") {
  Client cl(4);
  CHECK(cl.c.mux);
  CHECK(cl.c.capacity == 4);
  CHECK(cl.c.session == SessionKind::pipe);
}

TEST_CASE("pipe session: the requests issued in a row go out in one write", "[pipeline]") {
  Client cl(4);
  cl.issue(3);
  const std::string head = "GET /a HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n";
  CHECK(cl.produce() == head + head + head);
  CHECK(cl.stats.counters.bytes_out == 3 * head.size());
  CHECK(cl.produce().empty());  // nothing left to write
  cl.issue(1);
  CHECK(cl.produce() == head);
}

TEST_CASE("pipe session: an output with room for fewer heads writes the rest next time", "[pipeline]") {
  Client cl(4, 2);
  cl.issue(4);
  const std::string first = cl.produce();
  const std::string second = cl.produce();
  CHECK(first.size() == second.size());
  CHECK(first.find("GET /a", 1) != std::string::npos);
  CHECK(cl.produce().empty());
}

TEST_CASE("pipe session: responses matched in order, whole, byte by byte, split anywhere", "[pipeline]") {
  const std::string bytes = ok + missing + chunked + head_ok + ok;
  std::vector<std::size_t> pieces = {0, 1, 5};
  for (std::size_t split = 1; split < bytes.size(); ++split) pieces.push_back(100000 + split);
  for (std::size_t p : pieces) {
    INFO("piece " << p);
    Client cl(8);
    cl.issue(3);
    cl.issue(1, 1);  // HEAD
    cl.issue(1);
    cl.produce();
    const Step st = p > 100000 ? cl.feed(bytes, 0, p - 100000) : cl.feed(bytes, p);
    CHECK(st.kind == Step::Kind::more);
    REQUIRE(cl.ends.ends.size() == 5);
    const int want[] = {200, 404, 201, 200, 200};
    for (uint64_t i = 0; i < 5; ++i) {
      CHECK(cl.ends.ends[i].seq == i);
      CHECK(cl.ends.ends[i].end.complete);
      CHECK(cl.ends.ends[i].end.status == want[i]);
    }
    CHECK(cl.c.in_flight == 0);
    CHECK(cl.session.held() == 0);
  }
}

TEST_CASE("pipe session: Connection: close mid-pipeline leaves the rest unanswered", "[pipeline]") {
  Client cl(4);
  cl.issue(4);
  cl.produce();
  const std::string closing = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
  const Step st = cl.feed(ok + closing, 0);
  CHECK(st.kind == Step::Kind::done);
  CHECK(st.then == Step::Then::close_by_server);
  REQUIRE(cl.ends.ends.size() == 2);
  cl.session.abort(cl.c, cl.env, ErrorKind::read, "the connection ended", 9);
  REQUIRE(cl.ends.ends.size() == 4);
  for (std::size_t i = 2; i < 4; ++i) {
    CHECK(cl.ends.ends[i].seq == i);
    CHECK_FALSE(cl.ends.ends[i].end.complete);
    CHECK(cl.ends.ends[i].end.error == ErrorKind::read);
    CHECK(cl.ends.ends[i].message.find("unanswered") != std::string::npos);
  }
  CHECK(cl.stats.counters.pipeline_unanswered == 2);
  CHECK(cl.c.in_flight == 0);
}

TEST_CASE("pipe session: EOF mid-response fails the oldest with the cause, the rest unanswered", "[pipeline]") {
  Client cl(4);
  cl.issue(3);
  cl.produce();
  CHECK(cl.feed(ok + ok.substr(0, 20), 0).kind == Step::Kind::more);
  const Step st = cl.session.on_eof(cl.c, cl.env);
  REQUIRE(st.kind == Step::Kind::failed);
  CHECK(st.error == ErrorKind::read);
  cl.session.abort(cl.c, cl.env, st.error, st.message, 9);
  REQUIRE(cl.ends.ends.size() == 3);
  CHECK(cl.ends.ends[0].end.complete);
  CHECK(cl.ends.ends[1].message == "connection closed mid-response");
  CHECK(cl.ends.ends[2].message.find("unanswered") != std::string::npos);
  CHECK(cl.stats.counters.pipeline_unanswered == 1);
}

TEST_CASE("pipe session: EOF between responses: every request left is unanswered", "[pipeline]") {
  Client cl(4);
  cl.issue(3);
  cl.produce();
  cl.feed(ok, 0);
  const Step st = cl.session.on_eof(cl.c, cl.env);
  CHECK(st.kind == Step::Kind::done);
  cl.session.abort(cl.c, cl.env, ErrorKind::read, "the connection ended", 9);
  REQUIRE(cl.ends.ends.size() == 3);
  CHECK(cl.stats.counters.pipeline_unanswered == 2);
}

TEST_CASE("pipe session: requests not yet written end too, once each", "[pipeline]") {
  Client cl(4);
  cl.issue(2);
  cl.produce();
  cl.issue(2);  // not written yet
  cl.session.abort(cl.c, cl.env, ErrorKind::timeout, "request timed out", 9);
  REQUIRE(cl.ends.ends.size() == 4);
  CHECK(cl.ends.ends[0].end.error == ErrorKind::timeout);
  for (uint64_t i = 0; i < 4; ++i) CHECK(cl.ends.ends[i].seq == i);
  CHECK(cl.stats.counters.pipeline_unanswered == 3);
  CHECK(cl.session.held() == 0);
  CHECK(cl.produce().empty());
}

TEST_CASE("pipe session: bytes with no request to answer are a protocol error", "[pipeline]") {
  SECTION("before any request") {
    Client cl(4);
    CHECK(cl.feed(ok, 0).kind == Step::Kind::failed);
  }
  SECTION("a response too many") {
    Client cl(4);
    cl.issue(1);
    cl.produce();
    const Step st = cl.feed(ok + ok, 0);
    CHECK(st.kind == Step::Kind::failed);
    CHECK(st.error == ErrorKind::protocol);
    CHECK(cl.ends.ends.size() == 1);
  }
  SECTION("an answer to a request not yet written") {
    Client cl(4);
    cl.issue(1);
    CHECK(cl.feed(ok, 0).kind == Step::Kind::failed);
  }
  SECTION("garbage after a response") {
    Client cl(4);
    cl.issue(2);
    cl.produce();
    const Step st = cl.feed(ok + "GARBAGE\r\n\r\n", 0);
    CHECK(st.kind == Step::Kind::failed);
    CHECK(st.error == ErrorKind::protocol);
  }
}

TEST_CASE("pipe session: past a request's deadline the connection times out", "[pipeline]") {
  Client cl(4);
  cl.config.timeout = std::chrono::milliseconds(100);
  cl.issue(2);
  cl.produce();
  CHECK(cl.session.deadline() == 1 + 100'000'000);
  CHECK(cl.session.on_timer(cl.env, 50'000'000).kind == Step::Kind::more);
  const Step st = cl.session.on_timer(cl.env, 100'000'001);
  CHECK(st.kind == Step::Kind::failed);
  CHECK(st.error == ErrorKind::timeout);
}
