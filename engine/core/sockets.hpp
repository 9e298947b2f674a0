// Before a run: how its connections hold their sockets (direct descriptors or ordinary
// ones: direct_fd.hpp) and which local addresses they bind to. Not the hot path.
#pragma once
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "engine/requests/request.hpp"
#include "ringload/config.hpp"

namespace ringload {

struct SocketPlan {
  bool direct = false;
  uint64_t fds_per_process = 0;  // descriptors the connections take from RLIMIT_NOFILE
  uint64_t slots_per_ring = 0;   // direct: the largest shard's file table
};

// Fills each origin's `sources` (--source-addr, or the loopback spread) and decides the
// descriptors. `per_origin`: this process's connections to each origin; `shards`: how
// many rings share them. Errors name the flag.
std::expected<SocketPlan, std::string> plan_sockets(const RunConfig& config, std::vector<Origin>& origins,
                                                    const std::vector<uint32_t>& per_origin, uint32_t shards,
                                                    std::vector<std::string>& notices);

}  // namespace ringload
