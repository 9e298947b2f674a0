// The adaptive rate controller: pure logic, driven by the control thread once a window.
//
// A window passes when availability (succeeded / finished) reaches the target and, with a
// latency objective, its p99 is within it; a window where nothing finished fails. Passing
// multiplies the rate by `up`, failing by `down`, within [qps_min, qps_max]. Each change of
// direction halves the distance of both factors from 1 (not below min_step), so the rate
// settles at the target's capacity instead of swinging around it.
#pragma once
#include <cstdint>
#include <vector>

#include "ringload/config.hpp"

namespace ringload {

class AdaptiveController {
 public:
  AdaptiveController(const AdaptiveConfig& config, double start_qps) noexcept;

  double rate() const noexcept { return rate_; }
  // Judges the window that ran at rate(); returns the rate for the next one.
  double on_window(uint64_t finished, uint64_t succeeded, uint64_t p99_ns);
  bool last_passed() const noexcept { return last_passed_; }
  double last_availability() const noexcept { return last_availability_; }
  // The highest rate that passed in at least two windows (rates within 2% of each other
  // count as one); -1 when none did.
  double capacity() const noexcept;
  double up() const noexcept { return up_; }
  double down() const noexcept { return down_; }

 private:
  AdaptiveConfig config_;
  double rate_;
  double up_;
  double down_;
  int direction_ = 0;  // +1 rising, -1 falling, 0 not yet moved
  bool last_passed_ = false;
  double last_availability_ = 0;
  std::vector<double> passed_;  // rates of passing windows
};

}  // namespace ringload
