// The engine's one clock: CLOCK_MONOTONIC in nanoseconds (vDSO, no syscall).
#pragma once
#include <time.h>

#include <cstdint>

namespace ringload {

inline uint64_t now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace ringload
