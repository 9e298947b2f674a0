#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "cli/summary.hpp"
#include "cli/thresholds.hpp"
#include "engine/output/thresholds.hpp"
#include "ringload/config_check.hpp"
#include "ringload/report.hpp"

using nlohmann::json;
using ringload::Threshold;
using ringload::ThresholdMetric;
using ringload::ThresholdOp;
using ringload::ThresholdStat;
using ringload::cli::parse_threshold;

namespace {

Threshold parsed(const std::string& text) {
  auto t = parse_threshold(text);
  INFO(text << ": " << (t ? "" : t.error()));
  REQUIRE(t.has_value());
  return *t;
}

ringload::RunConfig config_with(const std::vector<std::string>& thresholds) {
  ringload::RunConfig config;
  ringload::RequestSpec spec;
  spec.url = *ringload::parse_url("http://127.0.0.1:8080/api?x=1");
  config.requests.push_back(spec);
  for (const std::string& t : thresholds) config.thresholds.push_back(parsed(t));
  return config;
}

// 1000 requests in 2 s: 990 succeeded; latencies 1 us .. 1 ms; service 1.5 us; no ttfb.
std::unique_ptr<ringload::RunResult> make_result() {
  auto r = std::make_unique<ringload::RunResult>();
  r->duration_s = 2.0;
  ringload::Counters& c = r->stats.counters;
  c.requests = 1000;
  c.succeeded = 990;
  c.failed = 10;
  for (uint64_t i = 1; i <= 1000; ++i) r->stats.latency.record(i * 1000);
  r->stats.service.record_n(1500, 10);
  ringload::NameStats n;
  n.name = "GET /api";
  n.requests = 400;
  n.succeeded = 300;
  n.failed = 100;
  n.latency.record_n(7'000'000, 400);  // 7 ms each
  r->by_name.push_back(n);
  return r;
}

}  // namespace

TEST_CASE("parse_threshold: every form", "[thresholds]") {
  struct Case {
    const char* text;
    ThresholdMetric metric;
    ThresholdStat stat;
    double percentile;
    ThresholdOp op;
    double limit;
    const char* name;
    bool abort;
  };
  using M = ThresholdMetric;
  using S = ThresholdStat;
  using O = ThresholdOp;
  const std::vector<Case> cases = {
      {"p99<50ms", M::latency, S::percentile, 99, O::lt, 50000, "", false},
      {"p99.9<200ms", M::latency, S::percentile, 99.9, O::lt, 200000, "", false},
      {"p(95)<=20ms", M::latency, S::percentile, 95, O::le, 20000, "", false},
      {"p100<1s", M::latency, S::percentile, 100, O::lt, 1e6, "", false},
      {"p0.29<0.29ms", M::latency, S::percentile, 0.29, O::lt, 290, "", false},  // one rounding
      {"latency.p99<50ms", M::latency, S::percentile, 99, O::lt, 50000, "", false},
      {"ttfb.p95<20ms", M::ttfb, S::percentile, 95, O::lt, 20000, "", false},
      {"service.max<1s", M::service, S::max, 99, O::lt, 1e6, "", false},
      {"service.p(99.99)>=2.5us", M::service, S::percentile, 99.99, O::ge, 2.5, "", false},
      {"avg<10ms", M::latency, S::avg, 99, O::lt, 10000, "", false},
      {"min>=1us", M::latency, S::min, 99, O::ge, 1, "", false},
      {"med<5ms", M::latency, S::med, 99, O::lt, 5000, "", false},
      {"latency.max==0.5ms", M::latency, S::max, 99, O::eq, 500, "", false},
      {"errors<0.1%", M::errors, S::rate, 99, O::lt, 0.001, "", false},
      {"errors<=0.001", M::errors, S::rate, 99, O::le, 0.001, "", false},
      {"errors==0", M::errors, S::rate, 99, O::eq, 0, "", false},
      {"availability>99.9%", M::availability, S::rate, 99, O::gt, 0.999, "", false},
      {"availability>=1", M::availability, S::rate, 99, O::ge, 1, "", false},
      {"rps>20000", M::rps, S::rate, 99, O::gt, 20000, "", false},
      {"rps>=1234.5", M::rps, S::rate, 99, O::ge, 1234.5, "", false},
      {" p99 < 50ms ", M::latency, S::percentile, 99, O::lt, 50000, "", false},
      {"p99<50ms:abort", M::latency, S::percentile, 99, O::lt, 50000, "", true},
      {"errors > 5% :abort", M::errors, S::rate, 99, O::gt, 0.05, "", true},
      {"name:checkout p95<200ms", M::latency, S::percentile, 95, O::lt, 200000, "checkout", false},
      {"name:\"GET /api\" p99<1s", M::latency, S::percentile, 99, O::lt, 1e6, "GET /api", false},
      {"name:'GET /api'  errors<1%", M::errors, S::rate, 99, O::lt, 0.01, "GET /api", false},
      {"name:a:b rps>=10", M::rps, S::rate, 99, O::ge, 10, "a:b", false},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const Threshold t = parsed(c.text);
    CHECK(t.metric == c.metric);
    CHECK(t.stat == c.stat);
    if (c.stat == ThresholdStat::percentile) CHECK(t.percentile == c.percentile);
    CHECK(t.op == c.op);
    CHECK(t.limit == c.limit);
    CHECK(t.name == c.name);
    CHECK(t.abort == c.abort);
    CHECK(t.text == std::string(c.text).substr(std::string(c.text).find_first_not_of(' '),
                                                 std::string(c.text).find_last_not_of(' ') + 1 -
                                                     std::string(c.text).find_first_not_of(' ')));
    CHECK(ringload::check_thresholds(config_with({c.text})).has_value());
  }
}

TEST_CASE("parse_threshold: every error, with its column", "[thresholds]") {
  struct Case {
    const char* text;
    int column;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"", 1, "a metric or statistic"},
      {"<50ms", 1, "a metric or statistic"},
      {"p99<50", 7, "a time needs a unit: us, ms or s"},
      {"p99<50min", 7, "unknown unit 'min'"},
      {"p101<1ms", 2, "a percentile is from 0 to 100"},
      {"p<1ms", 1, "unknown metric or statistic 'p'"},
      {"p()<1ms", 3, "a percentile after 'p'"},
      {"p(99<1ms", 5, "')' after the percentile"},
      {"foo<1ms", 1, "unknown metric or statistic 'foo'"},
      {"latency<1ms", 8, "latency takes a statistic"},
      {"latency.foo<1ms", 9, "a statistic: avg, min, max, med"},
      {"errors.p99<1%", 7, "errors is a rate: it takes no statistic"},
      {"p99 50ms", 5, "an operator"},
      {"p99=50ms", 4, "an operator"},
      {"p99<ms", 5, "a number (the limit)"},
      {"p99<-1ms", 5, "a number (the limit)"},
      {"errors<5", 8, "a fraction is at most 1"},
      {"errors<101%", 8, "a percentage is at most 100%"},
      {"errors<1ms", 9, "a rate is a fraction (0.001) or a percentage (0.1%), not 'ms'"},
      {"rps>20k", 7, "rps is requests per second: a number, no unit"},
      {"p99<50ms:stop", 9, "':abort' or nothing after the limit"},
      {"p99<50ms extra", 10, "unexpected 'extra'"},
      {"name:x ttfb.p95<1ms", 8, "per name, latency, errors, availability and rps"},
      {"name:x service.max<1s", 8, "per name"},
      {"name:x p99<1ms:abort", 15, "abort applies to run-wide thresholds"},
      {"name:", 6, "a request name after 'name:'"},
      {"name: p99<1ms", 6, "a request name after 'name:'"},
      {"name:\"GET /", 6, "the name's closing quote is missing"},
      {"name:'a'p99<1ms", 9, "a space, then the expression"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto t = parse_threshold(c.text);
    REQUIRE_FALSE(t.has_value());
    CHECK_THAT(t.error(), Catch::StartsWith("column " + std::to_string(c.column) + ": "));
    CHECK_THAT(t.error(), Catch::Contains(c.says));
  }
}

TEST_CASE("parse_options: --threshold is repeatable, and a bad one names the flag, the text and the column", "[thresholds]") {
  std::vector<std::string> args = {"ringload", "--threshold", "p99<50ms", "--threshold", "errors<1%",
                                   "http://127.0.0.1:8080/"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  auto o = ringload::cli::parse_options(static_cast<int>(argv.size()), argv.data());
  REQUIRE(o.has_value());
  REQUIRE(o->config.thresholds.size() == 2);
  CHECK(o->config.thresholds[0].text == "p99<50ms");
  CHECK(o->config.thresholds[1].metric == ThresholdMetric::errors);

  args = {"ringload", "--threshold", "p99<50ms", "--threshold", "p99<50", "http://127.0.0.1:8080/"};
  argv.clear();
  for (std::string& a : args) argv.push_back(a.data());
  auto bad = ringload::cli::parse_options(static_cast<int>(argv.size()), argv.data());
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().exit_code == 2);
  CHECK_THAT(bad.error().message, Catch::Contains("--threshold"));
  CHECK_THAT(bad.error().message, Catch::Contains("'p99<50': column 7: a time needs a unit"));
}

TEST_CASE("evaluate_thresholds: the report's own figures, compared with the limit", "[thresholds]") {
  const auto config = config_with({"p99<1ms", "p99<990us", "latency.p50<=501us", "avg<1ms", "max==1000us",
                                   "min>1us", "med>=500us", "service.max<2us", "ttfb.p99<1s", "errors<1%",
                                   "errors<=1%", "availability>=99%", "rps>500", "rps>=501",
                                   "name:'GET /api' p99==7ms", "name:'GET /api' errors<10%",
                                   "name:'GET /api' availability==0.75", "name:'GET /api' rps==200",
                                   "name:'POST /x' p99<1s"});
  const auto result = make_result();
  const auto r = ringload::evaluate_thresholds(config, *result);
  REQUIRE(r.size() == config.thresholds.size());
  const json report = json::parse(ringload::report_json(config, *result));
  const json& lat = report["latency_us"];
  struct Expect {
    bool measured;
    double value;
    bool passed;
  };
  const double p99 = lat["p99"].get<double>();
  const std::vector<Expect> expect = {
      {true, p99, p99 < 1000},
      {true, p99, false},  // p99 of 1..1000 us is ~990 us, not below it
      {true, lat["p50"].get<double>(), true},
      {true, lat["mean"].get<double>(), true},
      {true, lat["max"].get<double>(), true},
      {true, lat["min"].get<double>(), false},  // min is 1 us: not above it
      {true, lat["p50"].get<double>(), true},
      {true, report["service_time_us"]["max"].get<double>(), true},
      {false, 0, false},  // no ttfb recorded: nothing to measure fails
      {true, 0.01, false},
      {true, 0.01, true},
      {true, 0.99, true},
      {true, report["throughput"]["rps"].get<double>(), false},  // 500 is not above 500
      {false, 0, false},  // placeholder: checked below
      {true, 7000, false},  // 7 ms recorded is 7 ms within the histogram's precision
      {true, 0.25, false},
      {true, 0.75, true},
      {true, 200, true},
      {false, 0, false},  // no such name among the results
  };
  for (std::size_t i = 0; i < expect.size(); ++i) {
    INFO(config.thresholds[i].text);
    if (i == 13) {
      CHECK(r[i].value == 500);
      CHECK_FALSE(r[i].passed);
      continue;
    }
    CHECK(r[i].measured == expect[i].measured);
    if (i == 14) {
      CHECK(r[i].value == report["by_name"][0]["latency_us"]["p99"].get<double>());
      CHECK(r[i].passed == (r[i].value == 7000));
      continue;
    }
    if (expect[i].measured) CHECK(r[i].value == expect[i].value);
    CHECK(r[i].passed == expect[i].passed);
  }
  // The report lists each, with the same figures.
  const json& t = report["thresholds"];
  REQUIRE(t.size() == config.thresholds.size());
  CHECK(t[0] == json{{"expression", "p99<1ms"}, {"name", nullptr}, {"metric", "latency"}, {"stat", "p99"},
                     {"op", "<"}, {"limit", 1000.0}, {"unit", "us"}, {"value", p99}, {"passed", r[0].passed},
                     {"abort", false}, {"stopped_run", false}});
  CHECK(t[8]["value"].is_null());
  CHECK(t[9]["unit"] == "ratio");
  CHECK(t[12]["unit"] == "per_s");
  CHECK(t[15]["name"] == "GET /api");
  CHECK(t[15]["stat"] == "rate");
}

TEST_CASE("evaluate_thresholds: a threshold that stopped the run fails", "[thresholds]") {
  const auto config = config_with({"p99<1s:abort", "errors<50%"});
  auto result = make_result();
  result->threshold_stop = 0;
  const auto r = ringload::evaluate_thresholds(config, *result);
  CHECK(r[0].measured);
  CHECK(r[0].stopped_run);
  CHECK_FALSE(r[0].passed);
  CHECK(r[1].passed);
  const std::string text = ringload::cli::render_human(config, *result);
  CHECK_THAT(text, Catch::Contains("Thresholds   1 passed, 1 failed"));
  CHECK_THAT(text, Catch::Contains("FAIL  p99<1s:abort  (latency p99 "));
  CHECK_THAT(text, Catch::Contains("stopped the run"));
  CHECK_THAT(text, Catch::Contains("ok    errors<50%    (errors 1%)"));
  CHECK_THAT(ringload::cli::thresholds_failure(config, *result),
             Catch::StartsWith("1 of 2 thresholds failed: 'p99<1s:abort' (latency p99 "));
  result->threshold_stop = -1;
  CHECK(ringload::cli::thresholds_failure(config_with({"errors<50%"}), *result).empty());
}

TEST_CASE("first_failed_abort: only abort thresholds, only once measured", "[thresholds]") {
  const auto config = config_with({"p99<1us", "rps>1000:abort", "errors<0.5%:abort"});
  const auto result = make_result();
  // 1000 requests after 0.5 s: 2000/s passes; 1% errors fails the third.
  CHECK(ringload::first_failed_abort(config.thresholds, result->stats, 0.5) == 2);
  CHECK(ringload::first_failed_abort(config.thresholds, result->stats, 2.0) == 1);
  ringload::Stats empty;
  CHECK(ringload::first_failed_abort(config_with({"errors<0.5%:abort", "p99<1us:abort"}).thresholds, empty, 1.0) == -1);
}

TEST_CASE("check_thresholds and check_threshold_names", "[thresholds]") {
  ringload::RunConfig config = config_with({"name:'GET /api' p99<1s"});
  CHECK(ringload::check_threshold_names(config).has_value());
  config = config_with({"name:checkout p99<1s"});
  auto bad = ringload::check_threshold_names(config);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().field == "thresholds");
  CHECK(bad.error().to_string([](std::string_view) { return std::string("--threshold"); }) ==
        "--threshold 'name:checkout p99<1s': no request is named 'checkout' (the names: 'GET /api')");
  // What an embedding program may set by hand, and the parser never makes.
  Threshold t;
  t.metric = ThresholdMetric::errors;  // a rate with a percentile
  config.thresholds = {t};
  CHECK_THAT(ringload::check_thresholds(config).error().message, Catch::Contains("a rate takes no statistic"));
  t = Threshold{};
  t.percentile = 101;
  config.thresholds = {t};
  CHECK_THAT(ringload::check_config(config).error().message, Catch::Contains("from 0 to 100"));
  t = Threshold{};
  t.name = "GET /api";
  t.abort = true;
  config.thresholds = {t};
  CHECK_THAT(ringload::check_thresholds(config).error().message, Catch::Contains("not per name"));
  t = Threshold{};
  t.limit = -1;
  config.thresholds = {t};
  CHECK_THAT(ringload::check_thresholds(config).error().to_string(), Catch::Contains("thresholds 'latency.p99<-1us'"));
}
