// ringload_python_plugin.so: plugin.h's exported functions over the Python hooks runner
// (hooks.cpp), for the CLI's `--plugin hooks.py[:ARGS]` (the engine passes
// "hooks.py[:ARGS]" as the init argument). The `ringload` extension links the same runner
// in and hands its entry table to the engine instead.
//
// Embedding. The first init starts CPython unless it runs already (Py_InitializeEx(0): no
// signal handlers, ringload keeps its own), then releases the GIL. It is never finalized:
// the process keeps it until exit (finalizing with a later run that may load a module again,
// or with threads that took thread states, is not worth the risk); this file and libpython
// are pinned (RTLD_NODELETE) so the engine's dlclose cannot unmap a live interpreter, and
// libpython's symbols are made global for the extension modules it imports (_hashlib, ...),
// which expect them from the executable.
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>

#include "hooks.hpp"

namespace {

const ringload_plugin_entry& runner() noexcept { return ringload::python::hooks_entry(); }

void pin_libraries() noexcept {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&Py_InitializeEx), &info) != 0 && info.dli_fname != nullptr)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL | RTLD_NODELETE);
  if (dladdr(reinterpret_cast<void*>(&pin_libraries), &info) != 0 && info.dli_fname != nullptr)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

// On the engine's loading thread, which keeps the main thread state.
void start_interpreter() noexcept {
  if (Py_IsInitialized()) return;
  pin_libraries();
  Py_InitializeEx(0);
  PyEval_SaveThread();
}

}  // namespace

extern "C" {

RINGLOAD_PLUGIN_EXPORT uint32_t ringload_plugin_abi(void) { return runner().abi(); }

RINGLOAD_PLUGIN_EXPORT void* ringload_plugin_init(const ringload_api* api, const char* args) {
  start_interpreter();
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
