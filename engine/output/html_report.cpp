// The HTML report (ringload/html_report.hpp): the reports checked and read, the percentile
// spectra computed from their decoded histograms, the page assembled with its inlined
// assets (html_assets.hpp) and its data for the page's script.
#include "ringload/html_report.hpp"

#include <cmath>
#include <cstdio>
#include <exception>

#include "engine/output/html_assets.hpp"
#include "engine/output/html_tables.hpp"
#include "ringload/hdr_encoding.hpp"
#include "ringload/histogram.hpp"

namespace ringload {
namespace {

using html::json;

// The spectrum's steps per halving of 1 - percentile (HdrHistogram's plots use 5).
constexpr int ticks_per_half = 5;

struct Checked {
  std::string name;
  json report;
};

std::expected<Checked, std::string> check(const HtmlInput& in) {
  Checked out{in.name, json::parse(in.json, nullptr, false)};
  const json& r = out.report;
  if (r.is_discarded()) return std::unexpected(in.name + ": not JSON (not a ringload report)");
  const json* version = html::find(r, "ringload_version");
  if (!r.is_object() || version == nullptr || !version->is_string())
    return std::unexpected(in.name + ": not a ringload report (no ringload_version)");
  if (version->get<std::string>() != RINGLOAD_ENGINE_VERSION)
    return std::unexpected(in.name + ": ringload_version " + version->get<std::string>() + ": this ringload (" +
                           RINGLOAD_ENGINE_VERSION + ") reads its own version's reports");
  for (const char* key : {"requests", "throughput", "latency_us"})
    if (const json* v = html::find(r, key); v == nullptr || !v->is_object())
      return std::unexpected(in.name + ": not a ringload report (no " + key + " block)");
  for (const char* key : {"timeline", "qps_timeline"})
    if (const json* v = html::find(r, key); v == nullptr || !v->is_array())
      return std::unexpected(in.name + ": not a ringload report (no " + key + " list)");
  return out;
}

// A histogram block's spectrum as [[x, value_us, percentile], ...], or the error naming it.
std::expected<json, std::string> spectrum_json(const Checked& run, const char* block) {
  const json* hdr = html::find(run.report, std::string(block) + ".hdr");
  if (hdr == nullptr || !hdr->is_string()) return std::unexpected(run.name + ": " + block + ".hdr: missing");
  auto points = percentile_spectrum(hdr->get<std::string>());
  if (!points) return std::unexpected(run.name + ": " + block + ".hdr: " + points.error());
  json out = json::array();
  for (const SpectrumPoint& p : *points) out.push_back({p.x, p.value_us, p.percentile});
  return out;
}

// The timeline as columns, for the charts over time.
json timeline_columns(const json& report) {
  json cols = json::object();
  const char* keys[][2] = {{"t", "t_s"},     {"rps", "rps"},     {"target", "target_qps"}, {"p50", "p50_us"},
                           {"p90", "p90_us"}, {"p99", "p99_us"}, {"max", "max_us"},        {"errors", "errors"},
                           {"c1xx", "status_classes.1xx"},       {"c2xx", "status_classes.2xx"},
                           {"c3xx", "status_classes.3xx"},       {"c4xx", "status_classes.4xx"},
                           {"c5xx", "status_classes.5xx"}};
  for (const auto& k : keys) cols[k[0]] = json::array();
  for (const json& w : *html::find(report, "timeline"))
    for (const auto& k : keys) cols[k[0]].push_back(html::number(w, k[1]));
  return cols;
}

std::expected<json, std::string> run_data(const Checked& run) {
  const json& r = run.report;
  const json* schedule = html::find(r, "open_loop.schedule");
  json out = {{"name", html::base_name(run.name)},
              {"schedule", schedule != nullptr && schedule->is_string() ? schedule->get<std::string>() : "closed"},
              {"timeline", timeline_columns(r)},
              {"spectra", json::array()}};
  const std::pair<const char*, const char*> blocks[] = {
      {"latency_us", "latency"}, {"service_time_us", "service time"}, {"error_latency_us", "time to failure"}};
  for (const auto& [block, label] : blocks) {
    const bool wanted = std::string_view(block) == "latency_us" ||
                        (std::string_view(block) == "service_time_us" && schedule != nullptr) ||
                        (std::string_view(block) == "error_latency_us" && html::number(r, "error_latency_us.count") > 0);
    if (!wanted) continue;
    auto points = spectrum_json(run, block);
    if (!points) return std::unexpected(points.error());
    out["spectra"].push_back({{"label", label}, {"points", std::move(*points)}});
  }
  return out;
}

// Text safe inside a <script> element: no "</script" can end it early.
std::string script_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<' && text.substr(i, 8) == "</script") {
      out += "<\\/";
      ++i;
      continue;
    }
    out += text[i];
  }
  return out;
}

std::string chart(const char* id, const char* title, const char* note) {
  return std::string("<div class=\"chart\"><h3>") + title + "</h3><p class=\"note\">" + note +
         "</p><div class=\"box\"><canvas id=\"" + id + "\"></canvas></div></div>";
}

// A string at `dotted`, or "".
std::string text_at(const json& doc, std::string_view dotted) {
  const json* v = html::find(doc, dotted);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

std::string run_body(const Checked& run) {
  const json& r = run.report;
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.2f s", html::number(r, "duration_s"));
  const json* interrupted = html::find(r, "interrupted");
  std::string body = "<header><h1>ringload: " + html::escape(text_at(r, "method") + " " + text_at(r, "url")) +
                     "</h1><p>" + html::escape(run.name + " \xc2\xb7 started " + text_at(r, "started_at") +
                                               " \xc2\xb7 " + duration) +
                     (interrupted != nullptr && *interrupted == true ? " \xc2\xb7 interrupted" : "") +
                     "</p></header><main><section class=\"top\"><div class=\"panel\"><h2>Summary</h2>" +
                     html::summary_table({{run.name, &r}}) + "</div><div class=\"charts\">";
  body += chart("chart-rps", "Requests/s", "achieved per window; open loop: the target too (adaptive: its steps)");
  body += chart("chart-latency", "Latency over time", "p50, p90, p99 and max of each window's responses");
  body += chart("chart-percentiles", "Latency by percentile", "the whole run's histogram; log scale: 90%, 99%, 99.9% ...");
  body += chart("chart-status", "Responses and errors", "complete responses by status class, and errors, per window");
  body += "</div></section><section class=\"panels\">" + html::panels(r) + "</section><section class=\"panels\">" +
          html::config_table(r) + "</section></main>";
  return body;
}

std::string compare_body(const std::vector<Checked>& runs) {
  std::vector<html::Run> table;
  std::string list;
  for (const Checked& c : runs) {
    table.push_back({c.name, &c.report});
    list += "<li><b>" + html::escape(c.name) + "</b>: " +
            html::escape(text_at(c.report, "method") + " " + text_at(c.report, "url") + " \xc2\xb7 started " +
                         text_at(c.report, "started_at")) + "</li>";
  }
  std::string body = "<header><h1>ringload: " + std::to_string(runs.size()) + " runs compared</h1><ul>" + list +
                     "</ul></header><main><section class=\"top compare\"><div class=\"panel\"><h2>Summary</h2>" +
                     html::summary_table(table) + "</div><div class=\"charts\">";
  body += chart("chart-percentiles", "Latency by percentile", "each run's whole histogram; log scale");
  body += chart("chart-rps", "Requests/s", "achieved per window");
  body += chart("chart-p99", "Latency p99 over time", "p99 of each window's responses");
  return body + "</div></section></main>";
}

std::string page(const std::string& title, const std::string& body, const json& data) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                    "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>" +
                    html::escape(title) + "</title><style>\n";
  out += html_assets::report_css;
  out += "</style></head><body>\n" + body + "\n<script type=\"application/json\" id=\"ringload-data\">";
  std::string text = data.dump(-1, ' ', false, json::error_handler_t::replace);
  for (char c : text) out += c == '<' ? std::string("\\u003c") : std::string(1, c);
  out += "</script>\n<script>\n" + script_safe(html_assets::chart_js) + "\n</script>\n<script>\n" +
         script_safe(html_assets::report_js) + "\n</script></body></html>\n";
  return out;
}

std::expected<std::string, std::string> build(std::span<const HtmlInput> inputs) {
  if (inputs.empty()) return std::unexpected(std::string("no report given"));
  std::vector<Checked> runs;
  json data = {{"mode", inputs.size() == 1 ? "run" : "compare"}, {"runs", json::array()}};
  for (const HtmlInput& in : inputs) {
    auto checked = check(in);
    if (!checked) return std::unexpected(checked.error());
    runs.push_back(std::move(*checked));
    auto d = run_data(runs.back());
    if (!d) return std::unexpected(d.error());
    data["runs"].push_back(std::move(*d));
  }
  if (runs.size() == 1) return page("ringload: " + text_at(runs[0].report, "url"), run_body(runs[0]), data);
  return page("ringload: " + std::to_string(runs.size()) + " runs compared", compare_body(runs), data);
}

}  // namespace

std::expected<std::vector<SpectrumPoint>, std::string> percentile_spectrum(std::string_view hdr) {
  Histogram h;
  if (auto ok = hdr_decode(hdr, h); !ok) return std::unexpected(ok.error());
  std::vector<SpectrumPoint> out;
  const double count = static_cast<double>(h.count());
  if (count == 0) return out;
  for (int k = 0;; ++k) {
    const double x = std::pow(2.0, static_cast<double>(k) / ticks_per_half);
    const double p = 100.0 * (1.0 - 1.0 / x);
    out.push_back({x, p, static_cast<double>(h.percentile(p)) / 1e3});
    if (x >= count) break;
  }
  const double x = out.back().x * std::pow(2.0, 1.0 / ticks_per_half);
  out.push_back({x, 100.0, static_cast<double>(h.max()) / 1e3});
  return out;
}

std::expected<std::string, std::string> html_report(std::span<const HtmlInput> reports) {
  try {
    return build(reports);
  } catch (const std::exception& e) {  // nlohmann's or an allocation's: an error, not a crash
    return std::unexpected(std::string("cannot make the HTML report: ") + e.what());
  }
}

}  // namespace ringload
