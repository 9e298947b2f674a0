// Log-linear latency histogram (HdrHistogram layout), one fixed layout everywhere so
// histograms from shards, windows, runs and machines merge exactly by adding counts.
//
// Values are nanoseconds. 2048 sub-buckets per power of two (3 significant decimal
// digits), exact below 2048 ns, tracked up to 2^37 ns (~137 s); larger values are
// clamped into the top bucket (and counted in `clamped()`).
//
// Memory: the counts (224 KiB) live in their own anonymous mapping, and only the range
// between the lowest and highest non-empty count is ever read or written (reset, copy,
// merge, subtract, percentiles). A page no count reached was never touched and costs
// nothing (on this kernel even a read would back it): an unused histogram (a run without
// TLS, streams or pacing) costs one page of fields, a used one the pages its values span.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "ringload/export.hpp"

namespace ringload {

class RINGLOAD_API Histogram {
 public:
  static constexpr int sub_bucket_bits = 11;
  static constexpr uint64_t sub_bucket_count = uint64_t{1} << sub_bucket_bits;  // 2048
  static constexpr uint64_t sub_bucket_half = sub_bucket_count / 2;
  static constexpr int bucket_count = 27;  // 2048 << 26 = 2^37 ns
  static constexpr std::size_t counts_len = (bucket_count + 1) * sub_bucket_half;
  static constexpr uint64_t highest_trackable = (uint64_t{1} << (sub_bucket_bits + bucket_count - 1)) - 1;

  Histogram() noexcept;
  Histogram(const Histogram& other) noexcept;
  Histogram& operator=(const Histogram& other) noexcept;
  ~Histogram();

  void record(uint64_t value_ns) noexcept { record_n(value_ns, 1); }
  void record_n(uint64_t value_ns, uint64_t n) noexcept;
  void reset() noexcept;
  // Adds n counts to bucket `index` (< counts_len) as HdrHistogram's decoders do: the
  // bucket's lowest and highest equivalent values bound min and max, its median one
  // (lowest + half its width) enters mean and stdev. For decoded histograms (hdr_decode).
  void record_bucket(std::size_t index, uint64_t n) noexcept;

  // Exact: the result is what recording both streams into one histogram would give.
  void merge(const Histogram& other) noexcept;
  // this -= older, where `older` is an earlier snapshot of the same stream (a window).
  // min/max become the bounds of the lowest/highest non-empty bucket.
  void subtract(const Histogram& older) noexcept;

  uint64_t count() const noexcept { return total_; }
  uint64_t clamped() const noexcept { return clamped_; }
  uint64_t min() const noexcept;  // 0 when empty
  uint64_t max() const noexcept;  // 0 when empty
  double mean() const noexcept;
  double stdev() const noexcept;
  // HdrHistogram semantics: the highest value equivalent to the bucket holding the
  // ceil(p/100 * count)-th value; p in [0, 100]; 0 when empty; max() for p = 100.
  uint64_t percentile(double p) const noexcept;

  static std::size_t index_of(uint64_t value) noexcept;
  static uint64_t lowest_equivalent(std::size_t index) noexcept;
  static uint64_t highest_equivalent(std::size_t index) noexcept;

  // All counts_len counts (reading them all backs every page: for tests and tools).
  std::span<const uint64_t> counts() const noexcept { return {counts_, counts_len}; }
  // Bytes of memory in use: the pages of counts between the lowest and highest
  // non-empty count.
  std::size_t resident_bytes() const noexcept;

 private:
  // [first, last] indices that may hold counts; first > last: none. Derived from
  // min_/max_, which bound every recorded value (after subtract: bucket bounds).
  std::size_t first() const noexcept;
  std::size_t last() const noexcept;

  uint64_t* counts_;   // counts_len, zero where never written
  bool mapped_ = true; // counts_ from mmap (else calloc, when mmap failed)
  uint64_t total_ = 0;
  uint64_t clamped_ = 0;
  uint64_t min_ = 0;  // exact while only record/merge were used
  uint64_t max_ = 0;
  double sum_ = 0;     // for mean/stdev (sum of values and of squares, in ns)
  double sum_sq_ = 0;
};

}  // namespace ringload
