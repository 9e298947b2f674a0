// The Python hooks runner (hooks.hpp): a module's handle_request(request) and
// handle_response(response), called on the shard threads under the GIL.
//
// The interpreter runs already when init is called: the extension's, or the one
// ringload_python_plugin.so starts (plugin_main.cpp). Every entry point takes the GIL
// itself (PyGILState_Ensure), whichever thread calls it.
//
// Threads. Each shard thread takes a thread state once, in shard_init, and keeps it until
// the thread exits: a hook then only takes and releases the GIL. The GIL serialises the
// shards' hooks: bench/README.md measures what that costs.
//
// Every object made for a hook is released before the hook returns (but a stream's
// events, kept per connection slot until its response: at most max_stream_items each).
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hooks.hpp"
#include "py_support.hpp"

namespace ringload::python {

using namespace std::string_view_literals;
namespace {

constexpr long long default_body_limit = 1 << 20;  // response bytes shown: BODY_LIMIT overrides
constexpr Py_ssize_t max_stream_items = 1000;      // events / messages kept per stream

struct Plugin;

// A stream's events or messages so far, per connection slot, for its request (gen, seq).
struct Stream {
  uint32_t gen = 0;
  uint64_t seq = UINT64_MAX;
  bool sse = false;
  Ref items;
};

struct Shard {
  Plugin* plugin;
  std::unordered_map<unsigned, Stream> streams;
};

struct Plugin {
  const ringload_api* api = nullptr;
  std::string path;
  std::string name;  // in sys.modules while loaded
  Ref module, handle_request, handle_response, finish;
  long long body_limit = 0;
  std::vector<std::unique_ptr<Shard>> shards;
  bool traceback_shown = false;  // the first exception's traceback only (GIL held)
};

// The pending exception of a hook: its traceback on stderr the first time for this plugin,
// then api->hook_error("hook: ExcType: message").
void hook_failed(Plugin& p, const char* hook, const ringload_request* r) {
  Ref exc = take_exception();
  if (!p.traceback_shown && exc) {
    p.traceback_shown = true;
    const uint32_t line = p.api->request_line(r);
    std::string where = "at request seq " + std::to_string(p.api->request_seq(r)) + " of shard " +
                        std::to_string(p.api->request_shard(r));
    if (line != 0) where += " (request file line " + std::to_string(line) + ")";
    print_traceback(hook, where, exc.get());
  }
  p.api->hook_error((std::string(hook) + ": " + describe(exc.get())).c_str());
}

// --- requests ---------------------------------------------------------------------------

template <typename At>
PyObject* header_dict(At at) {
  Ref d(PyDict_New());
  ringload_str n{}, v{};
  for (std::size_t i = 0; d && at(i, &n, &v) != 0; ++i) {
    Ref k(text(n));
    if (!k || !put(d.get(), k.get(), text(v))) return nullptr;
  }
  return d.release();
}

// handle_request's dict (full), or the one under a response's "request".
PyObject* request_dict(const Plugin& p, const ringload_request* r, bool full) {
  const ringload_api& a = *p.api;
  const Names& k = *names;
  Ref d(PyDict_New());
  const uint32_t line = a.request_line(r);
  bool ok = d && put(d.get(), k.method, text(a.request_method(r))) &&
            put(d.get(), k.target, text(a.request_target(r))) && put(d.get(), k.name, text(a.request_name(r))) &&
            put(d.get(), k.seq, PyLong_FromUnsignedLongLong(a.request_seq(r)));
  if (ok && full) {
    auto at = [&](std::size_t i, ringload_str* n, ringload_str* v) { return a.request_header_at(r, i, n, v); };
    ok = put(d.get(), k.url, text(a.request_url(r))) && put(d.get(), k.headers, header_dict(at)) &&
         put(d.get(), k.body, bytes(a.request_body(r))) &&
         put(d.get(), k.line, line != 0 ? PyLong_FromUnsignedLong(line) : Py_NewRef(Py_None)) &&
         put(d.get(), k.shard, PyLong_FromUnsignedLong(a.request_shard(r))) &&
         put(d.get(), k.protocol, text(a.request_protocol(r)));
  }
  return ok ? d.release() : nullptr;
}

// d[key] as bytes when it differs from `now`: true with `out` set (`changed` says whether
// it differs). False with an exception set; a missing key is no change.
bool changed_value(PyObject* d, PyObject* key, std::string_view now, std::string_view& out, Ref& keep,
                   bool& changed) {
  changed = false;
  PyObject* v = PyDict_GetItemWithError(d, key);
  if (v == nullptr) return !PyErr_Occurred();
  if (!utf8(v, out, keep)) return false;
  changed = out != now;
  return true;
}

bool content_length(std::string_view name) {
  return name.size() == 14 && strncasecmp(name.data(), "content-length", 14) == 0;
}

// Each original field not in `h` (by any case) is removed; each of h's that differs is set.
// Content-Length is left alone: it follows the body.
std::string apply_headers(const ringload_api& a, ringload_request* r, PyObject* h) {
  std::vector<std::string> gone;
  ringload_str n{}, v{};
  for (std::size_t i = 0; a.request_header_at(r, i, &n, &v) != 0; ++i) {
    bool kept = content_length(view(n));
    PyObject *key = nullptr, *value = nullptr;
    for (Py_ssize_t pos = 0; !kept && PyDict_Next(h, &pos, &key, &value);) {
      Ref keep;
      std::string_view name;
      if (!utf8(key, name, keep)) return "header name: " + pending_error();
      kept = name.size() == n.len && strncasecmp(name.data(), n.ptr, n.len) == 0;
    }
    if (!kept) gone.emplace_back(view(n));
  }
  for (const std::string& name : gone) a.request_remove_header(r, name.data(), name.size());
  PyObject *key = nullptr, *value = nullptr;
  for (Py_ssize_t pos = 0; PyDict_Next(h, &pos, &key, &value);) {
    Ref keep_name, keep_value;
    std::string_view name, val;
    if (!utf8(key, name, keep_name) || !utf8(value, val, keep_value)) return "header: " + pending_error();
    if (content_length(name)) continue;
    if (view(a.request_header(r, name.data(), name.size())) == val && !val.empty()) continue;
    if (a.request_set_header(r, name.data(), name.size(), val.data(), val.size()) != 0)
      return "header '" + std::string(name) + "' refused (a name that is no token, CR, LF or NUL in the value, "
             "or a head over 16 KiB)";
  }
  return {};
}

// What differs between `d` and the request goes to the api; "" or why it cannot.
std::string apply_request(const ringload_api& a, ringload_request* r, PyObject* d) {
  const Names& k = *names;
  Ref keep;
  std::string_view v;
  bool changed = false;
  if (!changed_value(d, k.method, view(a.request_method(r)), v, keep, changed)) return "method: " + pending_error();
  if (changed && a.request_set_method(r, v.data(), v.size()) != 0) return "method '" + std::string(v) + "' refused";
  const std::string target(view(a.request_target(r)));
  const std::string url(view(a.request_url(r)));
  if (!changed_value(d, k.target, target, v, keep, changed)) return "target: " + pending_error();
  if (!changed) {
    if (!changed_value(d, k.url, url, v, keep, changed)) return "url: " + pending_error();
    const std::string_view origin = std::string_view(url).substr(0, url.size() - target.size());
    if (changed && (!v.starts_with(origin) || (v.size() > origin.size() && v[origin.size()] != '/')))
      return "url '" + std::string(v) + "' is not on the request's origin " + std::string(origin) +
             " (only the path and query can change)";
    if (changed) v = v.size() == origin.size() ? std::string_view("/") : v.substr(origin.size());
  }
  if (changed && a.request_set_target(r, v.data(), v.size()) != 0) return "target '" + std::string(v) + "' refused";
  // The body last: its Content-Length is set by request_set_body.
  if (PyObject* h = PyDict_GetItemWithError(d, k.headers); h != nullptr) {
    if (!PyDict_Check(h)) return std::string("headers must be a dict, not ") + Py_TYPE(h)->tp_name;
    if (std::string why = apply_headers(a, r, h); !why.empty()) return why;
  } else if (PyErr_Occurred()) {
    return "headers: " + pending_error();
  }
  if (!changed_value(d, k.body, view(a.request_body(r)), v, keep, changed)) return "body: " + pending_error();
  if (changed && a.request_set_body(r, v.data(), v.size()) != 0) return "body refused (head over 16 KiB)";
  return {};
}

int on_request(void* state, ringload_request* r) {
  Plugin& p = *static_cast<Shard*>(state)->plugin;
  if (!p.handle_request) return 0;
  Gil gil;
  Ref d(request_dict(p, r, true));
  Ref out(d ? PyObject_CallOneArg(p.handle_request.get(), d.get()) : nullptr);
  if (!out) {
    hook_failed(p, "handle_request", r);
    return 0;
  }
  if (out.get() == Py_None) return 1;
  std::string why = PyDict_Check(out.get()) ? apply_request(*p.api, r, out.get())
                                            : std::string("returned ") + Py_TYPE(out.get())->tp_name +
                                                  ", not a dict or None";
  if (!why.empty()) p.api->hook_error(("handle_request: " + why).c_str());
  return 0;
}

// --- responses --------------------------------------------------------------------------

// The events or messages kept for `r`'s stream, moved into d["events"] / d["messages"].
bool take_stream(Shard& s, const ringload_request* r, PyObject* d) {
  const ringload_api& a = *s.plugin->api;
  auto it = s.streams.find(a.request_conn(r));
  if (it == s.streams.end() || !it->second.items) return true;
  Stream& st = it->second;
  const bool mine = st.gen == a.request_conn_gen(r) && st.seq == a.request_seq(r);
  Ref items = std::move(st.items);
  return !mine || PyDict_SetItem(d, st.sse ? names->events : names->messages, items.get()) == 0;
}

PyObject* response_dict(Shard& s, const ringload_response* res, const ringload_verdict* v) {
  const Plugin& p = *s.plugin;
  const ringload_api& a = *p.api;
  const Names& k = *names;
  const ringload_request* r = a.response_request(res);
  auto at = [&](std::size_t i, ringload_str* n, ringload_str* val) { return a.response_header_at(res, i, n, val); };
  ringload_str body = p.body_limit > 0 ? a.response_body(res) : ringload_str{};  // another plugin may ask more
  body.len = std::min(body.len, static_cast<std::size_t>(p.body_limit));
  Ref d(PyDict_New());
  const bool ok = d && put(d.get(), k.status, PyLong_FromLong(a.response_status(res))) &&
                  put(d.get(), k.headers, header_dict(at)) &&
                  put(d.get(), k.body, bytes(body)) &&
                  put(d.get(), k.ok, PyBool_FromLong(a.verdict_ok(v))) && put(d.get(), k.label, Py_NewRef(Py_None)) &&
                  put(d.get(), k.latency_ms, ms(a.response_latency_ns(res))) &&
                  put(d.get(), k.ttfb_ms, ms(a.response_ttfb_ns(res))) &&
                  put(d.get(), k.request, request_dict(p, r, false)) && take_stream(s, r, d.get());
  return ok ? d.release() : nullptr;
}

// The head the export gets for a changed status or header fields: "HTTP/1.1 NNN" and the
// fields of `headers` in order; "" with an exception set when a name or value is no text.
std::string export_head(long status, PyObject* headers) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " \r\n";
  PyObject *key = nullptr, *value = nullptr;
  Py_ssize_t pos = 0;
  while (PyDict_Next(headers, &pos, &key, &value)) {
    std::string_view name, text;
    Ref keep_name, keep_value;
    if (!utf8(key, name, keep_name) || !utf8(value, text, keep_value)) return {};
    // A field each: no CR, LF or NUL in either, no ':' in the name (no field smuggled in).
    if (name.empty() || name.find_first_of(":\r\n\0"sv) != std::string_view::npos ||
        text.find_first_of("\r\n\0"sv) != std::string_view::npos) {
      PyErr_Format(PyExc_ValueError, "field %R: a name without ':', CR, LF or NUL and a value without CR, LF or NUL",
                   key);
      return {};
    }
    head.append(name).append(": ").append(text).append("\r\n");
  }
  return head + "\r\n";
}

// What handle_response changed of status, headers and body goes to the export instead of
// what was received (only with --export); "" or why it cannot.
std::string apply_export(const Plugin& p, const ringload_response* res, PyObject* result, PyObject* body_given) {
  const ringload_api& a = *p.api;
  if (a.response_export_head(res, nullptr, 0) != 0) return {};
  PyObject* status = PyDict_GetItemWithError(result, names->status);
  PyObject* headers = PyDict_GetItemWithError(result, names->headers);
  PyObject* body = PyDict_GetItemWithError(result, names->body);
  if (PyErr_Occurred()) return pending_error();
  const long code = status != nullptr ? PyLong_AsLong(status) : a.response_status(res);
  if (code == -1 && PyErr_Occurred()) return "status: " + pending_error();
  auto at = [&](std::size_t i, ringload_str* n, ringload_str* val) { return a.response_header_at(res, i, n, val); };
  Ref received(headers != nullptr ? header_dict(at) : nullptr);
  const int same = headers == nullptr ? 1 : PyObject_RichCompareBool(headers, received.get(), Py_EQ);
  if (same < 0) return "headers: " + pending_error();
  if (code != a.response_status(res) || same == 0) {
    if (headers != nullptr && !PyDict_Check(headers)) return "headers: not a dict";
    const std::string head = export_head(code, headers != nullptr ? headers : received.get());
    if (head.empty()) return "headers: " + pending_error();
    if (a.response_export_head(res, head.data(), head.size()) != 0) return "status or headers: not a valid response head";
  }
  if (body != nullptr && body != body_given) {
    std::string_view bytes_out;
    Ref keep;
    if (!utf8(body, bytes_out, keep)) return "body: " + pending_error();
    a.response_export_body(res, bytes_out.data(), bytes_out.size());
  }
  return {};
}

void on_response(void* state, const ringload_response* res, ringload_verdict* v) {
  Shard& s = *static_cast<Shard*>(state);
  Plugin& p = *s.plugin;
  if (!p.handle_response) return;
  Gil gil;
  Ref d(response_dict(s, res, v));
  // The body as handed over: a hook that replaces it changes what is exported.
  Ref body_given(d ? PyDict_GetItem(d.get(), names->body) : nullptr);
  if (body_given) Py_INCREF(body_given.get());
  Ref out(d ? PyObject_CallOneArg(p.handle_response.get(), d.get()) : nullptr);
  if (!out) return hook_failed(p, "handle_response", p.api->response_request(res));
  PyObject* result = out.get() == Py_None ? d.get() : out.get();
  if (!PyDict_Check(result))
    return p.api->hook_error(
        (std::string("handle_response: returned ") + Py_TYPE(result)->tp_name + ", not a dict or None").c_str());
  PyObject* okv = PyDict_GetItemWithError(result, names->ok);
  const int ok = okv != nullptr ? PyObject_IsTrue(okv) : (PyErr_Occurred() ? -1 : p.api->verdict_ok(v));
  PyObject* labelv = ok < 0 ? nullptr : PyDict_GetItemWithError(result, names->label);
  const char* label = labelv != nullptr && labelv != Py_None ? PyUnicode_AsUTF8(labelv) : nullptr;
  if (ok < 0 || PyErr_Occurred())
    return p.api->hook_error(("handle_response: ok or label: " + pending_error()).c_str());
  if (ok != p.api->verdict_ok(v) || label != nullptr) p.api->verdict_set(v, ok, label);
  if (const std::string why = apply_export(p, res, result, body_given.get()); !why.empty())
    p.api->hook_error(("handle_response: the export: " + why).c_str());
}

void on_message(void* state, const ringload_response* res, int kind, ringload_str name, ringload_str data) {
  Shard& s = *static_cast<Shard*>(state);
  const ringload_api& a = *s.plugin->api;
  if (!s.plugin->handle_response) return;
  Gil gil;
  const ringload_request* r = a.response_request(res);
  Stream& st = s.streams[a.request_conn(r)];
  if (!st.items || st.gen != a.request_conn_gen(r) || st.seq != a.request_seq(r)) {
    st = {a.request_conn_gen(r), a.request_seq(r), kind == RINGLOAD_MESSAGE_SSE_EVENT, Ref(PyList_New(0))};
    if (!st.items) return a.hook_error(("handle_response's events: " + pending_error()).c_str());
  }
  if (PyList_GET_SIZE(st.items.get()) >= max_stream_items) return;
  Ref item;
  if (kind == RINGLOAD_MESSAGE_SSE_EVENT) {
    item = Ref(PyDict_New());
    if (item && !(put(item.get(), names->event, name.len != 0 ? text(name) : PyUnicode_FromString("message")) &&
                  put(item.get(), names->data, text(data))))
      item = Ref();
  } else {
    item = Ref(kind == RINGLOAD_MESSAGE_WS_TEXT ? text(data) : bytes(data));
  }
  if (!item || PyList_Append(st.items.get(), item.get()) != 0)
    a.hook_error(("handle_response's events: " + pending_error()).c_str());
}

// --- lifecycle --------------------------------------------------------------------------

PyObject* hook(PyObject* module, const char* name, std::string& why) {
  PyObject* f = PyObject_GetAttrString(module, name);
  if (f == nullptr) {
    if (PyErr_ExceptionMatches(PyExc_AttributeError)) PyErr_Clear();
    else why = std::string(name) + ": " + pending_error();
  } else if (!PyCallable_Check(f)) {
    why = std::string(name) + " is not callable";
    Py_CLEAR(f);
  }
  return f;
}

// Imports p.path with ARGS = args; "" or why not (one line).
std::string load_module(Plugin& p, const std::string& args) {
  static unsigned loaded = 0;
  std::string stem = p.path.substr(p.path.rfind('/') + 1);
  stem.resize(stem.size() - 3);
  for (char& c : stem)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) c = '_';
  p.name = "ringload_hooks_" + std::to_string(++loaded) + "_" + stem;
  p.module = Ref(PyObject_CallFunction(names->load, "sss", p.path.c_str(), p.name.c_str(), args.c_str()));
  if (!p.module) {
    Ref exc = take_exception();
    Ref said(exc ? PyObject_CallFunction(names->import_error, "sO", p.path.c_str(), exc.get()) : nullptr);
    const char* s = said ? PyUnicode_AsUTF8(said.get()) : nullptr;
    std::string why = s != nullptr ? s : "cannot import " + p.path;
    PyErr_Clear();
    return why;
  }
  std::string why;
  p.handle_request = Ref(hook(p.module.get(), "handle_request", why));
  p.handle_response = Ref(hook(p.module.get(), "handle_response", why));
  p.finish = Ref(hook(p.module.get(), "finish", why));
  if (!why.empty()) return why;
  if (!p.handle_request && !p.handle_response)
    return p.path + " defines neither handle_request nor handle_response";
  Ref limit(PyObject_GetAttrString(p.module.get(), "BODY_LIMIT"));
  p.body_limit = limit ? PyLong_AsLongLong(limit.get()) : default_body_limit;
  if (!limit) PyErr_Clear();
  if (PyErr_Occurred() || p.body_limit < 0) return "BODY_LIMIT must be an int >= 0";
  return {};
}

// args: "MODULE.py[:ARGS]" (the module's path ends at the first ".py:").
void* init(const ringload_api* api, const char* args) {
  const std::string spec = args != nullptr ? args : "";
  const std::size_t cut = spec.find(".py:");
  Gil gil;
  auto p = std::make_unique<Plugin>();
  p->api = api;
  p->path = cut == std::string::npos ? spec : spec.substr(0, cut + 3);
  std::string why;
  if (!p->path.ends_with(".py")) why = "not a Python module (a .py file): '" + p->path + "'";
  else if (!make_names()) why = "cannot start the Python helpers: " + pending_error();
  else why = load_module(*p, cut == std::string::npos ? std::string() : spec.substr(cut + 4));
  if (!why.empty()) {
    api->init_error(why.c_str());
    return nullptr;
  }
  if (p->handle_response && p->body_limit > 0) api->want_bodies(static_cast<std::size_t>(p->body_limit));
  return p.release();
}

// The thread state shard_init made for a thread that had none: deleted when the thread
// exits (a shard thread, at the end of its run), unless the interpreter is going away.
struct ThreadState {
  bool made = false;
  ~ThreadState() {
    if (!made || !Py_IsInitialized() || _Py_IsFinalizing()) return;
    PyGILState_Ensure();
    PyThreadState_Clear(PyThreadState_Get());
    PyThreadState_DeleteCurrent();  // and releases the GIL
  }
};
thread_local ThreadState thread_state;

// On the shard's thread: a thread state kept for its hooks (PyGILState_Ensure without the
// matching Release; the GIL itself is released).
void* shard_init(void* plugin, unsigned shard) {
  Plugin& p = *static_cast<Plugin*>(plugin);
  if (PyGILState_GetThisThreadState() == nullptr) thread_state.made = true;
  const PyGILState_STATE was = PyGILState_Ensure();
  if (p.shards.size() <= shard) p.shards.resize(shard + 1);
  if (!p.shards[shard]) p.shards[shard] = std::make_unique<Shard>(Shard{&p, {}});
  Shard* s = p.shards[shard].get();
  s->streams.clear();
  if (was == PyGILState_UNLOCKED) PyEval_SaveThread();
  else PyGILState_Release(was);
  return s;
}

// The module's finish() -> {str: number} into the report.
void report_finish(Plugin& p) {
  Ref out(PyObject_CallNoArgs(p.finish.get()));
  if (!out) return print_traceback("finish()", "after the run", take_exception().get());
  if (!PyDict_Check(out.get())) {
    std::fprintf(stderr, "ringload: %s: finish() returned %s, not a dict: no report\n", p.path.c_str(),
                 Py_TYPE(out.get())->tp_name);
    return;
  }
  PyObject *key = nullptr, *value = nullptr;
  for (Py_ssize_t pos = 0; PyDict_Next(out.get(), &pos, &key, &value);) {
    Py_ssize_t n = 0;
    const char* k = PyUnicode_Check(key) ? PyUnicode_AsUTF8AndSize(key, &n) : nullptr;
    const double x = PyNumber_Check(value) ? PyFloat_AsDouble(value) : -1.0;
    if (k == nullptr || PyErr_Occurred() || !PyNumber_Check(value)) {
      PyErr_Clear();
      std::fprintf(stderr, "ringload: %s: finish(): a key that is no str or a value that is no number skipped\n",
                   p.path.c_str());
      continue;
    }
    p.api->report_number(k, static_cast<std::size_t>(n), x);
  }
}

void finish(void* plugin) {
  Plugin& p = *static_cast<Plugin*>(plugin);
  Gil gil;
  for (auto& s : p.shards)
    if (s) s->streams.clear();
  if (p.finish) report_finish(p);
  Ref flushed(PyObject_CallNoArgs(names->flush));
  PyErr_Clear();
}

void release(void* plugin) {
  Gil gil;
  auto* p = static_cast<Plugin*>(plugin);
  Ref flushed(PyObject_CallNoArgs(names->flush));
  Ref unloaded(PyObject_CallFunction(names->unload, "s", p->name.c_str()));
  PyErr_Clear();
  delete p;
}

uint32_t abi() { return RINGLOAD_PLUGIN_ABI; }

const ringload_plugin_entry entry = {abi, init, shard_init, on_request, on_response, on_message, finish, release};

}  // namespace

const ringload_plugin_entry& hooks_entry() noexcept { return entry; }

}  // namespace ringload::python
