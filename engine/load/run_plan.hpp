// How a run is shared out over its shards: connections per origin and per shard, each
// shard's slice of the request sequence and of the rate schedule, its CPU.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/core/shard.hpp"
#include "engine/load/pacer.hpp"
#include "ringload/config.hpp"

namespace ringload {

class RunPlan {
 public:
  RunPlan(const RunConfig& config, std::size_t origins, std::size_t lines) noexcept
      : config_(config), origins_(origins), lines_(lines) {}

  bool open_loop() const noexcept { return config_.qps > 0 || !config_.stages.empty() || config_.adaptive.enabled; }

  // Connections to each origin over all shards: -c each, or -c shared out
  // (--connections-total), and of that this process's share (--shard, shard_split.hpp).
  // Every shard needs at least one connection to every origin, since its share of the
  // sequence may hold any line.
  std::vector<uint32_t> connections_per_origin() const;
  // The fewest connections this process has to one origin (before the rule above).
  uint32_t fewest_connections() const;
  uint32_t connections() const;  // over all origins

  // One plan per shard (config.threads of them), for a run starting at t0; shard k pins
  // itself to cpus[k] (none: not pinned).
  std::vector<ShardPlan> shards(uint64_t t0, const std::vector<int>& cpus) const;

  // This process's share of a rate (--shard: 1/N of it), and of the adaptive bounds.
  double rate_share(double rate) const noexcept;
  AdaptiveConfig adaptive_share() const noexcept;

  // The process's rate over time: stages ramp linearly from qps (or 0) to each target.
  std::vector<RateSegment> rate_schedule(uint64_t t0) const;
  // The scheduled rate at time t (0 in the closed loop; the adaptive controller's rate
  // is not known here).
  double scheduled_qps(uint64_t t0, uint64_t t) const;

 private:
  std::vector<uint32_t> shares_per_origin() const;

  const RunConfig& config_;
  std::size_t origins_;
  std::size_t lines_;
};

}  // namespace ringload
