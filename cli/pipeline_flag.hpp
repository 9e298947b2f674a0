// --pipeline N: HTTP/1.1 requests in flight per connection (RunConfig::pipeline). What it
// does not run with (HTTP/2, streams, plugins) is refused by check_config, naming the flag.
#pragma once
#include <CLI/CLI.hpp>

#include "ringload/config.hpp"

namespace ringload::cli {

void add_pipeline_flag(CLI::App& app, RunConfig& config);

}  // namespace ringload::cli
