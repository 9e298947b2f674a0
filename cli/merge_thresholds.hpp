// Thresholds on a merged report (`ringload merge ... --threshold EXPR`): judged by the
// engine's evaluate_thresholds on figures rebuilt from the merged report (its histograms
// decoded from their `hdr` encodings, its counts, duration_s and by_name), so a merged
// report is judged like a run's.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ringload/config.hpp"
#include "ringload/stats.hpp"

namespace ringload::cli::merge {

// What was judged and on what: the summary's and the exit status's input.
struct Judged {
  RunConfig config;                   // only `thresholds` is set
  std::unique_ptr<RunResult> figures; // the merged report's figures (null: nothing judged)
};

// Judges the thresholds of a merged report `merged` (merge_reports' output) in place: its
// `thresholds` array and notices. `given`: the --threshold values (parsed by the flag's
// check); when empty, the shards' own expressions (`reports`' thresholds arrays) are judged
// again on the merged figures, their union in first-seen order when the shards disagree (a
// notice says so). A shard's `:abort` threshold that stopped its shard fails the merged one
// too (stopped_run). Throws MergeError when a --threshold names a request the merged
// by_name does not have, or a shard's expression cannot be read.
Judged judge_thresholds(const std::vector<std::pair<std::string, nlohmann::json>>& reports,
                        const std::vector<std::string>& given, nlohmann::json& merged);

}  // namespace ringload::cli::merge
