#include "options.hpp"

#include <getopt.h>

#include <cstdio>
#include <string_view>

#include "request_parser.hpp"

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
    "  --quiet            no messages on stderr\n"
    "  --help             this text\n"
    "endpoints: /status/NNN /delay/MS /chunked?n=K&size=S /bytes/N /echo /count /reset\n";

bool number(const char* name, const char* text, std::uint64_t max, std::uint64_t& out) {
  if (parse_decimal(text, max, out)) return true;
  std::fprintf(stderr, "ringload-target: --%s: expected an integer from 0 to %llu, got '%s'\n",
               name, static_cast<unsigned long long>(max), text);
  return false;
}

}  // namespace

OptionsResult parse_options(int argc, char** argv, Options& out) {
  enum : int { port = 1, host, threads, body_size, close, port_file, count_file, quiet, help };
  static const option long_options[] = {
      {"port", required_argument, nullptr, port},
      {"host", required_argument, nullptr, host},
      {"threads", required_argument, nullptr, threads},
      {"body-size", required_argument, nullptr, body_size},
      {"close", no_argument, nullptr, close},
      {"port-file", required_argument, nullptr, port_file},
      {"count-file", required_argument, nullptr, count_file},
      {"quiet", no_argument, nullptr, quiet},
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
      case help:
      case 'h': std::fputs(usage, stdout); return OptionsResult::exit_ok;
      default:
        std::fprintf(stderr, "ringload-target: unknown or incomplete option '%s' (see --help)\n",
                     argv[optind - 1]);
        return OptionsResult::exit_error;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "ringload-target: unexpected argument '%s' (see --help)\n", argv[optind]);
    return OptionsResult::exit_error;
  }
  return OptionsResult::run;
}

}  // namespace ringload::target
