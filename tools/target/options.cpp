#include "options.hpp"

#include <getopt.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "limiter.hpp"
#include "request_parser.hpp"
#include "router.hpp"

namespace ringload::target {
namespace {

constexpr const char* usage =
    "usage: ringload-target [options]\n"
    "  --port N           port to listen on, 0 for an ephemeral one (default 8080)\n"
    "  --host ADDR        address to bind (default 127.0.0.1)\n"
    "  --threads N        worker threads (default: CPUs in the affinity set)\n"
    "  --body-size BYTES  body of plain requests (default 13: \"Hello, world\\n\")\n"
    "  --close            answer every request with Connection: close\n"
    "  --port-file FILE   write the bound port to FILE once listening\n"
    "  --count-file FILE  write the request count to FILE on exit\n"
    "  --capacity R       answer at most R requests/s (all threads), the rest with 503\n"
    "  --capacity-burst N requests admitted back to back under --capacity (default: 50 ms worth)\n"
    "  --latency-ms MS    delay every plain (fixed-body) response by MS ms (default 0)\n"
    "  --quiet            no messages on stderr\n"
    "  --help             this text\n"
    "endpoints: /status/NNN /delay/MS /chunked?n=K&size=S /bytes/N /echo /count /reset /stats\n";

bool number(const char* name, const char* text, std::uint64_t max, std::uint64_t& out) {
  if (parse_decimal(text, max, out)) return true;
  std::fprintf(stderr, "ringload-target: --%s: expected an integer from 0 to %llu, got '%s'\n",
               name, static_cast<unsigned long long>(max), text);
  return false;
}

// A rate: a decimal number (fraction and exponent allowed) within [min, max].
bool rate(const char* name, const char* text, double min, double max, double& out) {
  double v = 0;
  const char* end = text + std::strlen(text);
  const auto r = std::from_chars(text, end, v);
  if (r.ec == std::errc{} && r.ptr == end && std::isfinite(v) && v >= min && v <= max) {
    out = v;
    return true;
  }
  std::fprintf(stderr, "ringload-target: --%s: expected requests per second from %g to %g, got '%s'\n",
               name, min, max, text);
  return false;
}

}  // namespace

OptionsResult parse_options(int argc, char** argv, Options& out) {
  enum : int { port = 1, host, threads, body_size, close, port_file, count_file, quiet, help,
                 capacity, capacity_burst, latency_ms };
  static const option long_options[] = {
      {"port", required_argument, nullptr, port},
      {"host", required_argument, nullptr, host},
      {"threads", required_argument, nullptr, threads},
      {"body-size", required_argument, nullptr, body_size},
      {"close", no_argument, nullptr, close},
      {"port-file", required_argument, nullptr, port_file},
      {"count-file", required_argument, nullptr, count_file},
      {"quiet", no_argument, nullptr, quiet},
      {"capacity", required_argument, nullptr, capacity},
      {"capacity-burst", required_argument, nullptr, capacity_burst},
      {"latency-ms", required_argument, nullptr, latency_ms},
      {"help", no_argument, nullptr, help},
      {nullptr, 0, nullptr, 0},
  };
  opterr = 0;
  std::uint64_t v = 0;
  int opt;
  while ((opt = ::getopt_long(argc, argv, "h", long_options, nullptr)) != -1) {
    switch (opt) {
      case port:
        if (!number("port", optarg, 65535, v)) return OptionsResult::exit_error;
        out.port = static_cast<std::uint16_t>(v);
        break;
      case host: out.host = optarg; break;
      case threads:
        if (!number("threads", optarg, 1024, v)) return OptionsResult::exit_error;
        out.threads = static_cast<unsigned>(v);
        break;
      case body_size:
        if (!number("body-size", optarg, std::uint64_t{1} << 40, v)) return OptionsResult::exit_error;
        out.body_size = v;
        break;
      case close: out.close = true; break;
      case port_file: out.port_file = optarg; break;
      case count_file: out.count_file = optarg; break;
      case quiet: out.quiet = true; break;
      case capacity:
        if (!rate("capacity", optarg, limits::min_capacity, limits::max_capacity, out.capacity))
          return OptionsResult::exit_error;
        break;
      case capacity_burst:
        if (!number("capacity-burst", optarg, limits::max_capacity_burst, v))
          return OptionsResult::exit_error;
        if (v == 0) {
          std::fputs("ringload-target: --capacity-burst: must be at least 1\n", stderr);
          return OptionsResult::exit_error;
        }
        out.capacity_burst = v;
        break;
      case latency_ms:
        if (!number("latency-ms", optarg, limits::max_delay_ms, v)) return OptionsResult::exit_error;
        out.latency_ms = static_cast<std::uint32_t>(v);
        break;
      case help:
      case 'h': std::fputs(usage, stdout); return OptionsResult::exit_ok;
      default:
        std::fprintf(stderr, "ringload-target: unknown or incomplete option '%s' (see --help)\n",
                     argv[optind - 1]);
        return OptionsResult::exit_error;
    }
  }
  if (out.capacity_burst > 0 && out.capacity == 0) {
    std::fputs("ringload-target: --capacity-burst needs --capacity\n", stderr);
    return OptionsResult::exit_error;
  }
  if (optind < argc) {
    std::fprintf(stderr, "ringload-target: unexpected argument '%s' (see --help)\n", argv[optind]);
    return OptionsResult::exit_error;
  }
  return OptionsResult::run;
}

}  // namespace ringload::target
