// One shard's share of the run's request sequence. The run sends positions 0, 1, 2 ...
// (pass = position / lines, line = position % lines or its place in the pass's shuffle);
// shard k of T sends positions k, k + T, k + 2T ... below the limit, so the shards
// together send each exactly once, and each shard in order.
#pragma once
#include <cstdint>
#include <vector>

namespace ringload {

class Sequence {
 public:
  // Throws std::bad_alloc (setup time only).
  void init(uint64_t first, uint64_t step, uint64_t limit, uint64_t lines, bool shuffle, uint64_t seed);

  bool done() const noexcept { return next_ >= limit_; }
  uint64_t position() const noexcept { return next_; }
  uint64_t pass() const noexcept { return next_ / lines_; }
  // The request line at the current position.
  uint32_t line() noexcept;
  void advance() noexcept { next_ += step_; }

 private:
  uint64_t next_ = 0;
  uint64_t step_ = 1;
  uint64_t limit_ = 0;
  uint64_t lines_ = 1;
  uint64_t seed_ = 0;
  bool shuffle_ = false;
  std::vector<uint32_t> order_;     // the shuffled order of pass order_pass_
  uint64_t order_pass_ = UINT64_MAX;
};

}  // namespace ringload
