// libFuzzer target for the CLI's value parsers (cli/duration.hpp): parse_duration,
// parse_size and parse_status_ranges, each run on the whole input.
//
// Checks, besides memory safety:
// - each parser agrees with a plain reference written from the header's contract: the
//   same verdict and, on success, the same value;
// - a value printed back parses to the same value (a duration as ns, as us and as seconds
//   with nine decimals; a size as bytes, B and KiB; a status list as "lo-hi,..." and with
//   "Nxx" classes); surrounding blanks change nothing;
// - every error is one line: it names the offending text (the first quoted part of the
//   message is a piece of the input), or says the input is empty.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/duration.hpp"
#include "fuzz_check.hpp"

using ringload::StatusRange;
namespace cli = ringload::cli;

namespace {

constexpr std::size_t npos = std::string_view::npos;

bool digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
  const std::size_t b = s.find_first_not_of(" \t");
  if (b == npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto fold = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (fold(a[i]) != fold(b[i])) return false;
  }
  return true;
}

struct Unit {
  std::string name;
  uint64_t scale;
};

// a + b, both decimal digit strings (most significant first).
std::string add_decimal(const std::string& a, const std::string& b) {
  std::string sum;
  unsigned carry = 0;
  for (std::size_t i = 0; i < a.size() || i < b.size() || carry != 0; ++i) {
    const unsigned x = i < a.size() ? static_cast<unsigned>(a[a.size() - 1 - i] - '0') : 0;
    const unsigned y = i < b.size() ? static_cast<unsigned>(b[b.size() - 1 - i] - '0') : 0;
    sum.push_back(static_cast<char>('0' + (x + y + carry) % 10));
    carry = (x + y + carry) / 10;
  }
  return {sum.rbegin(), sum.rend()};
}

// floor(0.<fraction> * scale), exactly: the fraction's digits as an integer F, times scale
// by doubling and adding decimal strings, then divided by 10^n by dropping n digits.
uint64_t scaled_fraction(std::string_view fraction, uint64_t scale) {
  std::string product = "0";
  std::string power(fraction);  // F * 2^bit
  if (power.empty()) power = "0";
  for (uint64_t s = scale; s != 0; s >>= 1) {
    if (s & 1) product = add_decimal(product, power);
    power = add_decimal(power, power);
  }
  if (product.size() <= fraction.size()) return 0;
  return std::stoull(product.substr(0, product.size() - fraction.size()));
}

// "<digits>[.<digits>]<unit>" (at least one digit), blanks around it ignored; the value
// is (whole + fraction) * scale, truncated, however long the fraction; nullopt when the
// grammar does not match or the value exceeds `limit`.
std::optional<uint64_t> reference_scaled(std::string_view text, const std::vector<Unit>& units, uint64_t limit,
                                         bool fold_case) {
  const std::string_view s = trim(text);
  std::size_t i = 0;
  while (i < s.size() && digit(s[i])) ++i;
  const std::string_view whole = s.substr(0, i);
  std::string_view fraction;
  if (i < s.size() && s[i] == '.') {
    const std::size_t start = ++i;
    while (i < s.size() && digit(s[i])) ++i;
    fraction = s.substr(start, i - start);
  }
  if (whole.empty() && fraction.empty()) return std::nullopt;
  const std::string_view unit_text = s.substr(i);
  const Unit* unit = nullptr;
  for (const Unit& u : units)
    if (fold_case ? iequal(unit_text, u.name) : unit_text == u.name) unit = &u;
  if (unit == nullptr) return std::nullopt;
  unsigned __int128 value = 0;
  for (char c : whole) {
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > limit) return std::nullopt;  // a digit more only grows it
  }
  value *= unit->scale;
  value += scaled_fraction(fraction, unit->scale);
  if (value > limit) return std::nullopt;
  return static_cast<uint64_t>(value);
}

const std::vector<Unit> duration_units = {{"ns", 1},
                                          {"us", 1'000},
                                          {"\xC2\xB5s", 1'000},
                                          {"\xCE\xBCs", 1'000},
                                          {"ms", 1'000'000},
                                          {"", 1'000'000'000},
                                          {"s", 1'000'000'000},
                                          {"m", 60'000'000'000},
                                          {"min", 60'000'000'000},
                                          {"h", 3'600'000'000'000}};

// B or nothing; k, M, G, T and kB ... (powers of 1000); Ki, Mi ... and KiB ... (of 1024).
std::vector<Unit> size_units() {
  std::vector<Unit> units = {{"", 1}, {"b", 1}};
  uint64_t dec = 1, bin = 1;
  for (const char letter : std::string_view("kmgt")) {
    dec *= 1000;
    bin *= 1024;
    const std::string l(1, letter);
    units.insert(units.end(), {{l, dec}, {l + "b", dec}, {l + "i", bin}, {l + "ib", bin}});
  }
  return units;
}

// Comma-separated items, each blank-trimmed: "Nxx" (N 1-9, x either case), "code" or
// "code-code" (blanks allowed around the dash), codes three digits 100-999, lo <= hi.
std::optional<std::vector<StatusRange>> reference_status(std::string_view text) {
  if (trim(text).empty()) return std::nullopt;
  std::vector<StatusRange> out;
  const auto code = [](std::string_view s) -> std::optional<int> {
    if (s.size() != 3 || !digit(s[0]) || !digit(s[1]) || !digit(s[2]) || s[0] == '0') return std::nullopt;
    return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
  };
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item = trim(text.substr(start, comma == npos ? npos : comma - start));
    if (item.size() == 3 && iequal(item.substr(1), "xx")) {
      if (item[0] < '1' || item[0] > '9') return std::nullopt;
      out.push_back({(item[0] - '0') * 100, (item[0] - '0') * 100 + 99});
    } else {
      const std::size_t dash = item.find('-');
      const auto lo = code(trim(item.substr(0, dash)));
      const auto hi = dash == npos ? lo : code(trim(item.substr(dash + 1)));
      if (!lo || !hi || *lo > *hi) return std::nullopt;
      out.push_back({*lo, *hi});
    }
    if (comma == npos) return out;
    start = comma + 1;
  }
}

bool same(const std::vector<StatusRange>& a, const std::vector<StatusRange>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].lo != b[i].lo || a[i].hi != b[i].hi) return false;
  return true;
}

// One line naming the offending text: the message's first quoted part is a piece of the
// input, or the input is blank and the message says it is empty.
void check_error(std::string_view text, const std::string& message) {
  FUZZ_ASSERT(!message.empty());
  if (trim(text).empty()) {
    FUZZ_ASSERT(message.starts_with("empty"));
    return;
  }
  if (text.find('\'') != npos) return;  // the quotes cannot be told apart
  const std::size_t open = message.find('\'');
  FUZZ_ASSERT(open != npos);
  const std::size_t close = message.find('\'', open + 1);
  FUZZ_ASSERT(close != npos);
  FUZZ_ASSERT(text.find(message.substr(open + 1, close - open - 1)) != npos);
  if (text.find('\n') == npos) FUZZ_ASSERT(message.find('\n') == npos);
}

std::string fixed(uint64_t value, uint64_t scale, int decimals) {
  std::string frac = std::to_string(value % scale);
  frac.insert(0, static_cast<std::size_t>(decimals) - frac.size(), '0');
  return std::to_string(value / scale) + "." + frac;
}

void check_duration(std::string_view text) {
  const auto d = cli::parse_duration(text);
  const auto ref = reference_scaled(text, duration_units, std::numeric_limits<int64_t>::max(), false);
  FUZZ_ASSERT(d.has_value() == ref.has_value());
  const auto padded = cli::parse_duration(" \t" + std::string(text) + "\t ");
  FUZZ_ASSERT(padded.has_value() == d.has_value());
  if (!d) return check_error(text, d.error());
  const int64_t ns = d->count();
  FUZZ_ASSERT(ns >= 0 && static_cast<uint64_t>(ns) == *ref);
  FUZZ_ASSERT(padded->count() == ns);
  const uint64_t v = static_cast<uint64_t>(ns);
  for (const std::string& printed : {std::to_string(v) + "ns", fixed(v, 1'000, 3) + "us", fixed(v, 1'000'000'000, 9) + "s",
                                     fixed(v, 1'000'000'000, 9)}) {
    const auto again = cli::parse_duration(printed);
    FUZZ_ASSERT(again.has_value() && again->count() == ns);
  }
}

void check_size(std::string_view text) {
  static const std::vector<Unit> units = size_units();
  const auto s = cli::parse_size(text);
  const auto ref = reference_scaled(text, units, std::numeric_limits<uint64_t>::max(), true);
  FUZZ_ASSERT(s.has_value() == ref.has_value());
  const auto padded = cli::parse_size(" \t" + std::string(text) + "\t ");
  FUZZ_ASSERT(padded.has_value() == s.has_value());
  if (!s) return check_error(text, s.error());
  FUZZ_ASSERT(*s == *ref && *padded == *s);
  std::vector<std::string> printed = {std::to_string(*s), std::to_string(*s) + "B"};
  if (*s % 1024 == 0) printed.push_back(std::to_string(*s / 1024) + "KiB");
  for (const std::string& p : printed) {
    const auto again = cli::parse_size(p);
    FUZZ_ASSERT(again.has_value() && *again == *s);
  }
}

void check_status(std::string_view text) {
  const auto r = cli::parse_status_ranges(text);
  const auto ref = reference_status(text);
  FUZZ_ASSERT(r.has_value() == ref.has_value());
  const auto padded = cli::parse_status_ranges(" \t" + std::string(text) + "\t ");
  FUZZ_ASSERT(padded.has_value() == r.has_value());
  if (!r) return check_error(text, r.error());
  FUZZ_ASSERT(same(*r, *ref) && same(*padded, *r));
  std::string ranges, classes;  // "200-299, 404-404" and "2xx, 404"
  for (const StatusRange& s : *r) {
    FUZZ_ASSERT(100 <= s.lo && s.lo <= s.hi && s.hi <= 999);
    const std::string sep = ranges.empty() ? "" : ", ";
    const std::string range = std::to_string(s.lo) + "-" + std::to_string(s.hi);
    ranges += sep + range;
    if (s.lo % 100 == 0 && s.hi == s.lo + 99) classes += sep + std::to_string(s.lo / 100) + "xx";
    else classes += sep + (s.lo == s.hi ? std::to_string(s.lo) : range);
  }
  for (const std::string& printed : {ranges, classes}) {
    const auto again = cli::parse_status_ranges(printed);
    FUZZ_ASSERT(again.has_value() && same(*again, *r));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 512) return 0;  // a command-line value: longer ones only cost time (the checks are O(n) each)
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_duration(text);
  check_size(text);
  check_status(text);
  return 0;
}
