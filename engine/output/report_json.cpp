#include "ringload/report.hpp"
#include "ringload/thresholds.hpp"

#include "ringload/hdr_encoding.hpp"

#include "engine/output/memory_report.hpp"
#include "engine/output/report_http2.hpp"
#include "engine/requests/request_table.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace ringload {
namespace {

using nlohmann::json;

// The percentiles of every histogram block, by key.
constexpr std::pair<double, const char*> percentiles[] = {
    {50, "p50"}, {75, "p75"}, {90, "p90"}, {95, "p95"}, {99, "p99"}, {99.9, "p99_9"}, {99.99, "p99_99"},
};

double us(uint64_t ns) { return static_cast<double>(ns) / 1e3; }

double per_second(uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

double seconds(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e9; }

std::string range_text(const StatusRange& r) {
  return std::to_string(r.lo) + "-" + std::to_string(r.hi);
}

// Percentiles in microseconds, plus the count and the whole histogram in HdrHistogram's
// interchange encoding (nanoseconds: hdr_encoding.hpp).
json histogram_json(const Histogram& h) {
  json out = {
      {"count", h.count()},
      {"hdr", hdr_encode(h)},
      {"min", us(h.min())},
      {"mean", h.mean() / 1e3},
      {"stdev", h.stdev() / 1e3},
      {"max", us(h.max())},
  };
  for (const auto& [p, key] : percentiles) out[key] = us(h.percentile(p));
  return out;
}

json config_json(const RunConfig& config) {
  const RequestSpec* first = config.requests.empty() ? nullptr : &config.requests.front();
  json headers = json::array();
  if (first != nullptr) {
    for (const auto& [name, value] : first->headers) headers.push_back(json::array({name, value}));
  }
  json success = json::array();
  for (const auto& r : config.success_status) success.push_back(range_text(r));
  json tls = {{"verify", config.tls.verify}, {"cacert", config.tls.ca_file}, {"cert", config.tls.cert_file},
              {"sni", config.tls.sni}, {"resume", config.tls.resume}, {"handshake_each", config.tls.handshake_each}};
  return {
      {"connections", config.connections},
      {"threads", config.threads},
      {"duration_s", config.duration.count() == 0 ? json(nullptr) : json(seconds(config.duration))},
      {"max_requests", config.max_requests == 0 ? json(nullptr) : json(config.max_requests)},
      {"timeout_s", config.timeout.count() == 0 ? json(nullptr) : json(seconds(config.timeout))},
      {"method", first != nullptr ? first->method : std::string()},
      {"headers", std::move(headers)},
      {"body_bytes", first != nullptr ? first->body.size() : 0},
      {"success_status", std::move(success)},
      {"requests_file", config.file.empty() ? json(nullptr) : json(config.file.path())},
      {"iterations", config.iterations == 0 ? json(nullptr) : json(config.iterations)},
      {"shuffle", config.shuffle},
      {"seed", config.seed},
      {"connections_per_origin", config.connections_per_origin},
      {"pipeline", config.pipeline},
      {"batch_wait_us", config.batch_wait.count()},
      {"tls", std::move(tls)},
  };
}

json by_name_json(const std::vector<NameStats>& names) {
  json out = json::array();
  for (const NameStats& n : names) {
    if (n.requests == 0) continue;
    out.push_back({{"name", n.name}, {"requests", n.requests}, {"succeeded", n.succeeded},
                   {"failed", n.failed}, {"latency_us", histogram_json(n.latency)}});
  }
  return out;
}

json by_iteration_json(const std::vector<IterationStats>& passes) {
  json out = json::array();
  for (std::size_t i = 0; i < passes.size(); ++i) {
    out.push_back({{"iteration", i}, {"requests", passes[i].requests},
                   {"succeeded", passes[i].succeeded}, {"failed", passes[i].failed}});
  }
  return out;
}

json status_classes_json(const std::array<uint64_t, 5>& classes) {
  json out = json::object();
  for (std::size_t i = 0; i < classes.size(); ++i) out[std::to_string(i + 1) + "xx"] = classes[i];
  return out;
}

json timeline_json(const std::vector<Window>& timeline) {
  json out = json::array();
  for (const Window& w : timeline) {
    out.push_back({
        {"t_s", w.t_s},
        {"duration_s", w.duration_s},
        {"requests", w.requests},
        {"succeeded", w.succeeded},
        {"errors", w.errors},
        {"rps", per_second(w.requests, w.duration_s)},
        {"p50_us", us(w.latency_p50_ns)},
        {"p90_us", us(w.latency_p90_ns)},
        {"p99_us", us(w.latency_p99_ns)},
        {"max_us", us(w.latency_max_ns)},
        {"status_classes", status_classes_json(w.status_classes)},
        {"target_qps", w.target_qps},
    });
  }
  return out;
}

// The open loop's per-window view: what was asked, what was achieved, how it went.
json qps_timeline_json(const std::vector<Window>& timeline) {
  json out = json::array();
  for (const Window& w : timeline) {
    out.push_back({
        {"t_s", w.t_s},
        {"target_qps", w.target_qps},
        {"achieved_qps", per_second(w.requests, w.duration_s)},
        {"availability", w.requests == 0 ? 0.0 : static_cast<double>(w.succeeded) / static_cast<double>(w.requests)},
        {"p50_us", us(w.latency_p50_ns)},
        {"p99_us", us(w.latency_p99_ns)},
        {"errors", w.errors},
    });
  }
  return out;
}

json ends_json(const std::array<uint64_t, stream_end_count>& ends,
               std::initializer_list<StreamEnd> kinds) {
  json out = json::object();
  for (StreamEnd e : kinds) out[to_string(e)] = ends[static_cast<std::size_t>(e)];
  return out;
}

json sse_json(const RunResult& r) {
  const StreamCounters& k = r.stats.streams;
  if (k.sse_streams == 0) return nullptr;
  return {
      {"streams", k.sse_streams},
      {"events", k.sse_events},
      {"bytes", k.sse_bytes},
      {"comments", k.sse_comments},
      {"events_per_s", per_second(k.sse_events, r.duration_s)},
      {"bytes_per_s", per_second(k.sse_bytes, r.duration_s)},
      {"ended_by", ends_json(k.sse_end, {StreamEnd::server, StreamEnd::max_events, StreamEnd::until,
                                         StreamEnd::stream_timeout, StreamEnd::run_end, StreamEnd::error})},
      {"ttfe_us", histogram_json(r.stats.sse_ttfe)},
      {"inter_event_us", histogram_json(r.stats.sse_gap)},
      {"duration_us", histogram_json(r.stats.sse_duration)},
  };
}

json ws_json(const RunResult& r) {
  const StreamCounters& k = r.stats.streams;
  if (k.ws_sessions == 0) return nullptr;
  json codes = json::object();
  for (std::size_t i = 0; i < k.close_codes.standard.size(); ++i)
    if (k.close_codes.standard[i] != 0) codes[std::to_string(1000 + i)] = k.close_codes.standard[i];
  for (const auto& [code, n] : k.close_codes.other)
    if (code != 0 && n != 0) codes[std::to_string(code)] = n;
  if (k.close_codes.overflow != 0) codes["other"] = k.close_codes.overflow;
  return {
      {"sessions", k.ws_sessions},
      {"messages_sent", k.ws_sent},
      {"messages_received", k.ws_received},
      {"bytes_sent", k.ws_bytes_sent},
      {"bytes_received", k.ws_bytes_received},
      {"messages_per_s", per_second(k.ws_received, r.duration_s)},
      {"bytes_per_s", per_second(k.ws_bytes_received, r.duration_s)},
      {"pings_received", k.ws_pings},
      {"pongs_sent", k.ws_pongs_sent},
      {"pongs_received", k.ws_pongs_received},
      {"close_codes", std::move(codes)},
      {"closed_by", {{"client", k.ws_closed_by[0]}, {"server", k.ws_closed_by[1]}, {"none", k.ws_closed_by[2]}}},
      {"ended_by", ends_json(k.ws_end, {StreamEnd::expect, StreamEnd::until, StreamEnd::idle_timeout,
                                        StreamEnd::stream_timeout, StreamEnd::server, StreamEnd::run_end,
                                        StreamEnd::error})},
      {"handshake_us", histogram_json(r.stats.ws_handshake)},
      {"rtt_us", histogram_json(r.stats.ws_rtt)},
  };
}

json status_codes_json(const Counters& c) {
  json out = json::object();
  for (std::size_t code = 0; code < c.status.size(); ++code) {
    if (c.status[code] != 0) out[std::to_string(code)] = c.status[code];
  }
  return out;
}

// Every error kind's count; the first message of each kind that occurred.
std::pair<json, json> errors_json(const RunResult& result) {
  const Counters& c = result.stats.counters;
  json errors = json::object();
  json first_errors = json::object();
  for (std::size_t k = 0; k < error_kind_count; ++k) {
    const char* name = to_string(static_cast<ErrorKind>(k));
    errors[name] = c.errors[k];
    if (c.errors[k] != 0) first_errors[name] = result.first_error[k];
  }
  return {std::move(errors), std::move(first_errors)};
}

json tls_json(const RunConfig& config, const RunResult& result) {
  const Counters& c = result.stats.counters;
  if (result.tls_version.empty() && c.errors[static_cast<std::size_t>(ErrorKind::tls)] == 0) return nullptr;
  return {{"version", result.tls_version},
          {"cipher", result.tls_cipher},
          {"handshakes", c.tls_handshakes},
          {"resumed", c.tls_resumed},
          {"resumed_ratio", c.tls_handshakes == 0 ? 0.0
                                : static_cast<double>(c.tls_resumed) / static_cast<double>(c.tls_handshakes)},
          {"verify", config.tls.verify}};
}

bool is_open_loop(const RunConfig& config) {
  return config.qps > 0 || !config.stages.empty() || config.adaptive.enabled;
}

// This process's part of a sharded run; null: not sharded.
json shard_json(const RunConfig& config) {
  if (config.shard.count == 0) return nullptr;
  return {{"index", config.shard.index}, {"count", config.shard.count}};
}

// RFC 3339, UTC, milliseconds: "2026-12-04T07:50:00.123Z".
std::string rfc3339_ms(int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char text[80];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
  return text;
}

json open_loop_json(const RunConfig& config, const RunResult& result) {
  if (!is_open_loop(config)) return nullptr;
  // A shard's own rate (--shard i/N: 1/N of --qps).
  const double target = config.shard.count > 1 ? config.qps / config.shard.count : config.qps;
  return {{"target_qps", target},
          {"schedule", config.adaptive.enabled ? "adaptive" : !config.stages.empty() ? "stages" : "fixed"},
          {"arrival", config.poisson ? "poisson" : "uniform"},
          {"spin", config.spin == SpinMode::always  ? "always"
                   : config.spin == SpinMode::never ? "never"
                                                    : "auto"},
          {"spun_sends", result.stats.counters.spun_sends},
          {"preopened_connections", result.preopened},
          {"warm_up_s", result.warm_up_s},
          {"waited_for_connection", result.stats.counters.waited_for_connection},
          {"unsent_at_end", result.unsent_at_end}};
}

json export_json(const RunConfig& config, const RunResult& result) {
  if (config.export_path.empty()) return nullptr;
  return {{"path", config.export_path},
          {"lines", result.export_lines},
          {"waits", result.export_waits},
          {"error", result.export_error.empty() ? json(nullptr) : json(result.export_error)}};
}

json throughput_json(const RunResult& result) {
  const Counters& c = result.stats.counters;
  const double rps = per_second(c.requests, result.duration_s);
  return {{"rps", rps}, {"rpm", rps * 60},
          {"bytes_in_per_s", per_second(c.bytes_in, result.duration_s)},
          {"bytes_out_per_s", per_second(c.bytes_out, result.duration_s)}};
}

// Plugins' verdict labels, counted; null: no plugin loaded.
json labels_json(const RunConfig& config, const RunResult& result) {
  if (config.plugins.empty()) return nullptr;
  json out = json::object();
  for (const auto& [label, count] : result.labels) out[label] = count;
  return out;
}

// What each plugin reported from its finish; null: no plugin loaded.
json plugins_json(const RunConfig& config, const RunResult& result) {
  if (config.plugins.empty()) return nullptr;
  json out = json::array();
  for (std::size_t i = 0; i < result.plugins.size(); ++i) {
    json numbers = json::object();
    for (const auto& [key, value] : result.plugins[i].numbers) numbers[key] = value;
    const std::string args = i < config.plugins.size() ? config.plugins[i].args : std::string();
    out.push_back({{"path", result.plugins[i].path}, {"args", args}, {"report", std::move(numbers)}});
  }
  return out;
}

// Each threshold, in the order given, with what the run measured.
json thresholds_json(const RunConfig& config, const RunResult& result) {
  json out = json::array();
  const std::vector<ThresholdResult> results = evaluate_thresholds(config, result);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Threshold& t = config.thresholds[i];
    const ThresholdResult& r = results[i];
    out.push_back({{"expression", expression(t)},
                   {"name", t.name.empty() ? json(nullptr) : json(t.name)},
                   {"metric", to_string(t.metric)},
                   {"stat", stat_text(t)},
                   {"op", to_string(t.op)},
                   {"limit", t.limit},
                   {"unit", unit_text(t.metric)},
                   {"value", r.measured ? json(r.value) : json(nullptr)},
                   {"passed", r.passed},
                   {"abort", t.abort},
                   {"stopped_run", r.stopped_run}});
  }
  return out;
}

json report(const RunConfig& config, const RunResult& result) {
  const Counters& c = result.stats.counters;
  auto [errors, first_errors] = errors_json(result);
  return {
      {"ringload_version", RINGLOAD_ENGINE_VERSION},
      {"url", report_url(config)},
      {"method", report_method(config)},
      {"duration_s", result.duration_s},
      {"started_at", rfc3339_ms(result.started_at_ms)},
      {"shard", shard_json(config)},
      {"connections", result.connections},
      {"threads", result.threads},
      {"descriptors", result.direct_fds ? "direct" : "regular"},
      {"interrupted", result.interrupted},
      {"requests", {{"total", c.requests}, {"succeeded", c.succeeded}, {"failed", c.failed},
                    {"in_flight_at_end", result.in_flight_at_end}, {"skipped", c.skipped},
                    {"pipeline_unanswered", c.pipeline_unanswered}}},
      {"status_codes", status_codes_json(c)},
      {"errors", std::move(errors)},
      {"first_errors", std::move(first_errors)},
      {"latency_us", histogram_json(result.stats.latency)},
      {"service_time_us", histogram_json(result.stats.service)},
      {"ttfb_us", histogram_json(result.stats.ttfb)},
      {"send_lag_us", histogram_json(result.stats.send_lag)},
      {"error_latency_us", histogram_json(result.stats.error_latency)},
      {"tls", tls_json(config, result)},
      {"tls_handshake_us", histogram_json(result.stats.tls_handshake)},
      {"sse", sse_json(result)},
      {"ws", ws_json(result)},
      {"http2", http2_json(config, result)},
      {"open_loop", open_loop_json(config, result)},
      {"capacity", result.capacity_qps >= 0 ? json(result.capacity_qps) : json(nullptr)},
      {"qps_timeline", is_open_loop(config) ? qps_timeline_json(result.timeline) : json::array()},
      {"throughput", throughput_json(result)},
      {"bytes", {{"in", c.bytes_in}, {"out", c.bytes_out}}},
      {"connections_opened", c.connects},
      {"closes_by_server", c.closes_by_server},
      {"closes_by_client", c.closes_by_client},
      {"timeline", timeline_json(result.timeline)},
      {"by_name", by_name_json(result.by_name)},
      {"by_iteration", by_iteration_json(result.by_iteration)},
      {"notices", result.notices},
      {"export", export_json(config, result)},
      {"labels", labels_json(config, result)},
      {"plugins", plugins_json(config, result)},
      {"thresholds", thresholds_json(config, result)},
      {"memory", memory_json(result.memory)},
      {"config", config_json(config)},
  };
}

}  // namespace

std::string report_url(const RunConfig& config) {
  if (config.file.size() != 0) {
    const RequestTable& t = *config.file.table();
    const RequestLine& l = t.lines.front();
    return t.origins[l.origin].origin() + std::string(t.target(l));
  }
  if (config.requests.empty()) return {};
  const Url& u = config.requests.front().url;
  return u.origin() + u.target;
}

std::string report_method(const RunConfig& config) {
  if (config.file.size() != 0) {
    const RequestTable& t = *config.file.table();
    return std::string(t.method(t.lines.front()));
  }
  return config.requests.empty() ? std::string() : config.requests.front().method;
}

std::string report_json(const RunConfig& config, const RunResult& result, int indent) {
  // Bytes that are not UTF-8 (a -H value, a server's text in a message) become U+FFFD
  // instead of an exception.
  return report(config, result).dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string report_thresholds_json(const RunConfig& config, const RunResult& result) {
  return thresholds_json(config, result).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace ringload
