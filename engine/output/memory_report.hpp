// The engine's memory, measured and reported: how much of an object sits on pages that
// hold data, and the report's `memory` block.
#pragma once
#include <cstddef>

#include <nlohmann/json_fwd.hpp>

#include "ringload/memory.hpp"
#include "ringload/stats.hpp"

namespace ringload {

// Bytes a Stats costs: its fields and, per histogram, the pages its counts span
// (histogram.hpp). Its histograms are its last members, one after another.
std::size_t stats_bytes(const Stats& s) noexcept;

// {"total_bytes", "per_connection_bytes", "connections", "parts": {...},
//  "carry_reserved_bytes"} (README.md, "## JSON report").
nlohmann::json memory_json(const MemoryUsage& m);

}  // namespace ringload
