// End-of-run reports: the human summary (stdout) and the JSON document (--json / -o).
//
// JSON schema (stable; keys are emitted in sorted order). Times inside histogram
// blocks are microseconds as floats; counts are integers.
//
// {
//   "ringload_version": "0.1.0",
//   "url": "http://127.0.0.1:8080/",   // first request: origin() + target (origin always has the port)
//   "method": "GET",                    // first request's method
//   "duration_s": 10.0,                 // from the first send to the stop
//   "connections": 64,                  // as run (RunResult)
//   "threads": 2,                       // shards as run (RunResult)
//   "interrupted": false,               // stopped early by Ctrl-C
//   "requests": {"total": n, "succeeded": n, "failed": n, "in_flight_at_end": n},
//   "status_codes": {"200": n, ...},    // non-zero codes only
//   "errors": {"connect": n, "read": n, "write": n, "timeout": n, "protocol": n},  // all kinds
//   "first_errors": {"timeout": "message", ...},  // kinds that occurred only
//   "latency_us":      {"min", "mean", "stdev", "p50", "p75", "p90", "p95", "p99",
//                       "p99_9", "p99_99", "max"},  // completion - intended send
//   "service_time_us": { same keys },   // completion - actual send
//   "ttfb_us":         { same keys },   // first response byte - actual send
//   "throughput": {"rps": f, "rpm": f, "bytes_in_per_s": f, "bytes_out_per_s": f},
//                                       // rps = requests.total / duration_s (0 if duration is 0)
//   "bytes": {"in": n, "out": n},
//   "connections_opened": n,            // connections established
//   "closes_by_server": n,
//   "timeline": [{"t_s": f, "duration_s": f, "requests": n, "succeeded": n, "errors": n,
//                 "rps": f, "p50_us": f, "p99_us": f}, ...],  // one per progress window
//   "notices": ["...", ...],
//   "config": {"connections": n, "threads": n,          // as configured (threads 0: one per CPU)
//              "duration_s": f | null,                  // null: no time limit
//              "max_requests": n | null,                // null: no request limit
//              "timeout_s": f | null,                   // null: no per-request deadline
//              "method": "GET", "headers": [["name", "value"], ...],  // first request
//              "body_bytes": n,                         // first request's body size
//              "success_status": ["200-399", ...]}      // each range as "lo-hi"
// }
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "ringload/config.hpp"
#include "ringload/stats.hpp"

namespace ringload::cli {

// wrk-like text summary, lines ending in '\n'.
std::string render_human(const ringload::RunConfig& config, const ringload::RunResult& result);

// The document described above.
nlohmann::json render_json(const ringload::RunConfig& config, const ringload::RunResult& result);

}  // namespace ringload::cli
