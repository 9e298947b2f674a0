// UTF-8 validation (proto/utf8.hpp, RFC 3629): boundaries, overlongs, surrogates, code
// points above U+10FFFF and truncation, whole and split at every offset through the
// incremental validator; the sequence lengths the export's escaper relies on.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "proto/utf8.hpp"

using namespace ringload::proto;

namespace {
constexpr std::size_t all = SIZE_MAX;
}  // namespace

TEST_CASE("UTF-8 validator edge cases", "[utf8]") {
  struct Case {
    std::string s;
    std::size_t fail_at;  // `all`: valid; s.size(): truncated at the end
  };
  const std::vector<Case> cases = {
      {"", all}, {"plain ASCII, longer than eight bytes", all},
      {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", all},           // κόσμε
      {"\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", all},           // boundaries of 1-3 bytes
      {"\xed\x9f\xbf\xee\x80\x80", all},                               // U+D7FF, U+E000
      {"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", all},                       // U+10000, U+10FFFF
      {"\x80", 0}, {"ab\xbf", 2}, {"\xc0\x80", 0}, {"\xc1\xbf", 0},    // lone continuation, overlong
      {"\xe0\x80\x80", 1}, {"\xe0\x9f\xbf", 1},                        // overlong 3 bytes
      {"\xf0\x80\x80\x80", 1}, {"\xf0\x8f\xbf\xbf", 1},                // overlong 4 bytes
      {"\xed\xa0\x80", 1}, {"\xed\xbf\xbf", 1},                        // surrogates
      {"\xf4\x90\x80\x80", 1}, {"\xf5\x80\x80\x80", 0}, {"\xff", 0},   // above U+10FFFF
      {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited", 12},
      {"\xc3(", 1}, {"\xe2\x82(", 2}, {"\xf0\x9f\x98(", 3},           // short sequences
      {"01234567\x80", 8}, {"0123456789abcde\xfe", 15},                 // after ASCII runs
      {"\xc3", 1}, {"\xe2\x82", 2}, {"\xf0\x9f\x98", 3},                // truncated at the end
  };
  for (const Case& c : cases) {
    INFO("case: " << Catch::Detail::stringify(c.s));
    const bool valid = c.fail_at == all;
    CHECK(valid_utf8(c.s) == valid);
    for (std::size_t k = 0; k <= c.s.size(); ++k) {
      Utf8Validator v;
      std::size_t ok = v.feed(std::string_view(c.s).substr(0, k));
      if (ok == k) ok += v.feed(std::string_view(c.s).substr(k));
      const bool whole_ok = ok == c.s.size();
      if (valid || c.fail_at == c.s.size()) {
        CHECK(whole_ok);
        CHECK(v.at_boundary() == valid);
      } else {
        CHECK(ok == c.fail_at);
        CHECK_FALSE(v.at_boundary());
      }
    }
  }
}

TEST_CASE("UTF-8 sequence lengths", "[utf8]") {
  struct Case {
    std::string s;
    std::size_t length;
  };
  const std::vector<Case> cases = {
      {"", 0}, {"a", 0}, {"\x7f", 0},                                 // not a multi-byte start
      {"\xc2\x80", 2}, {"\xdf\xbf" "x", 2}, {"\xe0\xa0\x80", 3}, {"\xef\xbf\xbf", 3},
      {"\xf0\x90\x80\x80", 4}, {"\xf4\x8f\xbf\xbf", 4},
      {"\x80", 0}, {"\xc0\x80", 0}, {"\xe0\x9f\xbf", 0}, {"\xed\xa0\x80", 0},  // ill-formed
      {"\xf4\x90\x80\x80", 0}, {"\xf5\x80\x80\x80", 0}, {"\xc3(", 0},
      {"\xc3", 0}, {"\xe2\x82", 0}, {"\xf0\x9f\x98", 0},                         // cut short
  };
  for (const Case& c : cases) {
    INFO("case: " << Catch::Detail::stringify(c.s));
    CHECK(utf8_sequence_length(c.s) == c.length);
  }
}
