#include "engine/load/adaptive.hpp"

#include <algorithm>
#include <cmath>

namespace ringload {

AdaptiveController::AdaptiveController(const AdaptiveConfig& config, double start_qps) noexcept
    : config_(config),
      rate_(std::clamp(start_qps, config.qps_min, config.qps_max)),
      up_(config.up),
      down_(config.down) {}

double AdaptiveController::on_window(uint64_t finished, uint64_t succeeded, uint64_t p99_ns) {
  last_availability_ = finished == 0 ? 0.0 : static_cast<double>(succeeded) / static_cast<double>(finished);
  bool pass = finished > 0 && last_availability_ >= config_.target_availability;
  if (config_.target_p99.count() > 0 && p99_ns > static_cast<uint64_t>(config_.target_p99.count())) pass = false;
  last_passed_ = pass;
  if (pass) passed_.push_back(rate_);
  const int direction = pass ? +1 : -1;
  if (direction_ != 0 && direction != direction_) {
    up_ = 1 + std::max((up_ - 1) / 2, config_.min_step);
    down_ = 1 - std::max((1 - down_) / 2, config_.min_step);
  }
  direction_ = direction;
  rate_ = std::clamp(rate_ * (pass ? up_ : down_), config_.qps_min, config_.qps_max);
  return rate_;
}

double AdaptiveController::capacity() const noexcept {
  double best = -1;
  for (double r : passed_) {
    int same = 0;
    for (double other : passed_)
      if (std::fabs(other - r) <= 0.02 * std::max(r, other)) ++same;
    if (same >= 2) best = std::max(best, r);
  }
  return best;
}

}  // namespace ringload
