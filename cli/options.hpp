// Command-line flags to RunConfig. No other file knows the flags.
#pragma once
#include <expected>
#include <string>
#include <vector>

#include "ringload/config.hpp"

namespace ringload::cli {

struct Options {
  RunConfig config;
  bool json = false;          // JSON report on stdout instead of the summary
  std::string output;         // also write the JSON report here
  std::string html;           // also write the HTML report here (ringload/html_report.hpp)
  bool quiet = false;         // no live progress on stderr
  bool terminal = true;       // stderr is a terminal
  std::chrono::nanoseconds progress_every{0};  // plain progress lines when not a terminal
  std::string requests_file;  // -f: loaded by main (errors exit 2 with FILE:LINE:COLUMN)
};

struct UsageError {
  std::string message;  // one line, naming the flag or value
  int exit_code = 2;    // 0 for --help / --version (message is the text to print)
};

std::expected<Options, UsageError> parse_options(int argc, char** argv);

}  // namespace ringload::cli
