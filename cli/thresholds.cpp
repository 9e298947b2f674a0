#include "cli/thresholds.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include <CLI/CLI.hpp>

namespace ringload::cli {
namespace {

constexpr const char* metric_words[] = {"latency", "service", "ttfb", "errors", "availability", "rps"};
constexpr std::pair<const char*, ThresholdStat> stat_words[] = {
    {"avg", ThresholdStat::avg}, {"min", ThresholdStat::min}, {"max", ThresholdStat::max}, {"med", ThresholdStat::med}};
constexpr std::pair<const char*, ThresholdOp> op_words[] = {
    {"<=", ThresholdOp::le}, {">=", ThresholdOp::ge}, {"==", ThresholdOp::eq}, {"<", ThresholdOp::lt}, {">", ThresholdOp::gt}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_time(ThresholdMetric m) {
  return m == ThresholdMetric::latency || m == ThresholdMetric::service || m == ThresholdMetric::ttfb;
}

// A left-to-right reader over one expression; errors carry the column where they start.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  std::unexpected<std::string> fail(std::size_t at, const std::string& why) const {
    return std::unexpected("column " + std::to_string(at + 1) + ": " + why);
  }
  std::size_t at() const { return i_; }
  bool done() const { return i_ >= s_.size(); }
  void advance() { ++i_; }
  char peek() const { return done() ? '\0' : s_[i_]; }
  void skip_spaces() {
    while (!done() && is_space(s_[i_])) ++i_;
  }
  bool take(std::string_view lit) {
    if (s_.substr(i_, lit.size()) != lit) return false;
    i_ += lit.size();
    return true;
  }
  std::string_view letters() {
    const std::size_t from = i_;
    while (!done() && is_letter(s_[i_])) ++i_;
    return s_.substr(from, i_ - from);
  }
  // DIGITS [. DIGITS], as written (empty: none there).
  std::string_view number() {
    const std::size_t from = i_;
    while (!done() && is_digit(s_[i_])) ++i_;
    if (i_ > from && peek() == '.' && i_ + 1 < s_.size() && is_digit(s_[i_ + 1])) {
      ++i_;
      while (!done() && is_digit(s_[i_])) ++i_;
    }
    return s_.substr(from, i_ - from);
  }
  // The rest, up to the next space (for messages).
  std::string_view word_at(std::size_t from) const {
    std::size_t end = from;
    while (end < s_.size() && !is_space(s_[end])) ++end;
    return s_.substr(from, end - from);
  }
  std::string_view slice(std::size_t from, std::size_t to) const { return s_.substr(from, to - from); }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

// `digits` scaled by 10^exponent, rounded once (strtod of "DIGITS e EXP").
double scaled(std::string_view digits, int exponent) {
  const std::string text = std::string(digits) + "e" + std::to_string(exponent);
  return std::strtod(text.c_str(), nullptr);
}

// "name:NAME " (optional): NAME quoted or up to the next space.
std::expected<void, std::string> read_name(Reader& r, Threshold& t) {
  if (!r.take("name:")) return {};
  const std::size_t start = r.at();
  const char quote = r.peek();
  if (quote == '"' || quote == '\'') {
    r.advance();
    const std::size_t from = r.at();
    while (!r.done() && r.peek() != quote) r.advance();
    if (r.done()) return r.fail(start, "the name's closing quote is missing");
    t.name = std::string(r.slice(from, r.at()));
    r.advance();
  } else {
    t.name = std::string(r.word_at(start));
    r.take(t.name);
  }
  if (t.name.empty()) return r.fail(start, "a request name after 'name:'");
  if (!is_space(r.peek())) return r.fail(r.at(), "a space, then the expression, after the name");
  r.skip_spaces();
  return {};
}

// pNN, pNN.N or p(NN), with the 'p' read.
std::expected<void, std::string> read_percentile(Reader& r, Threshold& t) {
  const bool paren = r.take("(");
  const std::size_t at = r.at();
  const std::string_view digits = r.number();
  if (digits.empty()) return r.fail(at, "a percentile after 'p': p99, p99.9, p(95)");
  t.stat = ThresholdStat::percentile;
  t.percentile = scaled(digits, 0);
  if (t.percentile > 100) return r.fail(at, "a percentile is from 0 to 100");
  if (paren && !r.take(")")) return r.fail(r.at(), "')' after the percentile");
  return {};
}

// A statistic at the reader (avg, min, max, med, pNN ...); false: none there.
std::expected<bool, std::string> read_stat(Reader& r, Threshold& t, std::string_view word) {
  if (word == "p" && (is_digit(r.peek()) || r.peek() == '(')) {
    if (auto ok = read_percentile(r, t); !ok) return std::unexpected(ok.error());
    return true;
  }
  for (const auto& [w, stat] : stat_words)
    if (word == w) {
      t.stat = stat;
      return true;
    }
  return false;
}

// [METRIC.]STAT or a rate metric.
std::expected<void, std::string> read_selector(Reader& r, Threshold& t) {
  const std::size_t start = r.at();
  const std::string_view word = r.letters();
  for (std::size_t m = 0; m < std::size(metric_words); ++m) {
    if (word != metric_words[m]) continue;
    t.metric = static_cast<ThresholdMetric>(m);
    if (!is_time(t.metric)) {
      t.stat = ThresholdStat::rate;
      if (r.peek() == '.') return r.fail(r.at(), std::string(word) + " is a rate: it takes no statistic");
      return {};
    }
    if (!r.take(".")) return r.fail(r.at(), std::string(word) + " takes a statistic: " + std::string(word) + ".p99, .avg, .max ...");
    const std::size_t stat_at = r.at();
    auto found = read_stat(r, t, r.letters());
    if (!found) return std::unexpected(found.error());
    if (!*found) return r.fail(stat_at, "a statistic: avg, min, max, med, pNN, pNN.N or p(NN)");
    return {};
  }
  auto found = read_stat(r, t, word);
  if (!found) return std::unexpected(found.error());
  if (*found) return {};
  if (word.empty()) return r.fail(start, "a metric or statistic: p99, avg, latency.p99, errors, availability, rps ...");
  return r.fail(start, "unknown metric or statistic '" + std::string(word) +
                           "' (latency, service, ttfb, errors, availability, rps; avg, min, max, med, pNN)");
}

// NUMBER [UNIT]: the limit in the report's units.
std::expected<void, std::string> read_limit(Reader& r, Threshold& t) {
  const std::size_t at = r.at();
  const std::string_view digits = r.number();
  if (digits.empty()) return r.fail(at, "a number (the limit)");
  const std::size_t unit_at = r.at();
  const std::string_view unit = r.take("%") ? std::string_view("%") : r.letters();
  if (is_time(t.metric)) {
    int exponent = 0;
    if (unit == "us") exponent = 0;
    else if (unit == "ms") exponent = 3;
    else if (unit == "s") exponent = 6;
    else if (unit.empty()) return r.fail(unit_at, "a time needs a unit: us, ms or s");
    else return r.fail(unit_at, "unknown unit '" + std::string(unit) + "' (us, ms, s)");
    t.limit = scaled(digits, exponent);
    return {};
  }
  if (t.metric == ThresholdMetric::rps) {
    if (!unit.empty()) return r.fail(unit_at, "rps is requests per second: a number, no unit");
    t.limit = scaled(digits, 0);
    return {};
  }
  if (!unit.empty() && unit != "%")
    return r.fail(unit_at, "a rate is a fraction (0.001) or a percentage (0.1%), not '" + std::string(unit) + "'");
  t.limit = scaled(digits, unit == "%" ? -2 : 0);
  if (t.limit > 1) return r.fail(at, unit == "%" ? "a percentage is at most 100%" : "a fraction is at most 1 (or write 0.1%)");
  return {};
}

}  // namespace

std::expected<Threshold, std::string> parse_threshold(std::string_view text) {
  Threshold t;
  Reader r(text);
  r.skip_spaces();
  if (auto ok = read_name(r, t); !ok) return std::unexpected(ok.error());
  const std::size_t selector_at = r.at();
  if (auto ok = read_selector(r, t); !ok) return std::unexpected(ok.error());
  if (!t.name.empty() && (t.metric == ThresholdMetric::service || t.metric == ThresholdMetric::ttfb))
    return r.fail(selector_at, "per name, latency, errors, availability and rps are measured (not service or ttfb)");
  r.skip_spaces();
  const std::size_t op_at = r.at();
  bool op_found = false;
  for (const auto& [w, op] : op_words)
    if (!op_found && r.take(w)) t.op = op, op_found = true;
  if (!op_found) return r.fail(op_at, "an operator: <, <=, >, >= or ==");
  r.skip_spaces();
  if (auto ok = read_limit(r, t); !ok) return std::unexpected(ok.error());
  r.skip_spaces();
  const std::size_t abort_at = r.at();
  if (r.take(":")) {
    if (r.letters() != "abort") return r.fail(abort_at, "':abort' or nothing after the limit");
    if (!t.name.empty()) return r.fail(abort_at, "abort applies to run-wide thresholds, not per name");
    t.abort = true;
    r.skip_spaces();
  }
  if (!r.done()) return r.fail(r.at(), "unexpected '" + std::string(r.word_at(r.at())) + "'");
  std::size_t first = text.find_first_not_of(" \t");
  std::size_t last = text.find_last_not_of(" \t");
  t.text = std::string(text.substr(first, last - first + 1));
  return t;
}

void add_threshold_flag(CLI::App& app, std::vector<std::string>& given) {
  app.add_option("--threshold", given,
                 "Pass/fail objective, k6 style (repeatable; exit 5 when one fails): p99<50ms, errors<0.1%, "
                 "availability>99.9%, rps>20000, ttfb.p95<20ms, 'name:checkout p95<200ms', p99<1s:abort")
      ->allow_extra_args(false)
      ->check(CLI::Validator(
          [](std::string& s) {
            auto t = parse_threshold(s);
            return t ? std::string() : "'" + s + "': " + t.error();
          },
          "EXPR"));
}

namespace {

// A value in the threshold's units as a person reads it: 1.23ms, 0.10%, 20512.3/s.
std::string value_text(ThresholdMetric m, double v) {
  char buf[48];
  if (m == ThresholdMetric::rps) std::snprintf(buf, sizeof buf, "%.1f/s", v);
  else if (!is_time(m)) std::snprintf(buf, sizeof buf, "%.4g%%", v * 100);
  else if (v < 1e3) std::snprintf(buf, sizeof buf, "%.2fus", v);
  else if (v < 1e6) std::snprintf(buf, sizeof buf, "%.2fms", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%.2fs", v / 1e6);
  return buf;
}

// "latency p99 1.23ms", "errors 0.1%", or what kept it from being measured.
std::string measured_text(const Threshold& t, const ThresholdResult& r) {
  std::string what = t.name.empty() ? "" : "'" + t.name + "' ";
  what += to_string(t.metric);
  if (t.stat != ThresholdStat::rate) what += " " + stat_text(t);
  if (!r.measured) return what + " not measured (nothing to measure)";
  return what + " " + value_text(t.metric, r.value);
}

}  // namespace

std::string thresholds_summary(const RunConfig& config, const RunResult& result) {
  const std::vector<ThresholdResult> results = evaluate_thresholds(config, result);
  if (results.empty()) return {};
  std::size_t failed = 0;
  for (const ThresholdResult& r : results) failed += r.passed ? 0 : 1;
  std::string out = "  Thresholds   " + std::to_string(results.size() - failed) + " passed, " +
                    std::to_string(failed) + " failed\n";
  std::size_t width = 0;
  for (const Threshold& t : config.thresholds) width = std::max(width, std::min<std::size_t>(expression(t).size(), 40));
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Threshold& t = config.thresholds[i];
    std::string text = expression(t);
    if (text.size() < width) text.resize(width, ' ');
    out += std::string("    ") + (results[i].passed ? "ok    " : "FAIL  ") + text + "  (" +
           measured_text(t, results[i]) + ")";
    if (results[i].stopped_run) out += "  stopped the run";
    out += "\n";
  }
  return out;
}

std::string thresholds_failure(const RunConfig& config, const RunResult& result) {
  const std::vector<ThresholdResult> results = evaluate_thresholds(config, result);
  std::string list;
  std::size_t failed = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].passed) continue;
    ++failed;
    list += (list.empty() ? "" : ", ") + ("'" + expression(config.thresholds[i]) + "' (") +
            measured_text(config.thresholds[i], results[i]) + (results[i].stopped_run ? "; it stopped the run)" : ")");
  }
  if (failed == 0) return {};
  return std::to_string(failed) + " of " + std::to_string(results.size()) + " thresholds failed: " + list;
}

std::vector<Threshold> parsed_thresholds(const std::vector<std::string>& given) {
  std::vector<Threshold> out;
  for (const std::string& g : given) out.push_back(*parse_threshold(g));
  return out;
}

}  // namespace ringload::cli
