#include "cli/progress.hpp"

#include <cstdio>

namespace ringload::cli {

Progress::Progress(const RunConfig& config, bool quiet, bool terminal,
                   std::chrono::nanoseconds plain_every) noexcept
    : total_s_(static_cast<double>(config.duration.count()) / 1e9),
      quiet_(quiet || (!terminal && plain_every.count() == 0)),
      terminal_(terminal),
      plain_every_s_(static_cast<double>(plain_every.count()) / 1e9),
      next_plain_s_(plain_every_s_) {}

void Progress::on_window(const Window& w) noexcept {
  if (quiet_) return;
  if (!terminal_) {
    if (w.t_s + 1e-3 < next_plain_s_) return;
    while (next_plain_s_ <= w.t_s + 1e-3) next_plain_s_ += plain_every_s_;
  }
  const double rps = w.duration_s > 0 ? static_cast<double>(w.requests) / w.duration_s : 0;
  const double availability =
      w.requests + w.errors > 0 ? static_cast<double>(w.succeeded) / static_cast<double>(w.requests) : 1.0;
  char total[32] = "";
  if (total_s_ > 0) std::snprintf(total, sizeof total, "/%.0fs", total_s_);
  char target[48] = "";
  if (w.target_qps > 0) std::snprintf(target, sizeof target, " (target %.0f)", w.target_qps);
  std::fprintf(stderr, terminal_ ? "\r\033[K[%5.1fs%s] %10.0f req/s%s  p50 %8.2f ms  p99 %8.2f ms  errors %llu  ok %.2f%%"
                                 : "[%5.1fs%s] %10.0f req/s%s  p50 %8.2f ms  p99 %8.2f ms  errors %llu  ok %.2f%%\n",
               w.t_s, total, rps, target, static_cast<double>(w.latency_p50_ns) / 1e6,
               static_cast<double>(w.latency_p99_ns) / 1e6, static_cast<unsigned long long>(w.errors),
               100.0 * (w.requests > 0 ? availability : 0.0));
  std::fflush(stderr);
  drawn_ = terminal_;
}

void Progress::finish() noexcept {
  if (drawn_) std::fputs("\r\033[K", stderr);
  drawn_ = false;
}

}  // namespace ringload::cli
