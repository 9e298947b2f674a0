// The engine's own memory: histograms that touch only the pages their values span (and
// still copy, merge and subtract exactly), and the report's `memory` block, whose parts
// add up and grow with the connections.
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "engine/core/host.hpp"
#include "ringload/engine.hpp"
#include "ringload/histogram.hpp"
#include "ringload/report.hpp"
#include "tests/support/loopback_server.hpp"

namespace {

using namespace std::chrono_literals;
using ringload::Histogram;
using ringload::MemoryUsage;

bool same(const Histogram& a, const Histogram& b) {
  return std::ranges::equal(a.counts(), b.counts()) && a.count() == b.count() && a.min() == b.min() &&
         a.max() == b.max() && a.percentile(99) == b.percentile(99);
}

MemoryUsage run_with(const ringload::test::Server& server, uint32_t connections, std::string* report) {
  ringload::RunConfig c;
  ringload::RequestSpec spec;
  spec.url = *ringload::parse_url("http://127.0.0.1:" + std::to_string(server.port()) + "/");
  c.requests.push_back(spec);
  c.connections = connections;
  c.threads = 1;
  c.duration = 300ms;
  ringload::Engine engine(c);
  REQUIRE(engine.prepare());
  auto result = engine.run();
  REQUIRE(result);
  if (report != nullptr) *report = ringload::report_json(engine.config(), **result);
  return (*result)->memory;
}

}  // namespace

TEST_CASE("histogram: only the pages between its lowest and highest count", "[memory]") {
  Histogram empty;
  CHECK(empty.resident_bytes() == sizeof(Histogram));
  Histogram h;
  for (uint64_t v = 100'000; v < 200'000; v += 7) h.record(v);
  // 100..200 us: two power-of-two buckets, 2 KiB of counts each: a few pages.
  CHECK(h.resident_bytes() <= sizeof(Histogram) + 3 * 4096);
  h.record(5'000'000'000);  // 5 s: the range now spans most buckets
  CHECK(h.resident_bytes() > sizeof(Histogram) + 16 * 4096);
}

TEST_CASE("histogram: copies, merges, subtracts and resets exactly over ranges", "[memory]") {
  Histogram a, b;
  for (uint64_t v = 1; v < 5'000'000; v = v * 3 + 1) a.record(v);
  for (uint64_t v = 900; v < 90'000'000'000; v = v * 5 + 3) b.record_n(v, 2);
  Histogram copy(a);
  CHECK(same(copy, a));
  Histogram assigned;
  assigned.record(123);
  assigned = b;  // the old value's count goes
  CHECK(same(assigned, b));
  Histogram both(a);
  both.merge(b);
  CHECK(both.count() == a.count() + b.count());
  Histogram window(both);
  window.subtract(a);
  CHECK(std::ranges::equal(window.counts(), b.counts()));
  CHECK(window.count() == b.count());
  window.reset();
  CHECK(window.count() == 0);
  CHECK(std::ranges::all_of(window.counts(), [](uint64_t n) { return n == 0; }));
  CHECK(window.resident_bytes() == sizeof(Histogram));
}

TEST_CASE("memory block: the parts add up and grow with the connections", "[memory][engine]") {
  if (auto r = ringload::probe_io_uring(); !r) {
    WARN("io_uring is unavailable here, skipped: " << r.error());
    return;
  }
  ringload::test::Server server(ringload::test::keep_alive);
  std::string report;
  const MemoryUsage small = run_with(server, 8, nullptr);
  const MemoryUsage large = run_with(server, 64, &report);
  for (const MemoryUsage* m : {&small, &large}) {
    CHECK(m->total() == m->slots + m->scratch + m->buffer_rings + m->rings + m->session_state + m->tls +
                            m->timers + m->histograms + m->request_table + m->export_queues);
    CHECK(m->per_connection() == m->per_connection_parts() / m->connections);
    CHECK(m->session_state == 0);  // no streams, no plugins
    CHECK(m->tls == 0);
    CHECK(m->export_queues == 0);
    CHECK(m->histograms > 0);
    // A plain GET's head is small: the scratch is sized from it, not 16 KiB.
    CHECK(m->scratch / m->connections <= 512);
  }
  CHECK(small.connections == 8);
  CHECK(large.connections == 64);
  // Per-connection parts grow in proportion; fixed ones do not.
  CHECK(large.slots == 8 * small.slots);
  CHECK(large.scratch == 8 * small.scratch);
  CHECK(large.carry_reserved == 8 * small.carry_reserved);
  CHECK(large.timers > small.timers);
  CHECK(large.request_table == small.request_table);
  CHECK(large.buffer_rings >= small.buffer_rings);
  const auto doc = nlohmann::json::parse(report);
  const auto& m = doc.at("memory");
  CHECK(m.at("total_bytes").get<uint64_t>() == large.total());
  CHECK(m.at("per_connection_bytes").get<uint64_t>() == large.per_connection());
  CHECK(m.at("connections").get<uint64_t>() == 64);
  uint64_t sum = 0;
  for (const auto& [name, bytes] : m.at("parts").items()) sum += bytes.get<uint64_t>();
  CHECK(sum == large.total());
}
