#pragma once
// --capacity: one rate limit shared by every worker thread, so the rate holds however the
// connections are spread over the threads. GCRA, the virtual-scheduling form (ITU-T I.371
// Annex A): the whole state is one "theoretical arrival time" updated with a CAS loop.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <ctime>

namespace ringload::target {

namespace limits {
// The emission interval is kept in whole nanoseconds: at 10,000,000/s (100 ns) rounding
// costs at most 0.5 % of the rate, at 1,000,000/s 0.05 %.
inline constexpr double min_capacity = 0.01;
inline constexpr double max_capacity = 10'000'000;
// With the longest interval (100 s) the tolerance stays below 2^60 ns: no overflow.
inline constexpr std::uint64_t max_capacity_burst = 10'000'000;
// Default burst: this much time's worth of requests, so a client's batch timing (a pipeline
// flushed at once, a scheduler hiccup) is not mistaken for excess rate.
inline constexpr double default_burst_seconds = 0.050;
}  // namespace limits

class RateLimiter {
 public:
  // `rate_per_s` in [min_capacity, max_capacity]; `burst` in [1, max_capacity_burst]: the
  // number of requests admitted back to back after an idle period. Over any window of
  // length W at most rate·W + burst requests are admitted.
  RateLimiter(double rate_per_s, std::uint64_t burst) noexcept
      : interval_ns_(std::max<std::uint64_t>(1, std::llround(1e9 / rate_per_s))),
        tolerance_ns_((std::max<std::uint64_t>(burst, 1) - 1) * interval_ns_) {}

  // The burst --capacity R gets without --capacity-burst.
  static std::uint64_t default_burst(double rate_per_s) noexcept {
    return std::max<std::uint64_t>(1, std::llround(rate_per_s * limits::default_burst_seconds));
  }

  // True if a request arriving at `now_ns` (CLOCK_MONOTONIC) conforms; it then consumes
  // one emission interval. A rejected request changes nothing, so a flood of excess
  // requests does not push the admitted ones further out. Any thread.
  bool admit(std::uint64_t now_ns) noexcept {
    // Relaxed is enough: the TAT is the only shared state and the CAS orders it alone.
    std::uint64_t tat = tat_.load(std::memory_order_relaxed);
    while (true) {
      if (tat > now_ns + tolerance_ns_) return false;
      const std::uint64_t next = std::max(tat, now_ns) + interval_ns_;
      if (tat_.compare_exchange_weak(tat, next, std::memory_order_relaxed)) return true;
    }
  }

  bool admit() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO: tens of ns, no system call
    return admit(static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
                 static_cast<std::uint64_t>(ts.tv_nsec));
  }

 private:
  const std::uint64_t interval_ns_;   // T = 1 / rate
  const std::uint64_t tolerance_ns_;  // τ = (burst − 1) · T
  // Keeps the TAT off the cache lines of whatever the owner puts next to the limiter.
  alignas(64) std::atomic<std::uint64_t> tat_{0};
};

}  // namespace ringload::target
