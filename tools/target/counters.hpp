#pragma once
// Responses sent, by outcome, one counter pair per worker thread so the hot path never
// shares a cache line.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace ringload::target {

enum class Outcome : std::uint8_t {
  ok,        // answered by its endpoint (error responses such as 400 included)
  rejected,  // 503 from the --capacity limit
};

struct Totals {
  std::uint64_t ok = 0;
  std::uint64_t rejected = 0;
  std::uint64_t total() const noexcept { return ok + rejected; }
};

class RequestCounters {
 public:
  explicit RequestCounters(std::size_t threads)
      : slots_(std::make_unique<Slot[]>(threads)), size_(threads) {}

  // Only worker `thread` calls this, so a plain load + store is enough (no locked RMW).
  void bump(std::size_t thread, Outcome outcome) noexcept {
    std::atomic<std::uint64_t>& v =
        outcome == Outcome::ok ? slots_[thread].ok : slots_[thread].rejected;
    v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // Responses since the last reset(), all threads. Counters only grow, and the acquire pairs
  // with reset()'s release: a sum read after it is never below the baseline. The two
  // outcomes are kept apart (not total and rejected) so that totals().ok can never be a
  // difference of two sums read at slightly different times.
  Totals totals() const noexcept {
    const std::uint64_t base_ok = baseline_ok_.load(std::memory_order_acquire);
    const std::uint64_t base_rejected = baseline_rejected_.load(std::memory_order_acquire);
    const Totals now = sum();
    return Totals{now.ok > base_ok ? now.ok - base_ok : 0,
                  now.rejected > base_rejected ? now.rejected - base_rejected : 0};
  }
  std::uint64_t count() const noexcept { return totals().total(); }

  // Resets totals() to 0 without writing other threads' counters: it moves the baselines.
  void reset() noexcept {
    const Totals now = sum();
    baseline_ok_.store(now.ok, std::memory_order_release);
    baseline_rejected_.store(now.rejected, std::memory_order_release);
  }

 private:
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> ok{0};
    std::atomic<std::uint64_t> rejected{0};
  };

  Totals sum() const noexcept {
    Totals t;
    for (std::size_t i = 0; i < size_; ++i) {
      t.ok += slots_[i].ok.load(std::memory_order_relaxed);
      t.rejected += slots_[i].rejected.load(std::memory_order_relaxed);
    }
    return t;
  }

  std::unique_ptr<Slot[]> slots_;
  std::size_t size_;
  std::atomic<std::uint64_t> baseline_ok_{0};
  std::atomic<std::uint64_t> baseline_rejected_{0};
};

}  // namespace ringload::target
