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

// Raises RLIMIT_NOFILE's soft limit to `needed` if the hard limit allows; else an error
// naming both limits.
std::expected<void, std::string> raise_fd_limit(uint64_t needed);

// Fails early, with the reason, where io_uring is blocked (containers, seccomp).
std::expected<void, std::string> probe_io_uring();

}  // namespace ringload
