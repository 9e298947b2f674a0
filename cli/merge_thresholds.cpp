#include "cli/merge_thresholds.hpp"

#include <algorithm>
#include <functional>

#include "cli/merge_values.hpp"
#include "cli/thresholds.hpp"
#include "ringload/hdr_encoding.hpp"
#include "ringload/report.hpp"
#include "ringload/thresholds.hpp"

namespace ringload::cli::merge {
namespace {

using Reports = std::vector<std::pair<std::string, json>>;

uint64_t count(const json& block, const char* key) {
  const auto it = block.find(key);
  return it != block.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// A histogram block's counts (empty when the block is null or has no encoding).
void decode(const json& block, Histogram& into, const char* what) {
  if (!block.is_object() || !block.contains("hdr") || !block["hdr"].is_string()) return;
  if (auto ok = hdr_decode(block["hdr"].get<std::string>(), into); !ok)
    throw MergeError(std::string("the merged ") + what + "'s hdr: " + ok.error());
}

// What evaluate_thresholds reads, from the merged report: percentiles are the merged
// histogram's, as in the merged blocks; avg, min and max come from its buckets (within
// histogram precision of the blocks' exact figures).
std::unique_ptr<RunResult> figures_of(const json& merged) {
  auto r = std::make_unique<RunResult>();
  const json& req = merged.at("requests");
  r->stats.counters.requests = count(req, "total");
  r->stats.counters.succeeded = count(req, "succeeded");
  r->stats.counters.failed = count(req, "failed");
  r->duration_s = merged.value("duration_s", 0.0);
  decode(merged.value("latency_us", json()), r->stats.latency, "latency_us");
  decode(merged.value("service_time_us", json()), r->stats.service, "service_time_us");
  decode(merged.value("ttfb_us", json()), r->stats.ttfb, "ttfb_us");
  for (const json& n : merged.value("by_name", json::array())) {
    NameStats& s = r->by_name.emplace_back();
    s.name = n.value("name", "");
    s.requests = count(n, "requests");
    s.succeeded = count(n, "succeeded");
    s.failed = count(n, "failed");
    decode(n.value("latency_us", json()), s.latency, "by_name latency_us");
  }
  return r;
}

// The shards' own expressions, their union in first-seen order; notices when they differ
// or when one stopped its shard. `stopped`: the union's index of the first such.
std::vector<std::string> shards_expressions(const Reports& reports, json& notices, int& stopped) {
  std::vector<std::string> all;
  std::vector<std::vector<std::string>> each;
  for (const auto& [name, doc] : reports) {
    auto& mine = each.emplace_back();
    for (const json& t : doc.value("thresholds", json::array())) {
      const std::string e = t.value("expression", "");
      mine.push_back(e);
      if (std::find(all.begin(), all.end(), e) == all.end()) all.push_back(e);
      if (t.value("stopped_run", false)) {
        notices.push_back("merge: " + name + ": its shard was stopped by '" + e + "': the merged verdict fails too");
        if (stopped < 0) stopped = static_cast<int>(std::find(all.begin(), all.end(), e) - all.begin());
      }
    }
  }
  for (auto& mine : each) std::sort(mine.begin(), mine.end());
  if (std::adjacent_find(each.begin(), each.end(), std::not_equal_to<>()) != each.end()) {
    std::string list;
    for (const std::string& e : all) list += (list.empty() ? "'" : ", '") + e + "'";
    notices.push_back("merge: the shards had different thresholds; their union is judged: " + list);
  }
  return all;
}

void check_names(const std::vector<Threshold>& thresholds, const RunResult& figures) {
  for (const Threshold& t : thresholds) {
    if (t.name.empty()) continue;
    const bool found = std::any_of(figures.by_name.begin(), figures.by_name.end(),
                                   [&](const NameStats& n) { return n.name == t.name; });
    if (!found) throw MergeError("--threshold '" + expression(t) + "': no request is named '" + t.name + "' in the reports");
  }
}

}  // namespace

Judged judge_thresholds(const Reports& reports, const std::vector<std::string>& given, json& merged) {
  Judged j;
  json& notices = merged["notices"];
  int stopped = -1;
  if (!given.empty()) {
    j.config.thresholds = parsed_thresholds(given);
  } else {
    for (const std::string& e : shards_expressions(reports, notices, stopped)) {
      auto t = parse_threshold(e);
      if (!t) throw MergeError("a shard's threshold '" + e + "' cannot be read: " + t.error());
      j.config.thresholds.push_back(std::move(*t));
    }
    if (!j.config.thresholds.empty())
      notices.push_back("merge: the shards' thresholds are judged again on the merged figures");
  }
  merged["thresholds"] = json::array();
  if (j.config.thresholds.empty()) return j;
  j.figures = figures_of(merged);
  j.figures->threshold_stop = stopped;
  if (!given.empty()) check_names(j.config.thresholds, *j.figures);
  merged["thresholds"] = json::parse(report_thresholds_json(j.config, *j.figures));
  return j;
}

}  // namespace ringload::cli::merge
