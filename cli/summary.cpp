#include "cli/summary.hpp"

#include <cstdarg>
#include <cstdio>
#include <utility>
#include <vector>

#include "cli/thresholds.hpp"
#include "ringload/report.hpp"

namespace ringload::cli {
namespace {

// The rows of the latency table (the JSON report has more percentiles).
constexpr std::pair<double, const char*> percentiles[] = {
    {50, "p50"}, {75, "p75"}, {90, "p90"}, {99, "p99"}, {99.9, "p99.9"},
};

double per_second(uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
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
void latency_table(std::string& out, const Stats& s) {
  struct Column {
    const char* name;
    const Histogram* h;
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
  for (const auto& [p, label] : percentiles) {
    appendf(out, "    %-7s", label);
    for (const Column& c : cols) appendf(out, " %10s", time_text(static_cast<double>(c.h->percentile(p))).c_str());
    out += '\n';
  }
  const std::pair<const char*, double (*)(const Histogram&)> rows[] = {
      {"max", [](const Histogram& h) { return static_cast<double>(h.max()); }},
      {"mean", [](const Histogram& h) { return h.mean(); }},
      {"stdev", [](const Histogram& h) { return h.stdev(); }},
  };
  for (const auto& [label, figure] : rows) {
    appendf(out, "    %-7s", label);
    for (const Column& c : cols) appendf(out, " %10s", time_text(figure(*c.h)).c_str());
    out += '\n';
  }
  if (s.latency.clamped() != 0) {
    const double max_s = static_cast<double>(Histogram::highest_trackable) / 1e9;
    appendf(out, "  %llu latencies above the histogram's %.0fs range were recorded as %.0fs\n",
            static_cast<unsigned long long>(s.latency.clamped()), max_s, max_s);
  }
}

void errors_section(std::string& out, const RunResult& r) {
  uint64_t total = 0;
  for (uint64_t e : r.stats.counters.errors) total += e;
  if (total == 0) {
    out += "  Errors       none\n";
    return;
  }
  appendf(out, "  Errors       %llu\n", static_cast<unsigned long long>(total));
  for (std::size_t k = 0; k < error_kind_count; ++k) {
    const uint64_t n = r.stats.counters.errors[k];
    if (n == 0) continue;
    appendf(out, "    %-10s %llu", to_string(static_cast<ErrorKind>(k)),
            static_cast<unsigned long long>(n));
    if (!r.first_error[k].empty()) out += "  first: " + r.first_error[k];
    out += '\n';
  }
  const Histogram& h = r.stats.error_latency;
  if (h.count() != 0)
    appendf(out, "    to failure p50 %s, p99 %s, max %s (%llu requests, from the intended send)\n",
            time_text(static_cast<double>(h.percentile(50))).c_str(),
            time_text(static_cast<double>(h.percentile(99))).c_str(), time_text(static_cast<double>(h.max())).c_str(),
            static_cast<unsigned long long>(h.count()));
}

void streams_section(std::string& out, const RunResult& r) {
  const StreamCounters& k = r.stats.streams;
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

// The run's request and shape.
void title_section(std::string& out, const RunConfig& config, const RunResult& result) {
  if (!config.file.path().empty()) {
    appendf(out, "ringload %s: %zu requests from %s\n", RINGLOAD_VERSION, config.file.size(),
            config.file.path().c_str());
  } else {
    appendf(out, "ringload %s: %s %s\n", RINGLOAD_VERSION, report_method(config).c_str(),
            report_url(config).c_str());
  }
  appendf(out, "  %.2fs, %u thread%s, %u connection%s\n\n", result.duration_s, result.threads,
          result.threads == 1 ? "" : "s", result.connections, result.connections == 1 ? "" : "s");
}

void requests_section(std::string& out, const RunResult& result) {
  const Counters& c = result.stats.counters;
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
}

// Open loop, TLS, adaptive capacity and connections.
void load_section(std::string& out, const RunConfig& config, const RunResult& result) {
  const Counters& c = result.stats.counters;
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
}

// Per name and per pass over the requests, when there is more than one.
void breakdown_section(std::string& out, const RunResult& result) {
  if (result.by_name.size() > 1) {
    out += "\n  By name                                  requests     failed        p50        p99\n";
    for (const NameStats& n : result.by_name) {
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
}

}  // namespace

std::string render_human(const RunConfig& config, const RunResult& result) {
  std::string out;
  title_section(out, config, result);
  latency_table(out, result.stats);
  out += '\n';
  requests_section(out, result);
  errors_section(out, result);
  load_section(out, config, result);
  breakdown_section(out, result);
  streams_section(out, result);
  if (result.interrupted) out += "  Interrupted  yes: the figures cover the run up to the stop\n";
  if (!result.export_error.empty())
    out += "  Export       FAILED, the run stopped there: " + result.export_error + "; " +
           std::to_string(result.export_lines) + " whole lines in the file\n";
  for (const std::string& n : result.notices) out += "  Notice       " + n + "\n";
  out += thresholds_summary(config, result);
  return out;
}

}  // namespace ringload::cli
