// The HTML report from the CLI (ringload/html_report.hpp makes the page):
//   ringload report run.json [-o run.html]            one run's page
//   ringload report a.json b.json ... [-o cmp.html]   runs side by side, ratios to the first
//   ringload --html run.html URL ...                  the page of the run just made
#pragma once
#include <string>

namespace ringload::cli {

// `ringload report`: argv[0] is "report". The page goes to -o FILE, else standard output.
// Exit status: 0 written; 2 a usage error or a report that cannot be read, is not a
// ringload report or is of another version (the message names the file); 3 the page
// could not be written (the message says why).
int report_main(int argc, char** argv);

// --html after a run: the page of `json_report` written to `path`. Returns "" when
// written, else the error line to print (the run's exit status is then 3).
std::string write_html(const std::string& path, const std::string& json_report);

}  // namespace ringload::cli
