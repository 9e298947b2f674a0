// Latency-like test values: log-uniform from 1 to 2^max_exponent nanoseconds, so every
// bucket of a histogram's range is visited (and, with max_exponent above 37, some values
// lie beyond it). Deterministic for a seed.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace ringload::test {

inline std::vector<uint64_t> log_uniform_values(std::size_t n, uint64_t seed, double max_exponent) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> exponent(0.0, max_exponent);
  std::vector<uint64_t> out(n);
  for (auto& v : out) v = static_cast<uint64_t>(std::exp2(exponent(rng)));
  return out;
}

}  // namespace ringload::test
