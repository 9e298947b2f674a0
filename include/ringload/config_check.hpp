// Checks of a RunConfig that need no I/O. Engine::prepare() runs them; a front end runs
// them itself to report a bad value as a usage error in its own words.
//
// An error names RunConfig fields, not flags: a front end maps each field to the name the
// user gave it (the CLI's --qps, a Python keyword argument ...) with ConfigError::to_string.
#pragma once
#include <cstddef>
#include <expected>
#include <functional>
#include <string>
#include <string_view>

#include "ringload/config.hpp"
#include "ringload/export.hpp"

namespace ringload {

struct RINGLOAD_API ConfigError {
  // The RunConfig member at fault, as a dotted path: "qps", "stages", "adaptive.qps_min".
  std::string field;
  // One line that names every field it mentions in braces, `field` among them:
  // "{qps} must be a positive rate", "{adaptive.enabled} needs {duration} or {max_requests}
  // to end the run". Braces hold field paths only.
  std::string message;

  // `message` with each {path} replaced by name(path); no `name`: the path itself
  // ("qps must be a positive rate").
  std::string to_string(const std::function<std::string(std::string_view field)>& name = {}) const;
};

// The load-model values (rate, stages, adaptive bounds). Fills in what they imply: stages
// set `duration`; adaptive sets `qps` (100 when 0) and `progress_interval` (its window).
RINGLOAD_API std::expected<void, ConfigError> check_load_model(RunConfig& config);

// The thresholds' fields (ringload/thresholds.hpp): a statistic that fits the metric, a
// percentile from 0 to 100, a finite limit, per name only latency, errors, availability
// and rps, and no `abort` per name.
RINGLOAD_API std::expected<void, ConfigError> check_thresholds(const RunConfig& config);

// Every threshold's request name is one of the run's (a request file's `name`s, or method +
// path): call it once the requests (or the request file) are in `config`.
RINGLOAD_API std::expected<void, ConfigError> check_threshold_names(const RunConfig& config);

// Everything Engine::prepare() checks before any I/O: connections, an end to the run
// (duration, max_requests or iterations), success_status, the thresholds, then
// check_load_model.
RINGLOAD_API std::expected<void, ConfigError> check_config(RunConfig& config);

// One request as the engine will render it: method token, header names and values, the
// head's size, stream settings. The error says what is wrong ("bad header name 'a b'").
RINGLOAD_API std::expected<void, std::string> check_request(const RequestSpec& request);

// With `connections_per_origin` off, `connections` is shared out over the origins: each
// needs at least one. `origins`: the distinct origins of the requests (scheme, host, port).
RINGLOAD_API std::expected<void, ConfigError> check_origin_connections(const RunConfig& config, std::size_t origins);

}  // namespace ringload
