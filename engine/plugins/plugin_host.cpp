#include "engine/plugins/plugin_host.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/output/export_queue.hpp"
#include "engine/plugins/plugin_objects.hpp"
#include "proto/token.hpp"

namespace ringload {
namespace {

// What the api's init-only and finish-only calls act on: set by the host around those
// calls, on the thread that makes them (engines in other threads have their own).
thread_local std::size_t* body_limit_target = nullptr;
thread_local PluginReport* reporting = nullptr;
thread_local std::string* init_message = nullptr;
thread_local HookError* hook_error_target = nullptr;

ringload_str str(std::string_view s) noexcept { return {s.data(), s.size()}; }
std::string_view view(const char* p, std::size_t n) noexcept { return n == 0 ? std::string_view{} : std::string_view(p, n); }

// --- requests ----------------------------------------------------------------------

int set_method(ringload_request* r, const char* p, std::size_t n) { return r->head.set_method(view(p, n)) ? 0 : -1; }
int set_target(ringload_request* r, const char* p, std::size_t n) { return r->head.set_target(view(p, n)) ? 0 : -1; }
int set_header(ringload_request* r, const char* n, std::size_t nl, const char* v, std::size_t vl) {
  return r->head.set_header(view(n, nl), view(v, vl)) ? 0 : -1;
}
int remove_header(ringload_request* r, const char* n, std::size_t nl) {
  r->head.remove_header(view(n, nl));
  return 0;
}

// The new body goes into the slot's store; Content-Length follows it (a body-less request
// that gets none stays without the field).
int set_body(ringload_request* r, const void* p, std::size_t n) {
  const bool had_length = r->head.header("content-length").data() != nullptr;
  if (n != 0 || had_length) {
    char digits[24];
    const int len = std::snprintf(digits, sizeof digits, "%zu", n);
    if (!r->head.set_header("Content-Length", {digits, static_cast<std::size_t>(len)})) return -1;
  }
  r->body_store->assign(static_cast<const char*>(p), n);
  r->req->body = {r->body_store->data(), r->body_store->size()};
  return 0;
}

ringload_str request_header(const ringload_request* r, const char* n, std::size_t nl) {
  return str(r->head.header(view(n, nl)));
}
uint64_t request_seq(const ringload_request* r) { return r->seq; }
unsigned request_conn(const ringload_request* r) { return r->conn->slot; }
ringload_str request_method(const ringload_request* r) { return str(r->head.method()); }
ringload_str request_target(const ringload_request* r) { return str(r->head.target()); }
ringload_str request_body(const ringload_request* r) { return {r->req->body.data(), r->req->body.size()}; }
uint32_t request_line(const ringload_request* r) { return r->req->request->source_line; }
unsigned request_shard(const ringload_request* r) { return r->shard; }
// The stats bucket's name: the line's `name`, else method + path ("(other)" past the cap).
ringload_str request_name(const ringload_request* r) { return str(r->table->names[r->req->request->name]); }

ringload_str request_url(const ringload_request* r) {
  thread_local std::string url;
  url = r->table->origins[r->req->request->origin].origin();
  url += r->head.target();
  return str(url);
}

// The head, "request-line CRLF *(field CRLF) CRLF", is the connection's head_len bytes from
// method().data() on (a WebSocket response's view has no head: an empty method).
int request_header_at(const ringload_request* r, std::size_t index, ringload_str* name, ringload_str* value) {
  const std::string_view method = r->head.method();
  if (method.empty()) return 0;
  const std::string_view head(method.data(), r->head.size());
  std::size_t at = head.find("\r\n");
  if (at == std::string_view::npos) return 0;
  at += 2;
  for (std::size_t i = 0; at < head.size(); ++i) {
    const std::size_t eol = head.find("\r\n", at);
    if (eol == std::string_view::npos || eol == at) return 0;
    const std::string_view line = head.substr(at, eol - at);
    at = eol + 2;
    if (i != index) continue;
    const std::size_t colon = line.find(':');
    *name = str(line.substr(0, colon));
    *value = str(proto::trim_ows(line.substr(colon + 1)));
    return 1;
  }
  return 0;
}

// --- responses ---------------------------------------------------------------------

int response_status(const ringload_response* r) { return r->status; }

// The response's fields, parsed once into header_scratch: r->headers of them.
const std::vector<proto::Header>& response_fields(const ringload_response* r) {
  std::vector<proto::Header>& fields = *r->header_scratch;
  if (r->headers == SIZE_MAX) {
    // The head was whole when kept: it parses.
    const std::string& head = r->capture->head;
    if (fields.size() < head.size() / 4 + 1) fields.resize(head.size() / 4 + 1);
    proto::ResponseHead rh;
    const proto::HeadResult res = proto::parse_response_head(head, 0, rh, fields, false);
    r->headers = res.status == proto::Status::done ? rh.num_headers : 0;
  }
  return fields;
}

ringload_str response_header(const ringload_response* r, const char* n, std::size_t nl) {
  const std::vector<proto::Header>& fields = response_fields(r);
  const std::string_view name = view(n, nl);
  for (std::size_t i = 0; i < r->headers; ++i)
    if (proto::iequals(fields[i].name, name)) return str(fields[i].value);
  return {};
}

int response_header_at(const ringload_response* r, std::size_t index, ringload_str* name, ringload_str* value) {
  const std::vector<proto::Header>& fields = response_fields(r);
  if (index >= r->headers) return 0;
  *name = str(fields[index].name);
  *value = str(fields[index].value);
  return 1;
}

int response_export_head(const ringload_response* r, const char* head, std::size_t len) {
  if (r->export_tap == nullptr || r->export_tap->queue == nullptr) return -1;
  if (head == nullptr) return len == 0 ? 0 : -1;  // only asks whether there is an export
  const std::string_view h = view(head, len);
  // Parsed in the shard's header scratch (the response's own fields are parsed again
  // when next asked for).
  std::vector<proto::Header>& fields = *r->header_scratch;
  if (fields.size() < h.size() / 4 + 1) fields.resize(h.size() / 4 + 1);
  r->headers = SIZE_MAX;
  proto::ResponseHead rh;
  const proto::HeadResult res = proto::parse_response_head(h, 0, rh, fields, false);
  if (res.status != proto::Status::done || res.consumed != h.size()) return -1;
  r->export_tap->queue->replace_head(r->export_tap->id, h);
  return 0;
}

int response_export_body(const ringload_response* r, const void* body, std::size_t len) {
  if (r->export_tap == nullptr || r->export_tap->queue == nullptr || (body == nullptr && len != 0)) return -1;
  r->export_tap->queue->reset_body(r->export_tap->id);
  if (len > 0) r->export_tap->queue->body(r->export_tap->id, {static_cast<const char*>(body), len});
  return 0;
}

ringload_str response_body(const ringload_response* r) { return str(r->capture->body); }
const ringload_request* response_request(const ringload_response* r) { return r->request; }
int64_t response_latency_ns(const ringload_response* r) { return r->latency_ns; }
uint32_t request_conn_gen(const ringload_request* r) { return r->conn->gen; }
ringload_str request_protocol(const ringload_request* r) {
  return str(r->conn->session == SessionKind::h2 ? std::string_view("HTTP/2") : std::string_view("HTTP/1.1"));
}
int64_t response_ttfb_ns(const ringload_response* r) { return r->ttfb_ns; }

// --- verdicts, init and finish -------------------------------------------------------

void verdict_set(ringload_verdict* v, int ok, const char* label) {
  v->ok = ok != 0;
  if (label != nullptr) v->label_store->assign(label, strnlen(label, 256));
}
int verdict_ok(const ringload_verdict* v) { return v->ok ? 1 : 0; }

void want_bodies(std::size_t max_bytes) {
  if (body_limit_target != nullptr) *body_limit_target = std::max(*body_limit_target, max_bytes);
}

void hook_error(const char* message) {
  if (hook_error_target == nullptr) return;
  hook_error_target->failed = true;
  hook_error_target->message.assign(message != nullptr ? message : "plugin hook error",
                                    message != nullptr ? strnlen(message, 4096) : 17);
}

void init_error(const char* message) {
  if (init_message != nullptr && message != nullptr) init_message->assign(message, strnlen(message, 4096));
}

void report_number(const char* key, std::size_t key_len, double value) {
  if (reporting != nullptr && key != nullptr) reporting->numbers.emplace_back(std::string(key, key_len), value);
}

const ringload_api api_table = {
    RINGLOAD_PLUGIN_ABI, set_method,   set_target,      set_header,     remove_header,  set_body,
    request_header,      request_seq,  request_conn,    response_status, response_header, response_body,
    verdict_set,         want_bodies,  request_method,  request_target, request_body,   request_name,
    request_line,        request_shard, response_request, response_latency_ns, response_ttfb_ns, verdict_ok,
    report_number,       request_conn_gen, hook_error,     init_error,     request_url,    request_header_at,
    response_header_at,  response_export_head, response_export_body, request_protocol,
};

template <typename Fn>
Fn symbol(void* handle, const char* name) {
  return reinterpret_cast<Fn>(dlsym(handle, name));
}

}  // namespace

const ringload_api& PluginHost::api() noexcept { return api_table; }

void set_hook_error_target(HookError* target) noexcept { hook_error_target = target; }

std::string python_plugin_path() {
  if (const char* env = std::getenv("RINGLOAD_PYTHON_PLUGIN"); env != nullptr && env[0] != '\0') return env;
  for (const char* candidate : {RINGLOAD_PYTHON_PLUGIN_BUILD, RINGLOAD_PYTHON_PLUGIN_INSTALL})
    if (candidate[0] != '\0' && access(candidate, R_OK) == 0) return candidate;
  return {};
}

std::expected<std::unique_ptr<PluginHost>, std::string> PluginHost::load(const std::vector<PluginSpec>& specs) {
  std::unique_ptr<PluginHost> host(new PluginHost());
  for (const PluginSpec& spec : specs)
    if (auto ok = host->load_one(spec); !ok) return std::unexpected(ok.error());
  return host;
}

// The entry points of a plugin file (dlopen), or of a Python module of hooks (the Python
// plugin's file, the module as its argument).
std::expected<ringload_plugin_entry, std::string> PluginHost::open(const PluginSpec& spec, std::string& args) {
  const std::string named = "plugin '" + spec.path + "': ";
  std::string path = spec.path;
  if (path.ends_with(".py")) {
    path = python_plugin_path();
    if (path.empty())
      return std::unexpected(named + "ringload's Python plugin is not built (it needs python3-dev and pybind11-dev)");
    args = spec.args.empty() ? spec.path : spec.path + ":" + spec.args;
  }
  // A bare name would be searched on the library path: a plugin is a file.
  const std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    // dlerror() says "FILE: why": the path is named already.
    std::string why = dlerror();
    if (why.starts_with(file + ": ")) why.erase(0, file.size() + 2);
    return std::unexpected(named + why);
  }
  handles_.push_back(handle);  // dlclosed by the destructor whatever happens next
  ringload_plugin_entry e{};
  e.abi = symbol<decltype(e.abi)>(handle, "ringload_plugin_abi");
  e.init = symbol<decltype(e.init)>(handle, "ringload_plugin_init");
  e.shard_init = symbol<decltype(e.shard_init)>(handle, "ringload_plugin_shard_init");
  e.on_request = symbol<decltype(e.on_request)>(handle, "ringload_on_request");
  e.on_response = symbol<decltype(e.on_response)>(handle, "ringload_on_response");
  e.on_message = symbol<decltype(e.on_message)>(handle, "ringload_on_message");
  e.finish = symbol<decltype(e.finish)>(handle, "ringload_plugin_finish");
  e.free = symbol<decltype(e.free)>(handle, "ringload_plugin_free");
  return e;
}

std::expected<void, std::string> PluginHost::load_one(const PluginSpec& spec) {
  const std::string named = "plugin '" + spec.path + "': ";
  std::string args = spec.args;
  ringload_plugin_entry e{};
  if (spec.entry != nullptr) {
    // Linked in (the Python module's hooks runner): a .py gets its path, as from a file.
    e = *spec.entry;
    if (spec.path.ends_with(".py")) args = spec.args.empty() ? spec.path : spec.path + ":" + spec.args;
  } else {
    auto opened = open(spec, args);
    if (!opened) return std::unexpected(opened.error());
    e = *opened;
  }
  if (e.abi == nullptr) return std::unexpected(named + "missing symbol ringload_plugin_abi");
  if (e.init == nullptr) return std::unexpected(named + "missing symbol ringload_plugin_init");
  if (e.abi() != RINGLOAD_PLUGIN_ABI)
    return std::unexpected(named + "built for plugin ABI " + std::to_string(e.abi()) + ", this ringload speaks " +
                           std::to_string(RINGLOAD_PLUGIN_ABI));
  if (e.on_request == nullptr && e.on_response == nullptr && e.on_message == nullptr)
    return std::unexpected(named + "exports no hook (ringload_on_request, ringload_on_response or ringload_on_message)");
  plugins_.push_back({spec.path, spec.args});
  LoadedPlugin& lp = plugins_.back();
  lp.shard_init = e.shard_init;
  lp.on_request = e.on_request;
  lp.on_response = e.on_response;
  lp.on_message = e.on_message;
  lp.finish = e.finish;
  lp.free = e.free;
  std::string why;
  body_limit_target = &body_limit_;
  init_message = &why;
  lp.state = e.init(&api_table, args.c_str());
  init_message = nullptr;
  body_limit_target = nullptr;
  if (lp.state == nullptr)
    return std::unexpected(named + (why.empty() ? "refused to run (ringload_plugin_init returned NULL)" : why));
  wants_requests_ = wants_requests_ || lp.on_request != nullptr;
  wants_responses_ = wants_responses_ || lp.on_response != nullptr || lp.on_message != nullptr;
  return {};
}

PluginHost::~PluginHost() {
  for (LoadedPlugin& p : plugins_)
    if (p.free != nullptr && p.state != nullptr) p.free(p.state);
  for (void* handle : handles_) dlclose(handle);
}

std::vector<PluginReport> PluginHost::finish_run() {
  std::vector<PluginReport> out;
  for (LoadedPlugin& p : plugins_) {
    out.push_back({p.path, {}});
    if (p.finish == nullptr || p.state == nullptr) continue;
    reporting = &out.back();
    p.finish(p.state);
    reporting = nullptr;
  }
  return out;
}

}  // namespace ringload
