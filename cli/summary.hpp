// The end-of-run summary on stdout: the CLI's text. The JSON report is the engine's
// (ringload/report.hpp), the same for every front end.
#pragma once
#include <string>

#include "ringload/config.hpp"
#include "ringload/stats.hpp"

namespace ringload::cli {

// wrk-like text summary, lines ending in '\n'.
std::string render_human(const RunConfig& config, const RunResult& result);

}  // namespace ringload::cli
