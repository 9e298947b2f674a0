// `ringload merge a.json b.json ... [-o all.json] [--threshold EXPR ...]`: the reports of one
// run's shards (--shard i/N) added up into one report (the rules: merge_values.hpp, README
// "Runs across machines"), its thresholds judged on the merged figures (merge_thresholds.hpp).
// Refused with exit 2 and a message naming the file: a report that cannot be read or is not
// a ringload report, another ringload version, another run (url, method, request file, -n,
// -d, iterations), a shard given twice or shards of different counts.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ringload::cli {

// The exit status: 0 merged and written, 2 refused, 3 the output could not be written, 5
// written but a threshold failed.
// argv[0] is "merge".
int merge_main(int argc, char** argv);

// The merged report of `reports` ({file name, document}, at least one), its `thresholds`
// empty (merge::judge_thresholds fills them); throws merge::MergeError with the file's name
// in its message.
nlohmann::json merge_reports(const std::vector<std::pair<std::string, nlohmann::json>>& reports);

}  // namespace ringload::cli
