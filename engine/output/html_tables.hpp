// The HTML report's tables, written as HTML (readable without script): the summary (one
// run, or a column per run with ratios to the first), the panels of the report's blocks,
// and the config. Reads reports as nlohmann::json without throwing: a missing or mistyped
// key is shown as "-" (html_report.cpp checks what a page cannot do without).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ringload::html {

using json = nlohmann::json;

// Text for HTML element content and attribute values.
std::string escape(std::string_view text);

// "dir/run.json" -> "run.json".
std::string base_name(const std::string& path);

// The value at a dotted path ("latency_us.p99"), or nullptr.
const json* find(const json& doc, std::string_view dotted);
// The number there, or 0.
double number(const json& doc, std::string_view dotted);

struct Run {
  std::string name;  // the file name
  const json* report;
};

// The summary: one run (a figure column), or several (a column per run, then each one's
// ratio to the first). Every figure cell has data-key, data-value (and data-run).
std::string summary_table(const std::vector<Run>& runs);

// Errors, status codes, thresholds, per-name figures, the TLS / SSE / WebSocket / HTTP/2
// blocks when present, notices.
std::string panels(const json& report);

// The run (URL, version, start, shard ...) and its config block.
std::string config_table(const json& report);

}  // namespace ringload::html
