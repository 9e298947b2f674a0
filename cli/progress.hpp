// Live progress on stderr: one line per window, rewritten in place on a terminal.
#pragma once
#include "ringload/config.hpp"
#include "ringload/stats.hpp"

namespace ringload::cli {

class Progress {
 public:
  Progress(const RunConfig& config, bool quiet) noexcept;
  void on_window(const Window& w) noexcept;
  void finish() noexcept;  // ends the line so the summary starts clean

 private:
  double total_s_ = 0;   // 0: no time limit
  bool quiet_ = false;
  bool drawn_ = false;
};

}  // namespace ringload::cli
