// What the HTML report inlines, read at build time (cmake/embed_files.cmake): Debian's
// Chart.js (libjs-chart.js, pinned by the package) and the page's own script and style
// (engine/output/html/).
#pragma once
#include <string_view>

namespace ringload::html_assets {

extern const std::string_view chart_js;   // /usr/share/javascript/chart.js/chart.min.js
extern const std::string_view report_js;  // engine/output/html/report.js
extern const std::string_view report_css; // engine/output/html/report.css

}  // namespace ringload::html_assets
