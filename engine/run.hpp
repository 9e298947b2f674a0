// One run of the engine: the shards on their threads, the export writer, and the control
// thread's loop (progress windows, the adaptive controller, the stop), then the merged
// result. Engine::run() drives one Run from the calling thread.
#pragma once
#include <atomic>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/shard.hpp"
#include "engine/load/adaptive.hpp"
#include "engine/load/run_plan.hpp"
#include "engine/output/export_writer.hpp"
#include "engine/requests/request.hpp"
#include "ringload/config.hpp"
#include "ringload/stats.hpp"

namespace ringload {

class Run {
 public:
  Run(const RunConfig& config, const PreparedRun& prepared, std::vector<std::string> notices);
  ~Run();
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  // Opens the export and starts the shards. An error means nothing was started.
  std::expected<void, std::string> start();
  // The control loop, until every shard has finished, `stop` is set, or the export
  // failed. `on_window` gets each progress window.
  void control(const std::atomic<bool>& stop, const std::function<void(const Window&)>& on_window);
  // Joins the shards, closes the export, merges the figures.
  std::expected<std::unique_ptr<RunResult>, std::string> finish();

 private:
  bool all_finished() const noexcept;
  void stop_shards() noexcept;
  void take_window(const std::function<void(const Window&)>& on_window);
  Window window(const Stats& current, uint64_t end_ns) const;
  void adapt(const Window& w);
  void absorb(const Shard& s, bool first);
  uint64_t end_time() const noexcept;

  const RunConfig& config_;
  const PreparedRun& prepared_;
  RunPlan plan_;
  uint64_t t0_ = 0;
  std::unique_ptr<AdaptiveController> adaptive_;
  std::vector<std::unique_ptr<ExportQueue>> queues_;
  std::unique_ptr<ExportWriter> writer_;
  std::vector<std::unique_ptr<ShardControl>> controls_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::string> errors_;
  std::vector<std::thread> threads_;
  std::unique_ptr<RunResult> result_;
  std::unique_ptr<Stats> previous_;   // cumulative figures at the last window's end
  uint64_t previous_ns_ = 0;
  uint64_t epoch_ = 0;
};

}  // namespace ringload
