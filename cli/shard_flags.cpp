#include "cli/shard_flags.hpp"

#include <charconv>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string_view>

namespace ringload::cli {
namespace {

// A whole decimal number, all of `text`.
template <typename T>
bool whole_number(std::string_view text, T& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// `width` digits at text[at] into out.
bool digits(std::string_view text, std::size_t at, std::size_t width, int& out) {
  return at + width <= text.size() && whole_number(text.substr(at, width), out);
}

std::expected<ShardSpec, std::string> from_environment(uint32_t shards, const GetEnv& getenv) {
  auto env = [&getenv](const char* name) -> const char* {
    return getenv ? getenv(name) : std::getenv(name);
  };
  uint32_t index = 0, count = 0;
  if (const char* job = env("JOB_COMPLETION_INDEX"); job != nullptr) {
    if (!whole_number(std::string_view(job), index))
      return std::unexpected("--shard auto: JOB_COMPLETION_INDEX '" + std::string(job) + "' is not a number");
    if (shards == 0) return std::unexpected(std::string("--shard auto with JOB_COMPLETION_INDEX needs --shards N"));
    count = shards;
  } else if (const char* proc = env("SLURM_PROCID"), *tasks = env("SLURM_NTASKS"); proc != nullptr && tasks != nullptr) {
    if (!whole_number(std::string_view(proc), index) || !whole_number(std::string_view(tasks), count))
      return std::unexpected("--shard auto: SLURM_PROCID '" + std::string(proc) + "' / SLURM_NTASKS '" +
                             std::string(tasks) + "' are not numbers");
    if (shards != 0 && shards != count)
      return std::unexpected("--shards " + std::to_string(shards) + " disagrees with SLURM_NTASKS " + tasks);
  } else {
    return std::unexpected(std::string("--shard auto: neither JOB_COMPLETION_INDEX nor SLURM_PROCID and SLURM_NTASKS is set"));
  }
  if (index >= count)
    return std::unexpected("--shard auto: index " + std::to_string(index) + " is not below the count " +
                           std::to_string(count));
  return ShardSpec{index, count};
}

}  // namespace

void add_shard_flags(CLI::App& app, RunConfig& config) {
  auto flags = std::make_shared<ShardFlags>();  // the callback keeps it as long as `app`
  ShardFlags& f = *flags;
  const char* group = "Runs across machines";
  app.add_option("--shard", f.shard, "Do share i of N of the run (0-based: 0/4 ... 3/4), or auto "
                                     "(JOB_COMPLETION_INDEX with --shards, or SLURM_PROCID/SLURM_NTASKS)")
      ->group(group);
  app.add_option("--shards", f.shards, "With --shard auto: the number of shards")->group(group);
  app.add_option("--start-at", f.start_at, "Start the run (after connecting) at this time: RFC 3339 or Unix ms")
      ->group(group);
  app.final_callback([flags, &config] {
    if (auto ok = apply_shard_flags(*flags, config); !ok) throw CLI::ValidationError(ok.error());
  });
}

std::expected<ShardSpec, std::string> parse_shard(const std::string& text) {
  const std::size_t slash = text.find('/');
  ShardSpec s;
  if (slash == std::string::npos || !whole_number(std::string_view(text).substr(0, slash), s.index) ||
      !whole_number(std::string_view(text).substr(slash + 1), s.count))
    return std::unexpected("--shard '" + text + "': expected i/N (0-based i below N) or auto");
  if (s.count == 0) return std::unexpected("--shard '" + text + "': N must be at least 1");
  if (s.index >= s.count)
    return std::unexpected("--shard '" + text + "': i must be below N (0-based: 0/" + std::to_string(s.count) +
                           " ... " + std::to_string(s.count - 1) + "/" + std::to_string(s.count) + ")");
  return s;
}

std::expected<std::chrono::system_clock::time_point, std::string> parse_start_time(const std::string& text) {
  using namespace std::chrono;
  const std::string_view t = text;
  auto bad = [&text](const std::string& why) {
    return std::unexpected("--start-at '" + text + "': " + why);
  };
  if (int64_t ms = 0; whole_number(t, ms)) return system_clock::time_point(milliseconds(ms));
  std::tm tm{};
  int sec = 0;
  if (!(digits(t, 0, 4, tm.tm_year) && t.size() >= 19 && t[4] == '-' && digits(t, 5, 2, tm.tm_mon) && t[7] == '-' &&
        digits(t, 8, 2, tm.tm_mday) && (t[10] == 'T' || t[10] == 't' || t[10] == ' ') && digits(t, 11, 2, tm.tm_hour) &&
        t[13] == ':' && digits(t, 14, 2, tm.tm_min) && t[16] == ':' && digits(t, 17, 2, sec)))
    return bad("expected RFC 3339 (2026-12-04T08:00:00Z, an offset instead of Z) or Unix milliseconds");
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      sec > 60)
    return bad("a date or time field is out of range");
  std::size_t at = 19;
  int64_t frac_ns = 0;
  if (at < t.size() && t[at] == '.') {
    int64_t scale = 100'000'000;
    std::size_t n = 0;
    for (++at; at < t.size() && t[at] >= '0' && t[at] <= '9'; ++at, ++n) {
      frac_ns += (t[at] - '0') * scale;
      scale /= 10;
    }
    if (n == 0) return bad("no digits after the decimal point");
  }
  int64_t offset_s = 0;
  if (at < t.size() && (t[at] == 'Z' || t[at] == 'z') && at + 1 == t.size()) {
  } else if (int oh = 0, om = 0; at + 6 == t.size() && (t[at] == '+' || t[at] == '-') && digits(t, at + 1, 2, oh) &&
                                 t[at + 3] == ':' && digits(t, at + 4, 2, om) && oh < 24 && om < 60) {
    offset_s = (t[at] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
  } else {
    return bad("the time needs Z or an offset (+01:00) at its end");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_sec = std::min(sec, 59);  // a leap second: its :59
  const std::time_t local = timegm(&tm);
  return system_clock::time_point(seconds(local - offset_s) + nanoseconds(frac_ns));
}

std::expected<void, std::string> apply_shard_flags(const ShardFlags& f, RunConfig& config, const GetEnv& getenv) {
  if (f.shard == "auto") {
    auto s = from_environment(f.shards, getenv);
    if (!s) return std::unexpected(s.error());
    config.shard = *s;
  } else if (!f.shard.empty()) {
    auto s = parse_shard(f.shard);
    if (!s) return std::unexpected(s.error());
    if (f.shards != 0 && f.shards != s->count)
      return std::unexpected("--shards " + std::to_string(f.shards) + " disagrees with --shard " + f.shard);
    config.shard = *s;
  } else if (f.shards != 0) {
    return std::unexpected(std::string("--shards needs --shard auto"));
  }
  if (!f.start_at.empty()) {
    auto at = parse_start_time(f.start_at);
    if (!at) return std::unexpected(at.error());
    config.start_at = *at;
  }
  return {};
}

}  // namespace ringload::cli
