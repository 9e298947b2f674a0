#include "cli/merge_values.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <utility>

#include "ringload/hdr_encoding.hpp"
#include "ringload/histogram.hpp"

namespace ringload::cli::merge {
namespace {

// The report's percentile keys (report_json.cpp).
constexpr std::pair<double, const char*> percentiles[] = {
    {50, "p50"}, {75, "p75"}, {90, "p90"}, {95, "p95"}, {99, "p99"}, {99.9, "p99_9"}, {99.99, "p99_99"},
};

double number(const json& block, const char* key) {
  const auto it = block.find(key);
  if (it == block.end() || !it->is_number()) throw MergeError(std::string("a histogram block lacks \"") + key + "\"");
  return it->get<double>();
}

uint64_t count_of(const json& block) {
  const auto it = block.find("count");
  if (it == block.end() || !it->is_number_unsigned())
    throw MergeError("a histogram block has no \"count\" (a report from before the hdr encoding?)");
  return it->get<uint64_t>();
}

void decode_into(const json& block, Histogram& h) {
  const auto it = block.find("hdr");
  if (it == block.end() || !it->is_string()) throw MergeError("a histogram block has no \"hdr\" encoding");
  if (auto ok = hdr_decode(it->get<std::string>(), h); !ok) throw MergeError("a histogram's hdr: " + ok.error());
}

// Window entries: what adds up, and what is the highest.
bool is_summed(const std::string& key) {
  return key == "requests" || key == "succeeded" || key == "errors" || key == "rps" || key == "target_qps" ||
         key == "achieved_qps";
}

}  // namespace

json add(const json& a, const json& b) {
  if (a.is_null()) return b;
  if (b.is_null()) return a;
  if (a.is_object() && b.is_object()) {
    if (a.contains("hdr") && b.contains("hdr")) return add_histograms(a, b);
    json out = a;
    for (const auto& [key, value] : b.items()) out[key] = out.contains(key) ? add(out[key], value) : value;
    return out;
  }
  if (a.is_number_unsigned() && b.is_number_unsigned()) return a.get<uint64_t>() + b.get<uint64_t>();
  if (a.is_number_integer() && b.is_number_integer()) return a.get<int64_t>() + b.get<int64_t>();
  if (a.is_number() && b.is_number()) return a.get<double>() + b.get<double>();
  if (a.is_boolean() && b.is_boolean()) return a.get<bool>() || b.get<bool>();
  return a;
}

json add_histograms(const json& a, const json& b) {
  const uint64_t na = count_of(a), nb = count_of(b);
  Histogram h;
  decode_into(a, h);
  decode_into(b, h);
  if (h.count() != na + nb)
    throw MergeError("a histogram's hdr holds " + std::to_string(h.count()) + " values, its count says " +
                     std::to_string(na + nb));
  json out = nb == 0 ? a : na == 0 ? b : a;
  out["hdr"] = hdr_encode(h);
  if (na == 0 || nb == 0) return out;
  const double n = static_cast<double>(na + nb);
  const double ma = number(a, "mean"), mb = number(b, "mean");
  const double sa = number(a, "stdev"), sb = number(b, "stdev");
  const double mean = (ma * static_cast<double>(na) + mb * static_cast<double>(nb)) / n;
  // Pooled population variance: E[x^2] of both, less the mean's square.
  const double ex2 = (static_cast<double>(na) * (sa * sa + ma * ma) + static_cast<double>(nb) * (sb * sb + mb * mb)) / n;
  out["count"] = na + nb;
  out["mean"] = mean;
  out["stdev"] = ex2 > mean * mean ? std::sqrt(ex2 - mean * mean) : 0.0;
  out["min"] = std::min(number(a, "min"), number(b, "min"));
  out["max"] = std::max(number(a, "max"), number(b, "max"));
  for (const auto& [p, key] : percentiles)
    out[key] = std::min(static_cast<double>(h.percentile(p)) / 1e3, out["max"].get<double>());
  return out;
}

json merge_timelines(const std::vector<Timeline>& timelines, double interval_s, bool qps_timeline) {
  if (!(interval_s > 0)) interval_s = 1;
  std::map<int64_t, json> windows;
  for (const Timeline& t : timelines) {
    for (const json& e : *t.entries) {
      const double end = e.value("t_s", 0.0) + t.offset_s;
      const double length = qps_timeline ? interval_s : e.value("duration_s", interval_s);
      const auto slot = static_cast<int64_t>(std::floor((end - length / 2) / interval_s));
      json& w = windows[slot];
      // availability (qps_timeline): the mean of the shards', weighted by their rates.
      const double weighted = e.value("availability", 0.0) * e.value("achieved_qps", 0.0);
      if (w.is_null()) {
        w = e;
        w["t_s"] = end;
        w["_weighted"] = weighted;
        continue;
      }
      w["_weighted"] = w["_weighted"].get<double>() + weighted;
      for (const auto& [key, value] : e.items()) {
        if (value.is_object()) {  // status_classes: counts, summed like the window's requests
          w[key] = add(w[key], value);
          continue;
        }
        if (!value.is_number() || key == "availability") continue;
        if (is_summed(key)) w[key] = add(w[key], value);
        else if (key == "t_s") w[key] = std::max(w[key].get<double>(), end);
        else w[key] = std::max(w[key].get<double>(), value.get<double>());
      }
    }
  }
  json out = json::array();
  for (auto& [slot, w] : windows) {
    if (w.contains("availability")) {
      const double rate = w.value("achieved_qps", 0.0);
      w["availability"] = rate > 0 ? w["_weighted"].get<double>() / rate : 0.0;
    }
    w.erase("_weighted");
    out.push_back(std::move(w));
  }
  return out;
}

json merge_keyed(const std::vector<const json*>& arrays, const char* key, bool sort) {
  std::vector<json> out;
  for (const json* array : arrays) {
    for (const json& e : *array) {
      auto same = std::find_if(out.begin(), out.end(), [&](const json& o) { return o[key] == e[key]; });
      if (same == out.end()) out.push_back(e);
      else {
        json merged = add(*same, e);
        merged[key] = e[key];  // a key that is a number must not add up
        *same = std::move(merged);
      }
    }
  }
  if (sort) std::sort(out.begin(), out.end(), [key](const json& a, const json& b) { return a[key] < b[key]; });
  return json(std::move(out));
}

double parse_started_at(const std::string& text) {
  std::tm tm{};
  int ms = 0;
  char z = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &ms, &z) != 8 || z != 'Z')
    throw MergeError("started_at '" + text + "' is not RFC 3339 UTC with milliseconds");
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) + ms / 1000.0;
}

}  // namespace ringload::cli::merge
