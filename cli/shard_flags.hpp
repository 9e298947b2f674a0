// Runs across machines: --shard i/N (or auto, from JOB_COMPLETION_INDEX + --shards N, or
// SLURM_PROCID / SLURM_NTASKS) and --start-at TIME (RFC 3339 or Unix ms) into
// RunConfig::shard and RunConfig::start_at.
#pragma once
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "ringload/config.hpp"

namespace ringload::cli {

struct ShardFlags {
  std::string shard;     // "i/N" or "auto"; "": not sharded
  uint32_t shards = 0;   // --shards N (with --shard auto from JOB_COMPLETION_INDEX)
  std::string start_at;  // as given; "": start at once
};

// Registers the flags; once `app` has parsed, they are applied to `config` (a bad value
// throws CLI::ValidationError with apply_shard_flags' message: a usage error).
void add_shard_flags(CLI::App& app, RunConfig& config);

// The environment, for --shard auto (tests pass their own).
using GetEnv = std::function<const char*(const char* name)>;

// The flags into `config`; the error is one line naming the flag and the value.
std::expected<void, std::string> apply_shard_flags(const ShardFlags& f, RunConfig& config,
                                                   const GetEnv& getenv = {});

// "2026-12-04T08:00:00Z", "2026-12-04T09:00:00.250+01:00" (RFC 3339: a 'T', 't' or ' '
// between date and time, 'Z' or an offset) or Unix milliseconds ("1796371200000").
std::expected<std::chrono::system_clock::time_point, std::string> parse_start_time(const std::string& text);

// "i/N" with 0 <= i < N.
std::expected<ShardSpec, std::string> parse_shard(const std::string& text);

}  // namespace ringload::cli
