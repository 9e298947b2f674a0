// `ringload merge`'s rules for values (merge.cpp applies them key by key): sums, exact
// histogram merges from the blocks' HdrHistogram encodings, timelines aligned on wall time.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ringload::cli::merge {

using nlohmann::json;

// A report that cannot be merged; the message says why (merge.cpp adds the file's name).
struct MergeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Numbers add (integers stay integers), objects merge key by key (a histogram block, one
// with "hdr", as below), strings and arrays are the first's, booleans OR, null yields to
// the other.
json add(const json& a, const json& b);

// Two histogram blocks as one: the decoded `hdr` histograms added and re-encoded,
// percentiles from the sum; count, min, max, mean and stdev (pooled) from the blocks.
json add_histograms(const json& a, const json& b);

// A report's timeline (or qps_timeline) with its entries' times moved by `offset_s` (the
// report's start after the earliest one's).
struct Timeline {
  const json* entries;
  double offset_s;
};
// The entries of all reports on one wall-clock grid of `interval_s` windows: each entry goes
// to the window its middle falls in; counts and rates add up, p50_us / p99_us are the
// highest, availability is recomputed from the window's counts.
json merge_timelines(const std::vector<Timeline>& timelines, double interval_s, bool qps_timeline);

// by_name (keyed by "name", first-seen order) and by_iteration (keyed by "iteration", in
// order): entries with the same key added.
json merge_keyed(const std::vector<const json*>& arrays, const char* key, bool sort);

// "2026-12-04T07:50:00.123Z" → Unix seconds; throws MergeError when it is not that form.
double parse_started_at(const std::string& text);

}  // namespace ringload::cli::merge
