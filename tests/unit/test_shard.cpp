// One Shard on a real io_uring ring against a socket server in this test, on loopback:
// the connection state machine, the transport and the HTTP session from C++, without the
// CLI or the engine's control thread. Each server behaviour is a small function run per
// connection on its own thread; every wait is bounded.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/clock.hpp"
#include "engine/core/host.hpp"
#include "engine/core/shard.hpp"
#include "engine/core/user_data.hpp"
#include "engine/requests/request.hpp"
#include "tests/support/loopback_server.hpp"

namespace {

using namespace std::chrono_literals;
using namespace ringload::test;

struct Outcome {
  std::string error;
  ringload::Counters counters;
  uint64_t in_flight = 0;
  uint64_t latencies = 0;        // complete responses timed (Stats::latency)
  uint64_t error_latencies = 0;  // failures timed (Stats::error_latency)
  uint64_t error_min_ns = 0, error_p50_ns = 0, error_max_ns = 0;
};

// Runs one shard with `connections` connections for `requests` requests (or until
// `deadline` passes) against the server.
Outcome run_shard(const Server& server, uint32_t connections, uint64_t requests,
                  std::chrono::nanoseconds deadline = 10s, std::chrono::nanoseconds timeout = 30s) {
  ringload::RunConfig config;
  ringload::RequestSpec spec;
  spec.url = *ringload::parse_url("http://127.0.0.1:" + std::to_string(server.port()) + "/x");
  config.requests.push_back(spec);
  config.timeout = timeout;
  auto prepared = ringload::prepare_requests(config);
  REQUIRE(prepared);
  ringload::ShardPlan plan;
  plan.connections = {connections};
  plan.limit = requests;
  plan.deadline_ns = ringload::now_ns() + static_cast<uint64_t>(deadline.count());
  ringload::ShardControl control;
  auto shard = std::make_unique<ringload::Shard>(plan, config, *prepared, control);
  Outcome out;
  out.error = shard->run();
  const ringload::Stats& stats = shard->recorder().stats();
  out.counters = stats.counters;
  out.latencies = stats.latency.count();
  out.error_latencies = stats.error_latency.count();
  out.error_min_ns = stats.error_latency.min();
  out.error_p50_ns = stats.error_latency.percentile(50);
  out.error_max_ns = stats.error_latency.max();
  out.in_flight = shard->in_flight_at_end();
  return out;
}

bool io_uring_here() {
  if (auto r = ringload::probe_io_uring(); !r) {
    WARN("io_uring is unavailable here, shard cases skipped: " << r.error());
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("user_data: op, slot and generation round-trip; generations wrap at 24 bits", "[shard]") {
  using ringload::Op;
  for (const Op op : {Op::connect, Op::link_timeout, Op::send, Op::recv}) {
    for (const uint32_t slot : {0u, 1u, 65535u, 0xfffffffeu}) {
      for (const uint32_t gen : {0u, 1u, 0xffffffu, 0x1000000u, 0xfffffffu}) {
        const ringload::UserData ud = ringload::unpack(ringload::pack(op, slot, gen));
        CHECK(ud.op == op);
        CHECK(ud.slot == slot);
        CHECK(ud.gen == (gen & ringload::gen_mask));
        CHECK(ringload::current(gen, ud.gen));
        CHECK(!ringload::current(gen + 1, ud.gen));
      }
    }
  }
}

TEST_CASE("shard: keep-alive requests, counted exactly", "[shard]") {
  if (!io_uring_here()) return;
  Server server(keep_alive);
  const Outcome o = run_shard(server, 4, 1000);
  REQUIRE(o.error.empty());
  CHECK(o.counters.requests == 1000);
  CHECK(o.counters.succeeded == 1000);
  CHECK(o.counters.status[200] == 1000);
  CHECK(o.counters.connects == 4);
  CHECK(o.in_flight == 0);
  CHECK(server.requests == 1000);
  CHECK(o.latencies == 1000);
  CHECK(o.error_latencies == 0);
}

TEST_CASE("shard: a server that closes after each response", "[shard]") {
  if (!io_uring_here()) return;
  Server server(close_each);
  const Outcome o = run_shard(server, 2, 50);
  REQUIRE(o.error.empty());
  CHECK(o.counters.requests == 50);
  CHECK(o.counters.succeeded == 50);
  CHECK(o.counters.closes_by_server == 50);
  CHECK(o.counters.connects >= 50);
}

TEST_CASE("shard: a response that is not HTTP is a protocol error, the run goes on", "[shard]") {
  if (!io_uring_here()) return;
  Server server(garbage);
  const Outcome o = run_shard(server, 2, 20);
  REQUIRE(o.error.empty());
  CHECK(o.counters.requests == 20);
  CHECK(o.counters.failed == 20);
  CHECK(o.counters.errors[static_cast<std::size_t>(ringload::ErrorKind::protocol)] == 20);
  // Failures without a response: timed in error_latency, not in latency.
  CHECK(o.error_latencies == 20);
  CHECK(o.latencies == 0);
}

TEST_CASE("shard: a silent server times out each request by its deadline", "[shard]") {
  if (!io_uring_here()) return;
  Server server(silent);
  const auto start = std::chrono::steady_clock::now();
  const Outcome o = run_shard(server, 2, 6, 10s, 100ms);
  REQUIRE(o.error.empty());
  CHECK(o.counters.requests == 6);
  CHECK(o.counters.errors[static_cast<std::size_t>(ringload::ErrorKind::timeout)] == 6);
  // Each failure's time from its intended send: the 100 ms deadline, a timer tick later.
  CHECK(o.error_latencies == 6);
  CHECK(o.latencies == 0);
  CHECK(o.error_min_ns >= 100'000'000);
  CHECK(o.error_p50_ns < 150'000'000);
  CHECK(o.error_max_ns < 1'000'000'000);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("shard: the run's deadline leaves unanswered requests in flight, not lost", "[shard]") {
  if (!io_uring_here()) return;
  Server server(silent);
  const Outcome o = run_shard(server, 3, UINT64_MAX, 300ms);
  REQUIRE(o.error.empty());
  CHECK(o.counters.requests == 0);
  CHECK(o.in_flight == 3);
  CHECK(o.error_latencies == 0);  // in flight at the end is no failure
}
