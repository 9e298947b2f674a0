// The engine's config errors in the CLI's words: each RunConfig field named by the flag
// that sets it.
#pragma once
#include <string>
#include <string_view>

#include "ringload/config.hpp"
#include "ringload/config_check.hpp"

namespace ringload::cli {

// The flag that sets `field` (a ConfigError field path) in `config`, e.g. "qps" → "--qps";
// a field without a flag keeps its path.
std::string flag_for(std::string_view field, const RunConfig& config);

// error.to_string() with every field named by its flag:
// "{adaptive.up} must be above 1" → "--adapt-up must be above 1".
std::string flag_message(const ConfigError& error, const RunConfig& config);

}  // namespace ringload::cli
