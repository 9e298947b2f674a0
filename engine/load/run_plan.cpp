#include "engine/load/run_plan.hpp"

#include <algorithm>

#include "engine/load/shard_split.hpp"

namespace ringload {

std::vector<uint32_t> RunPlan::shares_per_origin() const {
  std::vector<uint32_t> out(origins_, config_.connections);
  if (!config_.connections_per_origin) {
    for (std::size_t o = 0; o < origins_; ++o)
      out[o] = static_cast<uint32_t>(shard_split::share(config_.connections, o, origins_));
  }
  const ShardSpec& s = config_.shard;
  for (uint32_t& c : out) c = static_cast<uint32_t>(shard_split::share(c, s.index, s.count));
  return out;
}

uint32_t RunPlan::fewest_connections() const {
  uint32_t fewest = UINT32_MAX;
  for (uint32_t n : shares_per_origin()) fewest = std::min(fewest, n);
  return fewest;
}

std::vector<uint32_t> RunPlan::connections_per_origin() const {
  std::vector<uint32_t> out = shares_per_origin();
  for (uint32_t& c : out) c = std::max(c, config_.threads);
  return out;
}

double RunPlan::rate_share(double rate) const noexcept {
  return config_.shard.count > 1 ? rate / config_.shard.count : rate;
}

AdaptiveConfig RunPlan::adaptive_share() const noexcept {
  AdaptiveConfig a = config_.adaptive;
  a.qps_min = rate_share(a.qps_min);
  a.qps_max = rate_share(a.qps_max);
  return a;
}

uint32_t RunPlan::connections() const {
  uint32_t total = 0;
  for (uint32_t n : connections_per_origin()) total += n;
  return total;
}

std::vector<ShardPlan> RunPlan::shards(uint64_t t0, const std::vector<int>& cpus) const {
  const uint32_t n = config_.threads;
  const std::vector<uint32_t> per_origin = connections_per_origin();
  uint64_t limit = UINT64_MAX;
  if (config_.iterations > 0) limit = config_.iterations > UINT64_MAX / lines_ ? UINT64_MAX : config_.iterations * lines_;
  if (config_.max_requests > 0) limit = std::min(limit, config_.max_requests);
  std::vector<ShardPlan> plans(n);
  for (uint32_t k = 0; k < n; ++k) {
    ShardPlan& p = plans[k];
    p.index = k;
    p.shard_count = n;
    p.t0_ns = t0;
    p.cpu = config_.pin_threads && !cpus.empty() ? cpus[k % cpus.size()] : -1;
    for (uint32_t total : per_origin) p.connections.push_back(static_cast<uint32_t>(shard_split::share(total, k, n)));
    p.limit = limit;
    const ShardSpec& sh = config_.shard;
    const shard_split::Positions pos = shard_split::positions(sh.index, sh.count, k, n);
    p.seq_first = pos.first;
    p.seq_step = pos.step;
    if (config_.duration.count() > 0) p.deadline_ns = t0 + static_cast<uint64_t>(config_.duration.count());
    if (!open_loop()) continue;
    p.open_loop = true;
    p.rate = rate_schedule(t0);
    for (RateSegment& seg : p.rate) {
      seg.r0 /= n;
      seg.r1 /= n;
    }
    p.phase = shard_split::phase(sh.index, sh.count, k, n);
    p.poisson = config_.poisson;
    // Poisson gaps: another stream in each process (the pacer adds the thread's index).
    p.seed = config_.seed + (static_cast<uint64_t>(sh.index) << 32);
    p.spin = config_.spin;
  }
  return plans;
}

std::vector<RateSegment> RunPlan::rate_schedule(uint64_t t0) const {
  std::vector<RateSegment> out;
  if (config_.stages.empty()) {
    out.push_back({t0, UINT64_MAX, rate_share(config_.qps), rate_share(config_.qps)});
    return out;
  }
  uint64_t t = t0;
  double r = rate_share(config_.qps);
  for (const Stage& s : config_.stages) {
    const uint64_t end = t + static_cast<uint64_t>(s.duration.count());
    out.push_back({t, end, r, rate_share(s.target_qps)});
    t = end;
    r = rate_share(s.target_qps);
  }
  return out;
}

double RunPlan::scheduled_qps(uint64_t t0, uint64_t t) const {
  if (!open_loop()) return 0;
  for (const RateSegment& s : rate_schedule(t0)) {
    if (t < s.start_ns || t >= s.end_ns) continue;
    if (s.end_ns == UINT64_MAX) return s.r0;
    return s.r0 + (s.r1 - s.r0) * static_cast<double>(t - s.start_ns) / static_cast<double>(s.end_ns - s.start_ns);
  }
  return 0;
}

}  // namespace ringload
