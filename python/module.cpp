// _ringload: the extension behind `import ringload` (python/ringload/__init__.py). A third
// front end of the engine, after the CLI and the C++ harness API: the options are the
// CLI's flags (ringload_cli's parse_options, so the names, checks and messages are the
// CLI's), the run is an ringload::Engine, the report is report_json's. Python hooks
// modules (a plugin path ending in ".py") run in this interpreter through the hooks
// runner's entry (hooks.hpp), never through the embedding plugin.
//
// The GIL is released while the engine starts, runs, is waited for and is sampled: the
// shard threads take it only to call Python hooks.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <algorithm>
#include <cstring>
#include <expected>
#include <stdexcept>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli/config_flags.hpp"
#include "cli/options.hpp"
#include "cli/thresholds.hpp"
#include "ringload/html_report.hpp"
#include "hooks.hpp"
#include "ringload/engine.hpp"
#include "ringload/report.hpp"
#include "ringload/request_file.hpp"

namespace py = pybind11;

namespace ringload::python {
namespace {

// Raised when a run cannot start (the CLI's exit status 1): ringload.StartError.
struct StartError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

py::dict window_dict(const Window& w) {
  py::dict d;
  d["t_s"] = w.t_s;
  d["duration_s"] = w.duration_s;
  d["requests"] = w.requests;
  d["succeeded"] = w.succeeded;
  d["errors"] = w.errors;
  d["rps"] = w.duration_s > 0 ? static_cast<double>(w.requests) / w.duration_s : 0.0;
  d["p50_us"] = static_cast<double>(w.latency_p50_ns) / 1e3;
  d["p99_us"] = static_cast<double>(w.latency_p99_ns) / 1e3;
  d["target_qps"] = w.target_qps;
  return d;
}

py::dict totals_dict(const Stats& s) {
  const Counters& c = s.counters;
  py::dict requests;
  requests["total"] = c.requests;
  requests["succeeded"] = c.succeeded;
  requests["failed"] = c.failed;
  requests["skipped"] = c.skipped;
  py::dict errors;
  for (std::size_t k = 0; k < error_kind_count; ++k) errors[to_string(static_cast<ErrorKind>(k))] = c.errors[k];
  py::dict latency;
  for (auto [name, p] : {std::pair{"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p99_9", 99.9}})
    latency[name] = static_cast<double>(s.latency.percentile(p)) / 1e3;
  latency["max"] = static_cast<double>(s.latency.max()) / 1e3;
  latency["mean"] = s.latency.mean() / 1e3;
  py::dict d;
  d["requests"] = requests;
  d["errors"] = errors;
  d["latency_us"] = latency;
  d["bytes"] = py::dict(py::arg("in") = c.bytes_in, py::arg("out") = c.bytes_out);
  d["connections_opened"] = c.connects;
  return d;
}

// A request file's error: FileNotFoundError / PermissionError for the file itself, else
// ValueError with the CLI's "FILE:LINE:COLUMN: message".
[[noreturn]] void raise_file_error(const RequestFileError& e) {
  const std::string text = e.to_string();
  if (e.line == 0 && e.message.find(std::strerror(ENOENT)) != std::string::npos) {
    PyErr_SetString(PyExc_FileNotFoundError, text.c_str());
    throw py::error_already_set();
  }
  if (e.line == 0 && e.message.find(std::strerror(EACCES)) != std::string::npos) {
    PyErr_SetString(PyExc_PermissionError, text.c_str());
    throw py::error_already_set();
  }
  throw py::value_error(text);
}

class PyEngine {
 public:
  // `argv`: the CLI's arguments, without the program name.
  explicit PyEngine(const std::vector<std::string>& argv) {
    std::vector<std::string> args{"ringload"};
    args.insert(args.end(), argv.begin(), argv.end());
    std::vector<char*> ptrs;
    for (std::string& a : args) ptrs.push_back(a.data());
    ptrs.push_back(nullptr);
    auto parsed = cli::parse_options(static_cast<int>(args.size()), ptrs.data());
    if (!parsed) throw py::value_error(parsed.error().message);
    options_ = std::move(*parsed);
    RunConfig& config = options_.config;
    if (!options_.requests_file.empty()) {
      RequestFileOptions file_options;
      file_options.allow_https = true;
      auto file = load_request_file(options_.requests_file, file_options, [](const std::string& w) {
        py::gil_scoped_acquire gil;
        PyErr_WarnEx(PyExc_UserWarning, w.c_str(), 2);
      });
      if (!file) raise_file_error(file.error());
      if (auto ok = check_origin_connections(config, file->origins()); !ok)
        throw py::value_error(cli::flag_message(ok.error(), config));
      config.file = std::move(*file);
    }
    if (auto ok = check_threshold_names(config); !ok) throw py::value_error(cli::flag_message(ok.error(), config));
    for (PluginSpec& p : config.plugins)
      if (p.path.ends_with(".py")) p.entry = &hooks_entry();
    engine_ = std::make_unique<Engine>(config);
  }

  ~PyEngine() {
    if (waiter_.joinable()) {
      engine_->stop();
      py::gil_scoped_release nogil;
      waiter_.join();
    }
  }

  // Plugins (an import error is a ValueError naming the module), then the targets.
  void prepare() {
    if (auto loaded = engine_->load_plugins(); !loaded) throw py::value_error(loaded.error());
    std::expected<void, std::string> ready;
    {
      py::gil_scoped_release nogil;
      ready = engine_->prepare();
    }
    if (!ready) throw StartError(ready.error());
  }

  void start() {
    if (started_) throw std::runtime_error("this Engine has run already: make a new one");
    prepare();
    std::expected<void, std::string> ok;
    {
      py::gil_scoped_release nogil;
      ok = engine_->start();
    }
    if (!ok) throw StartError(ok.error());
    started_ = true;
    waiter_ = std::thread([this] {
      auto result = engine_->wait();
      std::lock_guard lock(mutex_);
      if (result)
        result_ = std::move(*result);
      else
        error_ = result.error();
      done_ = true;
      cv_.notify_all();
    });
  }

  // Waits up to `timeout` seconds (None: until the end); true once the run has ended.
  bool wait(std::optional<double> timeout) {
    if (!started_) throw std::runtime_error("the run has not started");
    bool done = false;
    {
      py::gil_scoped_release nogil;
      std::unique_lock lock(mutex_);
      if (timeout) {
        done = cv_.wait_for(lock, std::chrono::duration<double>(std::max(0.0, *timeout)), [this] { return done_; });
      } else {
        cv_.wait(lock, [this] { return done_; });
        done = true;
      }
    }
    if (done && waiter_.joinable()) {
      py::gil_scoped_release nogil;
      waiter_.join();
    }
    if (done && !error_.empty()) throw StartError(error_);
    return done;
  }

  void stop() noexcept { engine_->stop(); }

  std::string report(int indent) {
    const RunResult& r = finished();
    return report_json(engine_->config(), r, indent);
  }

  // What the CLI tells through its exit status: an output that failed, a plugin that
  // stopped the run, an interruption, a threshold that failed.
  py::dict outcome() {
    const RunResult& r = finished();
    py::dict d;
    d["interrupted"] = r.interrupted;
    d["export_error"] = r.export_error;
    d["export_lines"] = r.export_lines;
    d["plugin_stopped"] = r.plugin_stopped;
    d["plugin_error"] = r.first_error[static_cast<std::size_t>(ErrorKind::plugin)];
    d["threshold_error"] = cli::thresholds_failure(engine_->config(), r);  // "": every threshold passed
    return d;
  }

  py::dict snapshot() {
    Snapshot s;
    {
      py::gil_scoped_release nogil;
      s = engine_->snapshot();
    }
    py::dict d;
    d["running"] = s.running;
    d["elapsed_s"] = s.elapsed_s;
    d["in_flight"] = s.in_flight;
    d["target_qps"] = s.target_qps;
    d["window"] = s.window.t_s > 0 ? py::object(window_dict(s.window)) : py::none();
    d["totals"] = s.totals ? py::object(totals_dict(*s.totals)) : py::none();
    return d;
  }

  void set_qps(double qps) {
    if (auto ok = engine_->set_qps(qps); !ok) throw py::value_error(ok.error());
  }

  py::dict options() const {
    py::dict d;
    d["json"] = options_.json;
    d["output"] = options_.output;
    d["html"] = options_.html;
    return d;
  }

 private:
  const RunResult& finished() {
    std::lock_guard lock(mutex_);
    if (!done_ || !result_) throw std::runtime_error("the run has not finished: wait() for it first");
    return *result_;
  }

  cli::Options options_;
  std::unique_ptr<Engine> engine_;
  std::thread waiter_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool started_ = false;
  bool done_ = false;
  std::unique_ptr<RunResult> result_;
  std::string error_;
};

}  // namespace
}  // namespace ringload::python

PYBIND11_MODULE(_ringload, m) {
  using ringload::python::PyEngine;
  m.doc() = "ringload's engine (use the ringload package, not this module)";
  m.attr("version") = RINGLOAD_VERSION;
  py::register_exception<ringload::python::StartError>(m, "StartError", PyExc_RuntimeError);
  py::class_<PyEngine>(m, "_Engine")
      .def(py::init<const std::vector<std::string>&>(), py::arg("argv"))
      .def("prepare", &PyEngine::prepare)
      .def("start", &PyEngine::start)
      .def("wait", &PyEngine::wait, py::arg("timeout") = py::none())
      .def("stop", &PyEngine::stop)
      .def("report", &PyEngine::report, py::arg("indent") = -1)
      .def("outcome", &PyEngine::outcome)
      .def("snapshot", &PyEngine::snapshot)
      .def("set_qps", &PyEngine::set_qps, py::arg("qps"))
      .def("options", &PyEngine::options);
  // The HTML report of [(name, report JSON text), ...] (ringload/html_report.hpp).
  m.def("html_report", [](const std::vector<std::pair<std::string, std::string>>& reports) {
    std::vector<ringload::HtmlInput> inputs;
    for (const auto& [name, text] : reports) inputs.push_back({name, text});
    auto page = ringload::html_report(inputs);
    if (!page) throw py::value_error(page.error());
    return *page;
  });
}
