// Thresholds: pass/fail objectives on a run's figures, after k6's thresholds for HTTP
// ("p(99)<50", "rate<0.01" on http_req_failed, abortOnFail). A front end parses the text
// (the CLI's --threshold 'p99<50ms', 'errors<0.1%', 'name:checkout p95<200ms'); the engine
// checks them (check_config), evaluates them on the finished run (evaluate_thresholds; the
// report's `thresholds`) and stops a run at the first progress window that fails an
// `abort` threshold (RunResult::threshold_stop).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ringload/export.hpp"

namespace ringload {

struct RunConfig;
struct RunResult;

// What is measured. latency, service and ttfb are the report's histograms (latency_us,
// service_time_us, ttfb_us: complete responses); errors = requests.failed / requests.total,
// availability = requests.succeeded / requests.total, rps = requests.total / duration_s.
enum class ThresholdMetric : uint8_t { latency, service, ttfb, errors, availability, rps };
// Of a time metric: a percentile (`percentile`), the mean, min, max or median (p50). The
// rate metrics (errors, availability, rps) take `rate`.
enum class ThresholdStat : uint8_t { percentile, avg, min, max, med, rate };
enum class ThresholdOp : uint8_t { lt, le, gt, ge, eq };

struct Threshold {
  std::string text;       // the expression as given (the report's "expression"); "": made from the fields
  std::string name;       // a request name (the report's by_name[].name); "": the whole run.
                          // Per name: latency, errors, availability and rps only
  ThresholdMetric metric = ThresholdMetric::latency;
  ThresholdStat stat = ThresholdStat::percentile;
  double percentile = 99; // ThresholdStat::percentile: 0 to 100
  ThresholdOp op = ThresholdOp::lt;
  double limit = 0;       // in the report's units: microseconds (time metrics), a fraction
                          // from 0 to 1 (errors, availability), requests per second (rps)
  bool abort = false;     // k6's abortOnFail: the run stops at the first progress window
                          // whose figures so far fail it (run-wide thresholds only)
};

struct ThresholdResult {
  bool measured = false;  // false: nothing to measure (no finished request, an empty
                          // histogram, no request of that name): the threshold fails
  double value = 0;       // in the limit's units (the same figure as the report's own block)
  bool passed = false;    // measured and `value op limit`
  bool stopped_run = false;  // this abort threshold stopped the run (then it fails)
};

RINGLOAD_API const char* to_string(ThresholdMetric m) noexcept;  // "latency", "errors" ...
RINGLOAD_API const char* to_string(ThresholdOp op) noexcept;     // "<", "<=" ...
// The statistic as the report names it: "p99", "p99.9", "avg", "min", "max", "med", "rate".
RINGLOAD_API std::string stat_text(const Threshold& t);
// The unit of `limit` and `value`: "us", "ratio" or "per_s".
RINGLOAD_API const char* unit_text(ThresholdMetric m) noexcept;
// t.text, or when empty a canonical form: "name:N latency.p99<50000us", "errors<0.001".
RINGLOAD_API std::string expression(const Threshold& t);

// Every threshold of `config` on the finished run, in order. Evaluation is repeatable:
// the report, the CLI's summary and its exit status each call it.
RINGLOAD_API std::vector<ThresholdResult> evaluate_thresholds(const RunConfig& config, const RunResult& result);

}  // namespace ringload
