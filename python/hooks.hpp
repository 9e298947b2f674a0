// The Python hooks runner: a plugin (include/ringload/plugin.h) whose argument is
// "MODULE.py[:ARGS]" and whose hooks call the module's handle_request / handle_response.
// One source, two products: ringload_python_plugin.so for the CLI (it embeds CPython) and
// the `ringload` extension, where the interpreter is already running (PluginSpec::entry).
#pragma once
#include "ringload/plugin.h"

namespace ringload::python {

// The runner's entry points; the same table for every plugin it runs.
const ringload_plugin_entry& hooks_entry() noexcept;

}  // namespace ringload::python
