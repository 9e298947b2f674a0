#include "cli/pipeline_flag.hpp"

#include <chrono>
#include <string>

#include "cli/duration.hpp"

namespace ringload::cli {

void add_pipeline_flag(CLI::App& app, RunConfig& config) {
  app.add_option("--pipeline", config.pipeline,
                 "HTTP/1.1: requests in flight per connection, answered in order (wrk's pipeline.lua); "
                 "1 to 1024")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1024u))
      ->group("HTTP/1.1");
}

void add_batch_wait_flag(CLI::App& app, RunConfig& config) {
  // Converted as it is parsed (each): the app's one final_callback is --shard's.
  static std::string text;
  app.add_option("--batch-wait", text,
                 "Closed loop: after a first completion, wait up to this long (and up to 1/16 of the mean "
                 "service time) for one per busy connection: fewer wake-ups for ringload and the server, a "
                 "response timed at most that late; 0: wake at each completion. Default: 50us, 0 with "
                 "SSE/WebSocket streams")
      ->check(CLI::Validator(
          [](const std::string& v) {
            const auto d = parse_duration(v);
            if (!d) return d.error();
            return *d > std::chrono::seconds(1) ? std::string("at most 1s") : std::string();
          },
          "DURATION"))
      ->each([&config](const std::string& v) {
        config.batch_wait = std::chrono::duration_cast<std::chrono::microseconds>(*parse_duration(v));
      })
      ->group("Connections");
}

}  // namespace ringload::cli
