// The engine's side of thresholds (ringload/thresholds.hpp): what the control thread
// checks after each progress window.
#pragma once
#include <vector>

#include "ringload/stats.hpp"
#include "ringload/thresholds.hpp"

namespace ringload {

// The index of the first `abort` threshold that the cumulative figures `so_far` (after
// `elapsed_s` of the run) measure and fail; -1: none. A threshold with nothing to measure
// yet does not stop the run.
int first_failed_abort(const std::vector<Threshold>& thresholds, const Stats& so_far, double elapsed_s);

}  // namespace ringload
