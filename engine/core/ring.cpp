#include "engine/core/ring.hpp"

#include <cerrno>
#include <cstring>

namespace ringload {

std::string Ring::init(uint32_t entries, bool report, std::vector<std::string>& notices) noexcept {
  struct Attempt {
    unsigned flags;
    const char* notice;
  };
  // Best first. DEFER_TASKRUN runs completions only when this thread waits, in batches;
  // it needs SINGLE_ISSUER (6.1). COOP_TASKRUN (5.19) avoids IPIs. Plain rings work anywhere.
  const Attempt attempts[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, nullptr},
      {IORING_SETUP_COOP_TASKRUN, "kernel lacks IORING_SETUP_DEFER_TASKRUN: using COOP_TASKRUN"},
      {0, "kernel lacks IORING_SETUP_COOP_TASKRUN: using a plain ring"},
  };
  int ret = -EINVAL;
  io_uring_params params{};
  for (const Attempt& a : attempts) {
    params = {};
    params.flags = a.flags | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    params.cq_entries = entries * 4;
    ret = io_uring_queue_init_params(entries, &ring_, &params);
    if (ret == 0) {
      if (a.notice != nullptr && report) notices.emplace_back(a.notice);
      break;
    }
    if (ret != -EINVAL) break;
  }
  if (ret == -EPERM || ret == -ENOSYS)
    return std::string("io_uring is not available here (") + strerror(-ret) +
           "): a seccomp profile such as Docker's default blocks it";
  if (ret < 0) return std::string("io_uring setup failed: ") + strerror(-ret);
  ready_ = true;
  // Each io_uring_enter then skips the file-table lookup of the ring's fd (5.18+).
  registered_ = io_uring_register_ring_fd(&ring_) >= 0;
  if (!registered_ && report) notices.emplace_back("kernel lacks registered ring fds: each wait looks the ring up");
  skip_success_ = (params.features & IORING_FEAT_CQE_SKIP) != 0;
  min_timeout_ = (params.features & IORING_FEAT_MIN_TIMEOUT) != 0 && (params.features & IORING_FEAT_EXT_ARG) != 0;
  if (!(params.features & IORING_FEAT_EXT_ARG) && report)
    notices.emplace_back("kernel lacks IORING_FEAT_EXT_ARG: waits with a timeout cost an extra syscall");
  return {};
}

std::string Ring::register_files(uint32_t n) noexcept {
  const int ret = io_uring_register_files_sparse(&ring_, n);
  if (ret < 0) return "a file table of " + std::to_string(n) + " direct sockets: " + strerror(-ret);
  return {};
}

void Ring::exit() noexcept {
  if (!ready_) return;
  io_uring_queue_exit(&ring_);
  ready_ = false;
}

bool Ring::submit_and_wait(uint64_t wait_ns) noexcept {
  __kernel_timespec ts{static_cast<long long>(wait_ns / 1'000'000'000u),
                       static_cast<long long>(wait_ns % 1'000'000'000u)};
  io_uring_cqe* cqe = nullptr;
  return io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr) == -ETIME;
}

// io_uring_enter with IORING_ENTER_EXT_ARG and the getevents argument's min_wait_usec
// (liburing 2.3 calls that field `pad`): the kernel returns once `want` completions are
// there, or after `min_wait_us` if at least one is, or at the timeout.
bool Ring::submit_and_wait_batch(uint64_t wait_ns, unsigned want, uint32_t min_wait_us) noexcept {
  if (want <= 1 || min_wait_us == 0 || !min_timeout_) return submit_and_wait(wait_ns);
  // What io_uring_submit does first (no SQPOLL here): publish the queued SQEs, and submit
  // every one the kernel has not consumed yet.
  io_uring_sq& sq = ring_.sq;
  const unsigned tail = sq.sqe_tail;
  sq.sqe_head = tail;
  io_uring_smp_store_release(sq.ktail, tail);
  const unsigned submit = tail - io_uring_smp_load_acquire(sq.khead);
  __kernel_timespec ts{static_cast<long long>(wait_ns / 1'000'000'000u),
                       static_cast<long long>(wait_ns % 1'000'000'000u)};
  io_uring_getevents_arg arg{};
  arg.sigmask_sz = _NSIG / 8;
  arg.pad = min_wait_us;
  arg.ts = reinterpret_cast<uintptr_t>(&ts);
  unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
  if (registered_) flags |= IORING_ENTER_REGISTERED_RING;
  const int fd = registered_ ? ring_.enter_ring_fd : ring_.ring_fd;
  const int ret = io_uring_enter2(fd, submit, want, flags, reinterpret_cast<sigset_t*>(&arg), sizeof arg);
  return ret == -ETIME;
}

}  // namespace ringload
