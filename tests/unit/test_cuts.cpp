// The shared parser-test driver itself (tests/support/cuts.hpp), which the unit tests and
// the fuzz targets feed their parsers through.
#include <catch2/catch.hpp>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/cuts.hpp"

using ringload::test::Cut;
using ringload::test::cuts;
using ringload::test::feed_guarded;
using ringload::test::feed_reads;
using ringload::test::GuardPage;

namespace {

struct Read {
  std::string bytes;
  std::size_t end;
  bool operator==(const Read&) const = default;
};

std::vector<Read> reads_of(std::string_view input, const Cut& cut) {
  std::vector<Read> out;
  feed_reads(input, cut, [&](std::span<const char> piece, std::size_t end) {
    out.push_back({std::string(piece.data(), piece.size()), end});
  });
  return out;
}

}  // namespace

TEST_CASE("feed_reads cuts an input into the reads a Cut describes", "[cuts]") {
  const std::string_view in = "abcdefg";
  CHECK(reads_of(in, {7, 7}) == std::vector<Read>{{"abcdefg", 7}});
  CHECK(reads_of(in, {3, 7}) == std::vector<Read>{{"abc", 3}, {"defg", 7}});
  CHECK(reads_of(in, {1, 1}).size() == 7);
  CHECK(reads_of(in, {2, 3}) == std::vector<Read>{{"ab", 2}, {"cde", 5}, {"fg", 7}});
  // first 0: an empty read, then the steps (a parser must take an empty read mid-stream).
  CHECK(reads_of(in, {0, 7}) == std::vector<Read>{{"", 0}, {"abcdefg", 7}});
  // An empty input gets one empty read, whatever the cut.
  for (const Cut& cut : {Cut{0, 0}, Cut{1, 1}, Cut{5, 5}}) CHECK(reads_of("", cut) == std::vector<Read>{{"", 0}});
}

TEST_CASE("every cut of cuts() feeds the whole input, in order", "[cuts]") {
  const std::string in(3000, 'x');
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{700}, in.size()}) {
    const std::string_view input(in.data(), n);
    const std::vector<Cut> all = cuts(n, {.dense = 600});
    CHECK(all.front().label(n) == "whole");
    for (const Cut& cut : all) {
      INFO(n << " bytes, " << cut.label(n));
      std::string joined;
      std::size_t last_end = 0;
      feed_reads(input, cut, [&](std::span<const char> piece, std::size_t end) {
        joined.append(piece.data(), piece.size());
        CHECK(end == last_end + piece.size());
        last_end = end;
      });
      CHECK(joined == input);
    }
  }
}

TEST_CASE("feed_reads stops when the callback returns false", "[cuts]") {
  std::size_t calls = 0;
  feed_reads("abcdef", {1, 1}, [&](std::span<const char>, std::size_t end) {
    ++calls;
    return end < 3;
  });
  CHECK(calls == 3);
}

TEST_CASE("feed_guarded hands the callback a copy, valid during the call", "[cuts]") {
  GuardPage guard;
  const std::string_view in = "0123456789";
  std::string joined;
  std::span<const char> last;
  feed_guarded(in, {4, 4}, guard, [&](std::span<const char> read, std::size_t end) {
    CHECK(read.data() != in.data() + (end - read.size()));  // not the caller's bytes
    joined.append(read.data(), read.size());
    last = read;
  });
  CHECK(joined == in);
  // Released after the call: without ASan its bytes are overwritten (under ASan it is
  // freed, and reading `last` here would be reported).
  if (!ringload::test::exact_copies) CHECK(std::string(last.data(), last.size()) == "\xa5\xa5");
}
