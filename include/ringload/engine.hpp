// The embeddable engine: give it a RunConfig, prepare it, run it (blocking, or start() it
// and wait() for it from another thread), watch it with snapshot(), get a RunResult and
// the JSON report (ringload/report.hpp). The CLI, a C++ harness and the Python module all
// drive this class.
//
// Threads: prepare/run/start/wait from one controlling thread at a time; stop(),
// snapshot() and set_qps() from any thread, at any time. An Engine runs any number of
// runs, one after the other. Engines in one process share the CPUs out (each shard pins
// itself to the least used CPU of the process's affinity set); when there are more
// shards than CPUs, the run's notices say which overlap.
#pragma once
#include <atomic>
#include <expected>
#include <functional>
#include <memory>
#include <string>

#include "ringload/config.hpp"
#include "ringload/config_check.hpp"  // check_config: what prepare() checks before any I/O
#include "ringload/export.hpp"
#include "ringload/stats.hpp"

namespace ringload {

// A live view of a run. The numbers are the ones the report will hold, as of now.
struct Snapshot {
  bool running = false;        // a run is under way (started, not yet waited for)
  double elapsed_s = 0;        // since the run's start
  Window window;               // the last complete progress window (t_s == 0: none yet)
  std::shared_ptr<const Stats> totals;  // cumulative figures over all shards; null: no run yet
  uint64_t in_flight = 0;      // requests sent and not finished
  double target_qps = 0;       // open loop: the rate in force; 0: closed loop
};

class RINGLOAD_API Engine {
 public:
  explicit Engine(RunConfig config);
  ~Engine();  // a run still under way is stopped and waited for
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads and initialises config.plugins (plugin.h), once; prepare() does it too. A front
  // end calls it first to tell a bad plugin (a missing file or symbol, an ABI mismatch, an
  // init that refused: the error names the plugin) from a target that cannot be reached.
  std::expected<void, std::string> load_plugins();

  // Checks the config, resolves every origin, renders the requests and opens one
  // connection to each origin, so a bad host or a refused port fails here, before any
  // load, with a one-line message. Also raises RLIMIT_NOFILE as far as needed. Runs once;
  // start() and run() call it when it has not run.
  std::expected<void, std::string> prepare();

  // Runs the load and returns its result (start() + wait()). `on_window` is called on
  // the engine's control thread after each progress window; it must be quick.
  std::expected<std::unique_ptr<RunResult>, std::string> run(std::function<void(const Window&)> on_window = {});

  // Starts a run and returns once its shards are running. Error: a run is already under
  // way, or the run cannot start (nothing is left running then).
  std::expected<void, std::string> start(std::function<void(const Window&)> on_window = {});
  // Waits for the run started last to end (its duration, -n, or stop()) and returns its
  // result, on the heap: its histograms take a few MB, more than a small thread stack.
  std::expected<std::unique_ptr<RunResult>, std::string> wait();

  // Ends the run under way at the next tick (its result says interrupted). Any thread;
  // async-signal-safe.
  void stop() noexcept;
  void request_stop() noexcept { stop(); }

  // The live figures, merged from the shards now. Any thread.
  Snapshot snapshot() const;

  // Open loop with a fixed rate (qps): the rate from now on, in requests per second over
  // all shards. Errors: no run under way, a closed-loop run, stages or the adaptive
  // controller set the rate, or `qps` is not a positive number.
  std::expected<void, std::string> set_qps(double qps);

  const RunConfig& config() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringload
