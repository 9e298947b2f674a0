#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <memory>
#include <vector>

#include "ringload/histogram.hpp"
#include "tests/support/values.hpp"

using ringload::Histogram;

namespace {

// Histograms are 224 KiB: keep them off the test's stack.
std::unique_ptr<Histogram> make() { return std::make_unique<Histogram>(); }

// Values from 1 ns to ~2^36 ns: every bucket gets visited.
std::vector<uint64_t> random_values(std::size_t n, uint64_t seed) {
  return ringload::test::log_uniform_values(n, seed, 36.0);
}

uint64_t rank_value(const std::vector<uint64_t>& sorted, double p) {
  const auto n = static_cast<double>(sorted.size());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * n * (1.0 - 1e-12)));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

}  // namespace

TEST_CASE("histogram layout constants", "[histogram]") {
  STATIC_REQUIRE(Histogram::counts_len == 28 * 1024);
  STATIC_REQUIRE(Histogram::highest_trackable == (uint64_t{1} << 37) - 1);
  CHECK(Histogram::index_of(Histogram::highest_trackable) == Histogram::counts_len - 1);
  CHECK(Histogram::highest_equivalent(Histogram::counts_len - 1) == Histogram::highest_trackable);
  CHECK(Histogram::index_of(0) == 0);
}

TEST_CASE("histogram is exact below 2048 ns", "[histogram]") {
  for (uint64_t v = 0; v < 2048; ++v) {
    const std::size_t i = Histogram::index_of(v);
    REQUIRE(i == v);
    REQUIRE(Histogram::lowest_equivalent(i) == v);
    REQUIRE(Histogram::highest_equivalent(i) == v);
  }
  CHECK(Histogram::index_of(2048) == 2048);
  CHECK(Histogram::index_of(2049) == 2048);  // first bucket 2 ns wide
  CHECK(Histogram::lowest_equivalent(2048) == 2048);
  CHECK(Histogram::highest_equivalent(2048) == 2049);

  auto h = make();
  for (uint64_t v = 1; v <= 1000; ++v) h->record(v);
  CHECK(h->count() == 1000);
  CHECK(h->min() == 1);
  CHECK(h->max() == 1000);
  CHECK(h->percentile(50) == 500);
  CHECK(h->percentile(99) == 990);
  CHECK(h->percentile(99.9) == 999);
  CHECK(h->mean() == Approx(500.5));
}

TEST_CASE("histogram keeps 3 significant digits across the range", "[histogram]") {
  for (int shift = 0; shift < 37; ++shift) {
    for (uint64_t mult : {uint64_t{1}, uint64_t{3}, uint64_t{1023}, uint64_t{1025}, uint64_t{2047}}) {
      const uint64_t v = std::min((uint64_t{1} << shift) * mult, Histogram::highest_trackable);
      const std::size_t i = Histogram::index_of(v);
      REQUIRE(i < Histogram::counts_len);
      REQUIRE(Histogram::lowest_equivalent(i) <= v);
      REQUIRE(Histogram::highest_equivalent(i) >= v);
      const double width = static_cast<double>(Histogram::highest_equivalent(i) - Histogram::lowest_equivalent(i));
      REQUIRE(width / static_cast<double>(v == 0 ? 1 : v) < 0.001);
    }
  }
  // Indexes are monotonic and contiguous: every bucket boundary maps to the next index.
  for (std::size_t i = 1; i < Histogram::counts_len; ++i) {
    REQUIRE(Histogram::lowest_equivalent(i) == Histogram::highest_equivalent(i - 1) + 1);
    REQUIRE(Histogram::index_of(Histogram::lowest_equivalent(i)) == i);
    REQUIRE(Histogram::index_of(Histogram::highest_equivalent(i)) == i);
  }
}

TEST_CASE("histogram percentiles match a sorted sample", "[histogram]") {
  auto values = random_values(100'000, 42);
  auto h = make();
  for (uint64_t v : values) h->record(v);
  std::sort(values.begin(), values.end());
  CHECK(h->count() == values.size());
  CHECK(h->min() == values.front());
  CHECK(h->max() == values.back());
  for (double p : {0.001, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 99.999}) {
    INFO("p" << p);
    const uint64_t exact = rank_value(values, p);
    const uint64_t got = h->percentile(p);
    // HdrHistogram reports the top of the bucket holding the ranked value.
    CHECK(got == std::min(Histogram::highest_equivalent(Histogram::index_of(exact)), h->max()));
    CHECK(static_cast<double>(got - exact) <= static_cast<double>(exact) * 0.001);
  }
  double sum = 0;
  double sum_sq = 0;
  for (uint64_t v : values) {
    sum += static_cast<double>(v);
    sum_sq += static_cast<double>(v) * static_cast<double>(v);
  }
  const double mean = sum / static_cast<double>(values.size());
  CHECK(h->mean() == Approx(mean).epsilon(1e-9));
  CHECK(h->stdev() == Approx(std::sqrt(sum_sq / static_cast<double>(values.size()) - mean * mean)).epsilon(1e-6));
}

TEST_CASE("histogram percentile edges", "[histogram]") {
  auto h = make();
  SECTION("empty") {
    CHECK(h->count() == 0);
    CHECK(h->min() == 0);
    CHECK(h->max() == 0);
    CHECK(h->mean() == 0);
    CHECK(h->stdev() == 0);
    CHECK(h->percentile(0) == 0);
    CHECK(h->percentile(50) == 0);
    CHECK(h->percentile(100) == 0);
  }
  SECTION("p0 is the min, p100 the max, never above max") {
    h->record(5000);       // bucket [5000, 5003]
    h->record(1'000'001);  // bucket [999936, 1000447]
    CHECK(h->percentile(0) == 5000);
    CHECK(h->percentile(-3) == 5000);
    CHECK(h->percentile(50) == 5003);
    CHECK(h->percentile(50.1) == 1'000'001);  // the bucket's top is above max(): capped
    CHECK(h->percentile(100) == 1'000'001);
    CHECK(h->percentile(250) == 1'000'001);
  }
  SECTION("single value") {
    h->record(123'456'789);
    for (double p : {0.0, 1.0, 50.0, 99.999, 100.0}) CHECK(h->percentile(p) == 123'456'789);
  }
  SECTION("record_n and mean/stdev") {
    h->record_n(1000, 2);
    h->record(4000);
    h->record_n(9999, 0);  // no-op: must not move min or max
    CHECK(h->count() == 3);
    CHECK(h->min() == 1000);
    CHECK(h->max() == 4000);
    CHECK(h->mean() == Approx(2000));
    CHECK(h->stdev() == Approx(std::sqrt(2.0) * 1000));
  }
}

TEST_CASE("histogram clamps values beyond the layout", "[histogram]") {
  auto h = make();
  h->record(Histogram::highest_trackable);
  CHECK(h->clamped() == 0);
  h->record(Histogram::highest_trackable + 1);
  h->record_n(UINT64_MAX, 3);
  CHECK(h->clamped() == 4);
  CHECK(h->count() == 5);
  CHECK(h->max() == Histogram::highest_trackable);
  CHECK(h->counts()[Histogram::counts_len - 1] == 5);
  CHECK(h->percentile(50) == Histogram::highest_trackable);
  CHECK(h->mean() == Approx(static_cast<double>(Histogram::highest_trackable)));
}

TEST_CASE("histogram merge equals recording both streams", "[histogram]") {
  const auto a_values = random_values(20'000, 1);
  const auto b_values = random_values(30'000, 2);
  auto a = make();
  auto b = make();
  auto both = make();
  for (uint64_t v : a_values) {
    a->record(v);
    both->record(v);
  }
  for (uint64_t v : b_values) {
    b->record(v);
    both->record(v);
  }
  b->record(Histogram::highest_trackable + 7);
  both->record(Histogram::highest_trackable + 7);
  a->merge(*b);
  CHECK(std::equal(a->counts().begin(), a->counts().end(), both->counts().begin()));
  CHECK(a->count() == both->count());
  CHECK(a->clamped() == 1);
  CHECK(a->min() == both->min());
  CHECK(a->max() == both->max());
  CHECK(a->mean() == Approx(both->mean()));
  CHECK(a->stdev() == Approx(both->stdev()));
  for (double p : {0.0, 50.0, 99.0, 99.99, 100.0}) CHECK(a->percentile(p) == both->percentile(p));

  auto empty = make();
  a->merge(*empty);  // an empty histogram changes nothing, min included
  CHECK(a->min() == both->min());
  empty->merge(*both);
  CHECK(empty->min() == both->min());
  CHECK(empty->max() == both->max());
}

TEST_CASE("histogram subtract leaves the window", "[histogram]") {
  const auto early = random_values(10'000, 7);
  const auto late = random_values(5'000, 8);
  auto stream = make();
  auto window_only = make();
  for (uint64_t v : early) stream->record(v);
  auto snapshot = make();
  *snapshot = *stream;
  for (uint64_t v : late) {
    stream->record(v);
    window_only->record(v);
  }
  stream->subtract(*snapshot);
  CHECK(std::equal(stream->counts().begin(), stream->counts().end(), window_only->counts().begin()));
  CHECK(stream->count() == late.size());
  CHECK(stream->min() == Histogram::lowest_equivalent(Histogram::index_of(window_only->min())));
  CHECK(stream->max() == Histogram::highest_equivalent(Histogram::index_of(window_only->max())));
  CHECK(stream->mean() == Approx(window_only->mean()).epsilon(1e-6));
  CHECK(stream->stdev() == Approx(window_only->stdev()).epsilon(1e-4));
  for (double p : {1.0, 50.0, 90.0, 99.0}) CHECK(stream->percentile(p) == window_only->percentile(p));

  SECTION("an empty window") {
    stream->subtract(*stream);
    CHECK(stream->count() == 0);
    CHECK(stream->min() == 0);
    CHECK(stream->max() == 0);
    CHECK(stream->mean() == 0);
    CHECK(stream->percentile(99) == 0);
    stream->record(3000);  // usable again: min is reset, not stuck at 0
    CHECK(stream->min() == 3000);
  }
}

TEST_CASE("histogram reset", "[histogram]") {
  auto h = make();
  h->record(77);
  h->record(UINT64_MAX);
  h->reset();
  CHECK(h->count() == 0);
  CHECK(h->clamped() == 0);
  CHECK(h->max() == 0);
  CHECK(std::all_of(h->counts().begin(), h->counts().end(), [](uint64_t c) { return c == 0; }));
  h->record(12);
  CHECK(h->min() == 12);
  CHECK(h->max() == 12);
}
