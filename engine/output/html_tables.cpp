#include "engine/output/html_tables.hpp"

#include <cmath>
#include <cstdio>

namespace ringload::html {
namespace {

enum class Unit : uint8_t { count, rate, us, seconds, bytes_rate };

// A summary row: its place in the report, its label, its unit, and which way is better
// (+1 higher, -1 lower, 0 neither) for the comparison's ratios.
struct Metric {
  const char* key;
  const char* label;
  Unit unit;
  int better;
};

constexpr Metric metrics[] = {
    {"requests.total", "requests", Unit::count, 0},
    {"requests.succeeded", "succeeded", Unit::count, 0},
    {"requests.failed", "failed", Unit::count, -1},
    {"errors", "errors (all kinds)", Unit::count, -1},
    {"requests.in_flight_at_end", "in flight at the end", Unit::count, 0},
    {"throughput.rps", "requests/s", Unit::rate, +1},
    {"open_loop.target_qps", "target requests/s (--qps)", Unit::rate, 0},
    {"capacity", "capacity (adaptive)", Unit::rate, +1},
    {"duration_s", "duration", Unit::seconds, 0},
    {"latency_us.mean", "latency mean", Unit::us, -1},
    {"latency_us.p50", "latency p50", Unit::us, -1},
    {"latency_us.p90", "latency p90", Unit::us, -1},
    {"latency_us.p99", "latency p99", Unit::us, -1},
    {"latency_us.p99_9", "latency p99.9", Unit::us, -1},
    {"latency_us.max", "latency max", Unit::us, -1},
    {"service_time_us.p99", "service time p99", Unit::us, -1},
    {"ttfb_us.p99", "time to first byte p99", Unit::us, -1},
    {"send_lag_us.p99", "send lag p99", Unit::us, -1},
    {"error_latency_us.p99", "time to failure p99", Unit::us, 0},
    {"throughput.bytes_in_per_s", "bytes in/s", Unit::bytes_rate, 0},
    {"connections", "connections", Unit::count, 0},
};

std::string printf_text(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// 1234567 -> "1,234,567".
std::string grouped(double v) {
  std::string digits = printf_text("%.0f", std::fabs(v));
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(static_cast<std::size_t>(at), ",");
  return (v < 0 ? "-" : "") + digits;
}

// Three significant digits.
std::string sig3(double v) {
  const double a = std::fabs(v);
  return printf_text(a < 10 ? "%.2f" : a < 100 ? "%.1f" : "%.0f", v);
}

std::string format(Unit unit, double v) {
  switch (unit) {
    case Unit::count: return grouped(v);
    case Unit::rate: return (v >= 1000 ? grouped(v) : printf_text("%.1f", v)) + "/s";
    case Unit::us:
      if (v < 1000) return sig3(v) + " \xc2\xb5s";
      if (v < 1e6) return sig3(v / 1e3) + " ms";
      return sig3(v / 1e6) + " s";
    case Unit::seconds: return printf_text("%.2f", v) + " s";
    case Unit::bytes_rate:
      if (v < 1e3) return sig3(v) + " B/s";
      if (v < 1e6) return sig3(v / 1e3) + " kB/s";
      if (v < 1e9) return sig3(v / 1e6) + " MB/s";
      return sig3(v / 1e9) + " GB/s";
  }
  return {};
}

// A metric's value: the report's number, or for "errors" the sum of its kinds.
const json* metric_value(const json& report, const Metric& m, json& scratch) {
  if (std::string_view(m.key) == "errors") {
    const json* errors = find(report, "errors");
    if (errors == nullptr || !errors->is_object()) return nullptr;
    uint64_t sum = 0;
    for (const auto& [kind, n] : errors->items())
      if (n.is_number_unsigned()) sum += n.get<uint64_t>();
    scratch = sum;
    return &scratch;
  }
  // A histogram that holds no requests (no failures, say) has no percentiles: a dash, not 0.
  const std::string_view key = m.key;
  if (const std::size_t dot = key.rfind('.'); dot != std::string_view::npos) {
    const json* block = find(report, key.substr(0, dot));
    if (block != nullptr && block->is_object() && block->contains("hdr") && number(*block, "count") == 0) return nullptr;
  }
  const json* v = find(report, m.key);
  return v != nullptr && v->is_number() ? v : nullptr;
}

std::string value_cell(const Metric& m, const json* v, int run) {
  std::string attrs = " data-key=\"" + std::string(m.key) + "\"";
  if (run >= 0) attrs += " data-run=\"" + std::to_string(run) + "\"";
  if (v == nullptr) return "<td class=\"num\"" + attrs + ">-</td>";
  return "<td class=\"num\"" + attrs + " data-value=\"" + v->dump() + "\">" + escape(format(m.unit, v->get<double>())) +
         "</td>";
}

std::string ratio_cell(const Metric& m, const json* first, const json* v) {
  if (first == nullptr || v == nullptr || first->get<double>() == 0) return "<td class=\"ratio\">-</td>";
  const double r = v->get<double>() / first->get<double>();
  const char* cls = "ratio";
  if (m.better != 0 && std::fabs(r - 1) > 0.01) cls = (r > 1) == (m.better > 0) ? "ratio better" : "ratio worse";
  return std::string("<td class=\"") + cls + "\" data-key=\"" + m.key + "\" data-ratio=\"" + printf_text("%.6g", r) +
         "\">\xc3\x97" + (r >= 1000 ? grouped(r) : printf_text("%.3g", r)) + "</td>";
}

// A scalar as text: integers grouped, other numbers with up to 4 significant digits.
std::string scalar_text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_integer() || v.is_number_unsigned()) return grouped(v.get<double>());
  if (v.is_number()) return printf_text("%.4g", v.get<double>());
  return v.dump();
}

// A nested value in one cell: a histogram block as its main percentiles, an object as
// "key: value" pairs, anything else as its text.
std::string cell_text(const json& v) {
  if (v.is_object() && v.contains("hdr")) {
    if (number(v, "count") == 0) return "none";
    return "p50 " + format(Unit::us, number(v, "p50")) + " \xc2\xb7 p99 " + format(Unit::us, number(v, "p99")) +
           " \xc2\xb7 max " + format(Unit::us, number(v, "max")) + " (" + grouped(number(v, "count")) + ")";
  }
  if (v.is_object()) {
    std::string out;
    for (const auto& [key, sub] : v.items()) {
      if (!out.empty()) out += ", ";
      out += key + ": " + (sub.is_structured() ? sub.dump() : scalar_text(sub));
    }
    return out.empty() ? "-" : out;
  }
  if (v.is_array()) {
    std::string text = v.dump();
    return text.size() > 300 ? text.substr(0, 300) + "\xe2\x80\xa6" : text;
  }
  return scalar_text(v);
}

// A block as a two-column table.
std::string block_panel(const char* title, const json& block) {
  std::string out = "<div class=\"panel\"><h3>" + std::string(title) + "</h3><table class=\"kv\">";
  for (const auto& [key, v] : block.items())
    out += "<tr><th>" + escape(key) + "</th><td>" + escape(cell_text(v)) + "</td></tr>";
  return out + "</table></div>";
}

std::string errors_panel(const json& report) {
  std::string rows;
  if (const json* errors = find(report, "errors"); errors != nullptr && errors->is_object()) {
    for (const auto& [kind, n] : errors->items()) {
      if (!n.is_number() || n.get<double>() == 0) continue;
      const json* first = find(report, "first_errors." + kind);
      rows += "<tr><th>" + escape(kind) + "</th><td class=\"num\" data-key=\"errors." + escape(kind) +
              "\" data-value=\"" + n.dump() + "\">" + grouped(n.get<double>()) + "</td><td>" +
              escape(first != nullptr && first->is_string() ? first->get<std::string>() : "") + "</td></tr>";
    }
  }
  if (rows.empty()) rows = "<tr><td colspan=\"3\">none</td></tr>";
  return "<div class=\"panel\"><h3>Errors</h3><table><tr><th>kind</th><th>count</th><th>first message</th></tr>" +
         rows + "</table></div>";
}

std::string status_panel(const json& report) {
  std::string rows;
  if (const json* codes = find(report, "status_codes"); codes != nullptr && codes->is_object())
    for (const auto& [code, n] : codes->items())
      rows += "<tr><th>" + escape(code) + "</th><td class=\"num\" data-key=\"status_codes." + escape(code) +
              "\" data-value=\"" + n.dump() + "\">" + escape(scalar_text(n)) + "</td></tr>";
  if (rows.empty()) rows = "<tr><td colspan=\"2\">no complete response</td></tr>";
  return "<div class=\"panel\"><h3>Status codes</h3><table><tr><th>status</th><th>responses</th></tr>" + rows +
         "</table></div>";
}

std::string thresholds_panel(const json& report) {
  const json* list = find(report, "thresholds");
  if (list == nullptr || !list->is_array() || list->empty()) return {};
  std::string out = "<div class=\"panel\"><h3>Thresholds</h3><table><tr><th>threshold</th><th>value</th>"
                    "<th>limit</th><th>verdict</th></tr>";
  for (const json& t : *list) {
    if (!t.is_object()) continue;
    const bool passed = t.value("passed", false);
    out += "<tr><th>" + escape(cell_text(t.value("expression", json()))) + "</th><td class=\"num\">" +
           escape(cell_text(t.value("value", json()))) + " " + escape(cell_text(t.value("unit", json()))) +
           "</td><td class=\"num\">" + escape(cell_text(t.value("limit", json()))) + "</td><td class=\"" +
           (passed ? "better\">pass" : "worse\">FAIL") + "</td></tr>";
  }
  return out + "</table></div>";
}

std::string by_name_panel(const json& report) {
  const json* list = find(report, "by_name");
  if (list == nullptr || !list->is_array() || list->size() < 2) return {};
  std::string out = "<div class=\"panel wide\"><h3>By name</h3><table><tr><th>name</th><th>requests</th>"
                    "<th>failed</th><th>p50</th><th>p99</th></tr>";
  for (const json& n : *list) {
    if (!n.is_object()) continue;
    out += "<tr><th>" + escape(cell_text(n.value("name", json()))) + "</th><td class=\"num\">" +
           grouped(number(n, "requests")) + "</td><td class=\"num\">" + grouped(number(n, "failed")) +
           "</td><td class=\"num\">" + escape(format(Unit::us, number(n, "latency_us.p50"))) +
           "</td><td class=\"num\">" + escape(format(Unit::us, number(n, "latency_us.p99"))) + "</td></tr>";
  }
  return out + "</table></div>";
}

}  // namespace

std::string base_name(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

const json* find(const json& doc, std::string_view dotted) {
  const json* node = &doc;
  while (!dotted.empty()) {
    const std::size_t dot = dotted.find('.');
    const std::string key(dotted.substr(0, dot));
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
    dotted = dot == std::string_view::npos ? std::string_view() : dotted.substr(dot + 1);
  }
  return node;
}

double number(const json& doc, std::string_view dotted) {
  const json* v = find(doc, dotted);
  return v != nullptr && v->is_number() ? v->get<double>() : 0.0;
}

std::string summary_table(const std::vector<Run>& runs) {
  const bool compare = runs.size() > 1;
  std::string out = "<table class=\"summary\" id=\"summary\"><tr><th></th>";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    out += "<th title=\"" + escape(runs[i].name) + "\">" + escape(compare ? base_name(runs[i].name) : "") + "</th>";
    if (compare && i > 0) out += "<th>vs " + escape(base_name(runs[0].name)) + "</th>";
  }
  out += "</tr>";
  for (const Metric& m : metrics) {
    std::vector<json> scratch(runs.size());
    std::vector<const json*> values;
    bool any = false;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      values.push_back(metric_value(*runs[i].report, m, scratch[i]));
      any = any || values.back() != nullptr;
    }
    if (!any) continue;  // a block no run has (open_loop of closed loops, no capacity)
    out += "<tr><th>" + std::string(m.label) + "</th>";
    for (std::size_t i = 0; i < runs.size(); ++i) {
      out += value_cell(m, values[i], compare ? static_cast<int>(i) : -1);
      if (compare && i > 0) out += ratio_cell(m, values[0], values[i]);
    }
    out += "</tr>";
  }
  return out + "</table>";
}

std::string panels(const json& report) {
  std::string out = errors_panel(report) + status_panel(report) + thresholds_panel(report);
  const std::pair<const char*, const char*> blocks[] = {
      {"tls", "TLS"}, {"sse", "Server-Sent Events"}, {"ws", "WebSocket"}, {"http2", "HTTP/2"}, {"open_loop", "Open loop"}};
  for (const auto& [key, title] : blocks)
    if (const json* b = find(report, key); b != nullptr && b->is_object()) out += block_panel(title, *b);
  out += by_name_panel(report);
  if (const json* notices = find(report, "notices"); notices != nullptr && notices->is_array() && !notices->empty()) {
    out += "<div class=\"panel wide\"><h3>Notices</h3><ul>";
    for (const json& n : *notices) out += "<li>" + escape(scalar_text(n)) + "</li>";
    out += "</ul></div>";
  }
  return out;
}

std::string config_table(const json& report) {
  json run = json::object();
  for (const char* key : {"url", "method", "ringload_version", "started_at", "duration_s", "connections", "threads", "descriptors",
                          "shard", "interrupted"})
    if (const json* v = find(report, key)) run[key] = *v;
  std::string out = block_panel("Run", run);
  if (const json* config = find(report, "config"); config != nullptr && config->is_object())
    out += block_panel("Config", *config);
  return out;
}

}  // namespace ringload::html
