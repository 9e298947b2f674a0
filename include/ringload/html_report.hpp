// The HTML report: one self-contained page (no network fetch of anything: Chart.js, the
// page's script and style are inlined, and a Content-Security-Policy forbids fetches) made
// from one or more JSON reports (report.hpp), for people to look at a run or compare runs.
//
// One report: the run's page. Requests/s over time (open loop: target and achieved; the
// adaptive controller's steps as a stepped target), latency p50/p90/p99/max over time, the
// latency distribution as a percentile plot (log x axis: 1/(1 - percentile), as
// HdrHistogram's plots; computed here from the decoded `hdr` histograms), responses by
// status class and errors over time, the summary table, the errors and status codes, the
// TLS / SSE / WebSocket / HTTP/2 panels when those blocks are present, the thresholds, and
// the run's config. Two or more: the comparison page (overlaid percentile plots,
// requests/s and p99 over time, a summary table with a column per run and its ratio to
// the first).
//
// The summary tables are HTML written here (readable without script); each figure's cell
// carries `data-key` (its place in the report: "latency_us.p99") and `data-value` (the
// report's number as written in the JSON). Each chart's canvas gets, once drawn,
// `data-points` (data points plotted), `data-pixels` (non-transparent pixels) and
// `data-ink` (pixels in a dataset's colour), so a test can tell a drawn chart from a
// blank one.
#pragma once
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringload/export.hpp"

namespace ringload {

struct HtmlInput {
  std::string name;  // what the page calls the report (its file name): errors name it too
  std::string json;  // the report's text, as report_json() writes it
};

// The page for `reports` (at least one; two or more: the comparison). The error is one
// line naming the input: "a.json: not JSON (...)", "a.json: not a ringload report (no
// ringload_version)", "a.json: ringload_version 0.2.0: this ringload (0.1.0) reads its own
// version's reports", "a.json: latency_us.hdr: not Base64".
RINGLOAD_API std::expected<std::string, std::string> html_report(std::span<const HtmlInput> reports);

// The percentile spectrum plotted on the page, of a histogram in HdrHistogram's encoding
// (the report's `hdr`): points (x, value in us) at percentiles q_k = 1 - 2^(-k/5),
// x = 1 / (1 - q_k) = 2^(k/5), for k = 0, 1, ... up to the first x >= count, then the
// maximum one step further. Empty for an empty histogram.
struct SpectrumPoint {
  double x = 0;         // 1 / (1 - percentile / 100)
  double percentile = 0;
  double value_us = 0;
};
RINGLOAD_API std::expected<std::vector<SpectrumPoint>, std::string> percentile_spectrum(std::string_view hdr);

}  // namespace ringload
