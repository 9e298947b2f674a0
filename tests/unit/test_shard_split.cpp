// --shard i/N: the split arithmetic (engine/load/shard_split.hpp, RunPlan) and the flags
// (cli/shard_flags.cpp). N shards of T threads each must add up exactly to the unsharded run.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <vector>

#include "cli/shard_flags.hpp"
#include "engine/load/run_plan.hpp"
#include "engine/load/sequence.hpp"
#include "engine/load/shard_split.hpp"

using namespace ringload;

TEST_CASE("share: N shares add up to the total, remainder to the low shards", "[shard]") {
  for (uint64_t total : {0ull, 1ull, 3ull, 7ull, 64ull, 1001ull}) {
    for (uint64_t n = 1; n <= 6; ++n) {
      uint64_t sum = 0;
      for (uint64_t i = 0; i < n; ++i) {
        sum += shard_split::share(total, i, n);
        if (i > 0) CHECK(shard_split::share(total, i - 1, n) >= shard_split::share(total, i, n));
      }
      CHECK(sum == total);
    }
  }
  CHECK(shard_split::share(10, 0, 4) == 3);
  CHECK(shard_split::share(10, 1, 4) == 3);
  CHECK(shard_split::share(10, 2, 4) == 2);
  CHECK(shard_split::share(10, 0, 0) == 10);  // not sharded
}

TEST_CASE("positions: N processes of any thread counts send each position below the limit once", "[shard]") {
  // Each process may have its own thread count: the split must not depend on it.
  const std::vector<std::vector<uint64_t>> layouts = {{1}, {2}, {1, 1}, {2, 3}, {4, 1, 2, 2}, {3, 3, 3}};
  for (const auto& threads : layouts) {
    const uint64_t n = threads.size();
    for (uint64_t limit : {0ull, 1ull, 5ull, 17ull, 100ull, 1003ull}) {
      std::map<uint64_t, int> seen;
      uint64_t counted = 0;
      for (uint64_t i = 0; i < n; ++i) {
        for (uint64_t k = 0; k < threads[i]; ++k) {
          const auto p = shard_split::positions(i, n, k, threads[i]);
          counted += shard_split::positions_below(limit, p);
          Sequence seq;
          seq.init(p.first, p.step, limit, 7, false, 1);
          uint64_t last = 0;
          bool first = true;
          for (; !seq.done(); seq.advance()) {
            CHECK(seq.position() % n == i);  // process i's residue class
            if (!first) CHECK(seq.position() > last);  // each thread in order
            last = seq.position();
            first = false;
            ++seen[seq.position()];
          }
        }
      }
      CHECK(counted == limit);
      REQUIRE(seen.size() == limit);
      for (const auto& [pos, times] : seen) {
        CHECK(pos < limit);
        CHECK(times == 1);
      }
    }
  }
}

TEST_CASE("positions: shuffled lines are the unsharded run's, position by position", "[shard]") {
  const uint64_t lines = 10, limit = 95;
  Sequence whole;
  whole.init(0, 1, limit, lines, true, 42);
  std::vector<uint32_t> expected;
  for (; !whole.done(); whole.advance()) expected.push_back(whole.line());
  for (uint64_t n : {2ull, 4ull}) {
    for (uint64_t i = 0; i < n; ++i) {
      for (uint64_t k = 0; k < 3; ++k) {
        Sequence s;
        s.init(shard_split::positions(i, n, k, 3).first, shard_split::positions(i, n, k, 3).step, limit, lines, true, 42);
        for (; !s.done(); s.advance()) CHECK(s.line() == expected[s.position()]);
      }
    }
  }
}

TEST_CASE("phase: the threads of all processes interleave evenly", "[shard]") {
  std::set<double> phases;
  const uint64_t n = 3, t = 2;
  for (uint64_t i = 0; i < n; ++i)
    for (uint64_t k = 0; k < t; ++k) phases.insert(shard_split::phase(i, n, k, t) * static_cast<double>(n * t));
  CHECK(phases == std::set<double>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("RunPlan: connections, rates and adaptive bounds of N shards add up", "[shard]") {
  RunConfig c;
  c.connections = 10;
  c.threads = 2;
  c.qps = 1000;
  c.stages = {{std::chrono::seconds(1), 300}, {std::chrono::seconds(1), 0}};
  c.adaptive.qps_min = 10;
  c.adaptive.qps_max = 4000;
  for (uint32_t n : {1u, 2u, 4u}) {
    uint64_t connections = 0;
    double r0 = 0, r1 = 0, lo = 0, hi = 0;
    for (uint32_t i = 0; i < n; ++i) {
      c.shard = {i, n};
      const RunPlan plan(c, 1, 1);
      connections += plan.connections_per_origin()[0];
      const auto rate = plan.rate_schedule(0);
      r0 += rate[0].r0;
      r1 += rate[0].r1;
      lo += plan.adaptive_share().qps_min;
      hi += plan.adaptive_share().qps_max;
      uint64_t threads_sum = 0;
      for (const ShardPlan& p : plan.shards(0, {})) {
        for (uint32_t conns : p.connections) threads_sum += conns;
      }
      CHECK(threads_sum == plan.connections_per_origin()[0]);
    }
    CHECK(connections == 10);
    CHECK(r0 == Approx(1000));
    CHECK(r1 == Approx(300));
    CHECK(lo == Approx(10));
    CHECK(hi == Approx(4000));
  }
}

TEST_CASE("shard flags: --shard and --start-at parse, and refuse bad values", "[shard]") {
  using cli::parse_shard;
  CHECK(parse_shard("0/1").value().count == 1);
  CHECK(parse_shard("3/4").value().index == 3);
  CHECK_FALSE(parse_shard("4/4"));
  CHECK_FALSE(parse_shard("1/0"));
  CHECK_FALSE(parse_shard("-1/4"));
  CHECK_FALSE(parse_shard("1"));
  CHECK_FALSE(parse_shard("a/b"));
  CHECK_FALSE(parse_shard("1/4x"));

  using std::chrono::milliseconds;
  auto ms = [](const std::string& t) {
    auto r = cli::parse_start_time(t);
    REQUIRE(r);
    return std::chrono::duration_cast<milliseconds>(r->time_since_epoch()).count();
  };
  CHECK(ms("1796371200000") == 1796371200000);
  CHECK(ms("2026-12-04T08:00:00Z") == 1796371200000);
  CHECK(ms("2026-12-04T09:00:00.250+01:00") == 1796371200250);
  CHECK(ms("2026-12-04 07:30:00.5-00:30") == 1796371200500);
  CHECK_FALSE(cli::parse_start_time("2026-12-04T08:00:00"));   // no zone
  CHECK_FALSE(cli::parse_start_time("2026-13-04T08:00:00Z"));
  CHECK_FALSE(cli::parse_start_time("2026-12-04T08:00:00.Z"));
  CHECK_FALSE(cli::parse_start_time("tomorrow"));

  auto env = [](std::map<std::string, std::string> vars) {
    return [vars](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  };
  RunConfig c;
  cli::ShardFlags f{"auto", 4, ""};
  REQUIRE(cli::apply_shard_flags(f, c, env({{"JOB_COMPLETION_INDEX", "2"}})));
  CHECK((c.shard.index == 2 && c.shard.count == 4));
  f.shards = 0;
  CHECK_FALSE(cli::apply_shard_flags(f, c, env({{"JOB_COMPLETION_INDEX", "2"}})));  // needs --shards
  REQUIRE(cli::apply_shard_flags(f, c, env({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}})));
  CHECK((c.shard.index == 1 && c.shard.count == 2));
  CHECK_FALSE(cli::apply_shard_flags(f, c, env({})));
  CHECK_FALSE(cli::apply_shard_flags(f, c, env({{"SLURM_PROCID", "2"}, {"SLURM_NTASKS", "2"}})));
  CHECK_FALSE(cli::apply_shard_flags(cli::ShardFlags{"1/2", 3, ""}, c, env({})));
  CHECK_FALSE(cli::apply_shard_flags(cli::ShardFlags{"", 3, ""}, c, env({})));
}
