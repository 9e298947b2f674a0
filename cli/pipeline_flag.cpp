#include "cli/pipeline_flag.hpp"

namespace ringload::cli {

void add_pipeline_flag(CLI::App& app, RunConfig& config) {
  app.add_option("--pipeline", config.pipeline,
                 "HTTP/1.1: requests in flight per connection, answered in order (wrk's pipeline.lua); "
                 "1 to 1024")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1024u))
      ->group("HTTP/1.1");
}

}  // namespace ringload::cli
