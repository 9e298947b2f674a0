#pragma once
// Command-line flags of ringload-target.

#include <cstdint>
#include <string>

namespace ringload::target {

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: an ephemeral port (see port_file)
  unsigned threads = 0;       // 0: one per CPU in the affinity set
  std::uint64_t body_size = 13;
  bool close = false;         // Connection: close on every response
  std::string port_file;      // written with the bound port once listening
  std::string count_file;     // written with the request count on exit
  bool quiet = false;
  double capacity = 0;              // requests per second answered, the rest get 503; 0: no limit
  std::uint64_t capacity_burst = 0;  // requests admitted back to back; 0: 50 ms worth
  std::uint32_t latency_ms = 0;     // delay of every plain (fixed-body) response
};

enum class OptionsResult : std::uint8_t { run, exit_ok, exit_error };

// Parses argv; prints usage (exit_ok) or one line with the problem (exit_error) itself.
OptionsResult parse_options(int argc, char** argv, Options& out);

}  // namespace ringload::target
