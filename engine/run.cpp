#include "engine/run.hpp"

#include <algorithm>
#include <chrono>

#include "engine/core/clock.hpp"
#include "engine/output/memory_report.hpp"
#include "engine/output/thresholds.hpp"

namespace ringload {

Run::Run(const RunConfig& config, const PreparedRun& prepared, std::vector<std::string> notices,
         PluginHost* plugins)
    : config_(config),
      prepared_(prepared),
      plugins_(plugins),
      plan_(config, prepared.origins.size(), prepared.table->lines.size()),
      result_(std::make_unique<RunResult>()),
      previous_(std::make_unique<Stats>()) {
  result_->notices = std::move(notices);
}

Run::~Run() {
  stop_shards();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

namespace {

// RunConfig::start_at: sleeps until that wall-clock time, in steps of at most 50 ms so a
// stop (Ctrl-C) ends the wait.
void wait_for_start(std::chrono::system_clock::time_point at, const std::atomic<bool>& stop) {
  if (at == std::chrono::system_clock::time_point{}) return;
  while (!stop.load(std::memory_order_relaxed)) {
    const auto now = std::chrono::system_clock::now();
    if (now >= at) return;
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(at - now, std::chrono::milliseconds(50)));
  }
}

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::expected<void, std::string> Run::start(const std::atomic<bool>& stop) {
  // The closed loop starts sending as soon as its shards run: its t0 is here.
  if (!plan_.open_loop()) wait_for_start(config_.start_at, stop);
  result_->started_at_ms = wall_ms();
  t0_ = now_ns();
  previous_ns_ = t0_;
  if (config_.adaptive.enabled) adaptive_ = std::make_unique<AdaptiveController>(plan_.adaptive_share(), plan_.rate_share(config_.qps));
  std::vector<int> cpus;
  if (config_.pin_threads) {
    lease_ = std::make_unique<CpuLease>(config_.threads);
    cpus = lease_->cpus();
    if (lease_->overlap())
      result_->notices.push_back("another engine in this process runs shards on the same CPUs: both runs share them");
  }
  std::vector<ShardPlan> plans = plan_.shards(t0_, cpus);
  for (ShardPlan& p : plans) {
    p.plugins = plugins_;
    p.direct_fds = prepared_.direct_fds;
  }
  if (plugins_ != nullptr) plugins_->start_run();
  // Export: one queue per shard, one writer thread; the file is opened before any traffic.
  if (!config_.export_path.empty()) {
    ExportOptions eo;
    eo.path = config_.export_path;
    eo.max_body = config_.export_max_body;
    eo.errors_only = config_.export_errors_only;
    eo.success_status = [this](int status) { return success_status(config_, status); };
    std::vector<ExportQueue*> queues;
    for (ShardPlan& p : plans) {
      queues_.push_back(std::make_unique<ExportQueue>(eo.queue_bytes));
      queues.push_back(queues_.back().get());
      p.export_queue = queues_.back().get();
    }
    writer_ = std::make_unique<ExportWriter>(eo, *prepared_.table, queues, t0_);
    if (auto r = writer_->open(); !r) return r;
    writer_->start();
  }
  errors_.resize(plans.size());
  for (const ShardPlan& p : plans) {
    controls_.push_back(std::make_unique<ShardControl>());
    shards_.push_back(std::make_unique<Shard>(p, config_, prepared_, *controls_.back()));
  }
  for (std::size_t k = 0; k < shards_.size(); ++k) {
    threads_.emplace_back([this, k] {
      errors_[k] = shards_[k]->run();
      controls_[k]->finished.store(true, std::memory_order_release);
    });
  }
  if (plan_.open_loop()) start_open_loop(stop);
  return {};
}

// The open loop starts once every shard has opened its connections (or given up on them
// after the connect timeout): t0 moves to now, and the shards' schedules with it, so the
// first intended sends do not wait on connects.
// With a start time (--start-at) t0 waits for it after the warm-up.
void Run::start_open_loop(const std::atomic<bool>& stop) {
  const uint64_t opened_at = t0_;
  for (const auto& c : controls_) {
    while (!c->ready.load(std::memory_order_acquire) && !c->finished.load(std::memory_order_acquire))
      std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  result_->warm_up_s = static_cast<double>(now_ns() - opened_at) / 1e9;
  wait_for_start(config_.start_at, stop);
  result_->started_at_ms = wall_ms();
  t0_ = now_ns();
  previous_ns_ = t0_;
  for (const auto& c : controls_)
    if (c->ready.load(std::memory_order_acquire)) result_->preopened += c->preopened;
  if (writer_) writer_->set_t0(t0_);
  for (auto& c : controls_) c->start_ns.store(t0_, std::memory_order_release);
}

bool Run::all_finished() const noexcept {
  for (const auto& c : controls_)
    if (!c->finished.load(std::memory_order_acquire)) return false;
  return true;
}

void Run::stop_shards() noexcept {
  for (auto& c : controls_) c->stop.store(true, std::memory_order_relaxed);
}

void Run::control(const std::atomic<bool>& stop, const std::function<void(const Window&)>& on_window) {
  const auto interval = static_cast<uint64_t>(config_.progress_interval.count());
  uint64_t next_window = interval > 0 ? t0_ + interval : UINT64_MAX;
  while (!all_finished()) {
    if (stop.load(std::memory_order_relaxed)) {
      result_->interrupted = true;
      break;
    }
    // A run whose export cannot be written stops: its results would be lost.
    if (writer_ && writer_->failed()) break;
    if (plugins_ != nullptr && plugins_->failed()) {
      result_->plugin_stopped = true;
      break;
    }
    if (now_ns() >= next_window) {
      take_window(on_window);
      next_window += interval;
      if (result_->threshold_stop >= 0) break;  // an abort threshold failed
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop_shards();
}

// Asks every shard for a snapshot and merges them. The caller holds collect_mutex_.
Run::Collected Run::collect() const {
  const uint64_t epoch = ++epoch_;
  for (auto& c : controls_) c->publish_request.store(epoch, std::memory_order_release);
  // Shards answer within one loop turn (at most their idle tick); a finished shard's
  // last snapshot stands.
  const uint64_t give_up = now_ns() + 200'000'000;
  for (auto& c : controls_) {
    while (c->published.load(std::memory_order_acquire) != epoch && !c->finished.load(std::memory_order_acquire) &&
           now_ns() < give_up)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  Collected out{std::make_unique<Stats>()};
  for (std::size_t k = 0; k < controls_.size(); ++k) {
    const ShardControl& c = *controls_[k];
    // A shard that stopped answers no more requests: its final figures stand.
    const bool done = c.finished.load(std::memory_order_acquire);
    out.stats->merge(done && c.final_stats != nullptr ? *c.final_stats : c.snapshot);
    out.in_flight += done ? shards_[k]->in_flight_at_end() : c.snapshot_in_flight;
  }
  return out;
}

// Closes a window of the timeline.
void Run::take_window(const std::function<void(const Window&)>& on_window) {
  Window w;
  {
    std::lock_guard lock(collect_mutex_);
    const Collected current = collect();
    const uint64_t now = now_ns();
    w = window(*current.stats, now);
    result_->timeline.push_back(w);
    adapt(w);
    if (!config_.thresholds.empty())
      result_->threshold_stop = first_failed_abort(config_.thresholds, *current.stats, static_cast<double>(now - t0_) / 1e9);
    last_window_ = w;
    *previous_ = *current.stats;
    previous_ns_ = now;
  }
  if (on_window) on_window(w);
}

Snapshot Run::snapshot() const {
  std::lock_guard lock(collect_mutex_);
  Collected current = collect();
  Snapshot s;
  s.running = true;
  s.elapsed_s = static_cast<double>(now_ns() - t0_) / 1e9;
  s.window = last_window_;
  s.totals = std::move(current.stats);
  s.in_flight = current.in_flight;
  s.target_qps = target_qps(now_ns());
  return s;
}

std::expected<void, std::string> Run::set_qps(double qps) {
  if (!(qps > 0) || qps > 1e12) return std::unexpected(std::string("the rate must be a number above 0"));
  if (!plan_.open_loop()) return std::unexpected(std::string("set_qps needs an open-loop run (qps > 0)"));
  if (!config_.stages.empty()) return std::unexpected(std::string("the run's stages set its rate"));
  if (adaptive_) return std::unexpected(std::string("the adaptive controller sets the run's rate"));
  std::lock_guard lock(collect_mutex_);
  fixed_qps_ = qps;
  set_rate(qps);
  return {};
}

// Every shard's share of a new total rate, taken at its next loop turn.
void Run::set_rate(double total) noexcept {
  for (auto& c : controls_) {
    c->rate.store(total / static_cast<double>(controls_.size()), std::memory_order_relaxed);
    c->rate_version.fetch_add(1, std::memory_order_release);
  }
}

// The rate asked for at a moment of the run: the adaptive controller's, set_qps's, or
// the schedule's.
double Run::target_qps(uint64_t middle_ns) const {
  if (adaptive_) return adaptive_->rate();
  if (fixed_qps_ > 0) return fixed_qps_;
  return plan_.scheduled_qps(t0_, middle_ns);
}

// The figures since the last window: `current` minus the previous cumulative snapshot.
Window Run::window(const Stats& current, uint64_t end_ns) const {
  auto delta = std::make_unique<Stats>(current);
  delta->subtract(*previous_);
  Window w;
  w.t_s = static_cast<double>(end_ns - t0_) / 1e9;
  w.duration_s = static_cast<double>(end_ns - previous_ns_) / 1e9;
  w.requests = delta->counters.requests;
  w.succeeded = delta->counters.succeeded;
  for (uint64_t e : delta->counters.errors) w.errors += e;
  w.latency_p50_ns = delta->latency.percentile(50);
  w.latency_p90_ns = delta->latency.percentile(90);
  w.latency_p99_ns = delta->latency.percentile(99);
  w.latency_max_ns = delta->latency.max();
  for (std::size_t code = 100; code < 600; ++code) w.status_classes[code / 100 - 1] += delta->counters.status[code];
  w.target_qps = target_qps(previous_ns_ + (end_ns - previous_ns_) / 2);
  return w;
}

// Judges the window just taken and hands every shard its share of the new rate.
void Run::adapt(const Window& w) {
  if (adaptive_) set_rate(adaptive_->on_window(w.requests, w.succeeded, w.latency_p99_ns));
}

std::expected<std::unique_ptr<RunResult>, std::string> Run::finish() {
  for (auto& t : threads_) t.join();
  threads_.clear();
  RunResult& r = *result_;
  if (writer_) {
    if (auto ok = writer_->finish(); !ok) r.export_error = ok.error();
    r.export_lines = writer_->lines();
    for (const auto& q : queues_) r.export_waits += q->waits();
  }
  for (const std::string& e : errors_)
    if (!e.empty()) return std::unexpected(e);
  for (std::size_t k = 0; k < shards_.size(); ++k) absorb(*shards_[k], k == 0);
  if (const uint64_t n = result_->stats.http2.alpn_fallbacks; n != 0)
    result_->notices.push_back("HTTP/2 by ALPN: the server chose HTTP/1.1 on " + std::to_string(n) +
                               " connection(s); they ran HTTP/1.1");
  if (plugins_ != nullptr) r.plugins = plugins_->finish_run();
  // Passes never reached (a looping run stopped by -d) are not reported.
  while (!r.by_iteration.empty() && r.by_iteration.back().requests == 0) r.by_iteration.pop_back();
  const uint64_t end_ns = end_time();
  r.duration_s = static_cast<double>(end_ns - t0_) / 1e9;
  r.connections = plan_.connections();
  r.threads = static_cast<uint32_t>(shards_.size());
  r.direct_fds = prepared_.direct_fds;
  // The last, partial window, from the shards' final figures.
  if (config_.progress_interval.count() > 0 && end_ns > previous_ns_) {
    const Window w = window(r.stats, end_ns);
    if (w.duration_s > 0.001 || w.requests > 0) r.timeline.push_back(w);
  }
  if (adaptive_) r.capacity_qps = adaptive_->capacity();
  r.memory = memory_usage();
  return std::move(result_);
}

// The shards' allocations, the run's own figures (on the pages that hold counts), the
// request table (shared by the shards) and the export queues.
MemoryUsage Run::memory_usage() const noexcept {
  MemoryUsage m;
  for (const auto& s : shards_) m.add(s->memory());
  const RunResult& r = *result_;
  m.histograms += stats_bytes(*previous_) + stats_bytes(r.stats);
  for (const NameStats& n : r.by_name) m.histograms += sizeof n - sizeof n.latency + n.latency.resident_bytes();
  const RequestTable& t = *prepared_.table;
  m.request_table = t.arena.capacity() + t.lines.capacity() * sizeof(RequestLine) +
                    t.streams.capacity() * sizeof(StreamSpec) + t.names.capacity() * sizeof(std::string);
  for (const std::string& n : t.names) m.request_table += n.capacity() > 15 ? n.capacity() + 1 : 0;
  for (const auto& q : queues_) m.export_queues += q->capacity();
  return m;
}

// A timed run lasts exactly its duration (the shards stop at the deadline); an
// interrupted or counted run lasts until its last shard stopped.
uint64_t Run::end_time() const noexcept {
  uint64_t end_ns = t0_;
  for (const auto& s : shards_) end_ns = std::max(end_ns, s->end_ns());
  const auto duration = static_cast<uint64_t>(config_.duration.count());
  if (!result_->interrupted && duration > 0 && end_ns >= t0_ + duration) end_ns = t0_ + duration;
  return end_ns;
}

// Adds one shard's figures to the result: everything merges exactly.
void Run::absorb(const Shard& s, bool first) {
  RunResult& r = *result_;
  const Recorder& rec = s.recorder();
  r.stats.merge(rec.stats());
  r.in_flight_at_end += s.in_flight_at_end();
  r.unsent_at_end += s.unsent_at_end();
  if (r.tls_version.empty() && s.tls_version() != nullptr) {
    r.tls_version = s.tls_version();
    r.tls_cipher = s.tls_cipher();
  }
  for (std::size_t e = 0; e < error_kind_count; ++e)
    if (r.first_error[e].empty()) r.first_error[e] = rec.first_errors()[e];
  for (const std::string& n : s.notices()) r.notices.push_back(n);
  for (const auto& [label, count] : s.labels()) {
    auto it = std::find_if(r.labels.begin(), r.labels.end(), [&](const auto& l) { return l.first == label; });
    if (it == r.labels.end()) {
      r.labels.emplace_back(label, count);
    } else {
      it->second += count;
    }
  }
  if (first) {
    r.by_name = rec.by_name();
    r.by_iteration = rec.by_iteration();
    return;
  }
  for (std::size_t i = 0; i < r.by_name.size(); ++i) {
    r.by_name[i].requests += rec.by_name()[i].requests;
    r.by_name[i].succeeded += rec.by_name()[i].succeeded;
    r.by_name[i].failed += rec.by_name()[i].failed;
    r.by_name[i].latency.merge(rec.by_name()[i].latency);
  }
  for (std::size_t i = 0; i < r.by_iteration.size(); ++i) {
    r.by_iteration[i].requests += rec.by_iteration()[i].requests;
    r.by_iteration[i].succeeded += rec.by_iteration()[i].succeeded;
    r.by_iteration[i].failed += rec.by_iteration()[i].failed;
  }
}

}  // namespace ringload
