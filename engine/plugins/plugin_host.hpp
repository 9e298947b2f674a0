// Plugins (include/ringload/plugin.h): shared objects loaded with dlopen before a run,
// each initialised once with its arguments, kept loaded for the Engine's life. The host
// holds what every shard's PluginShard needs: each plugin's entry points and state, the
// body size plugins asked for, the api table. Loading and finish run on the Engine's
// controlling thread; hooks run on shard threads (plugin_shard.hpp).
#pragma once
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
  void* handle = nullptr;  // dlopen's
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

  static const ringload_api& api() noexcept;

 private:
  PluginHost() = default;
  std::expected<void, std::string> load_one(const PluginSpec& spec);

  std::vector<LoadedPlugin> plugins_;
  std::size_t body_limit_ = 0;
  bool wants_requests_ = false;
  bool wants_responses_ = false;
};

}  // namespace ringload
