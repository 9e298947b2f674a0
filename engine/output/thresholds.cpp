#include "engine/output/thresholds.hpp"

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "engine/requests/request_table.hpp"
#include "ringload/config.hpp"
#include "ringload/config_check.hpp"

namespace ringload {
namespace {

// The figures one threshold reads: the whole run's, or one request name's (no service or
// ttfb histogram: the report's by_name has latency only).
struct Figures {
  const Histogram* latency = nullptr;
  const Histogram* service = nullptr;
  const Histogram* ttfb = nullptr;
  uint64_t requests = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  double seconds = 0;
};

Figures run_figures(const Stats& s, double seconds) {
  const Counters& c = s.counters;
  return {&s.latency, &s.service, &s.ttfb, c.requests, c.succeeded, c.failed, seconds};
}

double us(uint64_t ns) { return static_cast<double>(ns) / 1e3; }

// The same arithmetic as the report's blocks (report_json.cpp), so the values are equal.
std::optional<double> time_stat(const Threshold& t, const Histogram* h) {
  if (h == nullptr || h->count() == 0) return std::nullopt;
  switch (t.stat) {
    case ThresholdStat::percentile: return us(h->percentile(t.percentile));
    case ThresholdStat::avg: return h->mean() / 1e3;
    case ThresholdStat::min: return us(h->min());
    case ThresholdStat::max: return us(h->max());
    case ThresholdStat::med: return us(h->percentile(50));
    case ThresholdStat::rate: break;
  }
  return std::nullopt;
}

std::optional<double> measure(const Threshold& t, const Figures& f) {
  const auto ratio = [&f](uint64_t n) -> std::optional<double> {
    if (f.requests == 0) return std::nullopt;
    return static_cast<double>(n) / static_cast<double>(f.requests);
  };
  switch (t.metric) {
    case ThresholdMetric::latency: return time_stat(t, f.latency);
    case ThresholdMetric::service: return time_stat(t, f.service);
    case ThresholdMetric::ttfb: return time_stat(t, f.ttfb);
    case ThresholdMetric::errors: return ratio(f.failed);
    case ThresholdMetric::availability: return ratio(f.succeeded);
    case ThresholdMetric::rps:
      if (!(f.seconds > 0)) return std::nullopt;
      return static_cast<double>(f.requests) / f.seconds;
  }
  return std::nullopt;
}

bool holds(double value, ThresholdOp op, double limit) {
  switch (op) {
    case ThresholdOp::lt: return value < limit;
    case ThresholdOp::le: return value <= limit;
    case ThresholdOp::gt: return value > limit;
    case ThresholdOp::ge: return value >= limit;
    case ThresholdOp::eq: return value == limit;
  }
  return false;
}

bool is_time(ThresholdMetric m) {
  return m == ThresholdMetric::latency || m == ThresholdMetric::service || m == ThresholdMetric::ttfb;
}

std::unexpected<ConfigError> bad(const Threshold& t, const std::string& why) {
  return std::unexpected(ConfigError{"thresholds", "{thresholds} '" + expression(t) + "': " + why});
}

// The stats buckets of the run's requests (a request file's table, or the requests as
// the engine will render them).
std::vector<std::string> request_names(const RunConfig& config) {
  if (!config.file.empty()) return config.file.table()->names;
  RequestTableBuilder builder;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  for (const RequestSpec& spec : config.requests)
    if (!builder.add(to_input(spec, headers))) return {};
  return std::move(builder).finish().names;
}

}  // namespace

const char* to_string(ThresholdMetric m) noexcept {
  constexpr const char* names[] = {"latency", "service", "ttfb", "errors", "availability", "rps"};
  return names[static_cast<std::size_t>(m)];
}

const char* to_string(ThresholdOp op) noexcept {
  constexpr const char* names[] = {"<", "<=", ">", ">=", "=="};
  return names[static_cast<std::size_t>(op)];
}

std::string stat_text(const Threshold& t) {
  switch (t.stat) {
    case ThresholdStat::percentile: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "p%g", t.percentile);
      return buf;
    }
    case ThresholdStat::avg: return "avg";
    case ThresholdStat::min: return "min";
    case ThresholdStat::max: return "max";
    case ThresholdStat::med: return "med";
    case ThresholdStat::rate: return "rate";
  }
  return "";
}

const char* unit_text(ThresholdMetric m) noexcept {
  if (is_time(m)) return "us";
  return m == ThresholdMetric::rps ? "per_s" : "ratio";
}

std::string expression(const Threshold& t) {
  if (!t.text.empty()) return t.text;
  std::string out = t.name.empty() ? "" : "name:" + t.name + " ";
  out += to_string(t.metric);
  if (t.stat != ThresholdStat::rate) out += "." + stat_text(t);
  char limit[40];
  std::snprintf(limit, sizeof limit, "%.17g", t.limit);
  out += std::string(to_string(t.op)) + limit + (is_time(t.metric) ? "us" : "");
  return out + (t.abort ? ":abort" : "");
}

std::vector<ThresholdResult> evaluate_thresholds(const RunConfig& config, const RunResult& result) {
  std::vector<ThresholdResult> out;
  for (std::size_t i = 0; i < config.thresholds.size(); ++i) {
    const Threshold& t = config.thresholds[i];
    Figures f = run_figures(result.stats, result.duration_s);
    if (!t.name.empty()) {
      f = Figures{};
      f.seconds = result.duration_s;
      for (const NameStats& n : result.by_name)
        if (n.name == t.name) f = {&n.latency, nullptr, nullptr, n.requests, n.succeeded, n.failed, result.duration_s};
    }
    ThresholdResult r;
    const std::optional<double> value = measure(t, f);
    r.measured = value.has_value();
    r.value = value.value_or(0);
    r.stopped_run = result.threshold_stop == static_cast<int>(i);
    r.passed = r.measured && !r.stopped_run && holds(r.value, t.op, t.limit);
    out.push_back(r);
  }
  return out;
}

int first_failed_abort(const std::vector<Threshold>& thresholds, const Stats& so_far, double elapsed_s) {
  const Figures f = run_figures(so_far, elapsed_s);
  for (std::size_t i = 0; i < thresholds.size(); ++i) {
    const Threshold& t = thresholds[i];
    if (!t.abort || !t.name.empty()) continue;
    const std::optional<double> value = measure(t, f);
    if (value && !holds(*value, t.op, t.limit)) return static_cast<int>(i);
  }
  return -1;
}

std::expected<void, ConfigError> check_thresholds(const RunConfig& config) {
  for (const Threshold& t : config.thresholds) {
    const bool time = is_time(t.metric);
    if (time == (t.stat == ThresholdStat::rate))
      return bad(t, time ? "a time metric takes a statistic (p99, avg, min, max, med)" : "a rate takes no statistic");
    if (t.stat == ThresholdStat::percentile && !(t.percentile >= 0 && t.percentile <= 100))
      return bad(t, "the percentile must be from 0 to 100");
    if (!std::isfinite(t.limit) || t.limit < 0) return bad(t, "the limit must be a number, 0 or more");
    if (!t.name.empty() && (t.metric == ThresholdMetric::service || t.metric == ThresholdMetric::ttfb))
      return bad(t, "per name, latency, errors, availability and rps are measured (not service or ttfb)");
    if (!t.name.empty() && t.abort) return bad(t, "abort applies to run-wide thresholds, not per name");
  }
  return {};
}

std::expected<void, ConfigError> check_threshold_names(const RunConfig& config) {
  std::vector<std::string> names;
  bool listed = false;
  for (const Threshold& t : config.thresholds) {
    if (t.name.empty()) continue;
    if (!listed) names = request_names(config), listed = true;
    bool found = false;
    for (const std::string& n : names) found = found || (n == t.name && n != "(other)");
    if (found) continue;
    std::string known;
    for (std::size_t i = 0; i < names.size() && i < 10; ++i) known += (i == 0 ? "'" : ", '") + names[i] + "'";
    if (names.size() > 10) known += " ...";
    return bad(t, "no request is named '" + t.name + "' (the names: " + known + ")");
  }
  return {};
}

}  // namespace ringload
