// ringload: flags → RunConfig → Engine → report.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/options.hpp"
#include "cli/progress.hpp"
#include "cli/report.hpp"
#include "ringload/engine.hpp"
#include "ringload/request_file.hpp"

namespace {
ringload::Engine* g_engine = nullptr;
extern "C" void on_signal(int) {
  if (g_engine != nullptr) g_engine->request_stop();
}
}  // namespace

int main(int argc, char** argv) {
  auto options = ringload::cli::parse_options(argc, argv);
  if (!options) {
    if (options.error().exit_code == 0) {
      std::cout << options.error().message << '\n';
      return 0;
    }
    std::cerr << "error: " << options.error().message << '\n';
    return options.error().exit_code;
  }
  if (!options->requests_file.empty()) {
    ringload::RequestFileOptions file_options;
    file_options.allow_https = true;
    auto table = ringload::load_request_file(options->requests_file, file_options,
                                             [](const std::string& w) { std::cerr << "warning: " << w << '\n'; });
    if (!table) {
      std::cerr << "error: " << table.error().to_string() << '\n';
      return 2;
    }
    options->config.table = std::make_shared<const ringload::RequestTable>(std::move(*table));
  }
  ringload::Engine engine(options->config);
  if (auto ready = engine.prepare(); !ready) {
    std::cerr << "error: " << ready.error() << '\n';
    return 1;
  }
  g_engine = &engine;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  ringload::cli::Progress progress(engine.config(), options->quiet, options->terminal, options->progress_every);
  auto result = engine.run([&](const ringload::Window& w) { progress.on_window(w); });
  progress.finish();
  g_engine = nullptr;
  if (!result) {
    std::cerr << "error: " << result.error() << '\n';
    return 1;
  }
  const auto& config = engine.config();
  if (!options->output.empty()) {
    std::ofstream out(options->output);
    out << ringload::cli::render_json(config, *result).dump(2) << '\n';
    if (!out) {
      std::cerr << "error: cannot write the report to '" << options->output << "'\n";
      return 1;
    }
  }
  if (options->json) {
    std::cout << ringload::cli::render_json(config, *result).dump(2) << '\n';
  } else {
    std::cout << ringload::cli::render_human(config, *result);
  }
  return 0;
}
