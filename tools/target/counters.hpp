#pragma once
// Requests served, one counter per worker thread so the hot path never shares a cache line.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace ringload::target {

class RequestCounters {
 public:
  explicit RequestCounters(std::size_t threads)
      : slots_(std::make_unique<Slot[]>(threads)), size_(threads) {}

  // Only worker `thread` calls this, so a plain load + store is enough (no locked RMW).
  void bump(std::size_t thread) noexcept {
    std::atomic<std::uint64_t>& v = slots_[thread].value;
    v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // Requests served since the last reset(), all threads. Counters only grow, and the
  // acquire pairs with reset()'s release: the sum read after it is never below the baseline.
  std::uint64_t count() const noexcept {
    const std::uint64_t base = baseline_.load(std::memory_order_acquire);
    const std::uint64_t now = sum();
    return now > base ? now - base : 0;
  }

  // Resets count() to 0 without writing other threads' counters: it moves the baseline.
  void reset() noexcept { baseline_.store(sum(), std::memory_order_release); }

 private:
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> value{0};
  };

  std::uint64_t sum() const noexcept {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < size_; ++i) total += slots_[i].value.load(std::memory_order_relaxed);
    return total;
  }

  std::unique_ptr<Slot[]> slots_;
  std::size_t size_;
  std::atomic<std::uint64_t> baseline_{0};
};

}  // namespace ringload::target
