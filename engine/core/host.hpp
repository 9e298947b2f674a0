// What the host allows, checked before a run: the CPUs this process may use, the
// file-descriptor limit, io_uring itself.
#pragma once
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

namespace ringload {

// The CPUs of the process's affinity set (taskset, cgroups), in order.
std::vector<int> allowed_cpus();

// CPUs for `shards` shard threads, taken from the process's affinity set so that the
// engines of one process spread out: each shard gets the CPU fewest shards of running
// engines use (ties: the lowest). Given back when destroyed. `overlap` says whether a
// CPU had to be shared with another engine's shard.
class CpuLease {
 public:
  explicit CpuLease(uint32_t shards);
  ~CpuLease();
  CpuLease(const CpuLease&) = delete;
  CpuLease& operator=(const CpuLease&) = delete;

  const std::vector<int>& cpus() const noexcept { return cpus_; }  // empty: no affinity set
  bool overlap() const noexcept { return overlap_; }

 private:
  std::vector<int> cpus_;
  bool overlap_ = false;
};

// Raises RLIMIT_NOFILE's soft limit to `needed` if the hard limit allows; else an error
// naming both limits.
std::expected<void, std::string> raise_fd_limit(uint64_t needed);

// Fails early, with the reason, where io_uring is blocked (containers, seccomp).
std::expected<void, std::string> probe_io_uring();

}  // namespace ringload
