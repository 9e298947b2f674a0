// The open loop's choice between sleeping and spinning before an intended send.
//
// A sleep that ends on a timer wakes late by the timer's lateness (p99 ~60 us on this VM,
// bench/README.md "Pacing precision"); spinning the last 250 us before a send sends on time
// but burns that stretch of the core before every send: a whole core at 10k/s, 29 % of one
// at 1k/s, where sleeping alone already meets the 100 us send-lag budget. So by default
// (SpinMode::automatic) the shard measures its own timer's lateness and spins only
//   - while the gap between its sends is shorter than that lateness (sleeping would miss
//     the next send anyway, and the core is nearly all busy: the spin costs little), or
//   - while the lateness itself is over the send-lag budget (a busy or noisy machine).
// The lateness is the p99 of the last window of timed waits: each wait that ended by its
// timeout (no completion came first) and asked for at least `min_wait_ns` is a sample;
// every `window` samples the third largest becomes the estimate (p99 of 256), which is
// independent of whether the shard spun (a spinning shard still sleeps until 250 us before
// the send). Costs a compare per timed wait; nothing on the send path.
#pragma once
#include <algorithm>
#include <cstdint>

#include "ringload/config.hpp"

namespace ringload {

class SpinPolicy {
 public:
  static constexpr uint64_t spin_window_ns = 250'000;  // covers the p99 of timer lateness
  static constexpr uint64_t lag_budget_ns = 100'000;   // the send-lag p99 the open loop aims at
  static constexpr uint64_t min_wait_ns = 20'000;      // shorter waits say little of the timer
  static constexpr uint32_t window = 256;

  void reset(SpinMode mode) noexcept {
    mode_ = mode;
    lateness_ns_ = 50'000;  // PLATFORM.md's figure, until the first window is measured
    count_ = 0;
    top_[0] = top_[1] = top_[2] = 0;
  }

  // A wait that asked for `asked_ns` ended by its timeout `late_ns` after it was due.
  void on_timed_wait(uint64_t asked_ns, uint64_t late_ns) noexcept {
    if (mode_ != SpinMode::automatic || asked_ns < min_wait_ns) return;
    if (late_ns > top_[2]) {
      top_[2] = late_ns;
      if (top_[2] > top_[1]) std::swap(top_[1], top_[2]);
      if (top_[1] > top_[0]) std::swap(top_[0], top_[1]);
    }
    if (++count_ < window) return;
    lateness_ns_ = top_[2];
    count_ = 0;
    top_[0] = top_[1] = top_[2] = 0;
  }

  // How long before a send to stop sleeping and spin, at this shard's current rate (0: sleep).
  uint64_t window_ns(double rate) const noexcept {
    switch (mode_) {
      case SpinMode::always: return spin_window_ns;
      case SpinMode::never: return 0;
      case SpinMode::automatic: break;
    }
    const double gap_ns = rate > 0 ? 1e9 / rate : 1e18;
    const bool spin = gap_ns < static_cast<double>(lateness_ns_) || lateness_ns_ > lag_budget_ns;
    return spin ? spin_window_ns : 0;
  }

  uint64_t lateness_ns() const noexcept { return lateness_ns_; }

 private:
  SpinMode mode_ = SpinMode::automatic;
  uint64_t lateness_ns_ = 50'000;
  uint32_t count_ = 0;
  uint64_t top_[3] = {0, 0, 0};  // the window's three largest samples, largest first
};

}  // namespace ringload
