// The embeddable engine: give it a RunConfig, run it, get a RunResult.
#pragma once
#include <atomic>
#include <expected>
#include <functional>
#include <memory>
#include <string>

#include "ringload/config.hpp"
#include "ringload/config_check.hpp"  // check_config: what prepare() checks before any I/O
#include "ringload/stats.hpp"

namespace ringload {

class Engine {
 public:
  explicit Engine(RunConfig config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Checks the config, resolves every origin, renders the requests and opens one
  // connection to each origin, so a bad host or a refused port fails here, before any
  // load, with a one-line message. Also raises RLIMIT_NOFILE as far as needed.
  std::expected<void, std::string> prepare();

  // Runs the load (prepare() first). `on_window` is called on the control thread after
  // each progress window; it must be quick. The result is on the heap: its histograms
  // take a few MB, more than a small thread stack holds.
  std::expected<std::unique_ptr<RunResult>, std::string> run(std::function<void(const Window&)> on_window = {});

  // Async-signal-safe: the run stops at the next tick and run() returns its result.
  void request_stop() noexcept;

  const RunConfig& config() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringload
