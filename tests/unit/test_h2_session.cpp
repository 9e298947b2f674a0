// The HTTP/2 session's input side against a real HTTP/2 server in memory (libnghttp2's
// server session): what the client writes goes to the server, what the server writes is
// fed to H2Session::on_read whole, byte by byte, and split at every offset; every
// request comes back through RequestEnds exactly once. Random bytes after a valid
// preface never crash it and end in a failed Step or more.
#include <nghttp2/nghttp2.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "engine/core/conn.hpp"
#include "engine/requests/request.hpp"
#include "engine/session/h2_session.hpp"

using namespace ringload;

namespace {

struct Ends final : RequestEnds {
  std::vector<RequestEnd> ends;
  std::vector<std::string> messages;
  void ended(uint32_t, InFlight&, const RequestEnd& e) noexcept override {
    ends.push_back(e);
    messages.push_back(e.message != nullptr ? e.message : "");
  }
};

// A server that answers every request 200 "hello" (or resets it with `reset`), after its
// SETTINGS with `max_streams`.
struct Server {
  nghttp2_session* ng = nullptr;
  uint32_t reset = 0;  // non-zero: RST_STREAM with this code instead of answering
  int32_t answer_upto = INT32_MAX;  // streams above this id get no answer
  std::string body = "hello";

  static ssize_t read_body(nghttp2_session*, int32_t, uint8_t* buf, size_t len, uint32_t* flags,
                           nghttp2_data_source* src, void*) {
    auto* s = static_cast<std::string*>(src->ptr);
    const size_t n = std::min(len, s->size());
    std::memcpy(buf, s->data(), n);
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
  static int on_frame(nghttp2_session* ng, const nghttp2_frame* f, void* self) {
    auto& srv = *static_cast<Server*>(self);
    if (f->hd.type != NGHTTP2_HEADERS || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    if (f->hd.stream_id > srv.answer_upto) return 0;
    if (srv.reset != 0) return nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id, srv.reset);
    static uint8_t status[] = ":status", ok[] = "200", ct[] = "content-type", text[] = "text/plain";
    const nghttp2_nv nv[] = {{status, ok, 7, 3, 0}, {ct, text, 12, 10, 0}};
    nghttp2_data_provider prd{};
    prd.source.ptr = &srv.body;
    prd.read_callback = read_body;
    return nghttp2_submit_response(ng, f->hd.stream_id, nv, 2, &prd);
  }
  explicit Server(uint32_t max_streams) {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    nghttp2_session_server_new(&ng, cb, this);
    nghttp2_session_callbacks_del(cb);
    const nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_streams}};
    nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, iv, 1);
  }
  ~Server() { nghttp2_session_del(ng); }
  void take(std::span<const char> bytes) {
    REQUIRE(nghttp2_session_mem_recv(ng, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) ==
            static_cast<ssize_t>(bytes.size()));
  }
  std::string give() {
    std::string out;
    const uint8_t* p = nullptr;
    for (ssize_t n; (n = nghttp2_session_mem_send(ng, &p)) > 0;) out.append(reinterpret_cast<const char*>(p), n);
    return out;
  }
};

// One client connection with its shard-side pieces.
struct Client {
  RunConfig config;
  RequestTable table;
  std::vector<Origin> origins;
  Stats stats;
  Ends ends;
  SessionEnv env{stats, nullptr, config, {}, 0, nullptr, {}, 0, &ends};
  H2Shared shared;
  Conn c;
  H2Session session;

  explicit Client(uint32_t max_streams) {
    config.http2 = Http2Mode::prior_knowledge;
    config.max_streams = max_streams;
    RequestTableBuilder b;
    Url url = *parse_url("http://127.0.0.1:8080/x");
    REQUIRE(b.add(RequestInput{url}));
    table = std::move(b).finish();
    Origin o;
    o.url = url;
    o.host_line = "Host: 127.0.0.1:8080\r\n";
    o.user_agent_line = "User-Agent: test\r\n";
    o.http2 = ringload::Http2Mode::prior_knowledge;  // an h2c connection group
    o.accept_line = "Accept: */*\r\n";
    origins.push_back(std::move(o));
    REQUIRE(shared.setup(table, origins, config, stats.http2).empty());
    REQUIRE(session.ready(0, c, env, shared, 0));
  }
  std::string drain() {
    std::string out;
    for (;;) {
      Output o;
      const Step st = session.produce(c, env, o);
      REQUIRE(st.kind == Step::Kind::more);
      if (o.empty()) return out;
      out.append(o.a.data(), o.a.size());
      out.append(o.b.data(), o.b.size());
    }
  }
  void issue(uint32_t n, bool resent = false) {
    for (uint32_t i = 0; i < n; ++i) {
      InFlight& r = session.acquire();
      r.request = &table.lines[0];
      r.sent_ns = 1;
      r.resent = resent;
      REQUIRE(session.start(c, r, env, 1) == nullptr);
      ++c.in_flight;
    }
  }
};

// Feeds `bytes` to the client in pieces of the given sizes (0: whole).
Step feed(Client& cl, const std::string& bytes, std::size_t piece, std::size_t first = 0) {
  Step last = Step::more();
  std::size_t at = 0;
  auto one = [&](std::size_t n) {
    last = cl.session.on_read(cl.c, cl.env, {bytes.data() + at, n});
    at += n;
  };
  if (first != 0) one(first);
  while (at < bytes.size() && last.kind == Step::Kind::more) one(piece == 0 ? bytes.size() - at : std::min(piece, bytes.size() - at));
  return last;
}

}  // namespace

TEST_CASE("h2 session: no stream before the server's SETTINGS, then its limit", "[h2]") {
  Client cl(8);
  CHECK(cl.c.capacity == 0);
  CHECK(cl.c.mux);
  Server srv(3);
  srv.take(cl.drain());
  CHECK(feed(cl, srv.give(), 0).kind == Step::Kind::more);
  CHECK(cl.c.capacity == 3);
  CHECK(cl.stats.http2.max_concurrent_streams == 3);
}

TEST_CASE("h2 session: responses end their streams, whole, byte by byte, split anywhere", "[h2]") {
  // One reference run gives the server's bytes; each way of cutting them must end the same.
  Client ref(4);
  Server srv(4);
  srv.take(ref.drain());
  const std::string settings = srv.give();
  feed(ref, settings, 0);
  ref.issue(3);
  srv.take(ref.drain());
  const std::string answers = srv.give();
  REQUIRE(!answers.empty());
  std::vector<std::size_t> pieces = {0, 1, 7};
  for (std::size_t split = 1; split < answers.size(); split += 3) pieces.push_back(100000 + split);
  for (std::size_t p : pieces) {
    INFO("piece " << p);
    Client cl(4);
    Server s2(4);
    s2.take(cl.drain());
    feed(cl, s2.give(), 0);
    cl.issue(3);
    s2.take(cl.drain());
    const std::string bytes = s2.give();
    REQUIRE(bytes.size() == answers.size());
    const Step st = p > 100000 ? feed(cl, bytes, 0, p - 100000) : feed(cl, bytes, p);
    CHECK(st.kind == Step::Kind::more);
    REQUIRE(cl.ends.ends.size() == 3);
    for (const RequestEnd& e : cl.ends.ends) {
      CHECK(e.complete);
      CHECK(e.ok);
      CHECK(e.status == 200);
    }
    CHECK(cl.stats.http2.streams == 3);
    CHECK(cl.stats.http2.header_block_bytes > 0);
  }
}

TEST_CASE("h2 session: RST_STREAM ends the stream as a protocol error naming the code", "[h2]") {
  Client cl(2);
  Server srv(2);
  srv.reset = NGHTTP2_INTERNAL_ERROR;
  srv.take(cl.drain());
  feed(cl, srv.give(), 0);
  cl.issue(2);
  srv.take(cl.drain());
  CHECK(feed(cl, srv.give(), 1).kind == Step::Kind::more);
  REQUIRE(cl.ends.ends.size() == 2);
  CHECK_FALSE(cl.ends.ends[0].complete);
  CHECK_FALSE(cl.ends.ends[0].resend);
  CHECK(cl.ends.messages[0].find("INTERNAL_ERROR") != std::string::npos);
  CHECK(cl.stats.http2.rst_received[NGHTTP2_INTERNAL_ERROR] == 2);
  CHECK(cl.stats.http2.refused_retried == 0);
}

TEST_CASE("h2 session: a REFUSED_STREAM goes back for a resend, once (RFC 9113 §8.7)", "[h2]") {
  for (const bool resent : {false, true}) {
    INFO("already resent: " << resent);
    Client cl(2);
    Server srv(2);
    srv.reset = NGHTTP2_REFUSED_STREAM;
    srv.take(cl.drain());
    feed(cl, srv.give(), 0);
    cl.issue(2, resent);
    srv.take(cl.drain());
    CHECK(feed(cl, srv.give(), 1).kind == Step::Kind::more);  // the connection goes on
    REQUIRE(cl.ends.ends.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
      const RequestEnd& e = cl.ends.ends[i];
      CHECK_FALSE(e.complete);
      CHECK(e.resend == !resent);
      if (resent) CHECK(cl.ends.messages[i].find("REFUSED_STREAM") != std::string::npos);
      else CHECK(e.message == nullptr);
    }
    CHECK(cl.stats.http2.rst_received[NGHTTP2_REFUSED_STREAM] == 2);
    CHECK(cl.stats.http2.refused_retried == (resent ? 0 : 2));
  }
}

TEST_CASE("h2 session: bytes that are no HTTP/2 fail the connection, never crash", "[h2]") {
  uint64_t state = 0x9e3779b97f4a7c15;
  for (int round = 0; round < 300; ++round) {
    Client cl(4);
    Server srv(4);
    srv.take(cl.drain());
    const bool after_settings = round % 2 == 0;
    if (after_settings) feed(cl, srv.give(), 0);
    cl.issue(after_settings ? 2 : 0);
    std::string junk(1 + round % 97, '\0');
    for (char& ch : junk) {
      state = state * 6364136223846793005 + 1442695040888963407;
      ch = static_cast<char>(state >> 56);
    }
    const Step st = feed(cl, junk, 1 + round % 5);
    CHECK(st.kind != Step::Kind::done);
  }
}

TEST_CASE("h2 session: streams above a GOAWAY's last_stream_id go back for a resend, once", "[h2]") {
  for (const bool resent : {false, true}) {
    INFO("already resent: " << resent);
    Client cl(4);
    Server srv(4);
    srv.answer_upto = 1;
    srv.take(cl.drain());
    feed(cl, srv.give(), 0);
    cl.issue(3, resent);
    srv.take(cl.drain());
    nghttp2_submit_goaway(srv.ng, NGHTTP2_FLAG_NONE, 1, NGHTTP2_NO_ERROR, nullptr, 0);
    const Step st = feed(cl, srv.give(), 0);
    CHECK(st.kind == Step::Kind::done);  // the connection ends once its streams did
    REQUIRE(cl.ends.ends.size() == 3);
    uint32_t complete = 0, resend = 0, failed = 0;
    for (std::size_t i = 0; i < 3; ++i) {
      const RequestEnd& e = cl.ends.ends[i];
      if (e.complete) {
        ++complete;
      } else if (e.resend) {
        ++resend;
        CHECK(e.message == nullptr);
      } else {
        ++failed;
        CHECK(cl.ends.messages[i].find("GOAWAY") != std::string::npos);
      }
    }
    CHECK(complete == 1);
    CHECK(resend == (resent ? 0 : 2));
    CHECK(failed == (resent ? 2 : 0));
    CHECK(cl.stats.http2.goaway_unprocessed == 2);
    CHECK(cl.stats.http2.goaway_retried == (resent ? 0 : 2));
    CHECK(cl.c.capacity == 0);
  }
}
