// ringload merge's value rules (cli/merge_values.cpp): histogram blocks merge exactly,
// counts add, timelines align on wall time.
#include <catch2/catch.hpp>

#include <cmath>

#include "cli/merge_values.hpp"
#include "ringload/hdr_encoding.hpp"
#include "ringload/histogram.hpp"

using ringload::Histogram;
using namespace ringload::cli::merge;

namespace {

constexpr std::pair<const char*, double> ps[] = {{"p50", 50}, {"p75", 75}, {"p90", 90}, {"p95", 95},
                                                 {"p99", 99}, {"p99_9", 99.9}, {"p99_99", 99.99}};

// A report's histogram block, as report_json writes it.
json block(const Histogram& h) {
  json out = {{"count", h.count()}, {"hdr", ringload::hdr_encode(h)}, {"min", h.min() / 1e3},
              {"max", h.max() / 1e3}, {"mean", h.mean() / 1e3}, {"stdev", h.stdev() / 1e3}};
  for (const auto& [key, p] : ps) out[key] = h.percentile(p) / 1e3;
  return out;
}

}  // namespace

TEST_CASE("merge: two histogram blocks equal the block of all their values", "[merge]") {
  Histogram a, b, all;
  for (uint64_t i = 1; i <= 3000; ++i) {
    const uint64_t v = i * 997 % 5'000'000 + 1000;  // 1 us .. 5 ms, spread
    (i % 3 == 0 ? b : a).record(v);
    all.record(v);
  }
  b.record(2'000'000'000);  // one slow outlier in one shard
  all.record(2'000'000'000);
  const json merged = add(block(a), block(b));
  const json want = block(all);
  CHECK(merged["count"] == want["count"]);
  CHECK(merged["hdr"] == want["hdr"]);  // the same histogram, bucket by bucket
  for (const auto& [key, p] : ps) {
    INFO(key);
    CHECK(merged[key].get<double>() == Approx(want[key].get<double>()));
  }
  CHECK(merged["min"] == want["min"]);
  CHECK(merged["max"] == want["max"]);
  CHECK(merged["mean"].get<double>() == Approx(want["mean"].get<double>()));
  CHECK(merged["stdev"].get<double>() == Approx(want["stdev"].get<double>()).epsilon(1e-6));
}

TEST_CASE("merge: an empty block leaves the other as it was", "[merge]") {
  Histogram a, empty;
  a.record(5000);
  const json merged = add(block(empty), block(a));
  CHECK(merged["count"] == 1);
  CHECK(merged["p50"] == block(a)["p50"]);
  CHECK(merged["min"] == 5.0);
}

TEST_CASE("merge: a block whose hdr disagrees with its count is refused", "[merge]") {
  Histogram a;
  a.record(5000);
  json bad = block(a);
  bad["count"] = 2;
  CHECK_THROWS_AS(add(bad, block(a)), MergeError);
  bad = block(a);
  bad["hdr"] = "not base64 at all";
  CHECK_THROWS_AS(add(bad, block(a)), MergeError);
}

TEST_CASE("merge: counts add, strings and first messages are the first's", "[merge]") {
  const json a = {{"total", 3}, {"kind", "x"}, {"flag", false}, {"none", nullptr}, {"rate", 1.5}};
  const json b = {{"total", 4}, {"kind", "y"}, {"flag", true}, {"none", 7}, {"rate", 2.0}, {"extra", 1}};
  const json m = add(a, b);
  CHECK(m["total"] == 7);
  CHECK(m["total"].is_number_integer());  // integers stay integers
  CHECK(m["kind"] == "x");
  CHECK(m["flag"] == true);
  CHECK(m["none"] == 7);
  CHECK(m["rate"].get<double>() == 3.5);
  CHECK(m["extra"] == 1);
}

TEST_CASE("merge: timelines align on wall time", "[merge]") {
  const json a = json::array({{{"t_s", 1.0}, {"duration_s", 1.0}, {"requests", 10}, {"rps", 10.0}, {"p99_us", 5.0}},
                              {{"t_s", 2.0}, {"duration_s", 1.0}, {"requests", 20}, {"rps", 20.0}, {"p99_us", 9.0}},
                              {{"t_s", 2.4}, {"duration_s", 0.4}, {"requests", 4}, {"rps", 10.0}, {"p99_us", 1.0}}});
  // Started 1.01 s later: its first window is the merged second one.
  const json b = json::array({{{"t_s", 1.0}, {"duration_s", 1.0}, {"requests", 7}, {"rps", 7.0}, {"p99_us", 12.0}}});
  const json m = merge_timelines({{&a, 0.0}, {&b, 1.01}}, 1.0, false);
  REQUIRE(m.size() == 3);
  CHECK(m[0]["requests"] == 10);
  CHECK(m[1]["requests"] == 27);
  CHECK(m[1]["rps"].get<double>() == 27.0);
  CHECK(m[1]["p99_us"].get<double>() == 12.0);  // the highest of the shards'
  CHECK(m[1]["t_s"].get<double>() == Approx(2.01));
  CHECK(m[2]["requests"] == 4);
}

TEST_CASE("merge: by_name adds entries with the same name, first-seen order", "[merge]") {
  const json a = json::array({{{"name", "x"}, {"requests", 2}}, {{"name", "y"}, {"requests", 1}}});
  const json b = json::array({{{"name", "z"}, {"requests", 5}}, {{"name", "x"}, {"requests", 3}}});
  const json m = merge_keyed({&a, &b}, "name", false);
  REQUIRE(m.size() == 3);
  CHECK(m[0] == json{{"name", "x"}, {"requests", 5}});
  CHECK(m[2]["name"] == "z");
  const json i1 = json::array({{{"iteration", 1}, {"requests", 2}}});
  const json i0 = json::array({{{"iteration", 0}, {"requests", 4}}, {{"iteration", 1}, {"requests", 1}}});
  const json it = merge_keyed({&i1, &i0}, "iteration", true);
  CHECK(it == json::array({{{"iteration", 0}, {"requests", 4}}, {{"iteration", 1}, {"requests", 3}}}));
}

TEST_CASE("merge: started_at parses RFC 3339 UTC with milliseconds", "[merge]") {
  CHECK(parse_started_at("2026-12-04T08:00:00.123Z") == Approx(1796371200.123));
  CHECK_THROWS_AS(parse_started_at("2026-12-04T08:00:00Z"), MergeError);
}
