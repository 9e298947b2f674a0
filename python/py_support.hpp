// What the Python hooks runner (hooks.cpp) needs of CPython: references, the GIL, the
// interned dict keys and Python-side helpers, conversions between plugin.h's strings and
// Python objects, and wording exceptions. Every function here needs the GIL.
#pragma once
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ringload/plugin.h"

namespace ringload::python {

// A strong reference; destroyed under the GIL.
struct Decref {
  void operator()(PyObject* o) const noexcept { Py_DECREF(o); }
};
using Ref = std::unique_ptr<PyObject, Decref>;

class Gil {
 public:
  Gil() noexcept : state_(PyGILState_Ensure()) {}
  ~Gil() { PyGILState_Release(state_); }
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;

 private:
  PyGILState_STATE state_;
};

// Interned dict keys and the Python-side helpers (load, unload, import_error, describe,
// report, flush): made once by make_names(), kept for the process's life.
struct Names {
  PyObject *method, *url, *target, *headers, *body, *name, *seq, *line, *shard;
  PyObject *status, *ok, *label, *latency_ms, *ttfb_ms, *request, *events, *messages, *event, *data;
  PyObject *load, *unload, *import_error, *describe, *report, *flush;
  PyObject* protocol;
};
extern Names* names;
bool make_names();

// Header fields and names are UTF-8 where they are text; other bytes round-trip as surrogates.
std::string_view view(ringload_str s);
PyObject* text(ringload_str s);
PyObject* bytes(ringload_str s);
PyObject* ms(int64_t ns);  // milliseconds as a float; None for a negative time
// d[key] = v, taking v's reference.
bool put(PyObject* d, PyObject* key, PyObject* v);
// The bytes of a str (UTF-8; lone surrogates as the bytes they escape), bytes or bytearray,
// valid while `o` and `keep` live. False with a Python exception set.
bool utf8(PyObject* o, std::string_view& out, Ref& keep);

// The pending exception, cleared, with its traceback attached (null when none is set).
Ref take_exception();
// "ExcType: message" of `exc`; pending_error(): of the pending exception, which is cleared.
std::string describe(PyObject* exc);
std::string pending_error();
// Its traceback on stderr (the helper's report()), headed by `hook` and `where`.
void print_traceback(const char* hook, const std::string& where, PyObject* exc);

}  // namespace ringload::python
