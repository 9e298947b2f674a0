#include "engine/load/run_plan.hpp"

#include <algorithm>


namespace ringload {

std::vector<uint32_t> RunPlan::connections_per_origin() const {
  std::vector<uint32_t> out(origins_, config_.connections);
  if (!config_.connections_per_origin) {
    for (std::size_t o = 0; o < origins_; ++o)
      out[o] = static_cast<uint32_t>(config_.connections / origins_ + (o < config_.connections % origins_ ? 1 : 0));
  }
  for (uint32_t& c : out) c = std::max(c, config_.threads);
  return out;
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
    for (uint32_t total : per_origin) p.connections.push_back(total / n + (k < total % n ? 1 : 0));
    p.limit = limit;
    if (config_.duration.count() > 0) p.deadline_ns = t0 + static_cast<uint64_t>(config_.duration.count());
    if (!open_loop()) continue;
    p.open_loop = true;
    p.rate = rate_schedule(t0);
    for (RateSegment& seg : p.rate) {
      seg.r0 /= n;
      seg.r1 /= n;
    }
    p.phase = static_cast<double>(k) / n;
    p.poisson = config_.poisson;
    p.seed = config_.seed;
    p.spin = config_.spin;
  }
  return plans;
}

std::vector<RateSegment> RunPlan::rate_schedule(uint64_t t0) const {
  std::vector<RateSegment> out;
  if (config_.stages.empty()) {
    out.push_back({t0, UINT64_MAX, config_.qps, config_.qps});
    return out;
  }
  uint64_t t = t0;
  double r = config_.qps;
  for (const Stage& s : config_.stages) {
    const uint64_t end = t + static_cast<uint64_t>(s.duration.count());
    out.push_back({t, end, r, s.target_qps});
    t = end;
    r = s.target_qps;
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
