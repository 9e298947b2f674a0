// ringload: flags → RunConfig → Engine → report.
//
// Exit status: 0 the run completed and every output was written; 1 the run could not
// start; 2 a usage error (flag, value, URL, request file, an output path that cannot be
// written); 3 an output could not be written (the export, the -o or --html file or standard
// output): the results are incomplete; 130 / 143 the run was interrupted by SIGINT /
// SIGTERM (its report is complete up to the stop); 4 a plugin's hook failed and
// --plugin-errors fatal stopped the run; 5 the run finished but a --threshold failed (3, 4,
// 130 and 143 take precedence). `ringload report`: cli/report.hpp.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string_view>

#include "cli/config_flags.hpp"
#include "cli/merge.hpp"
#include "cli/options.hpp"
#include "cli/output_file.hpp"
#include "cli/progress.hpp"
#include "cli/report.hpp"
#include "cli/summary.hpp"
#include "cli/thresholds.hpp"
#include "ringload/engine.hpp"
#include "ringload/report.hpp"
#include "ringload/request_file.hpp"

namespace {

constexpr int exit_cannot_start = 1;
constexpr int exit_usage = 2;
constexpr int exit_output_failed = 3;
constexpr int exit_plugin_stopped = 4;
constexpr int exit_threshold_failed = 5;

ringload::Engine* g_engine = nullptr;
volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_signal(int sig) {
  g_signal = sig;
  if (g_engine != nullptr) g_engine->request_stop();
}

int fail(const std::string& message, int code) {
  std::cerr << "error: " << message << '\n';
  return code;
}

// The paths the run will write, checked before any traffic.
int check_output_paths(const ringload::cli::Options& o) {
  if (!o.output.empty()) {
    if (auto ok = ringload::cli::check_writable(o.output); !ok)
      return fail("-o '" + o.output + "': cannot write it: " + ok.error(), exit_usage);
  }
  if (!o.html.empty()) {
    if (auto ok = ringload::cli::check_writable(o.html); !ok)
      return fail("--html '" + o.html + "': cannot write it: " + ok.error(), exit_usage);
  }
  const std::string& exp = o.config.export_path;
  if (!exp.empty() && exp != "-") {
    if (auto ok = ringload::cli::check_writable(exp); !ok)
      return fail("--export '" + exp + "': cannot write it: " + ok.error(), exit_usage);
  }
  return 0;
}

// Writes the report where it was asked for. Returns the exit status.
int write_outputs(const ringload::cli::Options& o, const ringload::RunConfig& config,
                  const ringload::RunResult& result) {
  int status = 0;
  if (result.interrupted && g_signal != 0) status = 128 + g_signal;
  const std::string json = ringload::report_json(config, result) + "\n";
  bool json_on_stdout = o.json;
  if (!o.output.empty()) {
    if (auto ok = ringload::cli::write_file(o.output, json); !ok) {
      std::cerr << "error: cannot write the report to '" << o.output << "': " << ok.error()
                << "; the JSON report follows on standard output\n";
      json_on_stdout = true;
      status = exit_output_failed;
    }
  }
  if (!o.html.empty()) {
    if (const std::string failed = ringload::cli::write_html(o.html, json); !failed.empty()) {
      std::cerr << "error: " << failed << '\n';
      status = exit_output_failed;
    }
  }
  if (result.plugin_stopped) {
    std::cerr << "error: a plugin's hook failed and --plugin-errors fatal stopped the run: "
              << result.first_error[static_cast<std::size_t>(ringload::ErrorKind::plugin)] << '\n';
    status = exit_plugin_stopped;
  }
  if (!result.export_error.empty()) {
    std::cerr << "error: the export failed and stopped the run: " << result.export_error << " ("
              << result.export_lines << " whole lines written)\n";
    status = exit_output_failed;
  }
  std::string text = json_on_stdout ? json : std::string();
  if (!o.json) text = ringload::cli::render_human(config, result) + text;
  if (auto ok = ringload::cli::write_stdout(text); !ok) {
    std::cerr << "error: cannot write to standard output: " << ok.error() << '\n';
    status = exit_output_failed;
  }
  if (const std::string failed = ringload::cli::thresholds_failure(config, result); !failed.empty()) {
    std::cerr << "error: " << failed << '\n';
    if (status == 0) status = exit_threshold_failed;
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "merge") return ringload::cli::merge_main(argc - 1, argv + 1);
  if (argc > 1 && std::string_view(argv[1]) == "report") return ringload::cli::report_main(argc - 1, argv + 1);
  auto options = ringload::cli::parse_options(argc, argv);
  if (!options) {
    if (options.error().exit_code == 0) {
      std::cout << options.error().message << '\n';
      return 0;
    }
    return fail(options.error().message, options.error().exit_code);
  }
  if (int bad = check_output_paths(*options); bad != 0) return bad;
  if (!options->requests_file.empty()) {
    ringload::RequestFileOptions file_options;
    file_options.allow_https = true;
    auto file = ringload::load_request_file(options->requests_file, file_options,
                                             [](const std::string& w) { std::cerr << "warning: " << w << '\n'; });
    if (!file) return fail(file.error().to_string(), exit_usage);
    // -c against the file's origins: a usage error like any other bad value.
    if (auto ok = ringload::check_origin_connections(options->config, file->origins()); !ok)
      return fail(ringload::cli::flag_message(ok.error(), options->config), exit_usage);
    options->config.file = std::move(*file);
    // Checked again with the file's lines (what they may not be with the flags given).
    if (auto ok = ringload::check_config(options->config); !ok)
      return fail(ringload::cli::flag_message(ok.error(), options->config), exit_usage);
  }
  if (auto ok = ringload::check_threshold_names(options->config); !ok)
    return fail(ringload::cli::flag_message(ok.error(), options->config), exit_usage);
  ringload::Engine engine(options->config);
  // A plugin that cannot be loaded is a bad flag value; a target that cannot be reached is not.
  if (auto loaded = engine.load_plugins(); !loaded) return fail(loaded.error(), exit_usage);
  if (auto ready = engine.prepare(); !ready) return fail(ready.error(), exit_cannot_start);
  // A reader that goes away must not kill the run before its report: writes fail with EPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  g_engine = &engine;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  ringload::cli::Progress progress(engine.config(), options->quiet, options->terminal, options->progress_every);
  auto result = engine.run([&](const ringload::Window& w) { progress.on_window(w); });
  progress.finish();
  g_engine = nullptr;
  if (!result) return fail(result.error(), exit_cannot_start);
  return write_outputs(*options, engine.config(), **result);
}
