// One shard's figures: the counters and histograms (Stats), the breakdown per request
// name and per pass, and the first message of each error kind. Written by the shard's
// thread only; read by the engine once the shard has stopped (and, for Stats, through
// the snapshots it publishes on request).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ringload/config.hpp"
#include "ringload/stats.hpp"

namespace ringload {

class Recorder {
 public:
  // Sizes everything for the run; nothing allocates afterwards. Returns an error text.
  std::string setup(const RequestTable& table, const RunConfig& config) noexcept;

  Stats& stats() noexcept { return stats_; }
  const Stats& stats() const noexcept { return stats_; }
  // Passes are tracked (a request file, or --iterations): iteration() is meaningful.
  bool per_pass() const noexcept { return !by_iteration_.empty(); }

  // An error of `kind` (the request, if any, is counted by finished()).
  void error(ErrorKind kind, const char* message) noexcept;
  // A request finished: a complete response or a failure after its send. `latency_ns`
  // goes into its name's histogram when `timed`.
  void finished(uint32_t name, uint32_t pass, bool ok, bool timed, uint64_t latency_ns) noexcept;
  // A complete response (or a stream that ended well): its status and times.
  void response(int status, uint64_t latency_ns, uint64_t service_ns, uint64_t ttfb_ns) noexcept;
  // A request that failed without a complete response (its finished() counts it): the time
  // from its intended send to the failure. Connect errors before a send are not requests.
  void failure(uint64_t latency_ns) noexcept { stats_.error_latency.record(latency_ns); }

  const std::vector<NameStats>& by_name() const noexcept { return by_name_; }
  const std::vector<IterationStats>& by_iteration() const noexcept { return by_iteration_; }
  const std::array<std::string, error_kind_count>& first_errors() const noexcept { return first_error_; }

 private:
  Stats stats_;  // 2.3 MB of histograms: a Recorder lives on the heap (in its Shard)
  std::vector<NameStats> by_name_;
  std::vector<IterationStats> by_iteration_;
  std::array<std::string, error_kind_count> first_error_;
};

}  // namespace ringload
