#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/duration.hpp"

using namespace std::chrono_literals;
using ringload::cli::parse_duration;
using ringload::cli::parse_size;
using ringload::cli::parse_status_ranges;

TEST_CASE("parse_duration accepts units and fractions", "[duration]") {
  struct Case {
    const char* text;
    std::chrono::nanoseconds expected;
  };
  const std::vector<Case> cases = {
      {"500ms", 500ms},
      {"10s", 10s},
      {"2m", 2min},
      {"2min", 2min},
      {"1h", 1h},
      {"1.5s", 1500ms},
      {"250us", 250us},
      {"250\xC2\xB5s", 250us},
      {"100ns", 100ns},
      {"10", 10s},  // a bare number is seconds
      {"0", 0s},
      {"0.25", 250ms},
      {".5s", 500ms},
      {"007s", 7s},
      {"1.0000000001s", 1s},  // sub-ns fraction truncated
      {"1.999999999999s", 1999999999ns},
      {"0.001ns", 0ns},
      {"1.5h", 90min},
      {" 3s ", 3s},
      {"9223372036854775807ns", std::chrono::nanoseconds{INT64_MAX}},
      {"9223372036.854775807s", std::chrono::nanoseconds{INT64_MAX}},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto d = parse_duration(c.text);
    REQUIRE(d.has_value());
    CHECK(d->count() == c.expected.count());
  }
}

// The fraction is scaled exactly however many digits it has: a digit past the 19th can
// carry into the last ns or byte, and never rounds the value up.
TEST_CASE("parse_duration and parse_size truncate long fractions exactly", "[duration]") {
  const std::string nines(600, '9');
  struct Case {
    std::string text;
    uint64_t value;  // ns or bytes
  };
  const std::vector<Case> durations = {
      {"0.00000000000027777777777777777777778h", 1},  // 1.000000000000000000000008 ns
      {"0.00000000000027777777777777777777777h", 0},  // 0.99999999999999999999997 ns
      {"2.99999999999999999999999999999999999999999m", 179'999'999'999},
      {"1." + nines + "s", 1'999'999'999},
      {"0." + std::string(40, '0') + "1h", 0},
      {"9223372036.854775807" + nines + "s", INT64_MAX},
  };
  for (const Case& c : durations) {
    INFO(c.text);
    auto d = parse_duration(c.text);
    REQUIRE(d.has_value());
    CHECK(static_cast<uint64_t>(d->count()) == c.value);
  }
  const std::vector<Case> sizes = {
      {"0.0000000000009094947017729282379150390625TiB", 1},  // exactly 2^-40 TiB
      {"0.0000000000009094947017729282379150390624TiB", 0},
      {"0.5" + std::string(30, '0') + "1KiB", 512},
      {"1." + nines + "k", 1999},
  };
  for (const Case& c : sizes) {
    INFO(c.text);
    auto s = parse_size(c.text);
    REQUIRE(s.has_value());
    CHECK(*s == c.value);
  }
}

TEST_CASE("parse_duration rejects bad input with a reason", "[duration]") {
  struct Case {
    const char* text;
    const char* error_part;
  };
  const std::vector<Case> cases = {
      {"", "empty duration"},
      {"   ", "empty duration"},
      {"-1s", "negative duration '-1s'"},
      {"-0", "negative"},
      {"10x", "unknown unit 'x'"},
      {"10S", "unknown unit 'S'"},
      {"1e3s", "unknown unit 'e3s'"},
      {"10 s", "unknown unit ' s'"},
      {"5sec", "unknown unit 'sec'"},
      {"abc", "bad duration 'abc'"},
      {"s", "bad duration"},
      {".", "bad duration"},
      {"+5s", "bad duration"},
      {"1..5s", "unknown unit '.5s'"},
      {"9223372036854775808ns", "too large"},
      {"9223372037s", "too large"},
      {"99999999999999999999999999h", "too large"},
      {"3000000h", "too large"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto d = parse_duration(c.text);
    REQUIRE_FALSE(d.has_value());
    CHECK_THAT(d.error(), Catch::Contains(c.error_part));
  }
}

TEST_CASE("parse_size accepts decimal and binary units", "[duration]") {
  struct Case {
    const char* text;
    uint64_t expected;
  };
  const std::vector<Case> cases = {
      {"0", 0},
      {"1234", 1234},
      {"1234B", 1234},
      {"1k", 1000},
      {"1K", 1000},
      {"1KB", 1000},
      {"1kB", 1000},
      {"64KiB", 64 * 1024},
      {"64ki", 64 * 1024},
      {"1MiB", 1024 * 1024},
      {"1M", 1'000'000},
      {"2MB", 2'000'000},
      {"1.5KiB", 1536},
      {"1.5k", 1500},
      {"0.0001k", 0},  // truncated to whole bytes
      {"1GiB", uint64_t{1} << 30},
      {"3G", 3'000'000'000},
      {"1TiB", uint64_t{1} << 40},
      {"2T", 2'000'000'000'000},
      {"18446744073709551615", UINT64_MAX},
      {"16777215.999999TiB", (uint64_t{16777215} << 40) + 1099510528264},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto s = parse_size(c.text);
    REQUIRE(s.has_value());
    CHECK(*s == c.expected);
  }
}

TEST_CASE("parse_size rejects bad input with a reason", "[duration]") {
  struct Case {
    const char* text;
    const char* error_part;
  };
  const std::vector<Case> cases = {
      {"", "empty size"},
      {"-1k", "negative size"},
      {"1x", "unknown unit 'x'"},
      {"1KiBs", "unknown unit 'KiBs'"},
      {"1Pi", "unknown unit 'Pi'"},
      {"KiB", "bad size"},
      {"18446744073709551616", "too large"},
      {"16777216TiB", "too large"},
      {"99999999999999999999999999", "too large"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto s = parse_size(c.text);
    REQUIRE_FALSE(s.has_value());
    CHECK_THAT(s.error(), Catch::Contains(c.error_part));
  }
}

TEST_CASE("parse_status_ranges accepts codes, ranges and classes", "[duration]") {
  struct Range {
    int lo;
    int hi;
  };
  struct Case {
    const char* text;
    std::vector<Range> expected;
  };
  const std::vector<Case> cases = {
      {"200", {{200, 200}}},
      {"200-299,404", {{200, 299}, {404, 404}}},
      {"2xx,3xx", {{200, 299}, {300, 399}}},
      {"2XX", {{200, 299}}},
      {" 200 - 204 , 5xx ", {{200, 204}, {500, 599}}},
      {"100-999", {{100, 999}}},
      {"418-418", {{418, 418}}},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto r = parse_status_ranges(c.text);
    REQUIRE(r.has_value());
    REQUIRE(r->size() == c.expected.size());
    for (std::size_t i = 0; i < r->size(); ++i) {
      CHECK((*r)[i].lo == c.expected[i].lo);
      CHECK((*r)[i].hi == c.expected[i].hi);
    }
  }
}

TEST_CASE("parse_status_ranges rejects bad input with a reason", "[duration]") {
  struct Case {
    const char* text;
    const char* error_part;
  };
  const std::vector<Case> cases = {
      {"", "empty status list"},
      {"200,", "empty item"},
      {",200", "empty item"},
      {"200,,300", "empty item"},
      {"299-200", "low > high"},
      {"99", "bad status code '99'"},
      {"1000", "bad status code '1000'"},
      {"099", "bad status code '099'"},
      {"20x", "bad status code '20x'"},
      {"0xx", "bad status class '0xx'"},
      {"ok", "bad status code 'ok'"},
      {"200-", "bad status code ''"},
      {"-300", "bad status code ''"},
      {"200-300-400", "bad status code '300-400'"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto r = parse_status_ranges(c.text);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error(), Catch::Contains(c.error_part));
  }
}
