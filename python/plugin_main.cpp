// ringload_python_plugin.so: plugin.h's exported functions over the Python hooks runner
// (hooks.cpp), for the CLI's `--plugin hooks.py[:ARGS]` (the engine passes
// "hooks.py[:ARGS]" as the init argument). The `ringload` extension links the same runner
// in and hands its entry table to the engine instead.
#include "hooks.hpp"

namespace {
const ringload_plugin_entry& runner() noexcept { return ringload::python::hooks_entry(); }
}  // namespace

extern "C" {

RINGLOAD_PLUGIN_EXPORT uint32_t ringload_plugin_abi(void) { return runner().abi(); }

RINGLOAD_PLUGIN_EXPORT void* ringload_plugin_init(const ringload_api* api, const char* args) {
  return runner().init(api, args);
}

RINGLOAD_PLUGIN_EXPORT void* ringload_plugin_shard_init(void* plugin, unsigned shard) {
  return runner().shard_init(plugin, shard);
}

RINGLOAD_PLUGIN_EXPORT int ringload_on_request(void* shard_state, ringload_request* req) {
  return runner().on_request(shard_state, req);
}

RINGLOAD_PLUGIN_EXPORT void ringload_on_response(void* shard_state, const ringload_response* res,
                                                 ringload_verdict* verdict) {
  runner().on_response(shard_state, res, verdict);
}

RINGLOAD_PLUGIN_EXPORT void ringload_on_message(void* shard_state, const ringload_response* res, int kind,
                                                ringload_str name, ringload_str data) {
  runner().on_message(shard_state, res, kind, name, data);
}

RINGLOAD_PLUGIN_EXPORT void ringload_plugin_finish(void* plugin) { runner().finish(plugin); }

RINGLOAD_PLUGIN_EXPORT void ringload_plugin_free(void* plugin) { runner().free(plugin); }

}  // extern "C"
