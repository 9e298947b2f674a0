// html_report / percentile_spectrum (ringload/html_report.hpp) on reports made in memory;
// tests/integration/test_html_report.py looks at real pages in a browser.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>

#include "ringload/hdr_encoding.hpp"
#include "ringload/histogram.hpp"
#include "ringload/html_report.hpp"
#include "ringload/report.hpp"
#include "ringload/url.hpp"

namespace {

std::string a_report() {
  ringload::RunConfig config;
  config.connections = 2;
  ringload::RequestSpec spec;
  spec.url = *ringload::parse_url("http://127.0.0.1:8080/");
  config.requests.push_back(spec);
  auto result = std::make_unique<ringload::RunResult>();
  for (uint64_t v = 1; v <= 1000; ++v) result->stats.latency.record(v * 1000);
  result->stats.counters.requests = 1000;
  result->stats.counters.succeeded = 1000;
  result->stats.counters.status[200] = 1000;
  result->duration_s = 1;
  ringload::Window w;
  w.t_s = 1;
  w.duration_s = 1;
  w.requests = 1000;
  result->timeline.push_back(w);
  return ringload::report_json(config, *result);
}

std::string page_error(const std::string& text) {
  const ringload::HtmlInput in{"x.json", text};
  auto page = ringload::html_report(std::span<const ringload::HtmlInput>(&in, 1));
  return page ? std::string() : page.error();
}

}  // namespace

TEST_CASE("percentile_spectrum: HdrHistogram's percentile steps, ending at the maximum", "[html]") {
  ringload::Histogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.record(v * 1000);  // 1 .. 1000 us
  auto points = ringload::percentile_spectrum(ringload::hdr_encode(h));
  REQUIRE(points);
  // x = 2^(k/5) up to the first x >= 1000 (k = 50), then the maximum.
  REQUIRE(points->size() == 52);
  CHECK(points->front().x == 1.0);
  CHECK(points->at(5).x == Approx(2.0));
  CHECK(points->at(5).percentile == Approx(50.0));
  CHECK(points->at(5).value_us == Approx(h.percentile(50) / 1e3));
  CHECK(points->at(50).x >= 1000.0);
  CHECK(points->back().percentile == 100.0);
  CHECK(points->back().value_us == Approx(h.max() / 1e3).epsilon(0.001));  // a bucket's bound: 3 digits
  for (std::size_t i = 1; i < points->size(); ++i) CHECK(points->at(i).value_us >= points->at(i - 1).value_us);
  auto empty = ringload::percentile_spectrum(ringload::hdr_encode(ringload::Histogram()));
  REQUIRE(empty);
  CHECK(empty->empty());
  CHECK_FALSE(ringload::percentile_spectrum("not base64 !"));
}

TEST_CASE("html_report: one page with the data, the tables and the inlined Chart.js", "[html]") {
  const std::string report = a_report();
  const ringload::HtmlInput in[] = {{"dir/a.json", report}, {"b.json", report}};
  auto one = ringload::html_report(std::span<const ringload::HtmlInput>(in, 1));
  REQUIRE(one);
  CHECK(one->starts_with("<!DOCTYPE html>"));
  CHECK(one->find("Chart.js v3.9.1") != std::string::npos);
  CHECK(one->find("id=\"chart-percentiles\"") != std::string::npos);
  CHECK(one->find("data-key=\"requests.total\" data-value=\"1000\">1,000</td>") != std::string::npos);
  CHECK(one->find("</script", one->find("id=\"ringload-data\"")) > one->find("\"mode\":\"run\""));
  auto two = ringload::html_report(in);
  REQUIRE(two);
  CHECK(two->find("2 runs compared") != std::string::npos);
  CHECK(two->find("data-ratio=\"1\"") != std::string::npos);
}

TEST_CASE("html_report: bad input is an error naming it", "[html]") {
  CHECK(page_error("{nope") == "x.json: not JSON (not a ringload report)");
  CHECK(page_error("{\"a\": 1}") == "x.json: not a ringload report (no ringload_version)");
  std::string other = a_report();
  other.replace(other.find(RINGLOAD_VERSION), std::string(RINGLOAD_VERSION).size(), "9.9.9");
  CHECK(page_error(other).starts_with("x.json: ringload_version 9.9.9: this ringload"));
  std::string bad_hdr = a_report();
  const std::size_t at = bad_hdr.find("HISTF", bad_hdr.find("\"latency_us\""));
  bad_hdr.replace(at, 5, "!!!!!");
  CHECK(page_error(bad_hdr).starts_with("x.json: "));
  CHECK(page_error(bad_hdr).find("latency_us.hdr: ") != std::string::npos);
  CHECK_FALSE(ringload::html_report({}));
}
