// Open-loop pacing: the intended send time of each request, from an absolute schedule.
//
// The rate is piecewise linear in time (a fixed rate is one open-ended segment; k6-style
// stages are ramps). N(t), the expected number of arrivals by time t, is the rate's
// integral; the k-th arrival is at N^-1(c_k), where c_k = k + phase (uniform) or a sum of
// k unit exponentials (Poisson, by time rescaling). Times come from the schedule's start,
// never from when the previous request was actually sent, so lateness never accumulates.
#pragma once
#include <cstdint>
#include <vector>

namespace ringload {

struct RateSegment {
  uint64_t start_ns = 0;
  uint64_t end_ns = UINT64_MAX;  // UINT64_MAX: open-ended at rate r0
  double r0 = 0;                 // requests per second at start_ns
  double r1 = 0;                 // at end_ns (ignored when open-ended)
};

class Pacer {
 public:
  // `phase` in [0, 1): where in the first period this schedule's first arrival falls
  // (shard k of T uses k / T, so the shards' arrivals interleave evenly).
  void reset(std::vector<RateSegment> segments, double phase, bool poisson, uint64_t seed);
  // The same schedule shape at a new constant rate from `anchor_ns` (the adaptive
  // controller): the next arrival keeps its time if it is at or after the anchor.
  void rerate(double rate, uint64_t anchor_ns);

  uint64_t due_ns() const noexcept { return due_; }  // UINT64_MAX: no more arrivals
  void advance() noexcept;
  double rate_at(uint64_t t_ns) const noexcept;

 private:
  uint64_t time_at(double count) noexcept;
  double next_unit() noexcept;  // 1 (uniform) or an exponential with mean 1 (Poisson)

  std::vector<RateSegment> segments_;
  std::vector<double> start_count_;  // N at each segment's start
  std::size_t index_ = 0;            // segment of the last arrival (counts only grow)
  double count_ = 0;
  uint64_t due_ = UINT64_MAX;
  bool poisson_ = false;
  uint64_t rng_ = 0;
};

}  // namespace ringload
