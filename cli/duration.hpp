// Command-line value parsers: durations, sizes and status-code ranges. Pure functions,
// no I/O; each error is one line naming the offending text.
#pragma once
#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "ringload/config.hpp"

namespace ringload::cli {

// "<number>[unit]": the number is decimal with an optional fraction ("1.5s"); units are
// ns, us (or µs), ms, s, m (or min), h; a bare number is seconds. Sub-nanosecond
// fractions are truncated. Errors: empty, negative, unknown unit, garbage, and values
// beyond std::chrono::nanoseconds (about 292 years).
std::expected<std::chrono::nanoseconds, std::string> parse_duration(std::string_view text);

// "<number>[unit]" in bytes: decimal units k/K, M, G, T (also kB, KB, MB ...: powers of
// 1000), binary units Ki, Mi, Gi, Ti (also KiB, MiB ...: powers of 1024), B or nothing
// for bytes. Unit letters are case-insensitive. Fractions are allowed and truncated to
// whole bytes ("1.5KiB" = 1536). Errors as for parse_duration, overflow beyond 2^64 - 1.
std::expected<uint64_t, std::string> parse_size(std::string_view text);

// Comma-separated status codes and ranges: "200-299,404", "2xx,3xx", "200". Codes are
// three digits, 100-999 (RFC 9110 §15 defines 100-599; servers send others). Whitespace
// around items is ignored; an empty list, an empty item or lo > hi is an error.
std::expected<std::vector<ringload::StatusRange>, std::string> parse_status_ranges(std::string_view text);

// k6-style stages, "DURATION:RATE" separated by commas: "10s:1000,30s:5000,10s:0". Each
// duration above 0, each rate a number >= 0; no empty item, no trailing comma.
std::expected<std::vector<ringload::Stage>, std::string> parse_stages(std::string_view text);

}  // namespace ringload::cli
