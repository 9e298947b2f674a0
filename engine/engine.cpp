#include "ringload/engine.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <algorithm>
#include <cstring>
#include <thread>

#include "engine/load/adaptive.hpp"
#include "engine/core/clock.hpp"
#include "engine/output/export_writer.hpp"
#include "engine/requests/request.hpp"
#include "engine/core/shard.hpp"
#include "engine/core/uring_compat.hpp"

namespace ringload {
namespace {

constexpr uint64_t fd_slack = 64;  // stdio, the ring fds, the export file ...

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i)
      if (CPU_ISSET(i, &set)) cpus.push_back(i);
  }
  return cpus;
}

std::expected<void, std::string> raise_fd_limit(uint64_t needed) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return std::unexpected(std::string("getrlimit: ") + strerror(errno));
  if (lim.rlim_cur >= needed) return {};
  rlimit want = lim;
  want.rlim_cur = needed <= lim.rlim_max ? needed : lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &want);
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur >= needed) return {};
  return std::unexpected("the connections need " + std::to_string(needed) +
                         " file descriptors but RLIMIT_NOFILE is " + std::to_string(lim.rlim_cur) +
                         " (hard limit " + std::to_string(lim.rlim_max) +
                         "): lower -c or raise the limit (ulimit -n)");
}

// Fails early, with the reason, where io_uring is blocked (containers, seccomp).
std::expected<void, std::string> probe_io_uring() {
  io_uring ring;
  int ret = io_uring_queue_init(8, &ring, 0);
  if (ret == -EPERM || ret == -ENOSYS)
    return std::unexpected(std::string("io_uring is not available here (") + strerror(-ret) +
                           "): a seccomp profile such as Docker's default blocks it");
  if (ret < 0) return std::unexpected(std::string("io_uring setup failed: ") + strerror(-ret));
  io_uring_queue_exit(&ring);
  return {};
}

// The figures of one window: `current` minus `previous` (cumulative snapshots).
Window make_window(const Stats& current, const Stats& previous, uint64_t t0, uint64_t start_ns,
                   uint64_t end_ns) {
  auto delta = std::make_unique<Stats>(current);
  delta->subtract(previous);
  Window w;
  w.t_s = static_cast<double>(end_ns - t0) / 1e9;
  w.duration_s = static_cast<double>(end_ns - start_ns) / 1e9;
  w.requests = delta->counters.requests;
  w.succeeded = delta->counters.succeeded;
  for (uint64_t e : delta->counters.errors) w.errors += e;
  w.latency_p50_ns = delta->latency.percentile(50);
  w.latency_p99_ns = delta->latency.percentile(99);
  return w;
}

}  // namespace

struct Engine::Impl {
  RunConfig config;
  PreparedRun prepared;
  bool prepared_ok = false;
  std::atomic<bool> stop_requested{false};
  std::unique_ptr<AdaptiveController> adaptive;
  std::vector<std::string> notices;  // found while preparing, reported with the result

  bool open_loop() const noexcept { return config.qps > 0 || !config.stages.empty() || config.adaptive.enabled; }
  std::vector<RateSegment> rate_schedule(uint64_t t0) const;
  double target_qps_at(uint64_t t0, uint64_t t) const;

  std::vector<ShardPlan> plan_shards(uint64_t t0) const;
  std::vector<uint32_t> connections_per_origin() const;
  void take_window(std::vector<std::unique_ptr<ShardControl>>& controls, uint64_t epoch,
                   Stats& previous, uint64_t& previous_ns, uint64_t t0, RunResult& result,
                   const std::function<void(const Window&)>& on_window);
  void adapt(std::vector<std::unique_ptr<ShardControl>>& controls, const Window& w);
};

Engine::Engine(RunConfig config) : impl_(std::make_unique<Impl>()) { impl_->config = std::move(config); }
Engine::~Engine() = default;

const RunConfig& Engine::config() const noexcept { return impl_->config; }

void Engine::request_stop() noexcept { impl_->stop_requested.store(true, std::memory_order_relaxed); }

std::expected<void, std::string> Engine::prepare() {
  RunConfig& c = impl_->config;
  if (auto r = check_config(c); !r) return std::unexpected(r.error().to_string());
  if (c.threads == 0) {
    std::size_t cpus = allowed_cpus().size();
    c.threads = cpus == 0 ? 1 : static_cast<uint32_t>(cpus);
  }
  auto prepared = prepare_requests(c);
  if (!prepared) return std::unexpected(prepared.error());
  impl_->prepared = std::move(*prepared);
  // More shards than connections to an origin would leave shards without one.
  const std::size_t origins = impl_->prepared.origins.size();
  const uint64_t fewest = c.connections_per_origin ? c.connections : c.connections / origins;
  if (auto r = check_origin_connections(c, origins); !r) return std::unexpected(r.error().to_string());
  if (c.threads > fewest) c.threads = static_cast<uint32_t>(fewest);
  uint64_t total_connections = 0;
  for (uint32_t n : impl_->connections_per_origin()) total_connections += n;
  if (auto r = raise_fd_limit(total_connections + fd_slack); !r) return r;
  if (auto r = probe_io_uring(); !r) return r;
  for (const Origin& o : impl_->prepared.origins)
    if (auto r = probe_connect(o, static_cast<uint64_t>(c.connect_timeout.count())); !r) return r;
  bool https = false;
  for (const Origin& o : impl_->prepared.origins) https = https || o.tls != nullptr;
  if (https && !c.tls.verify)
    impl_->notices.push_back("certificate verification is off (--insecure): the figures say nothing about the server's identity");
#ifdef RINGLOAD_WOLFSSL_SLOW
  if (https)
    impl_->notices.push_back("using Debian's wolfSSL without AES-NI: HTTPS costs this client far more CPU (run tools/build_wolfssl.sh)");
#endif
  impl_->prepared_ok = true;
  return {};
}

std::vector<ShardPlan> Engine::Impl::plan_shards(uint64_t t0) const {
  const uint32_t n = config.threads;
  const std::vector<int> cpus = allowed_cpus();
  const std::vector<uint32_t> per_origin = connections_per_origin();
  const uint64_t lines = prepared.table->lines.size();
  uint64_t limit = UINT64_MAX;
  if (config.iterations > 0) limit = config.iterations > UINT64_MAX / lines ? UINT64_MAX : config.iterations * lines;
  if (config.max_requests > 0) limit = std::min(limit, config.max_requests);
  std::vector<ShardPlan> plans(n);
  for (uint32_t k = 0; k < n; ++k) {
    ShardPlan& p = plans[k];
    p.index = k;
    p.shard_count = n;
    p.cpu = config.pin_threads && !cpus.empty() ? cpus[k % cpus.size()] : -1;
    for (uint32_t total : per_origin) p.connections.push_back(total / n + (k < total % n ? 1 : 0));
    p.limit = limit;
    if (config.duration.count() > 0) p.deadline_ns = t0 + static_cast<uint64_t>(config.duration.count());
    if (open_loop()) {
      p.open_loop = true;
      p.rate = rate_schedule(t0);
      for (RateSegment& seg : p.rate) {
        seg.r0 /= n;
        seg.r1 /= n;
      }
      p.phase = static_cast<double>(k) / n;
      p.poisson = config.poisson;
      p.seed = config.seed;
      p.spin = config.spin;
    }
  }
  return plans;
}

// The total rate over time: stages ramp linearly from --qps (or 0) to each target.
std::vector<RateSegment> Engine::Impl::rate_schedule(uint64_t t0) const {
  std::vector<RateSegment> out;
  if (config.stages.empty()) {
    out.push_back({t0, UINT64_MAX, config.qps, config.qps});
    return out;
  }
  uint64_t t = t0;
  double r = config.qps;
  for (const Stage& s : config.stages) {
    const uint64_t end = t + static_cast<uint64_t>(s.duration.count());
    out.push_back({t, end, r, s.target_qps});
    t = end;
    r = s.target_qps;
  }
  return out;
}

double Engine::Impl::target_qps_at(uint64_t t0, uint64_t t) const {
  if (!open_loop()) return 0;
  if (adaptive) return adaptive->rate();
  for (const RateSegment& s : rate_schedule(t0)) {
    if (t < s.start_ns || t >= s.end_ns) continue;
    if (s.end_ns == UINT64_MAX) return s.r0;
    return s.r0 + (s.r1 - s.r0) * static_cast<double>(t - s.start_ns) / static_cast<double>(s.end_ns - s.start_ns);
  }
  return 0;
}

// Judges the window just taken and hands every shard its share of the new rate.
void Engine::Impl::adapt(std::vector<std::unique_ptr<ShardControl>>& controls, const Window& w) {
  if (!adaptive) return;
  const double rate = adaptive->on_window(w.requests, w.succeeded, w.latency_p99_ns);
  for (auto& c : controls) {
    c->rate.store(rate / static_cast<double>(controls.size()), std::memory_order_relaxed);
    c->rate_version.fetch_add(1, std::memory_order_release);
  }
}

// Connections to each origin over all shards: -c each, or -c shared out
// (--connections-total). Every shard needs at least one connection to every origin,
// since its share of the sequence may hold any line.
std::vector<uint32_t> Engine::Impl::connections_per_origin() const {
  const std::size_t origins = prepared.origins.size();
  std::vector<uint32_t> out(origins, config.connections);
  if (!config.connections_per_origin) {
    for (std::size_t o = 0; o < origins; ++o)
      out[o] = static_cast<uint32_t>(config.connections / origins + (o < config.connections % origins ? 1 : 0));
  }
  for (uint32_t& c : out) c = std::max(c, config.threads);
  return out;
}

void Engine::Impl::take_window(std::vector<std::unique_ptr<ShardControl>>& controls, uint64_t epoch,
                               Stats& previous, uint64_t& previous_ns, uint64_t t0,
                               RunResult& result,
                               const std::function<void(const Window&)>& on_window) {
  for (auto& c : controls) c->publish_request.store(epoch, std::memory_order_release);
  // Shards answer within one loop turn (at most their idle tick); a finished shard's
  // last snapshot stands.
  const uint64_t give_up = now_ns() + 200'000'000;
  for (auto& c : controls) {
    while (c->published.load(std::memory_order_acquire) != epoch &&
           !c->finished.load(std::memory_order_acquire) && now_ns() < give_up)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  auto current = std::make_unique<Stats>();
  for (auto& c : controls) {
    // A shard that stopped answers no more requests: its final figures stand.
    const bool done = c->finished.load(std::memory_order_acquire);
    current->merge(done && c->final_stats != nullptr ? *c->final_stats : c->snapshot);
  }
  const uint64_t now = now_ns();
  Window w = make_window(*current, previous, t0, previous_ns, now);
  w.target_qps = target_qps_at(t0, previous_ns + (now - previous_ns) / 2);
  result.timeline.push_back(w);
  adapt(controls, w);
  if (on_window) on_window(w);
  previous = *current;
  previous_ns = now;
}

std::expected<RunResult, std::string> Engine::run(std::function<void(const Window&)> on_window) {
  if (!impl_->prepared_ok) {
    if (auto r = prepare(); !r) return std::unexpected(r.error());
  }
  Impl& im = *impl_;
  const RunConfig& cfg = im.config;
  const uint64_t t0 = now_ns();
  if (cfg.adaptive.enabled) im.adaptive = std::make_unique<AdaptiveController>(cfg.adaptive, cfg.qps);
  std::vector<ShardPlan> plans = im.plan_shards(t0);
  // Export: one queue per shard, one writer thread; the file is opened before any traffic.
  std::vector<std::unique_ptr<ExportQueue>> queues;
  std::vector<ExportQueue*> queue_ptrs;
  std::unique_ptr<ExportWriter> writer;
  if (!cfg.export_path.empty()) {
    ExportOptions eo;
    eo.path = cfg.export_path;
    eo.max_body = cfg.export_max_body;
    eo.errors_only = cfg.export_errors_only;
    eo.success_status = [&cfg](int status) {
      for (const StatusRange& r : cfg.success_status)
        if (status >= r.lo && status <= r.hi) return true;
      return false;
    };
    for (ShardPlan& p : plans) {
      queues.push_back(std::make_unique<ExportQueue>(eo.queue_bytes));
      queue_ptrs.push_back(queues.back().get());
      p.export_queue = queues.back().get();
    }
    writer = std::make_unique<ExportWriter>(eo, *im.prepared.table, queue_ptrs, t0);
    if (auto r = writer->open(); !r) return std::unexpected(r.error());
    writer->start();
  }
  std::vector<std::unique_ptr<ShardControl>> controls;
  std::vector<std::unique_ptr<Shard>> shards;
  std::vector<std::string> errors(plans.size());
  std::vector<std::thread> threads;
  for (const ShardPlan& p : plans) {
    controls.push_back(std::make_unique<ShardControl>());
    shards.push_back(std::make_unique<Shard>(p, cfg, im.prepared, *controls.back()));
  }
  for (std::size_t k = 0; k < shards.size(); ++k) {
    threads.emplace_back([&, k] {
      errors[k] = shards[k]->run();
      controls[k]->finished.store(true, std::memory_order_release);
    });
  }

  RunResult result;
  result.notices = im.notices;
  auto previous = std::make_unique<Stats>();
  uint64_t previous_ns = t0;
  uint64_t epoch = 0;
  const uint64_t interval = static_cast<uint64_t>(cfg.progress_interval.count());
  uint64_t next_window = interval > 0 ? t0 + interval : UINT64_MAX;
  while (true) {
    bool all_done = true;
    for (auto& c : controls) all_done = all_done && c->finished.load(std::memory_order_acquire);
    if (all_done) break;
    if (im.stop_requested.load(std::memory_order_relaxed)) {
      result.interrupted = true;
      for (auto& c : controls) c->stop.store(true, std::memory_order_relaxed);
      break;
    }
    // A run whose export cannot be written stops: its results would be lost.
    if (writer && writer->failed()) {
      for (auto& c : controls) c->stop.store(true, std::memory_order_relaxed);
      break;
    }
    const uint64_t now = now_ns();
    if (now >= next_window) {
      im.take_window(controls, ++epoch, *previous, previous_ns, t0, result, on_window);
      next_window += interval;
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& t : threads) t.join();
  if (writer) {
    if (auto r = writer->finish(); !r) result.export_error = r.error();
    result.export_lines = writer->lines();
    for (const auto& q : queues) result.export_waits += q->waits();
  }

  for (std::size_t k = 0; k < shards.size(); ++k) {
    if (!errors[k].empty()) return std::unexpected(errors[k]);
  }
  uint64_t end_ns = t0;
  for (std::size_t k = 0; k < shards.size(); ++k) {
    const Shard& s = *shards[k];
    result.stats.merge(s.stats());
    result.in_flight_at_end += s.in_flight_at_end();
    result.unsent_at_end += s.unsent_at_end();
    if (result.tls_version.empty() && s.tls_version() != nullptr) {
      result.tls_version = s.tls_version();
      result.tls_cipher = s.tls_cipher();
    }
    if (s.end_ns() > end_ns) end_ns = s.end_ns();
    for (std::size_t e = 0; e < error_kind_count; ++e)
      if (result.first_error[e].empty()) result.first_error[e] = s.first_errors()[e];
    for (const std::string& n : s.notices()) result.notices.push_back(n);
    if (k == 0) {
      result.by_name = s.by_name();
      result.by_iteration = s.by_iteration();
      continue;
    }
    for (std::size_t i = 0; i < result.by_name.size(); ++i) {
      result.by_name[i].requests += s.by_name()[i].requests;
      result.by_name[i].succeeded += s.by_name()[i].succeeded;
      result.by_name[i].failed += s.by_name()[i].failed;
      result.by_name[i].latency.merge(s.by_name()[i].latency);
    }
    for (std::size_t i = 0; i < result.by_iteration.size(); ++i) {
      result.by_iteration[i].requests += s.by_iteration()[i].requests;
      result.by_iteration[i].succeeded += s.by_iteration()[i].succeeded;
      result.by_iteration[i].failed += s.by_iteration()[i].failed;
    }
  }
  // Passes never reached (a looping run stopped by -d) are not reported.
  while (!result.by_iteration.empty() && result.by_iteration.back().requests == 0) result.by_iteration.pop_back();
  // A timed run lasts exactly its duration (the shards stop at the deadline); an
  // interrupted or counted run lasts until its last shard stopped.
  if (!result.interrupted && cfg.duration.count() > 0 && end_ns >= t0 + static_cast<uint64_t>(cfg.duration.count()))
    end_ns = t0 + static_cast<uint64_t>(cfg.duration.count());
  result.duration_s = static_cast<double>(end_ns - t0) / 1e9;
  result.connections = 0;
  for (uint32_t n : im.connections_per_origin()) result.connections += n;
  result.threads = static_cast<uint32_t>(shards.size());
  // The last, partial window, from the shards' final figures.
  if (interval > 0 && end_ns > previous_ns) {
    Window w = make_window(result.stats, *previous, t0, previous_ns, end_ns);
    w.target_qps = im.target_qps_at(t0, previous_ns + (end_ns - previous_ns) / 2);
    if (w.duration_s > 0.001 || w.requests > 0) result.timeline.push_back(w);
  }
  if (im.adaptive) result.capacity_qps = im.adaptive->capacity();
  return result;
}

}  // namespace ringload
