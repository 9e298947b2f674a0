#include "engine/output/recorder.hpp"

#include "engine/requests/request_table.hpp"

#include <algorithm>

namespace ringload {

std::string Recorder::setup(const RequestTable& table, const RunConfig& config) noexcept {
  try {
    by_name_.resize(table.names.size());
    for (std::size_t i = 0; i < by_name_.size(); ++i) by_name_[i].name = table.names[i];
    if (config.iterations > 0 || table.lines.size() > 1) {
      const uint64_t passes = config.iterations > 0 ? config.iterations : limits::max_tracked_iterations;
      by_iteration_.resize(std::min<uint64_t>(passes, limits::max_tracked_iterations));
    }
  } catch (const std::bad_alloc&) {
    return "out of memory for the run's statistics";
  }
  return {};
}

void Recorder::error(ErrorKind kind, const char* message) noexcept {
  const auto k = static_cast<std::size_t>(kind);
  ++stats_.counters.errors[k];
  if (first_error_[k].empty() && message != nullptr) {
    try {
      first_error_[k] = message;
    } catch (...) {
    }
  }
}

void Recorder::finished(uint32_t name, uint32_t pass, bool ok, bool timed, uint64_t latency_ns) noexcept {
  Counters& k = stats_.counters;
  ++k.requests;
  ok ? ++k.succeeded : ++k.failed;
  NameStats& n = by_name_[name];
  ++n.requests;
  ok ? ++n.succeeded : ++n.failed;
  if (timed) n.latency.record(latency_ns);
  if (!by_iteration_.empty()) {
    IterationStats& it = by_iteration_[std::min<std::size_t>(pass, by_iteration_.size() - 1)];
    ++it.requests;
    ok ? ++it.succeeded : ++it.failed;
  }
}

void Recorder::response(int status, uint64_t latency_ns, uint64_t service_ns, uint64_t ttfb_ns) noexcept {
  Counters& k = stats_.counters;
  ++k.status[static_cast<std::size_t>(status) < k.status.size() ? status : 0];
  stats_.latency.record(latency_ns);
  stats_.service.record(service_ns);
  stats_.ttfb.record(ttfb_ns);
}

}  // namespace ringload
