// The shared driver of the parser tests: every vector is fed whole, as two reads cut at
// every offset, and byte by byte (picohttpparser's tests do the same), each read copied to
// end flush against a PROT_NONE page (guard_page.hpp) and overwritten by the next one, so a
// parser that reads past its input, or keeps a view of an earlier read, faults or reads
// the wrong bytes.
//
// No test framework here: what to check after each read and at the end stays with the test.
//   for (const Cut& cut : cuts(bytes.size())) {
//     INFO(cut.label(bytes.size()));
//     Parser p;
//     feed_guarded(bytes, cut, guard, [&](std::span<const char> read, std::size_t end) {
//       p.feed(read);               // `end`: offset in `bytes` just past this read
//     });
//     CHECK(result(p) == want);
//   }
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/guard_page.hpp"

namespace ringload::test {

// One way to cut an input into reads: a first read of `first` bytes, then reads of `step`
// bytes (the last one shorter).
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

// Calls read(piece, end) for each read of `bytes` under `cut`: `piece` is a view into
// `bytes`, `end` the offset just past it.
template <class Read>
void feed_reads(std::string_view bytes, const Cut& cut, Read&& read) {
  std::size_t at = 0;
  for (std::size_t len = cut.first; at < bytes.size(); len = cut.step) {
    const std::size_t n = len == 0 ? 1 : (len < bytes.size() - at ? len : bytes.size() - at);
    read(std::span<const char>(bytes.data() + at, n), at + n);
    at += n;
  }
  if (bytes.empty()) read(std::span<const char>(), std::size_t{0});
}

// The same, with each piece copied to end flush against `guard`'s PROT_NONE page; it is
// valid until the next read.
template <class Read>
void feed_guarded(std::string_view bytes, const Cut& cut, GuardPage& guard, Read&& read) {
  feed_reads(bytes, cut, [&](std::span<const char> piece, std::size_t end) {
    read(guard.place(std::string_view(piece.data(), piece.size())), end);
  });
}

}  // namespace ringload::test
