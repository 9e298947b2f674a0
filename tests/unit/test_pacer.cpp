#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "engine/load/adaptive.hpp"
#include "engine/load/pacer.hpp"

using ringload::AdaptiveConfig;
using ringload::AdaptiveController;
using ringload::Pacer;
using ringload::RateSegment;

namespace {

constexpr uint64_t s = 1'000'000'000;

// Arrival times until `end` (bounded in count).
std::vector<uint64_t> arrivals(Pacer& p, uint64_t end, std::size_t max = 1'000'000) {
  std::vector<uint64_t> out;
  while (p.due_ns() < end && out.size() < max) {
    out.push_back(p.due_ns());
    p.advance();
  }
  return out;
}

}  // namespace

TEST_CASE("a fixed rate is an absolute even schedule", "[pacer]") {
  Pacer p;
  p.reset({{10 * s, UINT64_MAX, 1000, 1000}}, 0, false, 1);
  auto t = arrivals(p, 11 * s);
  REQUIRE(t.size() == 1000);
  for (std::size_t k = 0; k < t.size(); ++k) CHECK(t[k] == 10 * s + k * 1'000'000);
}

TEST_CASE("shards' phases interleave their schedules", "[pacer]") {
  // Two shards at 500/s each: together an even 1000/s.
  Pacer a, b;
  a.reset({{0, UINT64_MAX, 500, 500}}, 0.0, false, 1);
  b.reset({{0, UINT64_MAX, 500, 500}}, 0.5, false, 1);
  auto ta = arrivals(a, s), tb = arrivals(b, s);
  REQUIRE(ta.size() == 500);
  REQUIRE(tb.size() == 500);
  for (std::size_t k = 0; k < 500; ++k) CHECK(tb[k] - ta[k] == 1'000'000);
}

TEST_CASE("a ramp's arrivals follow the integral of its rate", "[pacer]") {
  Pacer p;
  // 0 -> 2000/s over 2 s: 2000 arrivals, a quarter of them in the first second.
  p.reset({{0, 2 * s, 0, 2000}}, 0, false, 1);
  auto t = arrivals(p, UINT64_MAX);
  CHECK(t.size() == 2000);
  std::size_t first_second = 0;
  for (uint64_t x : t) first_second += x < s;
  CHECK(first_second == 500);
  for (std::size_t k = 1; k < t.size(); ++k) CHECK(t[k] >= t[k - 1]);
}

TEST_CASE("stages chain: up, flat, down to zero, then no more arrivals", "[pacer]") {
  Pacer p;
  p.reset({{0, s, 0, 1000}, {s, 2 * s, 1000, 1000}, {2 * s, 3 * s, 1000, 0}}, 0, false, 1);
  auto t = arrivals(p, UINT64_MAX);
  std::size_t per[3] = {0, 0, 0};
  for (uint64_t x : t) ++per[x / s];
  CHECK(per[0] == 500);
  CHECK(per[1] == 1000);
  CHECK(per[2] == 500);
  CHECK(p.due_ns() == UINT64_MAX);
}

TEST_CASE("poisson arrivals keep the mean rate and vary the gaps", "[pacer]") {
  Pacer p;
  p.reset({{0, UINT64_MAX, 10000, 10000}}, 0, true, 42);
  auto t = arrivals(p, 10 * s);
  CHECK(t.size() == Approx(100000).epsilon(0.02));
  double sum = 0, sum_sq = 0;
  for (std::size_t k = 1; k < t.size(); ++k) {
    const double gap = static_cast<double>(t[k] - t[k - 1]);
    sum += gap;
    sum_sq += gap * gap;
  }
  const double n = static_cast<double>(t.size() - 1);
  const double mean = sum / n;
  const double cv = std::sqrt(sum_sq / n - mean * mean) / mean;
  CHECK(cv == Approx(1.0).epsilon(0.05));  // exponential gaps: stdev == mean
}

TEST_CASE("rerate keeps the next arrival and continues at the new rate", "[pacer]") {
  Pacer p;
  p.reset({{0, UINT64_MAX, 100, 100}}, 0, false, 1);
  p.advance();  // due at 10 ms
  p.rerate(1000, 5'000'000);
  CHECK(p.due_ns() == 10'000'000);
  p.advance();
  CHECK(p.due_ns() == 11'000'000);
  p.rerate(0, 20'000'000);
  CHECK(p.due_ns() == UINT64_MAX);
}

TEST_CASE("the adaptive controller climbs, backs off and settles", "[adaptive]") {
  AdaptiveConfig cfg;
  cfg.enabled = true;
  cfg.qps_min = 10;
  cfg.qps_max = 100000;
  AdaptiveController c(cfg, 100);
  // A target that serves up to 1000/s and fails above.
  const double capacity = 1000;
  double rate = c.rate();
  std::vector<double> rates;
  for (int w = 0; w < 60; ++w) {
    const uint64_t finished = static_cast<uint64_t>(rate);
    const uint64_t ok = rate <= capacity ? finished : static_cast<uint64_t>(capacity);
    rate = c.on_window(finished, ok, 0);
    rates.push_back(rate);
  }
  // Settled: the last windows stay within a few percent of the capacity.
  for (std::size_t i = rates.size() - 10; i < rates.size(); ++i) CHECK(rates[i] == Approx(capacity).epsilon(0.06));
  CHECK(c.up() == Approx(1.02));
  CHECK(c.down() == Approx(0.98));
  // A window up to 1% over the capacity still has availability >= 0.99: it passes by
  // definition (and the simulated counts are truncated to whole requests).
  CHECK(c.capacity() < capacity * 1.02);
  CHECK(c.capacity() == Approx(capacity).epsilon(0.05));
}

TEST_CASE("adaptive bounds, latency objective and empty windows", "[adaptive]") {
  AdaptiveConfig cfg;
  cfg.enabled = true;
  cfg.qps_min = 50;
  cfg.qps_max = 120;
  cfg.target_p99 = std::chrono::milliseconds(10);
  AdaptiveController c(cfg, 100);
  CHECK(c.on_window(100, 100, 1'000'000) == Approx(120));  // passes, clamped to max
  CHECK(c.last_passed());
  CHECK(c.on_window(100, 100, 20'000'000) < 120);          // p99 over the objective: fails
  CHECK_FALSE(c.last_passed());
  CHECK(c.on_window(0, 0, 0) >= 50);                        // nothing finished: fails, at least min
  CHECK_FALSE(c.last_passed());
  for (int i = 0; i < 20; ++i) c.on_window(0, 0, 0);
  CHECK(c.rate() == Approx(50));
  CHECK(c.capacity() == -1);  // only one passing window
}
