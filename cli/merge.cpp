#include "cli/merge.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/merge_thresholds.hpp"
#include "cli/merge_values.hpp"
#include "cli/output_file.hpp"
#include "cli/thresholds.hpp"

namespace ringload::cli {
namespace {

using merge::json;
using merge::MergeError;
using Reports = std::vector<std::pair<std::string, json>>;

// The top-level keys this version merges (report.hpp); another is the first report's.
const std::set<std::string> known_keys = {
    "ringload_version", "url", "method", "duration_s", "started_at", "shard", "connections", "threads",
    "interrupted", "requests", "status_codes", "errors", "first_errors", "latency_us", "service_time_us",
    "ttfb_us", "send_lag_us", "error_latency_us", "tls", "tls_handshake_us", "sse", "ws", "open_loop",
    "capacity", "qps_timeline", "throughput", "bytes", "connections_opened", "closes_by_server",
    "closes_by_client", "timeline", "by_name", "by_iteration", "notices", "export", "labels", "plugins",
    "memory", "config"};

// What must be the same in every report: the same program and the same run.
const std::pair<const char*, const char*> same_run[] = {
    {"/ringload_version", "ringload_version"}, {"/url", "url"}, {"/method", "method"},
    {"/config/requests_file", "request file"}, {"/config/max_requests", "-n"},
    {"/config/duration_s", "-d"}, {"/config/iterations", "--iterations"},
};

void check_report(const std::string& name, const json& doc) {
  if (!doc.is_object() || !doc.contains("ringload_version") || !doc["ringload_version"].is_string() ||
      !doc.contains("started_at"))
    throw MergeError(name + ": not a ringload report of this version (no ringload_version or started_at)");
}

void check_same_run(const Reports& reports) {
  const auto& [first_name, first] = reports.front();
  for (const auto& [name, doc] : reports) {
    for (const auto& [pointer, what] : same_run) {
      const json::json_pointer p(pointer);
      const json a = first.contains(p) ? first[p] : json();
      const json b = doc.contains(p) ? doc[p] : json();
      if (a != b)
        throw MergeError(name + ": " + what + " " + b.dump() + " differs from " + first_name + "'s " + a.dump() +
                         ": not the same run");
    }
  }
  // Shards: all of one count, each once; an unsharded report does not mix with shards.
  std::set<uint64_t> seen;
  uint64_t count = 0;
  for (const auto& [name, doc] : reports) {
    const json& s = doc.value("shard", json());
    const bool indexed = s.is_object() && s.contains("index");
    if (seen.empty() && count == 0 && indexed) count = s["count"].get<uint64_t>();
    if (count == 0 && !indexed) continue;
    if (!indexed) throw MergeError(name + ": not a shard (shard is " + s.dump() + "), the others are");
    if (s["count"].get<uint64_t>() != count)
      throw MergeError(name + ": shard " + s.dump() + " is of another count than " + std::to_string(count));
    if (!seen.insert(s["index"].get<uint64_t>()).second)
      throw MergeError(name + ": shard " + s.dump() + " is given twice");
  }
}

double interval_of(const Reports& reports) {
  double interval = 0;
  for (const auto& [name, doc] : reports)
    for (const json& w : doc.value("timeline", json::array())) interval = std::max(interval, w.value("duration_s", 0.0));
  return interval;
}

json merged_timeline(const Reports& reports, const std::string& key, double earliest) {
  std::vector<merge::Timeline> timelines;
  for (const auto& [name, doc] : reports)
    timelines.push_back({&doc[key], merge::parse_started_at(doc["started_at"].get<std::string>()) - earliest});
  return merge::merge_timelines(timelines, interval_of(reports), key == "qps_timeline");
}

json fold(const Reports& reports, const std::string& key) {
  json out;
  for (const auto& [name, doc] : reports) out = merge::add(out, doc.value(key, json()));
  return out;
}

// Blocks whose figures are not plain sums.
void fix_up(json& out, const Reports& reports) {
  const double duration = out["duration_s"].get<double>();
  auto per_s = [duration](const json& n) { return duration > 0 ? n.get<double>() / duration : 0.0; };
  json& t = out["throughput"];
  t["rps"] = per_s(out["requests"]["total"]);
  t["rpm"] = t["rps"].get<double>() * 60;
  t["bytes_in_per_s"] = per_s(out["bytes"]["in"]);
  t["bytes_out_per_s"] = per_s(out["bytes"]["out"]);
  if (json& tls = out["tls"]; tls.is_object()) {
    bool verify = true;
    for (const auto& [name, doc] : reports)
      if (doc["tls"].is_object()) verify = verify && doc["tls"].value("verify", true);
    tls["verify"] = verify;
    const double handshakes = tls.value("handshakes", 0.0);
    tls["resumed_ratio"] = handshakes > 0 ? tls.value("resumed", 0.0) / handshakes : 0.0;
  }
  if (json& ol = out["open_loop"]; ol.is_object()) {
    double warm_up = 0;
    for (const auto& [name, doc] : reports)
      if (doc["open_loop"].is_object()) warm_up = std::max(warm_up, doc["open_loop"].value("warm_up_s", 0.0));
    ol["warm_up_s"] = warm_up;
  }
  if (json& m = out["memory"]; m.is_object()) {
    double weighted = 0;
    for (const auto& [name, doc] : reports)
      weighted += doc["memory"].value("per_connection_bytes", 0.0) * doc["memory"].value("connections", 0.0);
    const double connections = m.value("connections", 0.0);
    m["per_connection_bytes"] = connections > 0 ? static_cast<uint64_t>(weighted / connections + 0.5) : 0;
  }
}

json merge_key(const Reports& reports, const std::string& key, double earliest, json& notices) {
  const json& first = reports.front().second.value(key, json());
  if (key == "config" || key == "throughput") return first;  // throughput: fix_up
  if (key == "duration_s") {
    double longest = 0;
    for (const auto& [name, doc] : reports) longest = std::max(longest, doc[key].get<double>());
    return longest;
  }
  if (key == "started_at") {
    std::string min = first.get<std::string>();
    for (const auto& [name, doc] : reports) min = std::min(min, doc[key].get<std::string>());
    return min;
  }
  if (key == "shard") {
    uint64_t n = 0;
    for (const auto& [name, doc] : reports) n += doc.value(key, json()).value("merged", uint64_t{1});
    return {{"merged", n}};
  }
  if (key == "timeline" || key == "qps_timeline") return merged_timeline(reports, key, earliest);
  if (key == "by_name" || key == "by_iteration") {
    std::vector<const json*> arrays;
    for (const auto& [name, doc] : reports) arrays.push_back(&doc[key]);
    return merge::merge_keyed(arrays, key == "by_name" ? "name" : "iteration", key == "by_iteration");
  }
  if (key == "notices") {
    json out = json::array();
    for (const auto& [name, doc] : reports)
      for (const json& n : doc[key])
        if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    return out;
  }
  if (key == "capacity") {
    double sum = 0;
    for (const auto& [name, doc] : reports) {
      if (!doc[key].is_number()) return nullptr;  // a shard without one: no capacity for all
      sum += doc[key].get<double>();
    }
    return sum;
  }
  if (key == "plugins") {
    json out = first;
    for (std::size_t i = 1; i < reports.size() && out.is_array(); ++i) {
      const json& p = reports[i].second[key];
      if (!p.is_array() || p.size() != out.size()) return first;
      for (std::size_t k = 0; k < p.size(); ++k) out[k] = merge::add(out[k], p[k]);
    }
    return out;
  }
  // Each shard judged its thresholds on its own figures: judged again on the merged ones
  // (judge_thresholds, merge_thresholds.cpp).
  if (key == "thresholds") return json::array();
  if (!known_keys.contains(key)) {
    notices.push_back("merge: \"" + key + "\" is the first report's (this version does not merge it)");
    return first;
  }
  return fold(reports, key);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw MergeError("cannot read '" + path + "': " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes the merged report and says how its thresholds went: the summary's lines (on
// standard output, or standard error when the report goes there) and, when one failed, one
// line on standard error. Returns the exit status: 0, 3 (not written), 5 (a threshold failed).
int write_merged(const std::string& output, const std::string& text, const merge::Judged& judged) {
  auto written = output.empty() ? write_stdout(text) : write_file(output, text);
  if (!written) {
    std::cerr << "error: merge: cannot write " << (output.empty() ? std::string("standard output") : "'" + output + "'")
              << ": " << written.error() << '\n';
    return 3;
  }
  if (!judged.figures) return 0;
  (output.empty() ? std::cerr : std::cout) << thresholds_summary(judged.config, *judged.figures);
  const std::string failed = thresholds_failure(judged.config, *judged.figures);
  if (failed.empty()) return 0;
  std::cerr << "error: merge: " << failed << '\n';
  return 5;
}

}  // namespace

json merge_reports(const Reports& reports) {
  for (const auto& [name, doc] : reports) check_report(name, doc);
  check_same_run(reports);
  std::set<std::string> keys;
  for (const auto& [name, doc] : reports)
    for (const auto& [key, value] : doc.items()) keys.insert(key);
  json notices = json::array();
  const double earliest = merge::parse_started_at(merge_key(reports, "started_at", 0, notices).get<std::string>());
  json out = json::object();
  for (const std::string& key : keys) out[key] = merge_key(reports, key, earliest, notices);
  fix_up(out, reports);
  std::string names;
  for (const auto& [name, doc] : reports) names += (names.empty() ? "" : ", ") + name;
  out["notices"].push_back("merged from " + std::to_string(reports.size()) + " reports: " + names);
  for (const json& n : notices) out["notices"].push_back(n);
  return out;
}

int merge_main(int argc, char** argv) {
  CLI::App app{"ringload merge: add up the reports of a sharded run (--shard i/N) into one", "ringload merge"};
  std::vector<std::string> files;
  std::vector<std::string> thresholds;
  std::string output;
  app.add_option("reports", files, "The shards' JSON reports (-o of each)")->required();
  app.add_option("-o,--output", output, "Write the merged report here (default: standard output)");
  add_threshold_flag(app, thresholds);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: merge: " << e.what() << '\n';
    return 2;
  }
  std::string text;
  merge::Judged judged;
  try {
    Reports reports;
    for (const std::string& f : files) {
      json doc = json::parse(read_file(f), nullptr, false);
      if (doc.is_discarded()) throw MergeError(f + ": not JSON");
      reports.emplace_back(f, std::move(doc));
    }
    json merged = merge_reports(reports);
    judged = merge::judge_thresholds(reports, thresholds, merged);
    text = merged.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  } catch (const MergeError& e) {
    std::cerr << "error: merge: " << e.what() << '\n';
    return 2;
  } catch (const json::exception& e) {
    std::cerr << "error: merge: a report is not of this version's form: " << e.what() << '\n';
    return 2;
  }
  return write_merged(output, text, judged);
}

}  // namespace ringload::cli
