// --threshold EXPR: k6-style pass/fail objectives, parsed into RunConfig::thresholds (the
// engine evaluates them: ringload/thresholds.hpp).
//
//   [name:NAME ] [METRIC.]STAT OP NUMBER UNIT   latency.p99<50ms, p99.9<=200ms, p(95)<20ms,
//                                               ttfb.p95<20ms, service.max<1s, avg<10ms, med<5ms
//   [name:NAME ] RATE OP NUMBER[%]              errors<0.1%, errors<=0.001, availability>99.9%,
//                                               rps>20000
//   ... followed by ':abort' (run-wide only)    p99<50ms:abort
// METRIC: latency (the default), service, ttfb; STAT: avg, min, max, med, pNN, pNN.N, p(NN);
// RATE: errors, availability, rps; OP: < <= > >= ==; UNIT: us, ms, s (required for times).
// NAME: a request name (the report's by_name), quoted ("GET /api" or 'GET /api') when it
// holds spaces; per name: latency, errors, availability and rps.
#pragma once
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "ringload/config.hpp"
#include "ringload/stats.hpp"
#include "ringload/thresholds.hpp"

namespace CLI {
class App;
}

namespace ringload::cli {

// One expression; the error is "column N: what is wrong" (N: 1-based byte column in `text`).
std::expected<Threshold, std::string> parse_threshold(std::string_view text);

// Registers --threshold (repeatable) into `given`, each value checked by parse_threshold.
void add_threshold_flag(CLI::App& app, std::vector<std::string>& given);

// The values add_threshold_flag accepted, parsed.
std::vector<Threshold> parsed_thresholds(const std::vector<std::string>& given);

// The summary's lines: one per threshold, ok or FAIL, with what was measured; "" without
// thresholds.
std::string thresholds_summary(const RunConfig& config, const RunResult& result);

// One line for stderr when a threshold failed ("2 of 3 thresholds failed: ..."); "": none did.
std::string thresholds_failure(const RunConfig& config, const RunResult& result);

}  // namespace ringload::cli
