// A sharded run's arithmetic (--shard i/N, RunConfig::shard): how N processes, each with
// its own T threads, share out one run so that together they do exactly the unsharded run.
//
// - Counts (connections per origin): process i gets total / N, plus one while
//   i < total % N (the remainder to the low shards), then its threads split that the same
//   way. The shares add up to the total.
// - Rates (--qps, stages' rates, adaptive start and bounds): r / N per process, then / T
//   per thread.
// - The request sequence (sequence.hpp): the run's positions 0, 1, 2 ... below the limit
//   (-n, or iterations x lines) are dealt round-robin to the processes (process i: i,
//   i + N, i + 2N ...), and each process deals its own round-robin to its threads: thread
//   k of process i sends i + N*k, i + N*k + N*T, ... So the processes together send every
//   position below the limit exactly once whatever thread count each one has, each thread
//   in order; a position's line and pass (and a pass's shuffle, from the seed) are those
//   of the unsharded run. An even open-loop schedule interleaves the same way: thread k of
//   process i sits at phase (i + N*k) / (N*T) of its period N*T / rate.
#pragma once
#include <cstdint>

namespace ringload::shard_split {

// Process (or thread) `index` of `count`'s share of `total`.
constexpr uint64_t share(uint64_t total, uint64_t index, uint64_t count) noexcept {
  return count == 0 ? total : total / count + (index < total % count ? 1 : 0);
}

// The first position and the step of thread k of `threads` in process i of `processes`
// (processes 0 or 1: not sharded).
struct Positions {
  uint64_t first = 0;
  uint64_t step = 1;
};
constexpr Positions positions(uint64_t process, uint64_t processes, uint64_t thread, uint64_t threads) noexcept {
  if (processes == 0) processes = 1;
  return {process + processes * thread, processes * threads};
}

// How many positions first, first + step, ... lie below `limit`.
constexpr uint64_t positions_below(uint64_t limit, Positions p) noexcept {
  return limit <= p.first ? 0 : (limit - p.first - 1) / p.step + 1;
}

// An even schedule's phase (a fraction of the thread's period) for that thread.
constexpr double phase(uint64_t process, uint64_t processes, uint64_t thread, uint64_t threads) noexcept {
  const Positions p = positions(process, processes, thread, threads);
  return static_cast<double>(p.first) / static_cast<double>(p.step);
}

}  // namespace ringload::shard_split
