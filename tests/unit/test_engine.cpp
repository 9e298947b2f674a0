// The embeddable engine from C++, as a harness drives it: start / snapshot / stop from
// another thread, set_qps, two runs on one Engine, two Engines at once, a harness thread
// with a small stack. Against a socket server in the test, on loopback.
#include <pthread.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "engine/core/host.hpp"
#include "ringload/engine.hpp"
#include "ringload/report.hpp"
#include "tests/support/loopback_server.hpp"

namespace {

using namespace std::chrono_literals;
using namespace ringload::test;

ringload::RunConfig config_for(const Server& server) {
  ringload::RunConfig c;
  ringload::RequestSpec spec;
  spec.url = *ringload::parse_url("http://127.0.0.1:" + std::to_string(server.port()) + "/");
  c.requests.push_back(spec);
  c.connections = 4;
  c.threads = 1;
  c.progress_interval = 200ms;
  return c;
}

bool io_uring_here() {
  if (auto r = ringload::probe_io_uring(); !r) {
    WARN("io_uring is unavailable here, engine cases skipped: " << r.error());
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("engine: start, snapshots while it runs, stop from another thread", "[engine]") {
  if (!io_uring_here()) return;
  Server server(keep_alive);
  ringload::RunConfig c = config_for(server);
  c.duration = 30s;
  ringload::Engine engine(c);
  REQUIRE(engine.prepare());
  CHECK(engine.snapshot().totals == nullptr);  // no run yet
  std::atomic<int> windows{0};
  REQUIRE(engine.start([&](const ringload::Window&) { ++windows; }));
  CHECK(!engine.start());  // one run at a time
  uint64_t last = 0;
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(150ms);
    const ringload::Snapshot s = engine.snapshot();
    REQUIRE(s.running);
    REQUIRE(s.totals != nullptr);
    CHECK(s.totals->counters.requests >= last);  // cumulative
    last = s.totals->counters.requests;
  }
  CHECK(last > 0);
  const auto stopped_at = std::chrono::steady_clock::now();
  std::thread stopper([&] { engine.stop(); });
  auto result = engine.wait();
  stopper.join();
  CHECK(std::chrono::steady_clock::now() - stopped_at < 2s);
  REQUIRE(result);
  const ringload::RunResult& r = **result;
  CHECK(r.interrupted);
  CHECK(r.stats.counters.requests >= last);
  CHECK(r.stats.counters.requests == r.stats.counters.status[200]);
  CHECK(windows > 0);
  // After the run: the last run's totals, not running.
  const ringload::Snapshot after = engine.snapshot();
  CHECK(!after.running);
  REQUIRE(after.totals != nullptr);
  CHECK(after.totals->counters.requests == r.stats.counters.requests);
  // The report is the library's: the same document the CLI writes.
  const std::string report = ringload::report_json(engine.config(), r);
  CHECK(report.find("\"interrupted\": true") != std::string::npos);
}

TEST_CASE("engine: two runs on one Engine", "[engine]") {
  if (!io_uring_here()) return;
  Server server(keep_alive);
  ringload::RunConfig c = config_for(server);
  c.max_requests = 500;
  c.duration = 0s;
  ringload::Engine engine(c);
  for (int run = 0; run < 2; ++run) {
    INFO("run " << run);
    auto result = engine.run();
    REQUIRE(result);
    CHECK(!(*result)->interrupted);
    CHECK((*result)->stats.counters.requests == 500);
  }
  // A stop between runs does not leak into the next one.
  engine.stop();
  auto third = engine.run();
  REQUIRE(third);
  CHECK((*third)->stats.counters.requests == 500);
  CHECK(server.requests == 1500);
}

TEST_CASE("engine: set_qps changes an open-loop rate; refused where it cannot", "[engine]") {
  if (!io_uring_here()) return;
  Server server(keep_alive);
  ringload::RunConfig c = config_for(server);
  c.qps = 100;
  c.duration = 30s;
  ringload::Engine engine(c);
  CHECK(!engine.set_qps(10));  // no run
  REQUIRE(engine.start());
  std::this_thread::sleep_for(500ms);
  const uint64_t slow = engine.snapshot().totals->counters.requests;
  CHECK(!engine.set_qps(-1));
  REQUIRE(engine.set_qps(2000));
  CHECK(engine.snapshot().target_qps == Approx(2000));
  std::this_thread::sleep_for(500ms);
  const uint64_t fast = engine.snapshot().totals->counters.requests - slow;
  engine.stop();
  REQUIRE(engine.wait());
  INFO("half a second at 100/s: " << slow << ", then at 2000/s: " << fast);
  CHECK(slow < 100);
  CHECK(fast > 400);

  ringload::RunConfig closed = config_for(server);
  closed.duration = 30s;
  ringload::Engine engine2(closed);
  REQUIRE(engine2.start());
  auto refused = engine2.set_qps(100);
  REQUIRE(!refused);
  CHECK(refused.error().find("open-loop") != std::string::npos);
  engine2.stop();
  REQUIRE(engine2.wait());
}

TEST_CASE("engine: two Engines at once share the CPUs out", "[engine]") {
  if (!io_uring_here()) return;
  Server server(keep_alive);
  ringload::RunConfig a = config_for(server);
  const auto cpus = static_cast<uint32_t>(ringload::allowed_cpus().size());
  a.threads = cpus;
  a.connections = cpus * 2;
  a.duration = 1s;
  ringload::RunConfig b = config_for(server);
  b.duration = 1s;
  ringload::Engine ea(a), eb(b);
  REQUIRE(ea.start());
  REQUIRE(eb.start());
  auto ra = ea.wait();
  auto rb = eb.wait();
  REQUIRE(ra);
  REQUIRE(rb);
  CHECK((*ra)->stats.counters.requests > 0);
  CHECK((*rb)->stats.counters.requests > 0);
  // Every CPU already had one of a's shards: b says it shares one.
  bool said = false;
  for (const std::string& n : (*rb)->notices) said = said || n.find("same CPUs") != std::string::npos;
  CHECK(said);
  // Alone again, a run shares nothing.
  auto alone = eb.run();
  REQUIRE(alone);
  for (const std::string& n : (*alone)->notices) CHECK(n.find("same CPUs") == std::string::npos);
}

// A harness thread with a 1 MiB stack (a RunResult's histograms alone take 2.3 MB).
TEST_CASE("engine: a run from a thread with a 1 MiB stack", "[engine]") {
  if (!io_uring_here()) return;
  Server server(keep_alive);
  struct Job {
    ringload::RunConfig config;
    uint64_t requests = 0;
    std::string error;
  } job{config_for(server)};
  job.config.max_requests = 200;
  job.config.duration = 0s;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 1u << 20);
  pthread_t thread;
  auto body = [](void* arg) -> void* {
    auto& j = *static_cast<Job*>(arg);
    ringload::Engine engine(j.config);
    auto result = engine.run();
    if (result) {
      j.requests = (*result)->stats.counters.requests;
    } else {
      j.error = result.error();
    }
    return nullptr;
  };
  REQUIRE(pthread_create(&thread, &attr, body, &job) == 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  CHECK(job.error.empty());
  CHECK(job.requests == 200);
}
