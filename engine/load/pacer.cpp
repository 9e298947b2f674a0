#include "engine/load/pacer.hpp"

#include <cmath>

namespace ringload {
namespace {

double seconds(uint64_t ns) noexcept { return static_cast<double>(ns) / 1e9; }

// Arrivals in a segment: the integral of its rate over its length.
double segment_count(const RateSegment& s) noexcept {
  if (s.end_ns == UINT64_MAX) return INFINITY;
  return (s.r0 + s.r1) / 2 * seconds(s.end_ns - s.start_ns);
}

}  // namespace

void Pacer::reset(std::vector<RateSegment> segments, double phase, bool poisson, uint64_t seed) {
  segments_ = std::move(segments);
  start_count_.assign(segments_.size(), 0);
  double n = 0;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    start_count_[i] = n;
    n += segment_count(segments_[i]);
  }
  index_ = 0;
  poisson_ = poisson;
  rng_ = seed * 0x9e3779b97f4a7c15ull + 1;
  count_ = poisson ? next_unit() * (1 - phase) : phase;
  due_ = time_at(count_);
}

void Pacer::rerate(double rate, uint64_t anchor_ns) {
  const uint64_t first = due_ == UINT64_MAX || due_ < anchor_ns ? anchor_ns : due_;
  segments_.assign(1, RateSegment{first, UINT64_MAX, rate, rate});
  start_count_.assign(1, 0);
  index_ = 0;
  count_ = 0;
  due_ = rate > 0 ? first : UINT64_MAX;
}

void Pacer::advance() noexcept {
  if (due_ == UINT64_MAX) return;
  count_ += next_unit();
  due_ = time_at(count_);
}

double Pacer::next_unit() noexcept {
  if (!poisson_) return 1.0;
  // splitmix64 → uniform in (0, 1] → exponential with mean 1.
  uint64_t z = (rng_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  const double u = (static_cast<double>(z >> 11) + 1.0) / 9007199254740992.0;
  return -std::log(u);
}

uint64_t Pacer::time_at(double count) noexcept {
  while (index_ < segments_.size() && count >= start_count_[index_] + segment_count(segments_[index_]))
    ++index_;
  if (index_ >= segments_.size()) return UINT64_MAX;
  const RateSegment& s = segments_[index_];
  const double x = count - start_count_[index_];
  if (x <= 0) return s.start_ns;
  double tau;  // seconds into the segment where N reaches `count`
  if (s.end_ns == UINT64_MAX || s.r1 == s.r0) {
    if (s.r0 <= 0) return UINT64_MAX;
    tau = x / s.r0;
  } else {
    // r(t) = r0 + (r1 - r0) t / D, N(t) = r0 t + a t^2 with a = (r1 - r0) / (2 D).
    // The stable root of a t^2 + r0 t - x = 0:
    const double a = (s.r1 - s.r0) / (2 * seconds(s.end_ns - s.start_ns));
    const double disc = s.r0 * s.r0 + 4 * a * x;
    tau = 2 * x / (s.r0 + std::sqrt(disc > 0 ? disc : 0));
  }
  return s.start_ns + static_cast<uint64_t>(tau * 1e9);
}

double Pacer::rate_at(uint64_t t) const noexcept {
  for (const RateSegment& s : segments_) {
    if (t < s.start_ns || t >= s.end_ns) continue;
    if (s.end_ns == UINT64_MAX) return s.r0;
    return s.r0 + (s.r1 - s.r0) * seconds(t - s.start_ns) / seconds(s.end_ns - s.start_ns);
  }
  return 0;
}

}  // namespace ringload
