#include "cli/report.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <utility>
#include <vector>

namespace ringload::cli {

namespace {

using nlohmann::json;

struct Percentile {
  double p;
  const char* json_key;
  const char* label;  // in the human table; nullptr: JSON only
};

constexpr Percentile percentiles[] = {
    {50, "p50", "p50"}, {75, "p75", "p75"},       {90, "p90", "p90"},      {95, "p95", nullptr},
    {99, "p99", "p99"}, {99.9, "p99_9", "p99.9"}, {99.99, "p99_99", nullptr},
};

double us(uint64_t ns) { return static_cast<double>(ns) / 1e3; }

double per_second(uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

double seconds(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e9; }

std::string range_text(const ringload::StatusRange& r) {
  return std::to_string(r.lo) + "-" + std::to_string(r.hi);
}

// The first request's URL and method: the CLI's URL, or a request file's first line.
std::string url_text(const ringload::RunConfig& config) {
  if (config.table && !config.table->lines.empty()) {
    const ringload::RequestTable& t = *config.table;
    const ringload::RequestLine& l = t.lines.front();
    return t.origins[l.origin].origin() + std::string(t.target(l));
  }
  if (config.requests.empty()) return {};
  const ringload::Url& u = config.requests.front().url;
  return u.origin() + u.target;
}

std::string method_text(const ringload::RunConfig& config) {
  if (config.table && !config.table->lines.empty())
    return std::string(config.table->method(config.table->lines.front()));
  return config.requests.empty() ? std::string() : config.requests.front().method;
}

json histogram_json(const ringload::Histogram& h) {
  json out = {
      {"min", us(h.min())},
      {"mean", h.mean() / 1e3},
      {"stdev", h.stdev() / 1e3},
      {"max", us(h.max())},
  };
  for (const Percentile& p : percentiles) out[p.json_key] = us(h.percentile(p.p));
  return out;
}

json config_json(const ringload::RunConfig& config) {
  const ringload::RequestSpec* first = config.requests.empty() ? nullptr : &config.requests.front();
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
      {"requests_file", config.table ? json(config.table->source) : json(nullptr)},
      {"iterations", config.iterations == 0 ? json(nullptr) : json(config.iterations)},
      {"shuffle", config.shuffle},
      {"seed", config.seed},
      {"connections_per_origin", config.connections_per_origin},
      {"tls", std::move(tls)},
  };
}

json by_name_json(const std::vector<ringload::NameStats>& names) {
  json out = json::array();
  for (const ringload::NameStats& n : names) {
    if (n.requests == 0) continue;
    out.push_back({{"name", n.name}, {"requests", n.requests}, {"succeeded", n.succeeded},
                   {"failed", n.failed}, {"latency_us", histogram_json(n.latency)}});
  }
  return out;
}

json by_iteration_json(const std::vector<ringload::IterationStats>& passes) {
  json out = json::array();
  for (std::size_t i = 0; i < passes.size(); ++i) {
    out.push_back({{"iteration", i}, {"requests", passes[i].requests},
                   {"succeeded", passes[i].succeeded}, {"failed", passes[i].failed}});
  }
  return out;
}

json timeline_json(const std::vector<ringload::Window>& timeline) {
  json out = json::array();
  for (const ringload::Window& w : timeline) {
    out.push_back({
        {"t_s", w.t_s},
        {"duration_s", w.duration_s},
        {"requests", w.requests},
        {"succeeded", w.succeeded},
        {"errors", w.errors},
        {"rps", per_second(w.requests, w.duration_s)},
        {"p50_us", us(w.latency_p50_ns)},
        {"p99_us", us(w.latency_p99_ns)},
        {"target_qps", w.target_qps},
    });
  }
  return out;
}

// The open loop's per-window view: what was asked, what was achieved, how it went.
json qps_timeline_json(const std::vector<ringload::Window>& timeline) {
  json out = json::array();
  for (const ringload::Window& w : timeline) {
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

// printf-style append; std::format is not in g++ 12. URLs and messages may be long.
[[gnu::format(printf, 2, 3)]] void appendf(std::string& out, const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  va_list again;
  va_copy(again, ap);
  const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0 && static_cast<std::size_t>(n) < sizeof buf) {
    out.append(buf, static_cast<std::size_t>(n));
  } else if (n > 0) {
    const std::size_t old = out.size();
    out.resize(old + static_cast<std::size_t>(n) + 1);
    std::vsnprintf(out.data() + old, static_cast<std::size_t>(n) + 1, fmt, again);
    out.resize(old + static_cast<std::size_t>(n));
  }
  va_end(again);
}

std::string time_text(double ns) {
  char buf[32];
  if (ns < 1e6) std::snprintf(buf, sizeof buf, "%.2fus", ns / 1e3);
  else if (ns < 1e9) std::snprintf(buf, sizeof buf, "%.2fms", ns / 1e6);
  else std::snprintf(buf, sizeof buf, "%.2fs", ns / 1e9);
  return buf;
}

std::string bytes_text(double b) {
  char buf[32];
  if (b < 1024) std::snprintf(buf, sizeof buf, "%.0fB", b);
  else if (b < 1024.0 * 1024) std::snprintf(buf, sizeof buf, "%.2fKiB", b / 1024);
  else if (b < 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.2fMiB", b / (1024.0 * 1024));
  else std::snprintf(buf, sizeof buf, "%.2fGiB", b / (1024.0 * 1024 * 1024));
  return buf;
}

// One column per non-empty histogram, one row per figure: narrow enough for any terminal
// and room for more histograms later.
void latency_table(std::string& out, const ringload::Stats& s) {
  struct Column {
    const char* name;
    const ringload::Histogram* h;
  };
  Column all[] = {{"latency", &s.latency}, {"service", &s.service}, {"ttfb", &s.ttfb}};
  std::vector<Column> cols;
  for (const Column& c : all) {
    if (c.h->count() != 0) cols.push_back(c);
  }
  if (cols.empty()) {
    out += "  Latency      no completed requests\n";
    return;
  }
  appendf(out, "  %-9s", "Latency");
  for (const Column& c : cols) appendf(out, " %10s", c.name);
  out += '\n';
  for (const Percentile& p : percentiles) {
    if (p.label == nullptr) continue;
    appendf(out, "    %-7s", p.label);
    for (const Column& c : cols) appendf(out, " %10s", time_text(static_cast<double>(c.h->percentile(p.p))).c_str());
    out += '\n';
  }
  const std::pair<const char*, double (*)(const ringload::Histogram&)> rows[] = {
      {"max", [](const ringload::Histogram& h) { return static_cast<double>(h.max()); }},
      {"mean", [](const ringload::Histogram& h) { return h.mean(); }},
      {"stdev", [](const ringload::Histogram& h) { return h.stdev(); }},
  };
  for (const auto& [label, figure] : rows) {
    appendf(out, "    %-7s", label);
    for (const Column& c : cols) appendf(out, " %10s", time_text(figure(*c.h)).c_str());
    out += '\n';
  }
  if (s.latency.clamped() != 0) {
    const double max_s = static_cast<double>(ringload::Histogram::highest_trackable) / 1e9;
    appendf(out, "  %llu latencies above the histogram's %.0fs range were recorded as %.0fs\n",
            static_cast<unsigned long long>(s.latency.clamped()), max_s, max_s);
  }
}

void errors_section(std::string& out, const ringload::RunResult& r) {
  uint64_t total = 0;
  for (uint64_t e : r.stats.counters.errors) total += e;
  if (total == 0) {
    out += "  Errors       none\n";
    return;
  }
  appendf(out, "  Errors       %llu\n", static_cast<unsigned long long>(total));
  for (std::size_t k = 0; k < ringload::error_kind_count; ++k) {
    const uint64_t n = r.stats.counters.errors[k];
    if (n == 0) continue;
    appendf(out, "    %-10s %llu", ringload::to_string(static_cast<ringload::ErrorKind>(k)),
            static_cast<unsigned long long>(n));
    if (!r.first_error[k].empty()) out += "  first: " + r.first_error[k];
    out += '\n';
  }
}

json ends_json(const std::array<uint64_t, ringload::stream_end_count>& ends,
               std::initializer_list<ringload::StreamEnd> kinds) {
  json out = json::object();
  for (ringload::StreamEnd e : kinds) out[ringload::to_string(e)] = ends[static_cast<std::size_t>(e)];
  return out;
}

using ringload::StreamEnd;

json sse_json(const ringload::RunResult& r) {
  const ringload::StreamCounters& k = r.stats.streams;
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

json ws_json(const ringload::RunResult& r) {
  const ringload::StreamCounters& k = r.stats.streams;
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

void streams_section(std::string& out, const ringload::RunResult& r) {
  const ringload::StreamCounters& k = r.stats.streams;
  if (k.sse_streams != 0) {
    appendf(out, "  SSE          %llu streams, %llu events (%.0f/s, %s/s), first event p50 %s p99 %s, gap p99 %s\n",
            static_cast<unsigned long long>(k.sse_streams), static_cast<unsigned long long>(k.sse_events),
            per_second(k.sse_events, r.duration_s), bytes_text(per_second(k.sse_bytes, r.duration_s)).c_str(),
            time_text(static_cast<double>(r.stats.sse_ttfe.percentile(50))).c_str(),
            time_text(static_cast<double>(r.stats.sse_ttfe.percentile(99))).c_str(),
            time_text(static_cast<double>(r.stats.sse_gap.percentile(99))).c_str());
  }
  if (k.ws_sessions != 0) {
    appendf(out, "  WebSocket    %llu sessions, %llu messages sent, %llu received (%.0f/s), rtt p50 %s p99 %s, "
                 "handshake p99 %s\n",
            static_cast<unsigned long long>(k.ws_sessions), static_cast<unsigned long long>(k.ws_sent),
            static_cast<unsigned long long>(k.ws_received), per_second(k.ws_received, r.duration_s),
            time_text(static_cast<double>(r.stats.ws_rtt.percentile(50))).c_str(),
            time_text(static_cast<double>(r.stats.ws_rtt.percentile(99))).c_str(),
            time_text(static_cast<double>(r.stats.ws_handshake.percentile(99))).c_str());
  }
}

}  // namespace

std::string render_human(const ringload::RunConfig& config, const ringload::RunResult& result) {
  const ringload::Counters& c = result.stats.counters;
  std::string out;
  if (config.table && !config.table->source.empty()) {
    appendf(out, "ringload %s: %zu requests from %s\n", RINGLOAD_VERSION, config.table->lines.size(),
            config.table->source.c_str());
  } else {
    appendf(out, "ringload %s: %s %s\n", RINGLOAD_VERSION, method_text(config).c_str(), url_text(config).c_str());
  }
  appendf(out, "  %.2fs, %u thread%s, %u connection%s\n\n", result.duration_s, result.threads,
          result.threads == 1 ? "" : "s", result.connections, result.connections == 1 ? "" : "s");
  latency_table(out, result.stats);
  out += '\n';
  appendf(out, "  Requests     %llu total, %llu succeeded, %llu failed, %llu in flight at end\n",
          static_cast<unsigned long long>(c.requests), static_cast<unsigned long long>(c.succeeded),
          static_cast<unsigned long long>(c.failed), static_cast<unsigned long long>(result.in_flight_at_end));
  appendf(out, "  Requests/s   %.2f\n", per_second(c.requests, result.duration_s));
  appendf(out, "  Transfer/s   %s in, %s out\n",
          bytes_text(per_second(c.bytes_in, result.duration_s)).c_str(),
          bytes_text(per_second(c.bytes_out, result.duration_s)).c_str());
  appendf(out, "  Transferred  %s in, %s out\n", bytes_text(static_cast<double>(c.bytes_in)).c_str(),
          bytes_text(static_cast<double>(c.bytes_out)).c_str());
  std::string codes;
  for (std::size_t code = 0; code < c.status.size(); ++code) {
    if (c.status[code] == 0) continue;
    appendf(codes, "%s%zu: %llu", codes.empty() ? "" : ", ", code, static_cast<unsigned long long>(c.status[code]));
  }
  out += "  Status       " + (codes.empty() ? std::string("none") : codes) + "\n";
  errors_section(out, result);
  if (config.qps > 0 || !config.stages.empty() || config.adaptive.enabled) {
    appendf(out, "  Open loop    send lag p50 %s, p99 %s; %llu waited for a connection, %llu unsent at the end\n",
            time_text(static_cast<double>(result.stats.send_lag.percentile(50))).c_str(),
            time_text(static_cast<double>(result.stats.send_lag.percentile(99))).c_str(),
            static_cast<unsigned long long>(c.waited_for_connection),
            static_cast<unsigned long long>(result.unsent_at_end));
  }
  if (c.tls_handshakes > 0) {
    appendf(out, "  TLS          %s %s; %llu handshakes (%llu resumed), p50 %s, p99 %s%s\n",
            result.tls_version.c_str(), result.tls_cipher.c_str(),
            static_cast<unsigned long long>(c.tls_handshakes), static_cast<unsigned long long>(c.tls_resumed),
            time_text(static_cast<double>(result.stats.tls_handshake.percentile(50))).c_str(),
            time_text(static_cast<double>(result.stats.tls_handshake.percentile(99))).c_str(),
            config.tls.verify ? "" : "; NOT verified (--insecure)");
  }
  if (config.adaptive.enabled) {
    if (result.capacity_qps >= 0) appendf(out, "  Capacity     %.1f req/s (highest rate passing two windows)\n", result.capacity_qps);
    else out += "  Capacity     none: no rate passed the objectives in two windows\n";
  }
  appendf(out, "  Connections  %llu opened, %llu closed by server\n",
          static_cast<unsigned long long>(c.connects), static_cast<unsigned long long>(c.closes_by_server));
  if (result.by_name.size() > 1) {
    out += "\n  By name                                  requests     failed        p50        p99\n";
    for (const ringload::NameStats& n : result.by_name) {
      if (n.requests == 0) continue;
      appendf(out, "    %-36.36s %10llu %10llu %10s %10s\n", n.name.c_str(),
              static_cast<unsigned long long>(n.requests), static_cast<unsigned long long>(n.failed),
              time_text(static_cast<double>(n.latency.percentile(50))).c_str(),
              time_text(static_cast<double>(n.latency.percentile(99))).c_str());
    }
  }
  if (result.by_iteration.size() > 1) {
    out += "\n  By iteration ";
    for (std::size_t i = 0; i < result.by_iteration.size() && i < 20; ++i)
      appendf(out, "%s#%zu: %llu", i == 0 ? "" : ", ", i,
              static_cast<unsigned long long>(result.by_iteration[i].requests));
    if (result.by_iteration.size() > 20) appendf(out, " ... (%zu in all)", result.by_iteration.size());
    out += "\n";
  }
  streams_section(out, result);
  if (result.interrupted) out += "  Interrupted  yes: the figures cover the run up to the stop\n";
  if (!result.export_error.empty())
    out += "  Export       FAILED, the run stopped there: " + result.export_error + "; " +
           std::to_string(result.export_lines) + " whole lines in the file\n";
  for (const std::string& n : result.notices) out += "  Notice       " + n + "\n";
  return out;
}

nlohmann::json render_json(const ringload::RunConfig& config, const ringload::RunResult& result) {
  const ringload::Counters& c = result.stats.counters;
  json status = json::object();
  for (std::size_t code = 0; code < c.status.size(); ++code) {
    if (c.status[code] != 0) status[std::to_string(code)] = c.status[code];
  }
  json errors = json::object();
  json first_errors = json::object();
  for (std::size_t k = 0; k < ringload::error_kind_count; ++k) {
    const char* name = ringload::to_string(static_cast<ringload::ErrorKind>(k));
    errors[name] = c.errors[k];
    if (c.errors[k] != 0) first_errors[name] = result.first_error[k];
  }
  const double rps = per_second(c.requests, result.duration_s);
  const bool open_loop = config.qps > 0 || !config.stages.empty() || config.adaptive.enabled;
  return {
      {"ringload_version", RINGLOAD_VERSION},
      {"url", url_text(config)},
      {"method", method_text(config)},
      {"duration_s", result.duration_s},
      {"connections", result.connections},
      {"threads", result.threads},
      {"interrupted", result.interrupted},
      {"requests", {{"total", c.requests}, {"succeeded", c.succeeded}, {"failed", c.failed},
                    {"in_flight_at_end", result.in_flight_at_end}}},
      {"status_codes", std::move(status)},
      {"errors", std::move(errors)},
      {"first_errors", std::move(first_errors)},
      {"latency_us", histogram_json(result.stats.latency)},
      {"service_time_us", histogram_json(result.stats.service)},
      {"ttfb_us", histogram_json(result.stats.ttfb)},
      {"send_lag_us", histogram_json(result.stats.send_lag)},
      {"tls", result.tls_version.empty() && c.errors[static_cast<std::size_t>(ringload::ErrorKind::tls)] == 0
                  ? json(nullptr)
                  : json{{"version", result.tls_version},
                         {"cipher", result.tls_cipher},
                         {"handshakes", c.tls_handshakes},
                         {"resumed", c.tls_resumed},
                         {"resumed_ratio", c.tls_handshakes == 0 ? 0.0
                                               : static_cast<double>(c.tls_resumed) / static_cast<double>(c.tls_handshakes)},
                         {"verify", config.tls.verify}}},
      {"tls_handshake_us", histogram_json(result.stats.tls_handshake)},
      {"sse", sse_json(result)},
      {"ws", ws_json(result)},
      {"open_loop", open_loop ? json{{"target_qps", config.qps},
                                      {"arrival", config.poisson ? "poisson" : "uniform"},
                                      {"waited_for_connection", c.waited_for_connection},
                                      {"unsent_at_end", result.unsent_at_end}}
                              : json(nullptr)},
      {"capacity", result.capacity_qps >= 0 ? json(result.capacity_qps) : json(nullptr)},
      {"qps_timeline", open_loop ? qps_timeline_json(result.timeline) : json::array()},
      {"throughput", {{"rps", rps}, {"rpm", rps * 60},
                      {"bytes_in_per_s", per_second(c.bytes_in, result.duration_s)},
                      {"bytes_out_per_s", per_second(c.bytes_out, result.duration_s)}}},
      {"bytes", {{"in", c.bytes_in}, {"out", c.bytes_out}}},
      {"connections_opened", c.connects},
      {"closes_by_server", c.closes_by_server},
      {"closes_by_client", c.closes_by_client},
      {"timeline", timeline_json(result.timeline)},
      {"by_name", by_name_json(result.by_name)},
      {"by_iteration", by_iteration_json(result.by_iteration)},
      {"notices", result.notices},
      {"export", config.export_path.empty() ? json(nullptr)
                                            : json{{"path", config.export_path},
                                                   {"lines", result.export_lines},
                                                   {"waits", result.export_waits},
                                                   {"error", result.export_error.empty()
                                                                 ? json(nullptr)
                                                                 : json(result.export_error)}}},
      {"config", config_json(config)},
  };
}

}  // namespace ringload::cli
