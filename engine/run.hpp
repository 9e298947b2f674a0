// One run of the engine: the shards on their threads, the export writer, and the control
// thread's loop (progress windows, the adaptive controller, the stop), then the merged
// result. Engine::run() drives one Run from the calling thread.
#pragma once
#include <atomic>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/host.hpp"

#include "engine/core/shard.hpp"
#include "engine/load/adaptive.hpp"
#include "engine/load/run_plan.hpp"
#include "engine/output/export_writer.hpp"
#include "engine/plugins/plugin_host.hpp"
#include "engine/requests/request.hpp"
#include "ringload/config.hpp"
#include "ringload/engine.hpp"
#include "ringload/stats.hpp"

namespace ringload {

class Run {
 public:
  // `plugins`: loaded plugins (null: none); they outlive the Run.
  Run(const RunConfig& config, const PreparedRun& prepared, std::vector<std::string> notices,
      PluginHost* plugins = nullptr);
  ~Run();
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  // Opens the export and starts the shards (at RunConfig::start_at, unless `stop` is set
  // while waiting for it). An error means nothing was started.
  std::expected<void, std::string> start(const std::atomic<bool>& stop);
  // The control loop, until every shard has finished, `stop` is set, or the export
  // failed. `on_window` gets each progress window.
  void control(const std::atomic<bool>& stop, const std::function<void(const Window&)>& on_window);
  // Joins the shards, closes the export, merges the figures.
  std::expected<std::unique_ptr<RunResult>, std::string> finish();

  // Any thread, while the Run exists (start() succeeded): the figures as of now.
  Snapshot snapshot() const;
  // Any thread: the open loop's fixed rate from now on.
  std::expected<void, std::string> set_qps(double qps);

 private:
  void start_open_loop(const std::atomic<bool>& stop);
  struct Collected {
    std::unique_ptr<Stats> stats;  // merged over the shards
    uint64_t in_flight = 0;
  };
  bool all_finished() const noexcept;
  void stop_shards() noexcept;
  Collected collect() const;
  void set_rate(double total) noexcept;
  double target_qps(uint64_t middle_ns) const;
  void take_window(const std::function<void(const Window&)>& on_window);
  Window window(const Stats& current, uint64_t end_ns) const;
  void adapt(const Window& w);
  void absorb(const Shard& s, bool first);
  uint64_t end_time() const noexcept;
  MemoryUsage memory_usage() const noexcept;

  const RunConfig& config_;
  const PreparedRun& prepared_;
  PluginHost* plugins_;
  RunPlan plan_;
  uint64_t t0_ = 0;
  std::unique_ptr<AdaptiveController> adaptive_;
  std::vector<std::unique_ptr<ExportQueue>> queues_;
  std::unique_ptr<ExportWriter> writer_;
  std::vector<std::unique_ptr<ShardControl>> controls_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::string> errors_;
  std::vector<std::thread> threads_;
  std::unique_ptr<CpuLease> lease_;   // the CPUs the shards pin themselves to
  std::unique_ptr<RunResult> result_;
  std::unique_ptr<Stats> previous_;   // cumulative figures at the last window's end
  uint64_t previous_ns_ = 0;
  // Asking the shards for snapshots is one conversation at a time (the control thread's
  // windows, snapshot() from any thread): collect_mutex_ serializes it, and guards what
  // snapshot() reads besides.
  mutable std::mutex collect_mutex_;
  mutable uint64_t epoch_ = 0;
  Window last_window_;
  double fixed_qps_ = 0;              // set_qps(): the rate now in force (0: the config's)
};

}  // namespace ringload
