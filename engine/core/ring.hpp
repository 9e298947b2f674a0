// One shard's io_uring: set up with the best flags the kernel takes (each fallback is
// reported once), SQEs that never run out, and one wait per loop turn.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/uring_compat.hpp"

namespace ringload {

class Ring {
 public:
  Ring() = default;
  ~Ring() { exit(); }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // `entries`: submission queue size (the completion queue gets 4x). Must run in the
  // thread that uses the ring (SINGLE_ISSUER binds it to its creator). Missing kernel
  // features are appended to `notices` when `report` is set. Returns an error text.
  std::string init(uint32_t entries, bool report, std::vector<std::string>& notices) noexcept;
  void exit() noexcept;
  // A sparse registered file table of `n` slots for direct sockets. Returns an error text.
  std::string register_files(uint32_t n) noexcept;
  bool ready() const noexcept { return ready_; }
  // The submission entries and the completion queue (the kernel's memory, mapped here).
  std::size_t bytes() const noexcept {
    return ring_.sq.ring_entries * (sizeof(io_uring_sqe) + sizeof(uint32_t)) +
           ring_.cq.ring_entries * sizeof(io_uring_cqe);
  }

  // A free SQE; when the queue is full, what is queued is submitted first.
  io_uring_sqe* sqe() noexcept {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    while (s == nullptr) {
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
    }
    return s;
  }
  // Makes room for `n` SQEs that must reach the kernel in one submission (linked).
  void reserve(unsigned n) noexcept {
    if (io_uring_sq_space_left(&ring_) < n) io_uring_submit(&ring_);
  }
  // Submits what is queued and waits up to `wait_ns` for at least one completion.
  // Returns whether the wait ended by its timeout with no completion.
  bool submit_and_wait(uint64_t wait_ns) noexcept;
  // The same, but waits for `want` completions, at most `min_wait_us` once one is there
  // (the kernel's min_wait, 6.12+; without it: submit_and_wait).
  bool submit_and_wait_batch(uint64_t wait_ns, unsigned want, uint32_t min_wait_us) noexcept;
  // Calls fn(cqe) for every completion ready, then frees them in one step.
  template <typename Fn>
  void reap(Fn&& fn) noexcept {
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      fn(cqe);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
  }

  // IORING_FEAT_CQE_SKIP: a send flagged IOSQE_CQE_SKIP_SUCCESS posts no completion on success.
  bool skip_success() const noexcept { return skip_success_; }
  io_uring* raw() noexcept { return &ring_; }

 private:
  io_uring ring_{};
  bool ready_ = false;
  bool skip_success_ = false;
  bool registered_ = false;   // the ring fd is registered (IORING_ENTER_REGISTERED_RING)
  bool min_timeout_ = false;  // IORING_FEAT_MIN_TIMEOUT
};

}  // namespace ringload
