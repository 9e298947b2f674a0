// SpinPolicy (engine/load/spin.hpp): when the open loop spins before a send.
#include <catch2/catch.hpp>

#include "engine/load/spin.hpp"

using ringload::SpinMode;
using ringload::SpinPolicy;

namespace {

// A full window of timed waits of 1 ms each, `late` of them late by `late_ns`, the rest by 5 us.
void window(SpinPolicy& p, uint32_t late, uint64_t late_ns) {
  for (uint32_t i = 0; i < SpinPolicy::window; ++i) p.on_timed_wait(1'000'000, i < late ? late_ns : 5'000);
}

}  // namespace

TEST_CASE("spin: always and never ignore the rate and the timer", "[spin]") {
  SpinPolicy p;
  p.reset(SpinMode::always);
  CHECK(p.window_ns(1) == SpinPolicy::spin_window_ns);
  window(p, 0, 0);
  CHECK(p.window_ns(1e6) == SpinPolicy::spin_window_ns);
  p.reset(SpinMode::never);
  window(p, 256, 5'000'000);
  CHECK(p.window_ns(1e6) == 0);
}

TEST_CASE("spin: auto spins only where the gap is shorter than the timer's p99 lateness", "[spin]") {
  SpinPolicy p;
  p.reset(SpinMode::automatic);
  // Before any window: the assumed 50 us lateness. 1k/s (1 ms gaps) and 10k/s (100 us) sleep,
  // 50k/s (20 us) spins.
  CHECK(p.window_ns(1'000) == 0);
  CHECK(p.window_ns(10'000) == 0);
  CHECK(p.window_ns(50'000) == SpinPolicy::spin_window_ns);
  CHECK(p.window_ns(0) == 0);  // no rate (a stage at 0): sleep
  // A window whose p99 (the third largest of 256) is 60 us: 10k/s still sleeps.
  window(p, 3, 60'000);
  CHECK(p.lateness_ns() == 60'000);
  CHECK(p.window_ns(10'000) == 0);
  CHECK(p.window_ns(20'000) == SpinPolicy::spin_window_ns);  // 50 us gaps < 60 us
  // Two outliers are above the p99: they do not count.
  window(p, 2, 3'000'000);
  CHECK(p.lateness_ns() == 5'000);
  CHECK(p.window_ns(50'000) == 0);  // a precise timer: even 20 us gaps sleep
}

TEST_CASE("spin: auto spins at any rate while the timer misses the send-lag budget", "[spin]") {
  SpinPolicy p;
  p.reset(SpinMode::automatic);
  window(p, 10, 400'000);  // a busy machine: p99 400 us
  CHECK(p.lateness_ns() == 400'000);
  CHECK(p.window_ns(100) == SpinPolicy::spin_window_ns);
  // The next quiet window turns it off again (the estimate is per window, not sticky).
  window(p, 0, 0);
  CHECK(p.window_ns(100) == 0);
}

TEST_CASE("spin: short waits and partial windows do not move the estimate", "[spin]") {
  SpinPolicy p;
  p.reset(SpinMode::automatic);
  for (int i = 0; i < 1000; ++i) p.on_timed_wait(SpinPolicy::min_wait_ns - 1, 1'000'000);
  CHECK(p.lateness_ns() == 50'000);
  for (uint32_t i = 0; i + 1 < SpinPolicy::window; ++i) p.on_timed_wait(1'000'000, 900'000);
  CHECK(p.lateness_ns() == 50'000);
  p.on_timed_wait(1'000'000, 900'000);
  CHECK(p.lateness_ns() == 900'000);
}
