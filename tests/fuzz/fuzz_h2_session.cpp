// libFuzzer target for the HTTP/2 session's input side (engine/session/h2_session over
// libnghttp2): arbitrary server bytes after a valid client preface.
//
// Input: byte 0: bits 0-2 are --max-streams - 1 (1..8), bits 3-5 the streams to open,
// bit 6 puts a valid server SETTINGS (MAX_CONCURRENT_STREAMS = --max-streams) before the
// rest, so that streams are open when the fuzzed bytes arrive (the streams are opened
// right after it, as the shard would: only once the server's SETTINGS gave a capacity),
// bit 7 exports each response (ResponseTap to an ExportQueue, drained after each read);
// byte 1 picks where reads are split; the rest is what the server sends.
//
// The bytes are fed whole, in two reads, in reads of 1..16 bytes and byte by byte (the
// unit tests' cuts, each read copied by the guard page), then once more with the client's
// output drained after each read as the shard does. One difference between cuts is
// libnghttp2's (1.52), and allowed: it counts a CONTINUATION each time a read ends inside
// that frame's 9-byte header, so a header block in CONTINUATION frames read in small
// pieces fails as "Too many CONTINUATION frames" (limit 8) where the whole succeeds.
// Asserted besides memory safety and leaks:
// - every stream opened ends exactly once through RequestEnds (after the shard's abort()
//   when the session failed), and a `done` Step comes with no stream open;
// - the capacity never exceeds --max-streams; a complete end has a final status;
// - the same ends (order, status, message) and final Step whatever the cut (the runs
//   that drain only after the last read), but for that one;
// - nghttp2's memory (the shard's H2Pool) stays bounded: at most 4 MiB of chunks, however
//   many inputs ran.
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/conn.hpp"
#include "engine/output/export_queue.hpp"
#include "engine/requests/request.hpp"
#include "engine/session/h2_session.hpp"
#include "fuzz_check.hpp"
#include "tests/support/cuts.hpp"

using namespace ringload;
using ringload::test::Cut;
using ringload::test::GuardPage;

namespace {

constexpr uint32_t max_streams_limit = 8;
constexpr std::size_t pool_bound = 4u << 20;
// nghttp2_strerror(NGHTTP2_ERR_TOO_MANY_CONTINUATIONS): see the header comment.
const std::string continuation_count = "Too many CONTINUATION frames following a HEADER frame";

// What became of one stream, for comparing cuts.
struct End {
  uint64_t seq = 0;
  bool ok = false;
  bool complete = false;
  int status = 0;
  int error = 0;
  std::string message;
  bool operator==(const End&) const = default;
};

struct Ends final : RequestEnds {
  std::vector<End> ends;
  uint16_t* in_flight = nullptr;
  void ended(uint32_t, InFlight& r, const RequestEnd& e) noexcept override {
    if (e.complete) FUZZ_ASSERT(e.status >= 200 && e.status <= 999);
    for (const End& done : ends) FUZZ_ASSERT(done.seq != r.seq);  // once per stream
    ends.push_back({r.seq, e.ok, e.complete, e.status, e.complete ? -1 : static_cast<int>(e.error),
                    e.message != nullptr ? e.message : ""});
    FUZZ_ASSERT(*in_flight > 0);
    --*in_flight;
  }
};

// What a shard keeps across connections: the config, the request table, the statistics,
// the HTTP/2 shared state (nghttp2's callbacks and memory pool). Made once per process,
// per --max-streams.
struct Shard {
  RunConfig config;
  RequestTable table;
  std::vector<Origin> origins;
  Stats stats;
  H2Shared shared;
  ExportQueue exports{2u << 20};  // HPACK may turn each input byte into a 4 KiB field

  explicit Shard(uint32_t max_streams) {
    config.http2 = Http2Mode::prior_knowledge;
    config.max_streams = max_streams;
    RequestTableBuilder b;
    const Url url = *parse_url("http://127.0.0.1:8080/x");
    FUZZ_ASSERT(b.add(RequestInput{url}).has_value());
    table = std::move(b).finish();
    Origin o;
    o.url = url;
    o.host_line = "Host: 127.0.0.1:8080\r\n";
    o.user_agent_line = "User-Agent: fuzz\r\n";
    o.http2 = ringload::Http2Mode::prior_knowledge;  // an h2c connection group
    o.accept_line = "Accept: */*\r\n";
    origins.push_back(std::move(o));
    FUZZ_ASSERT(shared.setup(table, origins, config, stats.http2).empty());
  }
  void drain_exports() {
    while (exports.drain(SIZE_MAX, [](const ExportQueue::Record&) {})) {
    }
  }
};

struct Outcome {
  std::vector<End> ends;
  Step::Kind last = Step::Kind::more;
  std::string message;  // the last Step's
  uint64_t opened = 0;
  bool operator==(const Outcome&) const = default;
};

// The server's SETTINGS frame (RFC 9113 §6.5): MAX_CONCURRENT_STREAMS = n.
std::string server_settings(uint32_t n) {
  const char f[] = {0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, static_cast<char>(n)};
  return {f, sizeof f};
}

void print(const char* what, const Outcome& o) {
  std::fprintf(stderr, "%s: %lu opened, last Step %d, message \"%s\"\n", what, static_cast<unsigned long>(o.opened),
               static_cast<int>(o.last), o.message.c_str());
  for (const End& e : o.ends)
    std::fprintf(stderr, "  stream %lu: ok %d complete %d status %d error %d \"%s\"\n", static_cast<unsigned long>(e.seq),
                 e.ok, e.complete, e.status, e.error, e.message.c_str());
}

class Connection {
 public:
  Connection(Shard& shard, bool exported, bool drain_each_read)
      : shard_(shard), exported_(exported), drain_each_read_(drain_each_read) {
    ends_.in_flight = &c_.in_flight;
    FUZZ_ASSERT(session_.ready(0, c_, env_, shard.shared, 1));
    FUZZ_ASSERT(c_.capacity == 0);
    drain();
  }

  // Feeds one read (then drains the output, if drain_each_read); false once the Step
  // ended the connection.
  bool read(std::span<const char> bytes) {
    env_.rx_ns = 2;
    return act(session_.on_read(c_, env_, bytes)) && (!drain_each_read_ || act(drain()));
  }

  // Opens up to `n` streams, as far as the capacity allows.
  void open(uint32_t n) {
    for (; n > 0 && c_.in_flight < c_.capacity; --n) {
      InFlight& r = session_.acquire();
      r.request = &shard_.table.lines[0];
      r.seq = opened_++;
      r.intended_ns = r.sent_ns = 1;
      if (exported_) r.tap = ResponseTap{&shard_.exports, r.seq, 1024};
      FUZZ_ASSERT(session_.start(c_, r, env_, 1) == nullptr);
      ++c_.in_flight;
    }
    act(drain());
  }

  // The connection ends: the shard fails what is still open (abort), and every stream
  // opened has ended once.
  Outcome finish() {
    if (!ended_ && act(drain())) act(session_.on_eof(c_, env_));
    session_.abort(c_, env_, ErrorKind::read, "run over", 3);
    FUZZ_ASSERT(c_.in_flight == 0);
    FUZZ_ASSERT(ends_.ends.size() == opened_);
    shard_.drain_exports();
    return {ends_.ends, last_, message_, opened_};
  }

 private:
  Step drain() {
    for (int i = 0; i < 64; ++i) {
      Output out;
      const Step st = session_.produce(c_, env_, out);
      if (st.terminal() || out.empty()) return st;
    }
    return Step::more();
  }
  bool act(const Step& st) {
    FUZZ_ASSERT(c_.capacity <= shard_.config.max_streams);
    if (exported_) shard_.drain_exports();
    if (!st.terminal()) return true;
    last_ = st.kind;
    message_ = st.message != nullptr ? st.message : "";
    ended_ = true;
    if (st.kind == Step::Kind::done) FUZZ_ASSERT(c_.in_flight == 0);
    return false;
  }

  Shard& shard_;
  bool exported_;
  bool drain_each_read_;
  Conn c_;
  Ends ends_;
  SessionEnv env_{shard_.stats, nullptr, shard_.config, {}, 0, nullptr, {}, 0, &ends_};
  H2Session session_;
  uint64_t opened_ = 0;
  bool ended_ = false;
  Step::Kind last_ = Step::Kind::more;
  std::string message_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static GuardPage guard(1 << 20);
  static std::optional<Shard> shards[max_streams_limit];
  if (size < 2 || size - 2 > guard.capacity()) return 0;
  const uint32_t max_streams = 1 + (data[0] & 7);
  const uint32_t streams = (data[0] >> 3) & 7;
  const bool settings_first = (data[0] & 0x40) != 0;
  const bool exported = (data[0] & 0x80) != 0;
  const unsigned split_seed = data[1];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 2), size - 2);
  std::optional<Shard>& shard = shards[max_streams - 1];
  if (!shard) shard.emplace(max_streams);

  // The cuts compare with no output drained between reads (what the client sends, an
  // RST_STREAM for one, closes streams: a drain between reads changes what follows). The
  // last run drains after each read, as the shard does, and is checked for the
  // invariants only.
  const std::size_t n = bytes.size();
  const std::size_t step = 1 + split_seed % 16;
  const Cut cuts[] = {{n, n}, {split_seed % (n + 1), n}, {step, step}, {1, 1}, {step, step}};
  Outcome whole;
  for (const Cut& cut : cuts) {
    const bool shard_like = &cut == &cuts[4];
    Connection conn(*shard, exported, shard_like);
    bool alive = true;
    if (settings_first) {
      alive = conn.read(server_settings(max_streams));
      if (alive) conn.open(streams);
    }
    if (alive) {
      ringload::test::feed_guarded(bytes, cut, guard,
                                   [&](std::span<const char> read, std::size_t) { return conn.read(read); });
    }
    const Outcome out = conn.finish();
    if (&cut == &cuts[0]) {
      whole = out;
    } else if (!shard_like && !(out == whole) && out.message != continuation_count) {
      print("whole", whole);
      print(cut.label(n).c_str(), out);
      FUZZ_ASSERT(out == whole);
    }
  }
  FUZZ_ASSERT(shard->shared.pool.bytes() <= pool_bound);
  return 0;
}
