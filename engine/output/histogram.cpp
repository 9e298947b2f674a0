#include "ringload/histogram.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cmath>
#include <limits>

namespace ringload {

namespace {

constexpr int sub_bucket_half_bits = Histogram::sub_bucket_bits - 1;  // 10
constexpr uint64_t sub_bucket_mask = Histogram::sub_bucket_count - 1;
constexpr uint64_t empty_min = std::numeric_limits<uint64_t>::max();

}  // namespace

// HdrHistogram's counts_index_for() with unit_magnitude 0. OR-ing in the sub-bucket
// mask puts every value below 2048 in bucket 0, where index == value (exact).
std::size_t Histogram::index_of(uint64_t value) noexcept {
  const int pow2_ceiling = 64 - std::countl_zero(value | sub_bucket_mask);
  const int bucket = pow2_ceiling - (sub_bucket_half_bits + 1);
  const uint64_t sub_bucket = value >> bucket;
  // (bucket + 1) * half + (sub_bucket - half) simplifies to bucket * half + sub_bucket.
  return (static_cast<std::size_t>(bucket) << sub_bucket_half_bits) + sub_bucket;
}

uint64_t Histogram::lowest_equivalent(std::size_t index) noexcept {
  int bucket = static_cast<int>(index >> sub_bucket_half_bits) - 1;
  uint64_t sub_bucket = (index & (sub_bucket_half - 1)) + sub_bucket_half;
  if (bucket < 0) {  // the lower half of bucket 0
    bucket = 0;
    sub_bucket -= sub_bucket_half;
  }
  return sub_bucket << bucket;
}

uint64_t Histogram::highest_equivalent(std::size_t index) noexcept {
  const int bucket = std::max(static_cast<int>(index >> sub_bucket_half_bits) - 1, 0);
  return lowest_equivalent(index) + (uint64_t{1} << bucket) - 1;
}

namespace {

// The counts' own mapping: fresh zero pages, backed only where written.
uint64_t* allocate_counts(bool& mapped) noexcept {
  constexpr std::size_t bytes = Histogram::counts_len * sizeof(uint64_t);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  mapped = mem != MAP_FAILED;
  if (!mapped) mem = std::calloc(Histogram::counts_len, sizeof(uint64_t));
  if (mem == nullptr) std::abort();  // no memory for statistics: nothing sensible is left
  return static_cast<uint64_t*>(mem);
}

}  // namespace

Histogram::Histogram() noexcept : counts_(allocate_counts(mapped_)) { reset(); }

Histogram::Histogram(const Histogram& other) noexcept : counts_(allocate_counts(mapped_)) {
  reset();
  *this = other;
}

Histogram::~Histogram() {
  if (mapped_) {
    munmap(counts_, counts_len * sizeof(uint64_t));
  } else {
    std::free(counts_);
  }
}

std::size_t Histogram::first() const noexcept { return total_ == 0 ? counts_len : index_of(min_); }

std::size_t Histogram::last() const noexcept { return total_ == 0 ? 0 : index_of(max_); }

std::size_t Histogram::resident_bytes() const noexcept {
  constexpr std::size_t per_page = 4096 / sizeof(uint64_t);
  const std::size_t fields = sizeof(Histogram);
  if (total_ == 0) return fields;
  return fields + (last() / per_page - first() / per_page + 1) * 4096;
}

// Only the range that may hold counts is touched (see the header).
void Histogram::reset() noexcept {
  for (std::size_t i = first(), end = last(); i <= end && i < counts_len; ++i) counts_[i] = 0;
  total_ = 0;
  clamped_ = 0;
  min_ = empty_min;
  max_ = 0;
  sum_ = 0;
  sum_sq_ = 0;
}

Histogram& Histogram::operator=(const Histogram& other) noexcept {
  if (this == &other) return *this;
  reset();
  for (std::size_t i = other.first(), end = other.last(); i <= end && i < counts_len; ++i) counts_[i] = other.counts_[i];
  total_ = other.total_;
  clamped_ = other.clamped_;
  min_ = other.min_;
  max_ = other.max_;
  sum_ = other.sum_;
  sum_sq_ = other.sum_sq_;
  return *this;
}

// Hot path: one clamp, conditional moves, no allocation. Values beyond the layout are
// recorded as highest_trackable, so every statistic (max, mean) stays inside it.
void Histogram::record_n(uint64_t value_ns, uint64_t n) noexcept {
  const bool over = value_ns > highest_trackable;
  const uint64_t v = over ? highest_trackable : value_ns;
  clamped_ += static_cast<uint64_t>(over) * n;
  counts_[index_of(v)] += n;
  total_ += n;
  // n == 0 must not move min/max (it would claim a value that was never seen); masks
  // rather than a test, which compilers turn into a branch.
  const uint64_t none = n == 0;
  min_ = std::min(min_, v | (0 - none));   // n == 0: all ones, never below min_
  max_ = std::max(max_, v & (none - 1));   // n == 0: zero, never above max_
  const double d = static_cast<double>(v);
  // Through int64_t: the unsigned conversion costs a sign test, and no count reaches 2^63.
  const double dn = static_cast<double>(static_cast<int64_t>(n));
  sum_ += d * dn;
  sum_sq_ += d * d * dn;
}

void Histogram::record_bucket(std::size_t index, uint64_t n) noexcept {
  if (n == 0 || index >= counts_len) return;
  const uint64_t lo = lowest_equivalent(index);
  const uint64_t hi = highest_equivalent(index);
  counts_[index] += n;
  total_ += n;
  min_ = std::min(min_, lo);
  max_ = std::max(max_, hi);
  const double median = static_cast<double>(lo + (hi - lo + 1) / 2);
  const double dn = static_cast<double>(n);
  sum_ += median * dn;
  sum_sq_ += median * median * dn;
}

void Histogram::merge(const Histogram& other) noexcept {
  for (std::size_t i = other.first(), end = other.last(); i <= end && i < counts_len; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  clamped_ += other.clamped_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  sum_sq_ += other.sum_sq_;
}

void Histogram::subtract(const Histogram& older) noexcept {
  // Saturating, and the total recounted from the buckets: a snapshot taken while the
  // owner was writing may be slightly ahead in one field; never wrap around.
  uint64_t total = 0;
  std::size_t lowest = counts_len;
  std::size_t highest = 0;
  const std::size_t older_first = older.first(), older_last = older.last();
  for (std::size_t i = first(), end = last(); i <= end && i < counts_len; ++i) {
    const uint64_t a = counts_[i];
    const uint64_t b = i >= older_first && i <= older_last ? older.counts_[i] : 0;
    const uint64_t c = a > b ? a - b : 0;
    counts_[i] = c;
    total += c;
    if (c != 0) {
      lowest = std::min(lowest, i);
      highest = i;
    }
  }
  total_ = total;
  clamped_ = clamped_ > older.clamped_ ? clamped_ - older.clamped_ : 0;
  if (total == 0) {
    min_ = empty_min;
    max_ = 0;
    sum_ = 0;
    sum_sq_ = 0;
    return;
  }
  // The window's exact extremes were never recorded: report its outer bucket bounds.
  min_ = lowest_equivalent(lowest);
  max_ = highest_equivalent(highest);
  sum_ = std::max(sum_ - older.sum_, 0.0);
  sum_sq_ = std::max(sum_sq_ - older.sum_sq_, 0.0);
}

uint64_t Histogram::min() const noexcept { return total_ == 0 ? 0 : min_; }

uint64_t Histogram::max() const noexcept { return total_ == 0 ? 0 : max_; }

double Histogram::mean() const noexcept {
  return total_ == 0 ? 0.0 : sum_ / static_cast<double>(total_);
}

double Histogram::stdev() const noexcept {
  if (total_ == 0) return 0.0;
  const double n = static_cast<double>(total_);
  const double m = sum_ / n;
  // Population variance, like HdrHistogram; rounding can make it slightly negative.
  const double var = sum_sq_ / n - m * m;
  return var > 0 ? std::sqrt(var) : 0.0;
}

uint64_t Histogram::percentile(double p) const noexcept {
  if (total_ == 0) return 0;
  if (!(p > 0)) return min();  // also NaN
  if (p >= 100) return max();
  const double exact = p / 100.0 * static_cast<double>(total_);
  // p / 100 is inexact in binary (99.9 / 100 * 1000 = 999.0000000000001): shave a few
  // ulps before the ceiling so whole ranks stay whole.
  auto rank = static_cast<uint64_t>(std::ceil(exact * (1.0 - 1e-12)));
  rank = std::clamp<uint64_t>(rank, 1, total_);
  uint64_t seen = 0;
  for (std::size_t i = first(), end = last(); i <= end && i < counts_len; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(highest_equivalent(i), max());
  }
  return max();
}

}  // namespace ringload
