// Stats merge (shards into a run) and subtract (a window: a snapshot minus an earlier one),
// field by field: every counter of Counters and StreamCounters (the tables below must name
// them all: a field added to the struct and not here fails the size check), the WebSocket
// close-code slots with their overflow, and the histograms of Stats (merging shards equals
// recording every value into one histogram).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <ostream>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "ringload/histogram.hpp"
#include "ringload/stats.hpp"
#include "tests/support/values.hpp"

using namespace ringload;

namespace {

// A counter field of T as words: one for a scalar, all of an array.
template <class T>
struct Field {
  const char* name;
  std::span<uint64_t> (*of)(T&);
};

std::span<uint64_t> one(uint64_t& v) { return {&v, 1}; }

const Field<Counters> counter_fields[] = {
    {"requests", [](Counters& c) { return one(c.requests); }},
    {"succeeded", [](Counters& c) { return one(c.succeeded); }},
    {"failed", [](Counters& c) { return one(c.failed); }},
    {"status", [](Counters& c) { return std::span<uint64_t>(c.status); }},
    {"errors", [](Counters& c) { return std::span<uint64_t>(c.errors); }},
    {"bytes_in", [](Counters& c) { return one(c.bytes_in); }},
    {"bytes_out", [](Counters& c) { return one(c.bytes_out); }},
    {"connects", [](Counters& c) { return one(c.connects); }},
    {"closes_by_server", [](Counters& c) { return one(c.closes_by_server); }},
    {"stale_completions", [](Counters& c) { return one(c.stale_completions); }},
    {"waited_for_connection", [](Counters& c) { return one(c.waited_for_connection); }},
    {"spun_sends", [](Counters& c) { return one(c.spun_sends); }},
    {"closes_by_client", [](Counters& c) { return one(c.closes_by_client); }},
    {"tls_handshakes", [](Counters& c) { return one(c.tls_handshakes); }},
    {"tls_resumed", [](Counters& c) { return one(c.tls_resumed); }},
    {"skipped", [](Counters& c) { return one(c.skipped); }},
    {"pipeline_unanswered", [](Counters& c) { return one(c.pipeline_unanswered); }},
};

// Every field but close_codes (tested on its own below).
const Field<StreamCounters> stream_fields[] = {
    {"sse_streams", [](StreamCounters& c) { return one(c.sse_streams); }},
    {"sse_events", [](StreamCounters& c) { return one(c.sse_events); }},
    {"sse_bytes", [](StreamCounters& c) { return one(c.sse_bytes); }},
    {"sse_comments", [](StreamCounters& c) { return one(c.sse_comments); }},
    {"sse_end", [](StreamCounters& c) { return std::span<uint64_t>(c.sse_end); }},
    {"ws_sessions", [](StreamCounters& c) { return one(c.ws_sessions); }},
    {"ws_sent", [](StreamCounters& c) { return one(c.ws_sent); }},
    {"ws_received", [](StreamCounters& c) { return one(c.ws_received); }},
    {"ws_bytes_sent", [](StreamCounters& c) { return one(c.ws_bytes_sent); }},
    {"ws_bytes_received", [](StreamCounters& c) { return one(c.ws_bytes_received); }},
    {"ws_pings", [](StreamCounters& c) { return one(c.ws_pings); }},
    {"ws_pongs_sent", [](StreamCounters& c) { return one(c.ws_pongs_sent); }},
    {"ws_pongs_received", [](StreamCounters& c) { return one(c.ws_pongs_received); }},
    {"ws_closed_by", [](StreamCounters& c) { return std::span<uint64_t>(c.ws_closed_by); }},
    {"ws_end", [](StreamCounters& c) { return std::span<uint64_t>(c.ws_end); }},
};

// The HTTP/2 counts, summed; and the maxima (the most streams at once, the SETTINGS values
// received), which merge to the larger and which a window keeps as seen so far.
#define H2(f) {#f, [](Http2Counters& c) { return one(c.f); }}
const Field<Http2Counters> http2_sum_fields[] = {
    H2(connections), H2(alpn_fallbacks), H2(streams), H2(settings_frames), H2(goaways), H2(goaway_unprocessed),
    H2(goaway_retried), H2(refused_retried),
    {"rst_received", [](Http2Counters& c) { return std::span<uint64_t>(c.rst_received); }},
    H2(rst_other), H2(rst_sent), H2(flow_control_stalls), H2(header_block_bytes), H2(header_decoded_bytes),
};
const Field<Http2Counters> http2_max_fields[] = {
    H2(max_concurrent), H2(max_concurrent_streams), H2(initial_window_size), H2(max_frame_size),
    H2(header_table_size), H2(max_header_list_size),
};
#undef H2

template <class T, std::size_t N>
std::size_t table_bytes(const Field<T> (&fields)[N]) {
  T probe{};
  std::size_t bytes = 0;
  for (const Field<T>& f : fields) bytes += f.of(probe).size_bytes();
  return bytes;
}

// Gives every word of every field a distinct value from `value(word number)`.
template <class T, std::size_t N, class Value>
void fill(T& t, const Field<T> (&fields)[N], Value value) {
  uint64_t word = 0;
  for (const Field<T>& f : fields)
    for (uint64_t& v : f.of(t)) v = value(word++);
}

// merge adds every word, subtract of the older part gives the newer part back, and an
// `older` that is ahead saturates at 0 instead of wrapping.
template <class T, std::size_t N>
void check_merge_and_subtract(const Field<T> (&fields)[N]) {
  auto a = std::make_unique<T>(), b = std::make_unique<T>();
  fill(*a, fields, [](uint64_t w) { return 1000 + 3 * w; });
  fill(*b, fields, [](uint64_t w) { return 7 * w + 1; });
  auto merged = std::make_unique<T>(*a);
  merged->merge(*b);
  auto window = std::make_unique<T>(*merged);
  window->subtract(*a);
  auto behind = std::make_unique<T>(*a);
  behind->subtract(*merged);
  for (const Field<T>& f : fields) {
    INFO("field " << f.name);
    const auto sa = f.of(*a), sb = f.of(*b), sm = f.of(*merged), sw = f.of(*window);
    std::vector<uint64_t> sum, got(sm.begin(), sm.end());
    for (std::size_t i = 0; i < sa.size(); ++i) sum.push_back(sa[i] + sb[i]);
    CHECK(got == sum);
    CHECK(std::vector<uint64_t>(sw.begin(), sw.end()) == std::vector<uint64_t>(sb.begin(), sb.end()));
    const auto zero = f.of(*behind);
    CHECK(std::vector<uint64_t>(zero.begin(), zero.end()) == std::vector<uint64_t>(zero.size(), 0));
  }
}

// A CloseCodes as {code: count} (zero counts left out) and its overflow.
struct CodeCounts {
  std::map<uint16_t, uint64_t> by_code;
  uint64_t overflow = 0;
  bool operator==(const CodeCounts&) const = default;
};

std::ostream& operator<<(std::ostream& os, const CodeCounts& c) {
  os << '{';
  for (const auto& [code, n] : c.by_code) os << code << ':' << n << ' ';
  return os << "overflow:" << c.overflow << '}';
}

CodeCounts counts_of(const CloseCodes& cc) {
  CodeCounts out;
  for (std::size_t i = 0; i < cc.standard.size(); ++i)
    if (cc.standard[i] != 0) out.by_code[static_cast<uint16_t>(1000 + i)] += cc.standard[i];
  for (const auto& [code, n] : cc.other)
    if (n != 0) out.by_code[code] += n;
  out.overflow = cc.overflow;
  return out;
}

using Adds = std::vector<std::pair<uint16_t, uint64_t>>;

CloseCodes make_codes(const Adds& adds) {
  CloseCodes cc;
  for (const auto& [code, n] : adds) cc.add(code, n);
  return cc;
}

// `count` distinct codes from `first`, once each.
Adds distinct(uint16_t first, int count) {
  Adds out;
  for (int i = 0; i < count; ++i) out.push_back({static_cast<uint16_t>(first + i), 1});
  return out;
}

std::map<uint16_t, uint64_t> ones(uint16_t first, int count) {
  std::map<uint16_t, uint64_t> out;
  for (int i = 0; i < count; ++i) out[static_cast<uint16_t>(first + i)] = 1;
  return out;
}

Adds operator+(Adds a, const Adds& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

template <class... Maps>
std::map<uint16_t, uint64_t> joined(std::map<uint16_t, uint64_t> m, const Maps&... more) {
  (m.insert(more.begin(), more.end()), ...);
  return m;
}

struct CloseCase {
  const char* name;
  Adds a, b;          // add() calls into the earlier and the later part
  CodeCounts merged;  // counts_of(merge(a, b))
  CodeCounts window;  // counts_of(subtract(merge(a, b), a))
};

constexpr int slots = 16;  // CloseCodes::other

std::vector<CloseCase> close_cases() {
  return {
      {"standard codes", {{1000, 3}, {1015, 1}}, {{1000, 2}, {1011, 1}},
       {{{1000, 5}, {1011, 1}, {1015, 1}}}, {{{1000, 2}, {1011, 1}}}},
      {"other codes share a slot per code", {{4000, 1}, {3000, 2}}, {{3000, 5}, {4001, 1}},
       {{{3000, 7}, {4000, 1}, {4001, 1}}}, {{{3000, 5}, {4001, 1}}}},
      {"999 and 1016 are not standard codes", {{999, 1}}, {{1016, 2}},
       {{{999, 1}, {1016, 2}}}, {{{1016, 2}}}},
      {"a zero count takes no slot", Adds{{4999, 0}} + distinct(3000, slots), {{4999, 1}},
       {ones(3000, slots), 1}, {{}, 1}},
      {"sixteen slots, then overflow", distinct(3000, slots), {{3000, 1}, {4000, 2}},
       {joined(std::map<uint16_t, uint64_t>{{3000, 2}}, ones(3001, slots - 1)), 2}, {{{3000, 1}}, 2}},
      {"overflows add up", distinct(3000, slots + 1), {{3016, 1}, {3000, 4}},
       {joined(std::map<uint16_t, uint64_t>{{3000, 5}}, ones(3001, slots - 1)), 2}, {{{3000, 4}}, 1}},
  };
}

// One Stats histogram as a pointer to member, for the tables below.
struct HistogramField {
  const char* name;
  Histogram Stats::*member;
};

const HistogramField histogram_fields[] = {
    {"latency", &Stats::latency},           {"service", &Stats::service},
    {"ttfb", &Stats::ttfb},                 {"send_lag", &Stats::send_lag},
    {"tls_handshake", &Stats::tls_handshake}, {"sse_ttfe", &Stats::sse_ttfe},
    {"sse_gap", &Stats::sse_gap},           {"sse_duration", &Stats::sse_duration},
    {"ws_handshake", &Stats::ws_handshake}, {"ws_rtt", &Stats::ws_rtt},
    {"error_latency", &Stats::error_latency},
};

// Values spread log-uniformly over the layout, some beyond it (clamped), different per
// histogram so that a merge into the wrong member shows.
std::vector<uint64_t> values(std::size_t n, uint64_t seed) { return test::log_uniform_values(n, seed, 38.0); }

bool same_counts(const Histogram& x, const Histogram& y) {
  return std::ranges::equal(x.counts(), y.counts()) && x.count() == y.count() &&
         x.clamped() == y.clamped();
}

}  // namespace

TEST_CASE("the field tables name every counter", "[stats]") {
  CHECK(table_bytes(counter_fields) == sizeof(Counters));
  CHECK(table_bytes(stream_fields) + sizeof(CloseCodes) == sizeof(StreamCounters));
  CHECK(table_bytes(http2_sum_fields) + table_bytes(http2_max_fields) == sizeof(Http2Counters));
  CHECK(sizeof(Counters) + sizeof(StreamCounters) + sizeof(Http2Counters) +
            std::size(histogram_fields) * sizeof(Histogram) ==
        sizeof(Stats));
}

TEST_CASE("Http2Counters merge and subtract every field", "[stats]") {
  check_merge_and_subtract(http2_sum_fields);
  Http2Counters a, b;
  fill(a, http2_max_fields, [](uint64_t w) { return 10 + w; });
  fill(b, http2_max_fields, [](uint64_t w) { return w % 2 == 0 ? 100 + w : 1; });
  Http2Counters merged = a;
  merged.merge(b);
  Http2Counters window = merged;
  window.subtract(a);
  for (const auto& f : http2_max_fields) {
    INFO("field " << f.name);
    CHECK(f.of(merged)[0] == std::max(f.of(a)[0], f.of(b)[0]));
    CHECK(f.of(window)[0] == f.of(merged)[0]);
  }
}

TEST_CASE("Counters merge and subtract every field", "[stats]") {
  check_merge_and_subtract(counter_fields);
}

TEST_CASE("StreamCounters merge and subtract every field", "[stats]") {
  check_merge_and_subtract(stream_fields);
}

TEST_CASE("close codes merge and subtract", "[stats]") {
  for (const CloseCase& c : close_cases()) {
    INFO("case: " << c.name);
    const CloseCodes a = make_codes(c.a), b = make_codes(c.b);
    CloseCodes merged = a;
    merged.merge(b);
    CHECK(counts_of(merged) == c.merged);
    CloseCodes window = merged;
    window.subtract(a);
    CHECK(counts_of(window) == c.window);
    // Through StreamCounters, as the engine merges them.
    StreamCounters sa, sb;
    sa.close_codes = a;
    sb.close_codes = b;
    sa.merge(sb);
    CHECK(counts_of(sa.close_codes) == c.merged);
  }
}

TEST_CASE("subtract gives the later part back while no code overflows", "[stats]") {
  // A window's close codes are exact unless a code found no slot in one of the snapshots:
  // then its count is in `overflow`, which has no code (the report shows it as "other").
  for (const CloseCase& c : close_cases()) {
    const CloseCodes a = make_codes(c.a), b = make_codes(c.b);
    CloseCodes merged = a;
    merged.merge(b);
    if (merged.overflow != 0) continue;
    INFO("case: " << c.name);
    merged.subtract(a);
    CHECK(counts_of(merged) == counts_of(b));
  }
}

TEST_CASE("Stats merge of shards equals one Stats of every value", "[stats]") {
  constexpr int shards = 4;
  std::vector<std::unique_ptr<Stats>> shard;
  auto all = std::make_unique<Stats>();
  for (int s = 0; s < shards; ++s) {
    shard.push_back(std::make_unique<Stats>());
    for (std::size_t f = 0; f < std::size(histogram_fields); ++f) {
      for (uint64_t v : values(500 + 100 * f, 17 * f + s)) {
        (shard.back().get()->*histogram_fields[f].member).record(v);
        (all.get()->*histogram_fields[f].member).record(v);
      }
    }
    shard.back()->counters.requests = 10 + s;
    shard.back()->streams.ws_sent = 20 + s;
    shard.back()->streams.close_codes.add(4000 + s);
  }
  auto merged = std::make_unique<Stats>();
  for (const auto& s : shard) merged->merge(*s);
  CHECK(merged->counters.requests == 10 + 11 + 12 + 13);
  CHECK(merged->streams.ws_sent == 20 + 21 + 22 + 23);
  CHECK(counts_of(merged->streams.close_codes).by_code.size() == shards);
  for (const HistogramField& f : histogram_fields) {
    INFO("histogram " << f.name);
    const Histogram& got = merged.get()->*f.member;
    const Histogram& want = all.get()->*f.member;
    CHECK(same_counts(got, want));
    CHECK(got.clamped() > 0);
    CHECK(got.min() == want.min());
    CHECK(got.max() == want.max());
    CHECK(got.mean() == Approx(want.mean()));
    CHECK(got.stdev() == Approx(want.stdev()));
    for (double p : {0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 100.0}) CHECK(got.percentile(p) == want.percentile(p));
  }
}

TEST_CASE("Stats subtract of the earlier part leaves the later part", "[stats]") {
  auto a = std::make_unique<Stats>(), b = std::make_unique<Stats>();
  for (std::size_t f = 0; f < std::size(histogram_fields); ++f) {
    for (uint64_t v : values(400, 3 * f + 1)) (a.get()->*histogram_fields[f].member).record(v);
    for (uint64_t v : values(300 + f, 5 * f + 2)) (b.get()->*histogram_fields[f].member).record(v);
  }
  a->counters.requests = 5;
  b->counters.requests = 7;
  b->streams.sse_events = 9;
  auto window = std::make_unique<Stats>(*a);
  window->merge(*b);
  window->subtract(*a);
  CHECK(window->counters.requests == 7);
  CHECK(window->streams.sse_events == 9);
  for (const HistogramField& f : histogram_fields) {
    INFO("histogram " << f.name);
    const Histogram& got = window.get()->*f.member;
    const Histogram& want = b.get()->*f.member;
    CHECK(same_counts(got, want));
    // A window knows its values only to their bucket: min and max are bucket bounds.
    CHECK(got.min() == Histogram::lowest_equivalent(Histogram::index_of(want.min())));
    CHECK(got.max() == Histogram::highest_equivalent(Histogram::index_of(want.max())));
    CHECK(got.mean() == Approx(want.mean()).epsilon(1e-9));
    for (double p : {1.0, 50.0, 90.0, 99.0}) CHECK(got.percentile(p) == want.percentile(p));
  }
}
