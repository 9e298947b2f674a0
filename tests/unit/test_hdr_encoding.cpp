// hdr_encode / hdr_decode against encodings written by HdrHistogram's own libraries:
// Java's (Debian's libhdrhistogram-java 2.1.11, tools/hdr/JavaFixture.java) and npm's
// hdr-histogram-js 3.0.1 (tools/hdr), and round trips through every bucket.
#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "proto/base64.hpp"
#include "ringload/hdr_encoding.hpp"
#include "ringload/histogram.hpp"
#include "tests/support/values.hpp"

using ringload::Histogram;

namespace {

std::unique_ptr<Histogram> make() { return std::make_unique<Histogram>(); }

constexpr uint64_t top = (uint64_t{1} << 37) - 1;

// Java: new Histogram(1, 2^37 - 1, 3), recordValueWithCount(value, count) for each pair,
// encodeIntoCompressedByteBuffer, Base64.
const std::vector<std::pair<uint64_t, uint64_t>> edge_values = {
    {0, 3}, {1, 1}, {1000, 10000}, {2047, 1}, {2048, 2}, {2049, 1}, {4095, 1}, {4096, 1},
    {65535, 1}, {1000000, 7}, {123456789, 1}, {top, 2}};
const char* const java_empty = "HISTFAAAAB54nJNpmSzMwMDAyAABzFAaxJf/DwT2H6AiAGw5BpY=";
const char* const java_edges =
    "HISTFAAAADx4nJNpmSzMwMAgwwABzFCaEYjl/wOB/QeIABvTaf4FcxhXCzCx/eZnYvptz3TQju9jHtPRRYwsAKJqD7c=";
// Java: recordValue((k * k * 7919) % 10^9 + k) for k in [0, 1000).
const char* const java_spread =
    "HISTFAAAA3F4nEVUMagdRRSdOXN3l2V5LOtjeSzPxyOETwgSQvjIJwQNEkSChYhYBItfiYWVhVhYiGKwCBZiJSEECwsRSwurkFIsgqVY"
    "WtjaWFnEc86sZGd3386959577pmZ9/znX29Taj9L9Srrb+ZzfMrr5t/VgH9exr9H/PwcHm9wv9f9bYsHHZ4Efgl80eCrwFPgYcGjgj8K"
    "HgP3gPvAD8Ap7gJv4hJ+zfgd+Cnj+4wRC77LMv1Ga8afGX9lHPEk41HGJ/S+h7sZ9zK+zNjjQ0z4NOObjIcZH+MiGtzAuRL9mHEHA17H"
    "O3gJB5zHOTpa3mX8dbyA91FoP8FV4vEBxx3s8BFu4RrTnDLwKh8iFubETbzC8SItJ0xVWGRh7VfxGm6jZ7LC922mHVnuhEPemYknvIFb"
    "MTDnAW9hQ+SMt2nfcfSkc5mN9RwjfWr8MhIRM+MWXAGuxIEOMOyiCe2xBTGFH+LQ4DSukeveEUzVUctE5IGuC8Ke4oyTnqYzIRInEycj"
    "/WfEToyZmOo6I5WoCDJijJnhM0F6JscXqbGPQuJDMNUhjsTu+CTW74hKIUajuamfiY++E9DEVmkJ78iA14XoPFmYmw02hElWlWpoGFaR"
    "NV/4iy72zHOk8chpsmtZwZ1oD0x3aS3MV8dByJYW6dBYbLWgfEPszGUtvLBLuQSq2o+sUBwwq2sUdib/EHPI04dlKl6bDb+30o3hvLZW"
    "RC2QA7sUd8XSMKNvST1GQ3q3njy66E1CafrQ6shCigrs4YYHR2KWysyrNUlh0kuITGiBY1HjIjKZnpKbThHR3rqoZ3VHT+cmO4ZPUZmo"
    "AamkWy1UiXarILw3NhAaE9eEMC2v6ck2ewmSaZVQjc7eue6DJI4bVLtYGC5ag4+QI7ifQgJyzzzDDE5aXM/qtckpvee4I7wulZc0U37G"
    "0MpbSgTzuZlI3jYmk7xnvdNq88We5JVohKxuF3E/tdtaJ9Xmq1tAM+E6dKF4K26Kkao6Sh/SMD1LuH6tx6RtFBSalrbz6msDqmKktckp"
    "GMYqrtWb6oBWzEtbyzT1HBMeOlJaVMO6/xtsorIp/vY/hlEO9HbTTcEqpF9rN1WnIdyVUkzhuG7NZoVIbag7VuLEEKuunlv7EnXT11OR"
    "YlWGhynpVbUoPmLmXRUaUJdQstM6tsXnEv8B50hV0Q==";
// hdr-histogram-js: the edge values (it writes normalizing index offset 1 and the
// conversion ratio as the integer 1, both ignored on reading), and 2 significant digits.
const char* const js_edges =
    "HISTFAAAAEF4nJNpmSzMwMAgw8DAwMjAwMDMAAEgtvz/////w/hsTKf5F8xhXC3AxPabn4nptz3TQTu+j3lMRxcxsgAAeRQOig==";
const char* const js_two_digits = "HISTFAAAACZ4nJNpmSzMwMDAzMDAwMjAwMDEAAEgtvz/////w/if2ZkAcIkGZg==";
// HdrHistogram_c's test histogram: (1, 3.6e9, 3), 10,000 x 1000 and one 100,000,000.
const char* const c_raw = "HISTFAAAACl4nJNpmSzMwMBgyAABzFCaEURcm7yEwf4DROA8/4I5jNM7mJgAlWkH9g==";

std::unique_ptr<Histogram> edges() {
  auto h = make();
  for (const auto& [v, n] : edge_values) h->record_n(v, n);
  return h;
}

std::unique_ptr<Histogram> spread() {
  auto h = make();
  for (uint64_t k = 0; k < 1000; ++k) h->record((k * k * 7919) % 1000000000 + k);
  return h;
}

// Every count equal, and the same percentiles but where ringload's exact maximum stands
// for the top bucket's highest value.
void require_same_buckets(const Histogram& got, const Histogram& want) {
  REQUIRE(got.count() == want.count());
  const auto a = got.counts(), b = want.counts();
  for (std::size_t i = 0; i < Histogram::counts_len; ++i) {
    if (a[i] != b[i]) FAIL("index " << i << ": " << a[i] << " != " << b[i]);
  }
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    const uint64_t w = want.percentile(p);
    if (w != want.max()) CHECK(got.percentile(p) == w);
    CHECK(Histogram::index_of(got.percentile(p)) == Histogram::index_of(w));
  }
}

std::unique_ptr<Histogram> decoded(const char* text) {
  auto h = make();
  const auto r = ringload::hdr_decode(text, *h);
  INFO((r ? std::string("ok") : r.error()));
  REQUIRE(r);
  return h;
}

}  // namespace

TEST_CASE("hdr_encode writes what HdrHistogram's Java encoder writes, byte for byte", "[hdr]") {
  CHECK(ringload::hdr_encode(*make()) == java_empty);
  CHECK(ringload::hdr_encode(*edges()) == java_edges);
  CHECK(ringload::hdr_encode(*spread()) == java_spread);
}

TEST_CASE("hdr_decode reads Java's, C's and hdr-histogram-js's encodings", "[hdr]") {
  require_same_buckets(*decoded(java_edges), *edges());
  require_same_buckets(*decoded(java_spread), *spread());
  require_same_buckets(*decoded(js_edges), *edges());
  CHECK(decoded(java_empty)->count() == 0);

  const auto c = decoded(c_raw);
  CHECK(c->count() == 10001);
  CHECK(c->counts()[Histogram::index_of(1000)] == 10000);
  CHECK(c->counts()[Histogram::index_of(100000000)] == 1);
  // HdrHistogram's min, max and mean from buckets: lowest, highest and median equivalents.
  CHECK(c->min() == 1000);
  CHECK(c->max() == Histogram::highest_equivalent(Histogram::index_of(100000000)));
  CHECK(c->percentile(99.99) == 1000);
  CHECK(c->percentile(100) == c->max());
}

TEST_CASE("hdr_decode adds to what the histogram holds (merging reports)", "[hdr]") {
  auto h = edges();
  REQUIRE(ringload::hdr_decode(java_spread, *h));
  auto want = edges();
  want->merge(*spread());
  require_same_buckets(*h, *want);
}

TEST_CASE("hdr encode/decode round trip over every bucket", "[hdr]") {
  auto h = make();
  for (uint64_t v : ringload::test::log_uniform_values(200000, 42, 37.0)) h->record(v);
  h->record_n(Histogram::highest_trackable, 5);
  h->record_n(uint64_t{1} << 62, 2);  // clamped into the top bucket
  const std::string text = ringload::hdr_encode(*h);
  CHECK(text.rfind("HISTFAAA", 0) == 0);
  require_same_buckets(*decoded(text.c_str()), *h);
  // Counts beyond one LEB128 byte group and beyond 2^32.
  auto big = make();
  big->record_n(5, uint64_t{1} << 40);
  big->record_n(70000, 300);
  const auto back = decoded(ringload::hdr_encode(*big).c_str());
  CHECK(back->counts()[5] == uint64_t{1} << 40);
  CHECK(back->counts()[Histogram::index_of(70000)] == 300);
}

TEST_CASE("hdr_decode refuses what it cannot read and leaves the histogram unchanged", "[hdr]") {
  auto h = edges();
  const struct {
    std::string text;
    const char* error;
  } cases[] = {
      {"HISTFAAA*", "not Base64"},
      {"", "cookie"},
      {"AAAAAAAAAAAA", "cookie"},
      {js_two_digits, "layout: 2 significant digits"},
      // java_edges cut short: fewer bytes than its compressed length.
      {std::string(java_edges).substr(0, 40), "truncated"},
      {"HISTFAAAAAB4nJNpmSzMwMDAyAABzFAaxJf/DwT2H6AiAGw5BpY=", "bad deflate data"},
  };
  // A V2 header followed by 300 KB of zero bytes: deflates to little, inflates past the
  // largest encoding of ringload's layout (40 + 9 * 28,672 bytes) and is refused there.
  std::vector<unsigned char> bomb(300000, 0);
  const unsigned char header[] = {0x1c, 0x84, 0x93, 0x13};
  std::copy(std::begin(header), std::end(header), bomb.begin());
  uLongf zlen = compressBound(static_cast<uLong>(bomb.size()));
  std::vector<unsigned char> framed(8 + zlen);
  REQUIRE(compress2(framed.data() + 8, &zlen, bomb.data(), static_cast<uLong>(bomb.size()), 9) == Z_OK);
  framed.resize(8 + zlen);
  const unsigned char frame[] = {0x1c, 0x84, 0x93, 0x14, 0, 0, static_cast<unsigned char>(zlen >> 8),
                                 static_cast<unsigned char>(zlen)};
  std::copy(std::begin(frame), std::end(frame), framed.begin());
  std::string text(ringload::proto::base64_encoded_size(framed.size()), '\0');
  ringload::proto::base64_encode({reinterpret_cast<const char*>(framed.data()), framed.size()}, text.data());
  REQUIRE(zlen < 65536);
  const auto r = ringload::hdr_decode(text, *h);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::Contains("larger than any histogram"));

  for (const auto& k : cases) {
    INFO(k.text);
    const auto r = ringload::hdr_decode(k.text, *h);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error(), Catch::Contains(k.error));
  }
  require_same_buckets(*h, *edges());
}
