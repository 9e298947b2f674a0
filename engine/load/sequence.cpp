#include "engine/load/sequence.hpp"

#include <utility>

namespace ringload {

void Sequence::init(uint64_t first, uint64_t step, uint64_t limit, uint64_t lines, bool shuffle, uint64_t seed) {
  next_ = first;
  step_ = step;
  limit_ = limit;
  lines_ = lines;
  shuffle_ = shuffle;
  seed_ = seed;
  if (shuffle) order_.resize(lines);
}

uint32_t Sequence::line() noexcept {
  const uint64_t index = next_ % lines_;
  if (!shuffle_) return static_cast<uint32_t>(index);
  const uint64_t pass = next_ / lines_;
  if (pass != order_pass_) {
    // Every shard computes the same permutation from (seed, pass): reproducible.
    uint64_t state = seed_ ^ (pass * 0x9e3779b97f4a7c15ull);
    auto next = [&state] {
      uint64_t z = (state += 0x9e3779b97f4a7c15ull);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      return z ^ (z >> 31);
    };
    for (uint32_t i = 0; i < lines_; ++i) order_[i] = i;
    for (uint64_t i = lines_ - 1; i > 0; --i) std::swap(order_[i], order_[next() % (i + 1)]);
    order_pass_ = pass;
  }
  return order_[index];
}

}  // namespace ringload
