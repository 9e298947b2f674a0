// CPython support for the hooks runner (py_support.hpp).
#include "py_support.hpp"

namespace ringload::python {

// Python helpers: importing a file as a module, and wording exceptions.
constexpr const char* helper_source = R"PY(
import importlib.util, os, sys, traceback

def load(path, name, args):
    if not os.path.isfile(path):
        raise FileNotFoundError(2, "no such file", path)
    if not getattr(sys, "argv", None):
        sys.argv = [path]  # an embedded interpreter has none; some libraries read it
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module.ARGS = args
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module

def import_error(path, exc):
    if isinstance(exc, FileNotFoundError) and exc.filename == path:
        return f"cannot import {path}: no such file"
    if isinstance(exc, SyntaxError):
        return f"{type(exc).__name__} at {exc.filename}:{exc.lineno}: {exc.msg}"
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if f.filename == path] or frames
    where = f" ({own[-1].filename}:{own[-1].lineno})" if own else ""
    return f"{type(exc).__name__} at import: {exc}{where}".replace("\n", " ")

def unload(name):
    sys.modules.pop(name, None)

def describe(exc):
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")[:1000]

def report(hook, where, exc):
    text = (f"ringload: {hook} raised {where}; later exceptions are only counted (errors.plugin):\n"
            + "".join(traceback.format_exception(exc)))
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except Exception:
        os.write(2, text.encode(errors="replace"))

def flush():
    for f in (sys.stdout, sys.stderr):
        try: f.flush()
        except Exception: pass
)PY";

Names* names = nullptr;

bool make_names() {
  if (names != nullptr) return true;
  PyObject* globals = PyDict_New();
  if (globals == nullptr || PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) != 0) return false;
  PyObject* ran = PyRun_String(helper_source, Py_file_input, globals, globals);
  if (ran == nullptr) return false;
  Py_DECREF(ran);
  auto* n = new Names;
  auto key = [](const char* s) { return PyUnicode_InternFromString(s); };
  *n = {key("method"), key("url"), key("target"), key("headers"), key("body"), key("name"), key("seq"),
        key("line"), key("shard"), key("status"), key("ok"), key("label"), key("latency_ms"), key("ttfb_ms"),
        key("request"), key("events"), key("messages"), key("event"), key("data"),
        PyDict_GetItemString(globals, "load"), PyDict_GetItemString(globals, "unload"),
        PyDict_GetItemString(globals, "import_error"),
        PyDict_GetItemString(globals, "describe"), PyDict_GetItemString(globals, "report"),
        PyDict_GetItemString(globals, "flush"), key("protocol")};
  names = n;  // `globals` keeps the helpers alive: never released
  return true;
}


// Header fields and names are UTF-8 where they are text; other bytes round-trip as surrogates.
std::string_view view(ringload_str s) { return s.ptr == nullptr ? std::string_view{} : std::string_view(s.ptr, s.len); }
PyObject* text(ringload_str s) {
  return PyUnicode_DecodeUTF8(view(s).data(), static_cast<Py_ssize_t>(s.len), "surrogateescape");
}
PyObject* bytes(ringload_str s) { return PyBytes_FromStringAndSize(view(s).data(), static_cast<Py_ssize_t>(s.len)); }
PyObject* ms(int64_t ns) { return ns < 0 ? Py_NewRef(Py_None) : PyFloat_FromDouble(static_cast<double>(ns) / 1e6); }

// d[key] = v, taking v's reference.
bool put(PyObject* d, PyObject* key, PyObject* v) {
  if (v == nullptr) return false;
  const int rc = PyDict_SetItem(d, key, v);
  Py_DECREF(v);
  return rc == 0;
}

// The bytes of a str (UTF-8; lone surrogates as the bytes they escape), bytes or bytearray,
// valid while `o` and `keep` live. False with a Python exception set.
bool utf8(PyObject* o, std::string_view& out, Ref& keep) {
  if (PyUnicode_Check(o)) {
    Py_ssize_t n = 0;
    if (const char* p = PyUnicode_AsUTF8AndSize(o, &n); p != nullptr) {
      out = {p, static_cast<std::size_t>(n)};
      return true;
    }
    PyErr_Clear();
    keep = Ref(PyUnicode_AsEncodedString(o, "utf-8", "surrogateescape"));
    if (!keep) return false;
    o = keep.get();
  }
  if (PyBytes_Check(o)) {
    out = {PyBytes_AS_STRING(o), static_cast<std::size_t>(PyBytes_GET_SIZE(o))};
    return true;
  }
  if (PyByteArray_Check(o)) {
    out = {PyByteArray_AS_STRING(o), static_cast<std::size_t>(PyByteArray_GET_SIZE(o))};
    return true;
  }
  PyErr_Format(PyExc_TypeError, "expected str or bytes, not %.100s", Py_TYPE(o)->tp_name);
  return false;
}

// The pending exception, cleared, with its traceback attached (null when none is set).
Ref take_exception() {
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb != nullptr && value != nullptr) PyException_SetTraceback(value, tb);
  Py_XDECREF(type);
  Py_XDECREF(tb);
  return Ref(value);
}

// "ExcType: message" of `exc`, or of the pending exception, which is cleared.
std::string describe(PyObject* exc) {
  Ref said(exc != nullptr ? PyObject_CallOneArg(names->describe, exc) : nullptr);
  const char* s = said ? PyUnicode_AsUTF8(said.get()) : nullptr;
  PyErr_Clear();
  return s != nullptr ? s : "unknown error";
}
std::string pending_error() { return describe(take_exception().get()); }

// Its traceback on stderr (the helper's report()), headed by `hook` and `where`.
void print_traceback(const char* hook, const std::string& where, PyObject* exc) {
  if (exc == nullptr) return;
  Ref done(PyObject_CallFunction(names->report, "ssO", hook, where.c_str(), exc));
  PyErr_Clear();
}

}  // namespace ringload::python
