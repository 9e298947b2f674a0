#include "cli/duration.hpp"

#include <cmath>
#include <cstdlib>

#include <limits>
#include <span>


namespace ringload::cli {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

using u128 = unsigned __int128;

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A non-negative decimal split into its parts: "12.50ms" -> {"12", "50", "ms"}.
struct Decimal {
  std::string_view whole;
  std::string_view fraction;
  std::string_view unit;
};

enum class NumberError : uint8_t { none, empty, negative, garbage };

NumberError split_decimal(std::string_view s, Decimal& out) noexcept {
  if (s.empty()) return NumberError::empty;
  if (s.front() == '-') return NumberError::negative;
  std::size_t i = 0;
  while (i < s.size() && is_digit(s[i])) ++i;
  out.whole = s.substr(0, i);
  if (i < s.size() && s[i] == '.') {
    const std::size_t start = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    out.fraction = s.substr(start, i - start);
  }
  if (out.whole.empty() && out.fraction.empty()) return NumberError::garbage;
  out.unit = s.substr(i);
  return NumberError::none;
}

// whole.fraction * scale, truncated; false when it does not fit in `limit`.
bool scale_decimal(const Decimal& d, uint64_t scale, uint64_t limit, uint64_t& out) noexcept {
  std::string_view whole = d.whole;
  while (!whole.empty() && whole.front() == '0') whole.remove_prefix(1);
  if (whole.size() > 20) return false;  // > 10^20 already overflows uint64_t
  u128 value = 0;
  for (char c : whole) value = value * 10 + static_cast<unsigned>(c - '0');
  value *= scale;  // < 10^20 * 2^40 (TiB): fits in 128 bits
  // floor(0.f1..fn * scale), exactly, for any n: from the last digit to the first,
  // v = floor((fk * scale + v) / 10), since floor((a + x) / 10) = floor((a + floor(x)) / 10)
  // for an integer a. v stays below scale, so nothing overflows.
  uint64_t part = 0;
  for (auto c = d.fraction.rbegin(); c != d.fraction.rend(); ++c)
    part = (static_cast<uint64_t>(*c - '0') * scale + part) / 10;
  value += part;
  if (value > limit) return false;
  out = static_cast<uint64_t>(value);
  return true;
}

struct Unit {
  std::string_view name;
  uint64_t scale;
};

// What differs between the "<number>[unit]" flavours: the units, the bound, the words.
struct Grammar {
  const char* what;      // "duration"
  const char* examples;  // "500ms, 10s, 2m"
  const char* unit_list; // "ns, us, ms, s, m, h"
  std::span<const Unit> units;
  uint64_t limit;
  bool case_insensitive_units;
};

std::expected<uint64_t, std::string> parse_scaled(std::string_view text, const Grammar& g) {
  const std::string what = g.what;
  const std::string quoted = "'" + std::string(text) + "'";
  Decimal d;
  switch (split_decimal(trim(text), d)) {
    case NumberError::none: break;
    case NumberError::empty: return std::unexpected("empty " + what);
    case NumberError::negative: return std::unexpected("negative " + what + " " + quoted);
    case NumberError::garbage:
      return std::unexpected("bad " + what + " " + quoted + " (expected e.g. " + g.examples + ")");
  }
  for (const Unit& u : g.units) {
    if (g.case_insensitive_units ? !iequals(d.unit, u.name) : d.unit != u.name) continue;
    uint64_t value = 0;
    if (!scale_decimal(d, u.scale, g.limit, value)) return std::unexpected(what + " " + quoted + " is too large");
    return value;
  }
  return std::unexpected("unknown unit '" + std::string(d.unit) + "' in " + what + " " + quoted + " (use " +
                         g.unit_list + ")");
}

}  // namespace

std::expected<std::chrono::nanoseconds, std::string> parse_duration(std::string_view text) {
  static constexpr Unit units[] = {
      {"ns", 1},
      {"us", 1'000},
      {"\xC2\xB5s", 1'000},  // U+00B5 MICRO SIGN
      {"\xCE\xBCs", 1'000},  // U+03BC GREEK SMALL LETTER MU
      {"ms", 1'000'000},
      {"", 1'000'000'000},
      {"s", 1'000'000'000},
      {"m", 60'000'000'000},
      {"min", 60'000'000'000},
      {"h", 3'600'000'000'000},
  };
  // Case matters: "m" is minutes, and "M" would read as mega.
  static constexpr Grammar grammar{"duration", "500ms, 10s, 2m", "ns, us, ms, s, m, h", units,
                                   std::numeric_limits<int64_t>::max(), false};
  auto ns = parse_scaled(text, grammar);
  if (!ns) return std::unexpected(ns.error());
  return std::chrono::nanoseconds{static_cast<int64_t>(*ns)};
}

std::expected<uint64_t, std::string> parse_size(std::string_view text) {
  constexpr uint64_t k = 1000;
  constexpr uint64_t ki = 1024;
  static constexpr Unit units[] = {
      {"", 1},        {"b", 1},
      {"k", k},       {"kb", k},       {"ki", ki},       {"kib", ki},
      {"m", k * k},   {"mb", k * k},   {"mi", ki * ki},  {"mib", ki * ki},
      {"g", k * k * k}, {"gb", k * k * k}, {"gi", ki * ki * ki}, {"gib", ki * ki * ki},
      {"t", k * k * k * k}, {"tb", k * k * k * k},
      {"ti", ki * ki * ki * ki}, {"tib", ki * ki * ki * ki},
  };
  static constexpr Grammar grammar{"size", "64KiB, 1MiB, 1000", "B, k, KiB, M, MiB, G, GiB ...", units,
                                   std::numeric_limits<uint64_t>::max(), true};
  return parse_scaled(text, grammar);
}

namespace {

std::expected<int, std::string> parse_code(std::string_view s, std::string_view item) {
  if (s.size() != 3 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]) || s[0] == '0') {
    return std::unexpected("bad status code '" + std::string(s) + "' in '" + std::string(item) +
                           "' (expected 100-999)");
  }
  return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

std::expected<ringload::StatusRange, std::string> parse_status_item(std::string_view item) {
  if (item.size() == 3 && (item[1] == 'x' || item[1] == 'X') && (item[2] == 'x' || item[2] == 'X')) {
    if (item[0] < '1' || item[0] > '9') {
      return std::unexpected("bad status class '" + std::string(item) + "' (expected 1xx-9xx)");
    }
    const int lo = (item[0] - '0') * 100;
    return ringload::StatusRange{lo, lo + 99};
  }
  const std::size_t dash = item.find('-');
  auto lo = parse_code(trim(item.substr(0, dash)), item);
  if (!lo) return std::unexpected(lo.error());
  if (dash == std::string_view::npos) return ringload::StatusRange{*lo, *lo};
  auto hi = parse_code(trim(item.substr(dash + 1)), item);
  if (!hi) return std::unexpected(hi.error());
  if (*lo > *hi) return std::unexpected("empty status range '" + std::string(item) + "' (low > high)");
  return ringload::StatusRange{*lo, *hi};
}

}  // namespace

std::expected<std::vector<ringload::StatusRange>, std::string> parse_status_ranges(std::string_view text) {
  std::vector<ringload::StatusRange> out;
  if (trim(text).empty()) return std::unexpected("empty status list");
  std::string_view rest = text;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    if (item.empty()) return std::unexpected("empty item in status list '" + std::string(text) + "'");
    auto range = parse_status_item(item);
    if (!range) return std::unexpected(range.error());
    out.push_back(*range);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

// "10s:1000,30s:5000,10s:0" → stages.
std::expected<std::vector<Stage>, std::string> parse_stages(std::string_view text) {
  std::vector<Stage> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    if (comma == text.size() - 1) return std::unexpected("a stage is missing after the last ','");
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto colon = item.find(':');
    if (colon == std::string_view::npos)
      return std::unexpected("stage '" + std::string(item) + "': expected DURATION:RATE");
    auto d = parse_duration(item.substr(0, colon));
    if (!d) return std::unexpected("stage '" + std::string(item) + "': " + d.error());
    if (d->count() <= 0) return std::unexpected("stage '" + std::string(item) + "': the duration must be above 0");
    const std::string rate(item.substr(colon + 1));
    char* end = nullptr;
    const double r = std::strtod(rate.c_str(), &end);
    if (rate.empty() || end != rate.c_str() + rate.size() || !(r >= 0) || std::isinf(r))
      return std::unexpected("stage '" + std::string(item) + "': the rate must be a number >= 0");
    out.push_back({*d, r});
  }
  if (out.empty()) return std::unexpected("no stages");
  return out;
}

}  // namespace ringload::cli
