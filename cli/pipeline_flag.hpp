// The multiplexing flags: --pipeline N, HTTP/1.1 requests in flight per connection
// (RunConfig::pipeline; what it does not run with is refused by check_config, naming the
// flag), and --batch-wait, how long HTTP/2's closed loop waits for a batch of completions
// (RunConfig::batch_wait).
#pragma once
#include <CLI/CLI.hpp>

#include "ringload/config.hpp"

namespace ringload::cli {

void add_pipeline_flag(CLI::App& app, RunConfig& config);
void add_batch_wait_flag(CLI::App& app, RunConfig& config);

}  // namespace ringload::cli
