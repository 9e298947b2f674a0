#include "engine/core/host.hpp"

#include <sched.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "engine/core/uring_compat.hpp"

namespace ringload {

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i)
      if (CPU_ISSET(i, &set)) cpus.push_back(i);
  }
  return cpus;
}

namespace {

std::mutex cpu_mutex;
std::map<int, uint32_t> cpu_use;  // CPU -> shards of running engines pinned there

}  // namespace

CpuLease::CpuLease(uint32_t shards) {
  const std::vector<int> allowed = allowed_cpus();
  if (allowed.empty()) return;
  std::lock_guard lock(cpu_mutex);
  for (uint32_t k = 0; k < shards; ++k) {
    int best = allowed.front();
    for (int cpu : allowed)
      if (cpu_use[cpu] < cpu_use[best]) best = cpu;
    // Within one engine, more shards than CPUs wrap around as before; only a CPU another
    // engine holds is an overlap.
    if (cpu_use[best] > 0 && k < allowed.size()) overlap_ = true;
    ++cpu_use[best];
    cpus_.push_back(best);
  }
}

CpuLease::~CpuLease() {
  std::lock_guard lock(cpu_mutex);
  for (int cpu : cpus_) --cpu_use[cpu];
}

std::expected<void, std::string> raise_fd_limit(uint64_t needed) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return std::unexpected(std::string("getrlimit: ") + strerror(errno));
  if (lim.rlim_cur >= needed) return {};
  rlimit want = lim;
  want.rlim_cur = needed <= lim.rlim_max ? needed : lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &want);
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur >= needed) return {};
  return std::unexpected("the connections need " + std::to_string(needed) +
                         " file descriptors but RLIMIT_NOFILE is " + std::to_string(lim.rlim_cur) +
                         " (hard limit " + std::to_string(lim.rlim_max) +
                         "): lower -c or raise the limit (ulimit -n)");
}

std::expected<void, std::string> probe_io_uring() {
  io_uring ring;
  const int ret = io_uring_queue_init(8, &ring, 0);
  if (ret == -EPERM || ret == -ENOSYS)
    return std::unexpected(std::string("io_uring is not available here (") + strerror(-ret) +
                           "): a seccomp profile such as Docker's default blocks it");
  if (ret < 0) return std::unexpected(std::string("io_uring setup failed: ") + strerror(-ret));
  io_uring_queue_exit(&ring);
  return {};
}

}  // namespace ringload
