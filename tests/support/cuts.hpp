// The shared driver of the parser tests and fuzz targets: every input is fed whole, as two
// reads cut at every offset (or one, the fuzz targets' pick), and byte by byte
// (picohttpparser's tests do the same), each read copied by the guard page
// (guard_page.hpp) and released after the call, so a parser that reads past its input, or
// keeps a view of a read past the call that lent it, faults, is reported or reads garbage.
//
// No test framework here (and no std::expected, so that a parser test needs none):
// what to check after each read and at the end stays with the caller.
//   for (const Cut& cut : cuts(bytes.size())) {
//     INFO(cut.label(bytes.size()));
//     Parser p;
//     feed_guarded(bytes, cut, guard, [&](std::span<const char> read, std::size_t end) {
//       p.feed(read);               // `end`: offset in `bytes` just past this read
//     });
//     CHECK(result(p) == want);
//   }
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tests/support/guard_page.hpp"

namespace ringload::test {

// One way to cut an input into reads: a first read of `first` bytes (0: an empty read),
// then reads of `step` bytes (the last one shorter).
struct Cut {
  std::size_t first = 0;
  std::size_t step = 0;

  // "whole", "split at 12", "byte by byte" or "reads of 97 bytes", for an n-byte input.
  std::string label(std::size_t n) const {
    if (first >= n) return "whole";
    if (step >= n) return "split at " + std::to_string(first);
    if (first == 1 && step == 1) return "byte by byte";
    return "reads of " + std::to_string(step) + " bytes";
  }
};

// Which cuts to make. Inputs up to `dense` bytes are split at every offset; longer ones at
// every offset within `edge` bytes of either end and at every multiple of `stride`. The
// last cut feeds 1-byte reads, or `long_step`-byte reads for inputs over `dense` (where a
// test re-copies a growing carry buffer per read, byte by byte is quadratic).
struct CutPlan {
  std::size_t dense = SIZE_MAX;
  std::size_t edge = 64;
  std::size_t stride = 997;
  std::size_t long_step = 1;
};

// The cuts of an n-byte input: whole first, then the two-read splits by offset, then the
// small reads. An empty input gets the whole cut only.
inline std::vector<Cut> cuts(std::size_t n, const CutPlan& plan = {}) {
  std::vector<Cut> out{{n, n}};
  if (n == 0) return out;
  const bool dense = n <= plan.dense;
  for (std::size_t k = 1; k < n; ++k) {
    if (dense || k < plan.edge || n - k < plan.edge || k % plan.stride == 0) out.push_back({k, n});
  }
  const std::size_t step = dense ? 1 : plan.long_step;
  if (step < n) out.push_back({step, step});
  return out;
}

namespace detail {

// read(piece, end); false when it returned false (a callback may return void).
template <class Read>
bool keep_feeding(Read& read, std::span<const char> piece, std::size_t end) {
  if constexpr (std::is_void_v<std::invoke_result_t<Read&, std::span<const char>, std::size_t>>) {
    read(piece, end);
    return true;
  } else {
    return static_cast<bool>(read(piece, end));
  }
}

}  // namespace detail

// Calls read(piece, end) for each read of `bytes` under `cut`: `piece` is a view into
// `bytes`, `end` the offset just past it; an empty input gets one empty read, whatever the
// cut. `read` may return false to stop (the parser is done or failed).
template <class Read>
void feed_reads(std::string_view bytes, const Cut& cut, Read&& read) {
  std::size_t len = cut.first;
  if (len == 0 || bytes.empty()) {
    if (!detail::keep_feeding(read, std::span<const char>(bytes.data(), 0), 0)) return;
    len = cut.step;
  }
  for (std::size_t at = 0; at < bytes.size(); len = cut.step) {
    const std::size_t n = std::min(std::max<std::size_t>(len, 1), bytes.size() - at);
    if (!detail::keep_feeding(read, std::span<const char>(bytes.data() + at, n), at + n)) return;
    at += n;
  }
}

// The same, with each piece copied by `guard` (guard_page.hpp) and released once `read`
// returns: the copy is valid during the call only.
template <class Read>
void feed_guarded(std::string_view bytes, const Cut& cut, GuardPage& guard, Read&& read) {
  feed_reads(bytes, cut, [&](std::span<const char> piece, std::size_t end) {
    const bool more = detail::keep_feeding(read, guard.place(std::string_view(piece.data(), piece.size())), end);
    guard.release();
    return more;
  });
}

}  // namespace ringload::test
