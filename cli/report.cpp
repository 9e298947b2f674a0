#include "cli/report.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/output_file.hpp"
#include "ringload/html_report.hpp"

namespace ringload::cli {
namespace {

constexpr int exit_usage = 2;
constexpr int exit_output_failed = 3;

int fail(const std::string& message, int code) {
  std::cerr << "error: " << message << '\n';
  return code;
}

// The whole file, or the reason it cannot be read.
std::expected<std::string, std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("'" + path + "': cannot read it: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::unexpected("'" + path + "': cannot read it: " + std::strerror(errno));
  return text.str();
}

}  // namespace

int report_main(int argc, char** argv) {
  CLI::App app{"ringload report: the HTML report of one run, or of several side by side", "ringload report"};
  std::vector<std::string> inputs;
  std::string output;
  app.add_option("reports", inputs, "JSON reports (ringload -o); two or more: compared, ratios to the first")
      ->required();
  app.add_option("-o,--output", output, "Write the page to this file (default: standard output)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    return fail(std::string("report: ") + e.what(), exit_usage);
  }
  if (!output.empty()) {
    if (auto ok = check_writable(output); !ok) return fail("-o '" + output + "': cannot write it: " + ok.error(), exit_usage);
  }
  std::vector<HtmlInput> reports;
  for (const std::string& path : inputs) {
    auto text = read_whole(path);
    if (!text) return fail(text.error(), exit_usage);
    reports.push_back({path, std::move(*text)});
  }
  auto page = html_report(reports);
  if (!page) return fail(page.error(), exit_usage);
  if (output.empty()) {
    std::signal(SIGPIPE, SIG_IGN);
    if (auto ok = write_stdout(*page); !ok) return fail("cannot write to standard output: " + ok.error(), exit_output_failed);
    return 0;
  }
  if (auto ok = write_file(output, *page); !ok)
    return fail("cannot write the HTML report to '" + output + "': " + ok.error(), exit_output_failed);
  return 0;
}

std::string write_html(const std::string& path, const std::string& json_report) {
  const HtmlInput input{path.substr(path.find_last_of('/') + 1), json_report};  // npos + 1 == 0
  auto page = html_report(std::span<const HtmlInput>(&input, 1));
  if (!page) return "cannot make the HTML report: " + page.error();
  if (auto ok = write_file(path, *page); !ok) return "cannot write the HTML report to '" + path + "': " + ok.error();
  return {};
}

}  // namespace ringload::cli
