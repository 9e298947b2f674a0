#include "engine/output/memory_report.hpp"

#include <cstddef>
#include <nlohmann/json.hpp>

namespace ringload {

std::size_t stats_bytes(const Stats& s) noexcept {
  constexpr std::size_t first = offsetof(Stats, latency);
  static_assert((sizeof(Stats) - first) % sizeof(Histogram) == 0, "Stats ends with its histograms");
  const std::size_t n = (sizeof(Stats) - first) / sizeof(Histogram);
  std::size_t bytes = first;
  for (std::size_t i = 0; i < n; ++i) bytes += (&s.latency)[i].resident_bytes();
  return bytes;
}

nlohmann::json memory_json(const MemoryUsage& m) {
  return {
      {"total_bytes", m.total()},
      {"per_connection_bytes", m.per_connection()},
      {"connections", m.connections},
      {"parts",
       {{"slots", m.slots},
        {"scratch", m.scratch},
        {"buffer_rings", m.buffer_rings},
        {"rings", m.rings},
        {"session_state", m.session_state},
        {"tls", m.tls},
        {"timers", m.timers},
        {"histograms", m.histograms},
        {"request_table", m.request_table},
        {"export_queues", m.export_queues}}},
      {"carry_reserved_bytes", m.carry_reserved},
  };
}

}  // namespace ringload
