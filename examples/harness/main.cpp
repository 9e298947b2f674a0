// A harness outside ringload's tree, on the installed engine (find_package(ringload) or
// pkg-config ringload): runs 2 s against a URL, prints a snapshot every 500 ms from this
// thread while the engine's shards run, then the totals.
//
//   harness URL     exit 0: the run completed (the target's errors are counted, not fatal)
//                   exit 1: the run could not start (an unresolvable host, a refused port)
//                   exit 2: bad usage or a bad URL
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>

#include "ringload/engine.hpp"
#include "ringload/report.hpp"

namespace {

using namespace std::chrono_literals;
constexpr auto run_time = 2s;
constexpr auto print_every = 500ms;

// The report's "requests" object ({"failed", "in_flight_at_end", "succeeded", "total"}),
// cut from the one-line JSON report: the same document `ringload --json` prints.
std::string report_requests(const ringload::RunConfig& config, const ringload::RunResult& result) {
  const std::string report = ringload::report_json(config, result, -1);
  // The top-level object; "requests" elsewhere (by_name, timeline) holds a number.
  const std::string_view key = "\"requests\":{";
  const std::size_t at = report.find(key);
  const std::size_t close = report.find('}', at);
  if (at == std::string::npos || close == std::string::npos) return "?";
  return report.substr(at + key.size() - 1, close - (at + key.size() - 1) + 1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || argv[1][0] == '-') {
    std::fprintf(stderr, "usage: %s URL\n  runs %lld s of load against URL (http:// or https://)\n",
                 argv[0], static_cast<long long>(run_time.count()));
    return 2;
  }
  auto url = ringload::parse_url(argv[1]);
  if (!url) {
    std::fprintf(stderr, "error: %s: %s\n", argv[1], url.error().c_str());
    return 2;
  }

  ringload::RunConfig config;
  ringload::RequestSpec request;
  request.url = *url;
  config.requests.push_back(request);
  config.duration = run_time;
  config.connections = 16;
  config.threads = 1;
  config.progress_interval = print_every;  // so each snapshot's window is the last 500 ms

  ringload::Engine engine(config);
  if (auto started = engine.start(); !started) {  // prepare() runs here: resolve, probe, render
    std::fprintf(stderr, "error: %s\n", started.error().c_str());
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (auto next = t0 + print_every; next <= t0 + run_time; next += print_every) {
    std::this_thread::sleep_until(next);
    const ringload::Snapshot s = engine.snapshot();
    const uint64_t requests = s.totals ? s.totals->counters.requests : 0;
    const double p99_ms = s.totals ? static_cast<double>(s.totals->latency.percentile(99)) / 1e6 : 0;
    const double rps = s.window.duration_s > 0 ? static_cast<double>(s.window.requests) / s.window.duration_s : 0;
    std::printf("t=%.1fs requests=%llu rps=%.0f p99=%.3fms\n", s.elapsed_s,
                static_cast<unsigned long long>(requests), rps, p99_ms);
    std::fflush(stdout);
  }

  auto result = engine.wait();
  if (!result) {
    std::fprintf(stderr, "error: %s\n", result.error().c_str());
    return 1;
  }
  const ringload::Counters& c = (*result)->stats.counters;
  std::printf("totals: requests.total=%llu succeeded=%llu failed=%llu\n",
              static_cast<unsigned long long>(c.requests), static_cast<unsigned long long>(c.succeeded),
              static_cast<unsigned long long>(c.failed));
  std::printf("report: \"requests\": %s\n", report_requests(engine.config(), **result).c_str());
  return 0;
}
