// The report's `http2` block (include/ringload/report.hpp has the listing).
#pragma once
#include <nlohmann/json_fwd.hpp>

#include "ringload/config.hpp"
#include "ringload/stats.hpp"

namespace ringload {

// null unless the run asked for HTTP/2 (--h2c, --http2).
nlohmann::json http2_json(const RunConfig& config, const RunResult& result);

}  // namespace ringload
