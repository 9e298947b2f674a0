// Live progress on stderr: one line per window, rewritten in place on a terminal.
#pragma once
#include "ringload/config.hpp"
#include "ringload/stats.hpp"

namespace ringload::cli {

class Progress {
 public:
  // On a terminal: one line rewritten each window. Elsewhere: a plain line every
  // `plain_every` (0: none).
  Progress(const RunConfig& config, bool quiet, bool terminal, std::chrono::nanoseconds plain_every) noexcept;
  void on_window(const Window& w) noexcept;
  void finish() noexcept;  // ends the line so the summary starts clean

 private:
  double total_s_ = 0;   // 0: no time limit
  bool quiet_ = false;
  bool terminal_ = true;
  double plain_every_s_ = 0;
  double next_plain_s_ = 0;
  bool drawn_ = false;
};

}  // namespace ringload::cli
