#include "cli/config_flags.hpp"

#include <algorithm>
#include <iterator>

namespace ringload::cli {
namespace {

struct FieldFlag {
  std::string_view field;
  std::string_view flag;
};

// Fields set by exactly one flag. `connections` depends on --connections-total (below).
constexpr FieldFlag field_flags[] = {
    {"qps", "--qps"},
    {"stages", "--stages"},
    {"poisson", "--arrival"},
    {"spin", "--spin"},
    {"adaptive.enabled", "--adaptive"},
    {"adaptive.qps_min", "--qps-min"},
    {"adaptive.qps_max", "--qps-max"},
    {"adaptive.up", "--adapt-up"},
    {"adaptive.down", "--adapt-down"},
    {"adaptive.min_step", "--adapt-min-step"},
    {"adaptive.target_availability", "--target-availability"},
    {"adaptive.target_p99", "--target-p99"},
    {"adaptive.interval", "--adapt-interval"},
    {"connections_per_origin", "--connections-total"},
    {"threads", "-t/--threads"},
    {"duration", "-d/--duration"},
    {"max_requests", "-n/--requests"},
    {"iterations", "--iterations"},
    {"timeout", "--timeout"},
    {"reconnect_backoff", "--reconnect-backoff"},
    {"ws_max_message", "--ws-max-message"},
    {"success_status", "--success-status"},
    {"export_path", "--export"},
    {"export_max_body", "--export-max-body"},
    {"export_errors_only", "--export-errors-only"},
    {"shuffle", "--shuffle"},
    {"seed", "--seed"},
    {"shard", "--shard"},
    {"start_at", "--start-at"},
    {"thresholds", "--threshold"},
    {"max_streams", "--max-streams"},
    {"pipeline", "--pipeline"},
    {"batch_wait", "--batch-wait"},
    {"plugins", "--plugin"},
};

}  // namespace

std::string flag_for(std::string_view field, const RunConfig& config) {
  // -c is the count per origin, or with --connections-total the total: name what was meant.
  if (field == "http2") return config.http2 == Http2Mode::alpn ? "--http2" : "--h2c";
  if (field == "connections") return config.connections_per_origin ? "-c/--connections" : "--connections-total";
  const auto* f = std::find_if(std::begin(field_flags), std::end(field_flags),
                               [field](const FieldFlag& ff) { return ff.field == field; });
  return std::string(f != std::end(field_flags) ? f->flag : field);
}

std::string flag_message(const ConfigError& error, const RunConfig& config) {
  return error.to_string([&config](std::string_view field) { return flag_for(field, config); });
}

}  // namespace ringload::cli
