// Plugins (include/ringload/plugin.h): shared objects loaded with dlopen before a run,
// each initialised once with its arguments, kept loaded for the Engine's life. The host
// holds what every shard's PluginShard needs: each plugin's entry points and state, the
// body size plugins asked for, the api table. Loading and finish run on the Engine's
// controlling thread; hooks run on shard threads (plugin_shard.hpp).
#pragma once
#include <atomic>
#include <cstddef>
#include <expected>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ringload/config.hpp"
#include "ringload/plugin.h"
#include "ringload/stats.hpp"

namespace ringload {

struct LoadedPlugin {
  std::string path;
  std::string args;
  void* state = nullptr;   // ringload_plugin_init's
  void* (*shard_init)(void*, unsigned) = nullptr;
  int (*on_request)(void*, ringload_request*) = nullptr;
  void (*on_response)(void*, const ringload_response*, ringload_verdict*) = nullptr;
  void (*on_message)(void*, const ringload_response*, int, ringload_str, ringload_str) = nullptr;
  void (*finish)(void*) = nullptr;
  void (*free)(void*) = nullptr;
};

class PluginHost {
 public:
  // Loads and initialises `specs` in order. The error names the plugin's path and what
  // is wrong (the file, a symbol, the ABI, an init that refused); nothing stays loaded.
  static std::expected<std::unique_ptr<PluginHost>, std::string> load(const std::vector<PluginSpec>& specs);
  ~PluginHost();
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  const std::vector<LoadedPlugin>& plugins() const noexcept { return plugins_; }
  // The most body bytes a response keeps for plugins (want_bodies); 0: none.
  std::size_t body_limit() const noexcept { return body_limit_; }
  bool wants_requests() const noexcept { return wants_requests_; }
  // Some plugin looks at responses (on_response or on_message): the tap keeps their heads.
  bool wants_responses() const noexcept { return wants_responses_; }

  // After every shard of a run stopped: each plugin's finish, and what it reported.
  std::vector<PluginReport> finish_run();

  // plugin_errors_fatal: the first hook error stops the run (any thread sets it).
  void set_fatal(bool fatal) noexcept { fatal_ = fatal; }
  bool fatal() const noexcept { return fatal_; }
  void fail_run() noexcept { failed_.store(true, std::memory_order_release); }
  void start_run() noexcept { failed_.store(false, std::memory_order_release); }
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }

  static const ringload_api& api() noexcept;

 private:
  PluginHost() = default;
  std::expected<void, std::string> load_one(const PluginSpec& spec);
  std::expected<ringload_plugin_entry, std::string> open(const PluginSpec& spec, std::string& args);

  std::vector<LoadedPlugin> plugins_;
  std::vector<void*> handles_;  // dlopen's, closed last
  std::size_t body_limit_ = 0;
  bool wants_requests_ = false;
  bool wants_responses_ = false;
  bool fatal_ = false;
  std::atomic<bool> failed_{false};
};

// Where a hook's api->hook_error lands: set by the PluginShard around each hook call on its
// shard's thread.
struct HookError {
  bool failed = false;
  std::string message;
};
void set_hook_error_target(HookError* target) noexcept;

// The shared object that runs Python hooks (a ".py" plugin): $RINGLOAD_PYTHON_PLUGIN, else
// the build tree's, else the installed one; "" when none exists.
std::string python_plugin_path();

}  // namespace ringload
